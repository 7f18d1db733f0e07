"""Degrid: notch out a periodic grid pattern at its measured period (mends ``grid_artifact``)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from keyframe.fixes._common import LUMA, check_rgb, to_float, to_uint8
from keyframe.registry import Fix
from keyframe.report import Measurement

#: longest period removed as a pattern; longer ones (tiling seams) are tapered in space
FINE_MAX = 32
#: periods NOTCH_MAX < P <= TEMPLATE_MAX are removed by subtracting their measured periodic
#: part, which takes less of the picture's own detail than the notches' teeth (a 16-px
#: checkerboard on skimage coffee: mean change off the clean picture 0.4 grey levels, 1.1
#: with notches); the others by notches (at 32 px the template's estimate from few cells
#: is noisy enough to print a pattern of its own: astronaut 512 px)
NOTCH_MAX, TEMPLATE_MAX = 8, 16
#: half-width in px of the ramp that replaces a seam step
SEAM_TAPER = 8
#: how a seam edge's offset is read (:func:`band_offsets`: px from the line, inclusive, of
#: the band beside it and of the band the picture's own slope is taken from): right at the
#: line, and checked against the same read one pixel further out. A tile's offset gives
#: both the same value, the picture's structure (an edge beside the line, wood grain or a
#: horizon along it) different ones. Bands further out (2-6 / 7-16 px) read content as
#: offsets more: on skimage coffee, chelsea and astronaut with 64-px tiles of +-6, the
#: tiles left 1.1-1.3 grey levels off the clean picture with them, 0.8-0.9 with these
LINE_BAND, BESIDE_BAND = ((0, 0), (1, 1)), ((1, 1), (2, 3))
#: an edge's two readings differing by D add (DIFF_K * D)^2 to its variance
DIFF_K = 0.5
#: an edge reading an offset d counts 1 / (1 + (d / OFFSET_SCALE)^2) as much: tiles sit a
#: few grey levels off each other, a bar or a horizon that a seam line runs along 30-40
#: (a bar's edge on a 64-px line of keyframe_dev's scene read as a 37-level tile)
OFFSET_SCALE = 12.0
#: a seam edge's offset estimate is weighted by 1 / (its standard error^2 + this^2): a
#: smooth stretch (sky, skin) reads an offset to a tenth of a grey level, grass to a few
OFFSET_SE_FLOOR = 0.5
#: the tile-offset solve: a ridge (times the median edge weight) towards 0, and rounds of
#: Cauchy reweighting with this scale on the edges' residuals in standard errors
RIDGE, ROBUST_ITERATIONS, ROBUST_SCALE = 0.005, 6, 3.0
#: seams whose two readings' offsets differ by more than this times the smaller are lines
LINE_RATIO = 2.0
#: notch half-width (Gaussian sigma) in frequency bins, per 512 px of padded size
NOTCH_SIGMA_PER_512 = 1.0


class Degrid(Fix):
    """Remove a pattern that repeats every ``period_x`` / ``period_y`` pixels.

    A pattern periodic in x with period ``px`` and in y with ``py`` has all its energy on the
    lattice of frequencies ``(k / px, l / py)`` (cycles per pixel), ``(0, 0)`` excepted; a
    period of 0 means the pattern is constant along that axis (only ``l = 0`` or ``k = 0``).
    Each colour plane is extended to a multiple of the periods by repeating its last period
    (so the grid keeps its phase and falls exactly on FFT bins), transformed, multiplied by
    ``1 - strength * notches`` (a Gaussian dip of about one bin per 512 px, at most 1/8 of
    the harmonic spacing, at every lattice point), transformed back and cropped. Natural
    images carry little energy at those exact frequencies, so a clean image changes by a
    fraction of a grey level; a period-2
    checkerboard, for instance, sits entirely on the Nyquist corner and is removed.

    Periods above ``FINE_MAX`` (32 px) are tiling seams, not textures: notching their dense
    harmonics would take real content with them. A tiled decoder leaves each tile with its
    own flat offset, so the tiles (seam lines ``phase + k * period``) get one
    constant each, solved by least squares from the offsets read across every seam edge a
    few pixels away from the line (:func:`tile_offsets`), and subtracted with the picture's
    mean kept; what step is left on the line itself (a 1-px seam line) is then spread into a
    ramp of ``SEAM_TAPER`` px each side (:func:`_deseam`). Smoothing the step alone left the
    tiles' offsets in place: the line was gone, the blocks were not.

    Why: VAE decoders and upsamplers leave faint 2-, 4- or 8-px grids; in a video they stay
    fixed on the screen while the content moves behind them.
    """

    name = "degrid"
    mends = ("grid_artifact",)
    changes_geometry = False
    stage = 80
    reads = ("period_x", "period_y", "phase_x", "phase_y")

    @dataclass(frozen=True)
    class Params:
        period_x: int = field(default=0, metadata={"min": 0, "max": 512})
        period_y: int = field(default=0, metadata={"min": 0, "max": 512})
        phase_x: int = field(default=0, metadata={"min": 0, "max": 511})
        phase_y: int = field(default=0, metadata={"min": 0, "max": 511})
        strength: float = field(default=1.0, metadata={"min": 0.0, "max": 1.0})

    @classmethod
    def plan_params(cls, measurement: Measurement) -> dict[str, Any]:
        """The measured periods (period 1 means none) and where the tiles' lines sit; full
        strength from severity 0.5."""
        m = measurement.measurements
        periods = {}
        for key in ("period_x", "period_y"):
            p = int(round(float(m.get(key, 0) or 0)))
            periods[key] = p if 2 <= p <= 512 else 0
        phases = {key: int(m.get(key, 0) or 0) for key in ("phase_x", "phase_y")}
        s = float(measurement.severity)
        return {**periods, **phases, "strength": round(min(1.0, 0.5 + s), 3)}

    def apply(self, rgb: np.ndarray, params: Any) -> np.ndarray:
        check_rgb(rgb, self.name)
        px = params.period_x if params.period_x >= 2 else 0
        py = params.period_y if params.period_y >= 2 else 0
        if (px == 0 and py == 0) or params.strength <= 0:
            return rgb.copy()
        h, w = rgb.shape[:2]
        f = to_float(rgb)
        sx = _seam_spacing(px) if px > FINE_MAX else 0
        sy = _seam_spacing(py) if py > FINE_MAX else 0
        grid = {"phase_x": params.phase_x, "phase_y": params.phase_y}
        if (sx or sy) and not seams_are_lines(f @ LUMA, sx, sy, **grid):
            for c in range(f.shape[2]):
                offs, xb, yb = tile_offsets(f[..., c], sx, sy, **grid)
                col = np.searchsorted(xb, np.arange(w), side="right")
                row = np.searchsorted(yb, np.arange(h), side="right")
                f[..., c] -= params.strength * offs[row[:, None], col[None, :]]
        if sx:
            _deseam(f, sx, params.strength)
        if sy:
            _deseam(f.transpose(1, 0, 2), sy, params.strength)
        fx = px if px <= FINE_MAX else 0
        fy = py if py <= FINE_MAX else 0
        if NOTCH_MAX < max(fx, fy) <= TEMPLATE_MAX:
            f = f - params.strength * periodic_part(f, fx, fy)
        elif fx or fy:
            f = _pad_periodic(_pad_periodic(f, fx, axis=1), fy, axis=0)
            gain = 1.0 - params.strength * _notches(f.shape[0], f.shape[1], fx, fy)
            spec = np.fft.rfft2(f, axes=(0, 1))
            f = np.fft.irfft2(spec * gain[..., None], s=f.shape[:2], axes=(0, 1))
        return to_uint8(f[:h, :w])


def periodic_part(f: np.ndarray, px: int, py: int) -> np.ndarray:
    """The zero-mean part of ``f`` (H x W x C) that repeats every ``px`` x ``py`` pixels.

    Each plane minus its ``px`` x ``py`` box mean keeps a pattern of that period whole (the
    box mean of one period is the pattern's mean) and drops the picture's slow content; the
    mean of that residual over every cell, phase by phase from pixel 0, is the pattern
    (the picture's own detail averages out over the cells). A period of 0 is 1 there:
    constant along that axis.
    """
    h, w = f.shape[:2]
    px, py = max(1, px), max(1, py)
    low = cv2.blur(f, (px, py), borderType=cv2.BORDER_REFLECT).reshape(f.shape)
    r = (f - low).reshape(h * w, -1)
    phase = ((np.arange(h) % py)[:, None] * px + (np.arange(w) % px)[None, :]).ravel()
    count = np.bincount(phase, minlength=px * py).astype(np.float64)
    template = np.stack([np.bincount(phase, weights=r[:, c], minlength=px * py)
                         for c in range(r.shape[1])], axis=1) / np.maximum(count, 1)[:, None]
    template -= template.mean(axis=0, keepdims=True)
    return template[phase].reshape(f.shape).astype(f.dtype)


def _seam_spacing(period: int) -> int:
    """Lines to treat for a seam period: every half period while that stays a seam period
    (a tiling read at twice its period — 128 for 64-px tiles, the fold finds both — loses
    no seam; lines with no seam have no average step, so nothing moves there)."""
    return period // 2 if period // 2 > FINE_MAX and period % 2 == 0 else period


def _deseam(f: np.ndarray, period: int, strength: float) -> None:
    """Spread the step at every vertical seam x = k * period of ``f`` (H x W x 3, in place)
    into a ramp of ``SEAM_TAPER`` px each side.

    The step across a seam is the jump between its two neighbouring columns minus the
    local slope; a tile's offset changes slowly along its seam while texture does not, so
    the step is averaged along the seam (a Gaussian of a quarter period) before it is
    removed: the seam's offset goes, the texture crossing it stays.
    """
    n = min(SEAM_TAPER, period // 2)
    xb = np.arange(period, f.shape[1] - n + 1, period)
    if xb.size == 0 or n < 2:
        return
    p0, p1, q0, q1 = f[:, xb - 1], f[:, xb - 2], f[:, xb], f[:, xb + 1]
    step = (q0 - p0) - 0.5 * ((p0 - p1) + (q1 - q0))                 # H x B x 3
    flat = step.reshape(step.shape[0], -1)
    step = cv2.GaussianBlur(flat, (1, 0), sigmaX=0.1, sigmaY=period / 4.0,
                            borderType=cv2.BORDER_REFLECT).reshape(step.shape)
    i = np.arange(n)
    w = 0.5 * (n - i) / (n + 0.5)                 # p0/q0 move almost half the step, then less
    shift = strength * step[:, :, None, :] * w[None, None, :, None]
    idx_p, idx_q = xb[:, None] - 1 - i, xb[:, None] + i
    f[:, idx_p] += shift
    f[:, idx_q] -= shift


def band_offsets(plane: np.ndarray, xs: np.ndarray, *, near: tuple[int, int],
                 far: tuple[int, int]) -> np.ndarray:
    """Per row, the offset across each vertical line between columns ``x - 1`` and ``x``
    (``x`` in ``xs``) of ``plane`` (H x W) (rows x len(xs)).

    The mean of the ``near`` band on the right (pixels ``x + near[0] .. x + near[1]``) minus
    that on the left (``x - 1 - near[0]`` and out), minus the picture's slope across the
    line: the far bands' step to the near ones on either side, extrapolated over the
    distance between the near bands. A tile's flat offset moves both bands of its side
    alike, so it stays whole; a linear gradient cancels. ``xs`` must leave ``far[1] + 1``
    px on either side.
    """
    c_near, c_far = (near[0] + near[1] + 1) / 2, (far[0] + far[1] + 1) / 2
    xs = np.asarray(xs, dtype=int)
    reach = far[1] + 1
    # every line's window at once: rows x lines x 2 * reach columns, column x at reach
    win = plane[:, xs[:, None] + np.arange(-reach, reach)[None, :]].astype(np.float64)
    cs = np.zeros(win.shape[:2] + (win.shape[2] + 1,))
    np.cumsum(win, axis=2, out=cs[..., 1:])

    def right(a: int, b: int) -> np.ndarray:
        return (cs[..., reach + b + 1] - cs[..., reach + a]) / (b - a + 1)

    def left(a: int, b: int) -> np.ndarray:
        return (cs[..., reach - a] - cs[..., reach - b - 1]) / (b - a + 1)

    near_l, near_r = left(*near), right(*near)
    slope = ((near_l - left(*far)) + (right(*far) - near_r)) / (2 * (c_far - c_near))
    return (near_r - near_l) - slope * 2 * c_near


#: a row whose pixels beside the line lie within this many levels of 0 or 255 is clipped: it
#: carries no offset (or only part of it). Within 2.5, not 0.5: +-1 of noise on a black panel
#: leaves it 0 or 1, and the rows at 1 read the panel's edge as an offset (pymatting's
#: lemur_at_the_beach montage, 0 -> 0.63 under noise, scripts/calibrate/stability.py)
CLIP_NEAR = 2.5


def _nanmedian0(o: np.ndarray, n: np.ndarray) -> np.ndarray:
    """``np.nanmedian(o, axis=0)`` for ``n`` finite values per column, by one sort (NaN sorts
    last): numpy's nanmedian goes through masked arrays, and the seam reading called it ~400
    times per picture (a quarter of the model-free checks' time)."""
    s = np.sort(o, axis=0)
    lo = np.maximum((n - 1) // 2, 0)[None]
    hi = np.maximum(n // 2, 0)[None]
    m = 0.5 * (np.take_along_axis(s, lo, 0)[0] + np.take_along_axis(s, hi, 0)[0])
    return np.where(n > 0, m, np.nan)


def robust_offset(o: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(median, standard error) of per-row offsets ``o`` along ``axis``: the error from the
    rows' robust spread (1.4826 MAD, x 1.25 for a median) over the square root of their
    number, so that a few rows crossed by an edge neither move nor inflate it. NaN rows (clipped)
    are left out; fewer than 4 rows left give NaN."""
    o = np.moveaxis(np.asarray(o, np.float64), axis, 0)
    n = np.sum(np.isfinite(o), axis=0)
    with np.errstate(all="ignore"):
        m = _nanmedian0(o, n)
        mad = _nanmedian0(np.abs(o - m[None]), n)
        se = 1.4826 * 1.25 * mad / np.sqrt(np.maximum(n, 1))
    m = np.where(n >= 4, m, np.nan)
    return m, se


def _edges(plane: np.ndarray, xb: np.ndarray, yb: np.ndarray, reading: str
           ) -> tuple[np.ndarray, np.ndarray]:
    """(offset, weight) across every vertical seam edge: per tile row (split at ``yb``) and
    seam column ``xb``, the robust offset over the rows of that tile read at the line
    (``LINE_BAND``) and beside it (``BESIDE_BAND``). A tile's offset gives both the same
    value; the picture's own structure gives different ones, so the weight is
    ``1 / (se^2 + se'^2 + (DIFF_K * difference)^2 + OFFSET_SE_FLOOR^2)`` and the value the
    one at the line; it is divided by ``1 + (offset / OFFSET_SCALE)^2``."""
    o1 = band_offsets(plane, xb, near=LINE_BAND[0], far=LINE_BAND[1])
    o2 = band_offsets(plane, xb, near=BESIDE_BAND[0], far=BESIDE_BAND[1])
    if reading == "beside":
        o1, o2 = o2, o1
    # rows clipped at 0 or 255 beside the line carry no offset (or only part of it)
    clipped = np.zeros(o1.shape, bool)
    for x in (xb - 2, xb - 1, xb, xb + 1):
        v = plane[:, x]
        clipped |= (v <= CLIP_NEAR) | (v >= 255 - CLIP_NEAR)
    o1[clipped] = np.nan
    o2[clipped] = np.nan
    # the rows of every tile row at once, padded with NaN (left out, as clipped rows are)
    # to the tallest: (rows, tile rows, lines)
    cuts = np.concatenate([[0], yb, [plane.shape[0]]])
    rows = cuts[:-1, None] + np.arange(int(np.max(np.diff(cuts))))[None, :]
    pad = rows >= cuts[1:, None]
    rows = np.minimum(rows, plane.shape[0] - 1).T
    o1, o2 = o1[rows], o2[rows]
    o1[pad.T] = np.nan
    o2[pad.T] = np.nan
    m, se = robust_offset(o1, axis=0)
    m2, se2 = robust_offset(o2, axis=0)
    ok = np.isfinite(m) & np.isfinite(m2)
    d = np.where(ok, m, 0.0)
    wt = np.where(ok, 1.0 / (se ** 2 + se2 ** 2 + (DIFF_K * (m - m2)) ** 2
                             + OFFSET_SE_FLOOR ** 2)
                  / (1.0 + (m / OFFSET_SCALE) ** 2), 0.0)
    return d, wt


def seam_lines(period: int, phase: int, n: int) -> np.ndarray:
    """Seam lines ``phase + k * period`` that leave the bands room on both sides of an
    axis of ``n`` px (none for period 0)."""
    if not period:
        return np.zeros(0, int)
    reach = BESIDE_BAND[1][1] + 1
    x = np.arange(phase % period, n, period)
    return x[(x >= reach) & (x <= n - reach)]


def tile_offsets(plane: np.ndarray, period_x: int, period_y: int, *, phase_x: int = 0,
                 phase_y: int = 0, reading: str = "line"
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each tile's flat offset on ``plane`` (H x W), for seams every ``period_x`` columns and
    ``period_y`` rows from ``phase_x`` / ``phase_y`` (period 0: no seams along that axis):
    ``(offsets, xb, yb)`` with ``offsets`` (tiles_y x tiles_x, area-weighted mean 0) and
    the seam lines.

    Every edge between two neighbouring tiles gives a measured difference of their
    offsets (:func:`_edges`, robust over the edge, weighted by its precision); the offsets
    are the robust weighted least-squares solution of those differences on the tile graph
    (a Poisson equation, :func:`_solve_on_graph`), with the area-weighted mean 0 so that
    the picture's mean stays.
    """
    h, w = plane.shape
    xb, yb = seam_lines(period_x, phase_x, w), seam_lines(period_y, phase_y, h)
    ty, tx = yb.size + 1, xb.size + 1
    if ty * tx == 1:
        return np.zeros((1, 1)), xb, yb
    idx = np.arange(ty * tx).reshape(ty, tx)
    pairs, diffs, weights = [], [], []
    if xb.size:
        d, wt = _edges(plane, xb, yb, reading)
        pairs.append((idx[:, :-1].ravel(), idx[:, 1:].ravel()))
        diffs.append(d.ravel())
        weights.append(wt.ravel())
    if yb.size:
        d, wt = _edges(plane.T, yb, xb, reading)                 # (tiles_x, seams_y)
        pairs.append((idx[:-1, :].T.ravel(), idx[1:, :].T.ravel()))
        diffs.append(d.ravel())
        weights.append(wt.ravel())
    a = np.concatenate([p[0] for p in pairs])
    b = np.concatenate([p[1] for p in pairs])
    t = _solve_on_graph(a, b, np.concatenate(diffs), np.concatenate(weights), ty * tx)
    ex = np.diff(np.concatenate([[0], xb, [w]]))
    ey = np.diff(np.concatenate([[0], yb, [h]]))
    area = (ey[:, None] * ex[None, :]).ravel() / (h * w)
    t -= float(area @ t)
    return t.reshape(ty, tx), xb, yb


def offset_tiles(plane: np.ndarray, period_x: int, period_y: int, *, phase_x: int = 0,
                 phase_y: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The tiles' offsets read at the line (:func:`tile_offsets`, its ``(offsets, xb,
    yb)``) when the seams of ``plane`` on that grid are tiles offset, None when they are lines.

    The tiles' offsets solved from the reading at the line and from the reading a pixel
    beside it agree for tiles offset against each other (their difference is 0.1-1.2 times
    the smaller, 64-px tiles of +-2..6 on skimage photos and ComfyUI generations) and not
    for a 1-px seam line, which only the reading at the line sees (2.8 times for a line of
    1 grey level on the astronaut, 7-20 for 6): beyond ``LINE_RATIO`` the seams are lines,
    and subtracting "offsets" would paint blocks.
    """
    kw = {"phase_x": phase_x, "phase_y": phase_y}
    solved = tile_offsets(plane, period_x, period_y, **kw)
    t1 = solved[0]
    t2 = tile_offsets(plane, period_x, period_y, reading="beside", **kw)[0]
    small = min(float(np.sqrt(np.mean(t1 ** 2))), float(np.sqrt(np.mean(t2 ** 2))))
    lines = float(np.sqrt(np.mean((t1 - t2) ** 2))) > LINE_RATIO * max(small, 0.25)
    return None if lines else solved


def seams_are_lines(plane: np.ndarray, period_x: int, period_y: int, *, phase_x: int = 0,
                    phase_y: int = 0) -> bool:
    """True when the seams of ``plane`` on that grid are lines, not tiles offset
    (:func:`offset_tiles`)."""
    return offset_tiles(plane, period_x, period_y, phase_x=phase_x, phase_y=phase_y) is None


def _solve_on_graph(a: np.ndarray, b: np.ndarray, d: np.ndarray, wt: np.ndarray, n: int
                    ) -> np.ndarray:
    """Offsets ``t`` (n tiles) with ``t[b] - t[a] ~ d`` per edge, robustly.

    Weighted least squares (the normal equations are a weighted graph Laplacian; a ridge of
    ``RIDGE`` times the median weight of the edges read pulls tiles nothing pins, such as
    tiles clipped white, towards 0), then
    ``ROBUST_ITERATIONS`` rounds of Cauchy reweighting on each edge's residual in units of
    its standard error: a natural edge that runs along a seam reads as a large difference
    that the cycles of the tile graph around it contradict, and it loses its weight.
    """
    from scipy import sparse                 # here, not at import: a cold `keyframe check`
    from scipy.sparse.linalg import spsolve  # imports no scipy (tests/test_speed.py)

    pinned = wt[wt > 0]
    if pinned.size == 0:
        return np.zeros(n)                  # no edge could be read (all clipped): no offsets
    ridge = RIDGE * float(np.median(pinned))
    a, b, d, wt = a[wt > 0], b[wt > 0], d[wt > 0], pinned     # unread edges weigh 0 throughout
    # the Laplacian's sparsity is the same every round: its entries (the ridge's diagonal
    # included) are found once, in row-major order, which for a symmetric matrix is also
    # the column-major (CSC) layout; each round only sums the weights into them
    rows = np.concatenate([a, b, a, b, np.arange(n)])
    cols = np.concatenate([a, b, b, a, np.arange(n)])
    keys, slot = np.unique(rows * n + cols, return_inverse=True)
    indptr = np.searchsorted(keys // n, np.arange(n + 1)).astype(np.int32)
    indices = (keys % n).astype(np.int32)
    w = wt.copy()
    t = np.zeros(n)
    for _ in range(ROBUST_ITERATIONS + 1):
        data = np.bincount(slot, weights=np.concatenate([w, w, -w, -w, np.full(n, ridge)]),
                           minlength=keys.size)
        lap = sparse.csc_matrix((data, indices, indptr), shape=(n, n))
        rhs = (np.bincount(b, weights=w * d, minlength=n)
               - np.bincount(a, weights=w * d, minlength=n))
        t = spsolve(lap, rhs)
        z = (t[b] - t[a] - d) * np.sqrt(wt)
        w = wt / (1.0 + (z / ROBUST_SCALE) ** 2)
    return t


def _pad_periodic(f: np.ndarray, period: int, axis: int) -> np.ndarray:
    """Extend ``f`` along ``axis`` to a multiple of ``period`` by repeating its last period."""
    n = f.shape[axis]
    if period < 2 or n % period == 0 or n < period:
        return f
    extra = period - n % period
    idx = np.arange(n, n + extra) - period
    return np.concatenate([f, np.take(f, idx, axis=axis)], axis=axis)


def _notches(h: int, w: int, px: int, py: int) -> np.ndarray:
    """Gaussian dips (peak 1) at every lattice point but DC, on the rfft2 grid.

    The lattice is a product of harmonics in x and in y, so the sum of dips is the outer
    product of two 1-D combs (minus the DC term). Each dip is about one bin per 512 px wide,
    and at most 1/8 of the harmonic spacing, so long periods (tiling seams) get narrow teeth.
    """
    def comb(n: int, freqs: np.ndarray, period: int) -> tuple[np.ndarray, np.ndarray]:
        if period == 0:
            centres, spacing = np.zeros(1), float(n)
        else:
            centres, spacing = np.arange(-(period // 2), (period - 1) // 2 + 1) / period, n / period
        sigma = min(NOTCH_SIGMA_PER_512 * max(1.0, n / 512), spacing / 8) / n
        d = (freqs[:, None] - centres[None, :] + 0.5) % 1.0 - 0.5     # wrap-around distance
        return np.exp(-0.5 * (d / sigma) ** 2), np.exp(-0.5 * (freqs / sigma) ** 2)

    all_y, dc_y = comb(h, np.fft.fftfreq(h), py)
    all_x, dc_x = comb(w, np.fft.rfftfreq(w), px)
    dip = np.outer(all_y.sum(axis=1), all_x.sum(axis=1)) - np.outer(dc_y, dc_x)
    dip[0, 0] = 0.0
    return np.clip(dip, 0.0, 1.0)
