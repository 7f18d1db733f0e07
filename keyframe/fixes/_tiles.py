"""Tile offsets: how far each tile of a tiled decoder's output sits off its neighbours.

Read across every seam edge (:func:`band_offsets`, robust per edge: :func:`robust_offset`),
solved on the tile graph (:func:`tile_offsets`), and told apart from 1-px seam lines
(:func:`offset_tiles`, :func:`seams_are_lines`). :class:`keyframe.fixes.degrid.Degrid`
subtracts the offsets; the ``seams`` check (through :mod:`keyframe.fixes.degrid`, which
re-exports :func:`tile_offsets` and :func:`offset_tiles`) measures them.
"""
from __future__ import annotations

import numpy as np

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


def offset_uncertainty(plane: np.ndarray, period_x: int, period_y: int, *, phase_x: int = 0,
                       phase_y: int = 0) -> float:
    """How precisely :func:`tile_offsets` solves the steps between neighbouring tiles of
    ``plane``, in grey levels: the RMS over the tile edges of the solve's standard error on
    ``t[b] - t[a]``, over sqrt 2 (as ``keyframe_dev.data.tile_step`` reads tiles).

    The solve is weighted least squares with each edge weighted by its precision
    (:func:`_edges`: the rows' robust spread, the two readings' disagreement, a floor), so its
    covariance is the inverse of the weighted graph Laplacian (with the same ridge); the
    robust reweighting rounds are left out (they only take weight away: the error is a lower
    bound). Smooth tiles read an offset to a tenth of a grey level; a 224-px crop of foliage
    has a few textured edges per tile and its tiles cannot be told from the texture closer
    than 10-15 (FreiHAND 00050180, 00082740, 00115300).
    """
    h, w = plane.shape
    xb, yb = seam_lines(period_x, phase_x, w), seam_lines(period_y, phase_y, h)
    ty, tx = yb.size + 1, xb.size + 1
    if ty * tx == 1:
        return 0.0
    idx = np.arange(ty * tx).reshape(ty, tx)
    a, b, weights = [], [], []
    if xb.size:
        a.append(idx[:, :-1].ravel())
        b.append(idx[:, 1:].ravel())
        weights.append(_edges(plane, xb, yb, "line")[1].ravel())
    if yb.size:
        a.append(idx[:-1, :].T.ravel())
        b.append(idx[1:, :].T.ravel())
        weights.append(_edges(plane.T, yb, xb, "line")[1].ravel())
    a, b, wt = np.concatenate(a), np.concatenate(b), np.concatenate(weights)
    if not (wt > 0).any():
        return 0.0
    n = ty * tx
    lap = np.zeros((n, n))
    np.add.at(lap, (a, a), wt)
    np.add.at(lap, (b, b), wt)
    np.add.at(lap, (a, b), -wt)
    np.add.at(lap, (b, a), -wt)
    lap[np.diag_indices(n)] += RIDGE * float(np.median(wt[wt > 0]))
    cov = np.linalg.inv(lap)
    var = cov[a, a] + cov[b, b] - 2 * cov[a, b]
    return float(np.sqrt(np.mean(var) / 2))


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
