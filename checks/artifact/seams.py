"""Tiling seams for ``grid_artifact`` (checks/artifact/grid.py), at native resolution.

Two readings:

* **the step on the line** (:func:`seams`): a tiled upscaler or a tiled VAE decode leaves a
  step at the same column (row) in every tile: column and row profiles of band-wise signed
  differences are folded at every period 16..512 px (multiples of 8) after removing the
  8-periodic JPEG component; a seam is a step at the same column in (nearly) every
  repetition. This also finds the seams' period and position. Calibration:
  scripts/calibrate/compression.py (1-px seams every 64 px of 1-12 grey levels on skimage
  photos and ComfyUI generations).
* **the offset between tiles** (:func:`tile_offset_spread`): a tiled decoder gives each tile
  its own flat offset, and what a person sees is those flat blocks, not only the line.
  Every tile's offset is solved on the tile graph from the offsets read across its edges
  (:func:`keyframe.fixes.degrid.tile_offsets`, the solve degrid subtracts), on the grid the
  steps found and on 64-px tiles from pixel 0 (as far as their lines stand out on the
  seam profile), and compared with the same solve on grids
  moved off the seams (what the content alone makes up). Calibration:
  scripts/calibrate/seams.py (docs/checks.md "grid_artifact").
"""
from __future__ import annotations

import cv2
import numpy as np

from keyframe.fixes.degrid import offset_tiles, tile_offsets

#: rows (columns) read by the seam profile: 32-row bands, 32 of them at most
SEAM_LINES = 1024


#: a seam counts fully from this significance (robust deviations above the other phases)
#: and not at all below ``Z_FLOOR``, linearly in between (a hard ``z >= 5`` made a 512-px
#: picture's content "seam" of 3.5 grey levels at z 5.03 come and go with a 1-px shift:
#: scripts/calibrate/stability.py)
Z_FLOOR, Z_FULL = 4.0, 8.0


def band_profile(g: np.ndarray) -> np.ndarray:
    """Column profile of seam evidence: median over 32-row bands of |band-mean signed diff|.

    A seam is a consistent step at one column along a stretch of rows, so it survives the
    signed mean over a band while texture averages out; the median over bands ignores the few
    bands where a real vertical edge crosses. The bands start at every row (a sliding
    window), not at multiples of 32 from row 0: fixed bands regrouped every row when the
    picture moved by one pixel.
    """
    h, w = g.shape
    band = 32
    if h // band < 3:
        d = np.diff(g.astype(np.int16), axis=1)
        return np.abs(d.mean(0, dtype=np.float32))
    # read along contiguous memory: the columns as rows of the transpose (free when ``g`` is
    # a transposed view, as for the rows' profile). The band sums by an int32 box filter
    # (exact, as the float32 sums were), each column's median by one partition of their
    # absolute values as int16 (whole numbers up to 32 x 255); the same profile, bit for
    # bit, as float32 sums and a float partition across the rows, at a third of the time
    gt = g.T if g.T.flags.c_contiguous else cv2.transpose(np.ascontiguousarray(g))
    d = np.diff(gt.astype(np.int16), axis=0)
    s = cv2.boxFilter(d, cv2.CV_32S, (band, 1), anchor=(0, 0), normalize=False,
                      borderType=cv2.BORDER_CONSTANT)[:, :h - band + 1]
    return _median_rows(np.abs(s).astype(np.int16)) * np.float32(1 / band)


def _median_rows(a: np.ndarray) -> np.ndarray:
    """``np.median(a, axis=1)`` of a 2-d integer array, as float32, by one partition: the
    upper middle value by the partition, the lower one (even lengths) as the largest of
    the values before it."""
    n = a.shape[1]
    k = n // 2
    p = np.partition(a, k, axis=1)
    hi = p[:, k].astype(np.float32)
    if n % 2:
        return hi
    return np.float32(0.5) * (p[:, :k].max(axis=1).astype(np.float32) + hi)


def _lower_quartile(a: np.ndarray) -> np.ndarray:
    """``np.percentile(a, 25, axis=0)`` of a finite float64 array, numerically the same (its
    linear interpolation, step for step), without its generic machinery (a few times the
    cost of the arithmetic on the profile's few hundred values, once per period)."""
    n = a.shape[0]
    v = 0.25 * (n - 1)
    lo = int(np.floor(v))
    s = np.sort(a, axis=0)
    x, y, t = s[lo], s[min(lo + 1, n - 1)], v - lo
    diff = y - x
    return y - diff * (1 - t) if t >= 0.5 else x + diff * t


def _median(a: np.ndarray) -> float:
    """``np.median`` of a finite 1-d array, numerically the same."""
    s = np.sort(a)
    k = s.size // 2
    return float(s[k]) if s.size % 2 else float((s[k - 1] + s[k]) / 2)


def seams(g: np.ndarray) -> dict:
    """Periodic seams (period 16..512 px, multiples of 8) in one axis' column profile.

    The profile's 8-periodic part (a JPEG grid) is removed first; then, per candidate period
    P with at least six repetitions in the image, the profile is folded (lower quartile over
    the repetitions, per phase) and the best phase's excess over the median phase
    is the seam amplitude (grey levels), weighted by its significance z (robust deviations
    above the other phases): 0 up to ``Z_FLOOR``, rising linearly to 1 at ``Z_FULL``. The smallest period reaching 70 % of the best amplitude is kept
    (64 and its multiples all see a 64-px seam).
    """
    best = {"amp": 0.0, "z": 0.0, "period": 0, "pos": 0, "tile_z": 0.0}
    if g.shape[1] < 48 or g.shape[0] < 1:        # no six 8-px repetitions of a seam to fold
        return best
    prof = band_profile(g)
    w = prof.size
    k = w // 8 * 8
    e = prof.astype(np.float64).copy()
    e[:k] -= np.tile(e[:k].reshape(-1, 8).mean(0), k // 8)
    found = []
    for period in range(16, min(513, w // 6 + 1), 8):
        n = w // period * period
        # lower quartile over the repetitions: a seam is in (nearly) every repetition, an
        # edge or a horizon line only in one or two
        fold = _lower_quartile(e[:n].reshape(-1, period))
        med = _median(fold)
        mad = _median(np.abs(fold - med)) * 1.4826 + 0.02
        ph = int(np.argmax(fold))
        amp = float(fold[ph] - med)
        z = amp / mad
        weight = min(1.0, max(0.0, (z - Z_FLOOR) / (Z_FULL - Z_FLOOR)))
        if weight > 0 and amp > 0:
            found.append((period, amp * weight, z, ph))
    if found:
        top = max(a for _, a, _, _ in found)
        period, amp, z, ph = min(f for f in found if f[1] >= 0.7 * top)
        best = {"amp": amp, "z": z, "period": period, "pos": ph + 1}
    return {**best, "tile_z": _tile_support(e, prof)}


#: a band profile whose median is below this (grey levels) reads nothing: most bands
#: clipped or flat (a COCO frame 80 % white or black), where its fold cannot tell lines
PROFILE_FLOOR = 0.05


def _tile_support(e: np.ndarray, prof: np.ndarray) -> float:
    """How far the lines of ``DECODER_TILE``-px tiles from pixel 0 stand out on profile ``e``
    (the band profile ``prof`` less its 8-periodic part; a line at ``x`` is entry ``x - 1``):
    the median over
    the repetitions of the 64-px fold at their phase, in robust deviations (1.4826 MAD)
    above the other 63 phases; 0 with fewer than two repetitions, infinite (cannot tell:
    the lines count) when the profile reads nothing (median under ``PROFILE_FLOOR``)."""
    n = e.size // DECODER_TILE * DECODER_TILE
    if n < 2 * DECODER_TILE:
        return 0.0
    if float(np.median(prof)) < PROFILE_FLOOR:
        return float("inf")
    fold = np.median(e[:n].reshape(-1, DECODER_TILE), axis=0)
    others = fold[:-1]
    med = float(np.median(others))
    mad = float(np.median(np.abs(others - med))) * 1.4826 + 1e-3
    return float((fold[-1] - med) / mad)


def seams_both_axes(g: np.ndarray) -> tuple[dict, dict]:
    """Seams across columns and across rows of luma ``g`` (at most ``SEAM_LINES`` lines read
    along each axis)."""
    sx = seams(g[::max(1, -(-g.shape[0] // SEAM_LINES)), :])
    sy = seams(g[:, ::max(1, -(-g.shape[1] // SEAM_LINES))].T)
    return sx, sy


#: tile grids tried besides the one the steps found: 64-px tiles from pixel 0 (their lines
#: hold those of 128-, 256- and 512-px tiles, whose extra lines then read no offset)
DECODER_TILE = 64
#: a grid's offsets count by their variance beyond this many times that of the same solve
#: on grids moved off the seams, where no seam is and the picture's content alone makes
#: offsets up (set on the tune pictures of scripts/calibrate/seams.py: 28 of 29 clean ones
#: read 0, one 0.26)
NULL_SHARE = 2.0
#: a grid the steps found is read for offsets from this step (grey levels): fainter step
#: grids were noise that a second grid's reading turned into false alarms (a 512-px SD JPEG
#: of pal4vst at 56 px, a quality-10 JPEG at 48 px)
STEP_GRID_MIN = 1.5
#: the 64-px grid from pixel 0 is read only where its lines stand out on the seam profile
#: (:func:`_tile_support`: robust z of their phase among the 64, the larger axis): fully
#: from ``SUPPORT_FULL``, not at all up to ``SUPPORT_FLOOR``, linearly in between. The offsets
#: solved on a fixed grid depend on where the content falls on it: clean pictures whose
#: content happened to read tile offsets at phase 0 (a 512-px SD generation of pal4vst 1.5
#: grey levels, a COCO photo 1.0, a FreiHAND crop 2.2 once moved by a pixel) lost them
#: under a 1-px shift (scripts/calibrate/stability.py); their lines' z is 0.9-2.3, that of
#: tiles of +-1.5 read minor or more on scripts/calibrate/seams.py's tune set 2.7-43
SUPPORT_FLOOR, SUPPORT_FULL = 1.5, 3.0
#: the null grids: the seam grid moved by these sixteenths of its period, rounded to
#: whole 8-px blocks (so that a JPEG's block edges fall on the null grids as on the seams)
NULL_SHIFTS = (5, 8, 11)


def _shift(period: int, k: int) -> int:
    """``k`` sixteenths of ``period``, rounded to a multiple of 8 px (at least 8)."""
    return max(8, int(round(k * period / 16 / 8)) * 8)


#: larger pictures are read on a centred crop of this side (its origin on the 64-px grid),
#: which holds 256 tiles and bounds the cost
OFFSET_SIDE = 1024


def _spread(solved: tuple[np.ndarray, np.ndarray, np.ndarray], shape: tuple[int, int]
            ) -> float:
    """Area-weighted standard deviation of the tiles' offsets ``solved`` by
    :func:`keyframe.fixes.degrid.tile_offsets` on a picture of ``shape``."""
    t, xb, yb = solved
    h, w = shape
    ex = np.diff(np.concatenate([[0], xb, [w]]))
    ey = np.diff(np.concatenate([[0], yb, [h]]))
    area = (ey[:, None] * ex[None, :]) / (h * w)
    return float(np.sqrt(np.sum(area * t * t)))


def _offset_spread(g: np.ndarray, grid: tuple[int, int, int, int]) -> float:
    """:func:`_spread` of the tiles' offsets solved on ``grid`` (period_x, phase_x,
    period_y, phase_y)."""
    px, fx, py, fy = grid
    return _spread(tile_offsets(g, px, py, phase_x=fx, phase_y=fy), g.shape)


def tile_offset_spread(g: np.ndarray, sx: dict, sy: dict) -> dict:
    """How far the tiles of a seam grid sit off each other, in grey levels, on luma ``g``.

    Read on a centred crop of at most ``OFFSET_SIDE`` px. Grids tried: ``DECODER_TILE``-px
    tiles from pixel 0 (looking for them at every phase found a tiled floor's grout and
    clean JPEGs moved by a pixel), weighted by how far their lines stand out on the seam
    profile (``SUPPORT_FLOOR`` / ``SUPPORT_FULL``; not read at all below the floor), and
    the one the steps found (``sx`` / ``sy``: period and position per axis, when at least
    48 px and a step of ``STEP_GRID_MIN``) unless its lines are some of those (then the
    64-px grid counts fully).

    Per grid the tiles' offsets are solved as degrid solves them
    (:func:`keyframe.fixes.degrid.tile_offsets`: every edge's offset read at the line and
    checked against the same read a pixel further out, which content beside the line does
    not pass), and their spread ``s`` is compared with the spread ``s0`` of the same solve
    on the grid moved by 5/16, 8/16 and 11/16 of a tile (whole 8-px blocks; root mean
    square), where the picture's content alone makes up offsets: the amplitude is
    ``sqrt(max(0, s^2 - NULL_SHARE * s0^2))`` grey levels (the same in expectation at any
    size, since the tiles are 64 px at any size; a busy picture masks faint offsets, as it
    does to the eye). A grid whose seams are lines rather than offsets
    (:func:`keyframe.fixes.degrid.offset_tiles`) is left to the step reading. Of several
    grids the one whose offsets stand out most from its null (``s^2 / s0^2``) is kept: the
    largest amplitude would favour the noisier grid.
    """
    y0, x0 = (max(0, (n - OFFSET_SIDE) // 2) // DECODER_TILE * DECODER_TILE for n in g.shape)
    g = g[y0:y0 + OFFSET_SIDE, x0:x0 + OFFSET_SIDE]
    h, w = g.shape
    grids = set()
    if min(h, w) >= 3 * DECODER_TILE:
        grids.add((DECODER_TILE, 0, DECODER_TILE, 0))
    px = sx["period"] if sx["period"] >= 48 and sx["amp"] >= STEP_GRID_MIN else 0
    py = sy["period"] if sy["period"] >= 48 and sy["amp"] >= STEP_GRID_MIN else 0
    fx = (sx["pos"] - x0) % px if px else 0
    fy = (sy["pos"] - y0) % py if py else 0

    def on_tiles(period: int, phase: int) -> bool:
        return period % DECODER_TILE == 0 and phase % DECODER_TILE == 0

    stepped = bool(px or py) and on_tiles(px, fx) and on_tiles(py, fy)
    if (px or py) and not (grids and stepped):
        grids.add((px, fx, py, fy))
    best = {"amp": 0.0, "ratio": -1.0, "period_x": 0, "period_y": 0, "phase_x": 0, "phase_y": 0}
    # the 64-px grid from pixel 0 as far as its lines stand out (fully when the step
    # reading's grid is one of its subsets)
    support = max(sx.get("tile_z", 0.0), sy.get("tile_z", 0.0))
    weights = {(DECODER_TILE, 0, DECODER_TILE, 0): 1.0 if stepped else
               min(1.0, max(0.0, (support - SUPPORT_FLOOR) / (SUPPORT_FULL - SUPPORT_FLOOR)))}
    for grid in sorted(grids):
        if weights.get(grid, 1.0) == 0:
            continue                                  # its lines do not stand out: not read
        px, fx, py, fy = grid
        solved = offset_tiles(g, px, py, phase_x=fx, phase_y=fy)
        if solved is None:
            continue                                  # 1-px seam lines: the step's reading
        s = _spread(solved, g.shape)
        s0 = float(np.sqrt(np.mean([_offset_spread(g, (px, fx + _shift(px, k), py,
                                                       fy + _shift(py, k))) ** 2
                                    for k in NULL_SHIFTS])))
        ratio = s * s / max(s0 * s0, 0.01)
        amp = float(np.sqrt(max(s * s - NULL_SHARE * s0 * s0, 0.0)))
        weight = weights.get(grid, 1.0)
        ratio, amp = ratio * weight, amp * weight
        if ratio > best["ratio"]:
            best = {"amp": amp, "ratio": ratio, "period_x": px, "period_y": py,
                    "phase_x": (fx + x0) % px if px else 0, "phase_y": (fy + y0) % py if py else 0}
    return best
