"""Which pixels the blur measure (and ``oversharpened``) read on a large picture: a mosaic of
native tiles (split out of :mod:`checks.artifact.blur`).

Above ``PIXEL_BUDGET`` pixels the edge analysis runs on a mosaic of 64-px native tiles with
10 px of context each, not on every pixel, which keeps its cost flat in the picture's size
while judging sharpness at native resolution. Which tiles, and how much each counts, is
decided here: the most textured ones (ranked on the canonical copy), weighted by their rank
so that a 1-px shift does not reshuffle a hard cut, and for ``spread`` half of them on an
even lattice over the whole frame.
"""
from __future__ import annotations

import math

import cv2
import numpy as np

from keyframe import views
from keyframe.image import LoadedImage

#: above this many pixels, measure a mosaic of textured native tiles
PIXEL_BUDGET = 400_000
#: the mosaic's tiles count by their energy: fully from the energy of the tile ranked
#: TILE_RAMP[0] x the budget's tile count, not at all from that of rank TILE_RAMP[1] x it.
#: A hard top-k moved with the picture: a 1-px shift changed which tiles made the cut and
#: DALL-E 3 jogging_04 read 0.54 -> 0.61 px (every pixel read: 0.62 either way)
TILE_RAMP = (0.75, 1.25)
TILE = 64
MARGIN = 10
#: share of the mosaic's tiles that ``spread`` puts on an even lattice over the frame. The most
#: textured tiles alone took one textured object for the whole picture: on two held-out p3m
#: portraits (a knitted scarf and brick wall; a poster's lettering and patterned shirt) the
#: oversharpened median read 0.19 / 0.22 of edge contrast, 0.03 / 0.09 over every pixel. A
#: lattice alone read as every pixel does but lost the sharp subject of bokeh pictures (an
#: unsharp mask of amount 4 on Flux schnell's render: 1.0 -> 0.0). Half and half
#: (scripts/calibrate/false_alarms.py --code oversharpened): ROC-AUC tune 0.910 -> 0.914,
#: held-out 0.846 -> 0.858; clean held-out pictures at major 2 -> 0
SPREAD_SHARE = 0.5


def analysis_plane(image: LoadedImage, *, spread: bool = False
                    ) -> tuple[np.ndarray, np.ndarray | None]:
    """Luma (float32) to analyse and, for a mosaic, each pixel's weight: its tile's over the
    tile cores, 0 on the margins.

    Above ``PIXEL_BUDGET`` pixels: a mosaic of native tiles, the most textured ones (ranked on
    the 1024-px canonical copy: the in-focus part, what the blur percentile wants), each
    weighted by its energy's rank (``TILE_RAMP``). With ``spread``, ``SPREAD_SHARE`` of the
    budget sits on an even lattice over the whole frame (weight 1; what ``oversharpened``'s
    whole-frame median wants; see ``SPREAD_SHARE``) and the ramp ranks the other tiles
    against the rest of the budget.
    """
    chosen = tiles(image, spread=spread)
    if chosen is None:
        return views.gray_u8(image).astype(np.float32), None
    return assemble(image, *chosen)


def tiles(image: LoadedImage, *, spread: bool = False) -> tuple[np.ndarray, np.ndarray] | None:
    """The mosaic's native tiles (:func:`analysis_plane`): ``(keep, weight)``, the tiles'
    indices (row by row over the frame's tile grid, ascending) and their weights (> 0), or
    None when the whole picture is read."""
    gray = views.gray_u8(image)
    h, w = gray.shape
    if h * w <= PIXEL_BUDGET or min(h, w) < TILE + 2 * MARGIN:
        return None
    ny, nx = (h - 2 * MARGIN) // TILE, (w - 2 * MARGIN) // TILE
    side = TILE + 2 * MARGIN
    budget = max(1, PIXEL_BUDGET // side ** 2)
    # rank native tiles by gradient energy measured on the canonical copy (one ranking for
    # both mosaics: blur's and oversharpened's ``spread`` one)
    energy = views.cached(image, "mosaic.energy", lambda: _tile_energy(image, nx, ny))
    lattice = np.zeros(0, np.int64)
    if spread:
        # SPREAD_SHARE of the budget on a rows x cols lattice of the frame's shape (each tile
        # centred in its cell), the rest the most textured tiles not on it
        share = max(1, round(budget * SPREAD_SHARE))
        rows = max(1, min(ny, int(math.sqrt(share * ny / nx))))
        cols = max(1, min(nx, share // rows))
        ty = ((np.arange(rows) + 0.5) * ny / rows).astype(np.int64)
        tx = ((np.arange(cols) + 0.5) * nx / cols).astype(np.int64)
        lattice = (ty[:, None] * nx + tx[None, :]).ravel()
    weight = _tile_weights(energy, lattice, max(1, budget - lattice.size))
    keep = np.nonzero(weight > 0)[0]
    return keep, weight[keep]


def layout(n: int) -> int:
    """Columns of a mosaic of ``n`` tiles (tile i at row i // cols, column i % cols)."""
    return int(math.ceil(math.sqrt(n)))


def assemble(image: LoadedImage, keep: np.ndarray, weight: np.ndarray, *,
             cols: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The mosaic of tiles ``keep`` (with ``MARGIN`` px of context each) and its weight
    plane (``weight`` over each tile's core, 0 on the margins); ``cols`` tiles wide
    (:func:`layout`'s by default)."""
    gray = views.gray_u8(image)
    nx = (gray.shape[1] - 2 * MARGIN) // TILE
    side = TILE + 2 * MARGIN
    cols = layout(keep.size) if cols is None else cols
    rows = int(math.ceil(keep.size / cols))
    mosaic = np.zeros((rows * side, cols * side), np.float32)
    core = np.zeros_like(mosaic)
    for i, (t, wt) in enumerate(zip(keep.tolist(), weight.tolist())):
        ty, tx = divmod(t, nx)
        y, x = MARGIN + ty * TILE, MARGIN + tx * TILE
        r, c = divmod(i, cols)
        mosaic[r * side:(r + 1) * side, c * side:(c + 1) * side] = \
            gray[y - MARGIN:y + TILE + MARGIN, x - MARGIN:x + TILE + MARGIN]
        core[r * side + MARGIN:r * side + MARGIN + TILE,
             c * side + MARGIN:c * side + MARGIN + TILE] = wt
    return mosaic, core


def _tile_energy(image: LoadedImage, nx: int, ny: int) -> np.ndarray:
    """Gradient energy (|gx| + |gy| of the 3 x 3 Sobel) of the canonical copy, area-averaged
    onto the ``ny`` x ``nx`` native tiles, flattened row by row."""
    small = views.gray_at(image)
    # the 3 x 3 Sobel of 8-bit pixels in int16 (exact: at most 4 x 255), |gx| + |gy| too
    # (at most 2040): the same float32 plane as float Sobels of the float copy, for less
    gx = cv2.Sobel(small, cv2.CV_16S, 1, 0)
    gy = cv2.Sobel(small, cv2.CV_16S, 0, 1)
    np.abs(gx, out=gx)
    np.abs(gy, out=gy)
    np.add(gx, gy, out=gx)
    return cv2.resize(gx.astype(np.float32), (nx, ny), interpolation=cv2.INTER_AREA).ravel()


def _tile_weights(energy: np.ndarray, lattice: np.ndarray, budget: int) -> np.ndarray:
    """Each tile's weight in the mosaic: 1 on the ``lattice``; the others by their energy's
    rank among them, 1 up to rank ``TILE_RAMP[0] x budget``, 0 from rank
    ``TILE_RAMP[1] x budget`` (linear in energy between); when every such tile is alike (a
    flat picture), the first ``budget`` of them."""
    weight = np.zeros(energy.size, np.float32)
    weight[lattice] = 1.0
    rest = np.ones(energy.size, bool)
    rest[lattice] = False
    e = energy[rest]
    if e.size == 0:
        return weight
    ranked = np.sort(e)[::-1]
    full = ranked[min(int(budget * TILE_RAMP[0]), ranked.size - 1)]
    none = ranked[min(int(budget * TILE_RAMP[1]), ranked.size - 1)]
    w = np.clip((e - none) / max(float(full - none), 1e-6), 0.0, 1.0)
    if not (w > 0).any():
        w[:] = 0.0
        w[:budget] = 1.0
    weight[rest] = w
    return weight
