"""The steps ``banding`` reads (:mod:`checks.artifact.banding`): exact steps between flat
plateaus along rows, nearly flat ones under a grey level or two of noise or dither, tall
steps (>= 5 levels) on the plane's 3 x 3 median, and steps a filter spread into short
ramps; each as (row, column, height) in the canonical plane, columns read as rows of the
transposed plane.
"""
from __future__ import annotations

import cv2
import numpy as np


#: steps higher than this (grey levels) are edges between flat shapes, not quantisation
_MAX_STEP = 48
_TILE = 64
#: staircase steps a tile needs to have a step height (over every line: 6 when every
#: second line was read)
_TILE_STEPS = 12


def _steps_along_rows(g: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Isolated quantisation steps along rows: (row, col, signed height) of each.

    A step is a run of one or two same-sign non-zero neighbour differences (two: a step that
    area averaging split over two pixels) with >= 3 exactly-zero differences on each side,
    i.e. a jump between two plateaus. Noise and texture never leave such plateaus.

    Two passes over the plane (where three zero differences start, and a non-zero one right
    after three): the rest is read at those candidates only (a few % of the pixels).
    """
    d = np.diff(g, axis=1)
    w = d.shape[1]
    if w < 9:
        e = np.zeros(0, np.int64)
        return e, e, e
    z = d == 0
    z3 = np.zeros(z.shape, bool)               # z3[k]: differences k..k+2 zero (d's shape)
    np.logical_and(z[:, :w - 2], z[:, 1:w - 1], out=z3[:, :w - 2])
    z3[:, :w - 2] &= z[:, 2:]
    cand = np.zeros(z.shape, bool)             # a zero run, then a step at column + 3
    np.greater(z3[:, :w - 7], z[:, 3:w - 4], out=cand[:, 3:w - 4])
    idx = np.flatnonzero(cand)
    df, zf = d.ravel(), z3.ravel()
    c, n1 = df[idx], df[idx + 1]
    one = zf[idx + 1]
    two = ~one & (np.sign(c) == np.sign(n1)) & zf[idx + 2]
    keep = one | two
    idx, height = idx[keep], np.where(two, c + n1, c)[keep]
    rr = idx // w
    return rr, idx - rr * w, height.astype(np.int64)


#: steps in noise: a plateau may wander by this many grey levels over _NOISY_PLATEAU pixels
#: each side of a step of at least _NOISY_STEP levels (plateau means). Wider than a JPEG
#: block (8 px): with 8-px plateaus the DC staircases of clean SDXL JPEG skies read 0.38
#: (scripts/calibrate/stability.py, 40 of 185 pictures at minor); with 12 none did
_NOISY_RANGE, _NOISY_PLATEAU, _NOISY_STEP = 2, 12, 4


def _flat(g: np.ndarray, k: int) -> np.ndarray:
    """Whether the ``k`` pixels from column j on are within _NOISY_RANGE levels (column j)."""
    n = g.shape[1] - k + 1
    kernel = np.ones((1, k), np.uint8)
    hi = cv2.dilate(g, kernel, anchor=(0, 0), borderType=cv2.BORDER_REPLICATE)
    lo = cv2.erode(g, kernel, anchor=(0, 0), borderType=cv2.BORDER_REPLICATE)
    return cv2.subtract(hi, lo)[:, :n] <= _NOISY_RANGE


def _noisy_steps(g: np.ndarray, flat: np.ndarray, csum: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Quantisation steps under a dither or noise of a grey level or two: (row, col, signed
    height) of each jump of >= _NOISY_STEP levels (in one or two pixels) between two
    plateaus of _NOISY_PLATEAU pixels whose range is <= _NOISY_RANGE; the height is the
    difference of the plateau means. :func:`_steps_along_rows` needs exactly equal pixels,
    which +-1 of noise never leaves: a 0.96 banding reading (LIVE's heaviest JPEGs) and
    an 8-level posterised gradient fell to 0 under it.

    The plateau means are exact (integer window sums), and read only where the two pixels
    across the step differ at all (two such plateaus can meet with a 1-level jump, never
    with none). ``flat`` is :func:`_flat` of ``g``, ``csum`` its row-wise cumulative sums
    (a leading zero column). The candidates are found on the plane, then read by flat
    index (cheaper than numpy's 2-d ``nonzero`` and fancy indexing)."""
    P = _NOISY_PLATEAU
    h, w = g.shape
    e = np.zeros(0, np.int64)
    if w < 2 * P + 2:
        return e, e, np.zeros(0)
    n = w - 2 * P                              # column c: the step follows pixel c + P - 1
    left = g[:, P - 1:P - 1 + n]
    cand = np.zeros((h, w), bool)              # full width: flat indices are g's
    cand[:, :n] = flat[:, :n] & (((g[:, P:P + n] != left) & flat[:, P:P + n])
                                 | ((g[:, P + 1:P + 1 + n] != left) & flat[:, P + 1:P + 1 + n]))
    idx = np.flatnonzero(cand)
    if not idx.size:
        return e, e, np.zeros(0)
    rr = idx // w
    at = idx + rr                              # csum's flat index of (row, col)
    cs = csum.ravel()
    fw = flat.shape[1]
    fat = idx - rr * (w - fw)                  # flat's flat index of (row, col)
    ff = flat.ravel()

    def mean(off):
        return (cs[at + off + P] - cs[at + off]) / P

    lo = mean(0)
    h1 = mean(P) - lo
    h2 = mean(P + 1) - lo
    one = ff[fat + P] & (np.abs(h1) >= _NOISY_STEP)
    mid = g.ravel()[idx + P]
    two = (~one & ff[fat + P + 1] & (np.abs(h2) >= _NOISY_STEP)
           & (np.minimum(lo, lo + h2) < mid) & (mid < np.maximum(lo, lo + h2)))
    keep = one | two
    idx, rr, hh = idx[keep], rr[keep], np.where(one, h1, h2)[keep]
    cc = idx - rr * w
    if rr.size:                                # one step, not one per pixel it spans
        keep = np.ones(rr.size, bool)
        keep[1:] = ~((rr[1:] == rr[:-1]) & (cc[1:] - cc[:-1] <= 2))
        rr, cc, hh = rr[keep], cc[keep], hh[keep]
    return rr, cc + P - 1, hh


#: steps whose transition is a short ramp: what a deblocking or smoothing filter leaves of a
#: staircase (samples/jpeg_blocky.jpg after ``deblock``: 12-level steps spread over ~6-10 px
#: between flat plateaus ~50 px wide; exact and noisy steps read 0 there, the contours stay
#: visible). A ramp joins two _NOISY_PLATEAU-flat plateaus over 2.._RAMP_MAX px, every pixel
#: of it between the two plateaus. It counts with a weight rising from 0 at a plateau /
#: transition ratio of _RAMP_RATIO[0] to 1 at _RAMP_RATIO[1] (a contour fades as its ramp
#: widens), and only inside a staircase of >= _RAMP_CHAIN steps: pairs of ramps (defocused
#: shapes, soft shadows) made clean SDXL JPEGs read minor (docs/stability.md).
_RAMP_MAX = 24
_RAMP_RATIO = (3.0, 8.0)
_RAMP_STEP = 6
_RAMP_CHAIN = 3


def _ramp_steps(g: np.ndarray, flat: np.ndarray, csum: np.ndarray) -> tuple[np.ndarray, ...]:
    """Steps spread over a short ramp: (row, col, signed height, weight, first col, last col)
    of each: col at the ramp's middle, the height the difference of the means of the plateau
    windows next to the ramp, which run from first to last col. ``flat`` and ``csum`` as for
    :func:`_noisy_steps`.

    A plateau is a run of flat windows; the next run on the row gives the ramp between
    them (the pixels in no flat window) and both plateaus' lengths."""
    P = _NOISY_PLATEAU
    w = g.shape[1]
    e = np.zeros(0, np.int64)
    padded = np.zeros((flat.shape[0], flat.shape[1] + 2), bool)
    padded[:, 1:-1] = flat
    idx = np.flatnonzero(padded[:, 1:] != padded[:, :-1])  # per row: a run's start, its end
    rr = idx // (flat.shape[1] + 1)
    cc = idx - rr * (flat.shape[1] + 1)
    start, end, row = cc[0::2], cc[1::2], rr[0::2]
    length = end - start                     # windows in a run: a plateau of length + P - 1 px
    nxt = np.flatnonzero(row[1:] == row[:-1])            # runs followed by one on their row
    rr, jj, s = row[nxt], end[nxt] - 1, start[nxt + 1]   # last window, next plateau's start
    t = s - (jj + P)                                     # pixels in between
    r = np.minimum(length[nxt], length[nxt + 1]) + P - 1   # the shorter plateau, px
    wt = np.clip((r / np.maximum(t, 1) - _RAMP_RATIO[0]) / (_RAMP_RATIO[1] - _RAMP_RATIO[0]),
                 0.0, 1.0)
    ok = (t >= 2) & (t <= _RAMP_MAX) & (wt > 0)
    rr, jj, s, t, wt = rr[ok], jj[ok], s[ok], t[ok], wt[ok]
    if not rr.size:
        return e, e, np.zeros(0), np.zeros(0), e, e
    c = jj + P - 1                                       # the left plateau's last pixel
    lo = (csum[rr, c + 1] - csum[rr, c + 1 - P]) / P
    hi = (csum[rr, s + P] - csum[rr, s]) / P
    ok = np.abs(hi - lo) >= _RAMP_STEP
    # every pixel of the transition between the plateaus: a ramp, not a line or a bump
    k = np.arange(1, _RAMP_MAX + 1)
    v = g[rr[:, None], np.minimum(c[:, None] + k[None, :], w - 1)]
    a = np.minimum(lo, hi)[:, None] - _NOISY_RANGE
    b = np.maximum(lo, hi)[:, None] + _NOISY_RANGE
    ok &= (((v >= a) & (v <= b)) | (k[None, :] > t[:, None])).all(axis=1)
    return rr[ok], (c + (t + 1) // 2)[ok], (hi - lo)[ok], wt[ok], jj[ok], (s + P - 1)[ok]


def _away(rr: np.ndarray, cc: np.ndarray, r: np.ndarray, c: np.ndarray, reach: int,
          width: int) -> np.ndarray:
    """Mask of the steps (r, c) with no step of (rr, cc) within ``reach`` px on their row."""
    if not r.size:
        return np.zeros(0, bool)
    # each step marked once, then spread by ``reach`` along its row (a 1-row dilation: the
    # same plane as marking it at every offset)
    taken = np.zeros((int(max(rr.max(initial=0), r.max())) + 1, width + 2 * reach), np.uint8)
    taken[rr, cc + reach] = 1
    taken = cv2.dilate(taken, np.ones((1, 2 * reach + 1), np.uint8))
    return taken[r, c + reach] == 0


def _inside(rr: np.ndarray, cc: np.ndarray, r: np.ndarray, first: np.ndarray,
            last: np.ndarray, width: int) -> np.ndarray:
    """Mask of the points (rr, cc) inside some interval [first, last] of row r: more of
    those intervals start than end up to the point, counted on sorted row-major keys (the
    same as a +1/-1 plane's cumulative sums along the rows, without the plane)."""
    key = rr * (width + 1) + cc
    starts = np.sort(r * (width + 1) + first)
    ends = np.sort(r * (width + 1) + last + 1)
    return (np.searchsorted(starts, key, "right") - np.searchsorted(ends, key, "right")) > 0


#: exact steps of the plane's 3 x 3 median count from this height (levels) where the plane
#: has no step within 2 px: +-1 of noise leaves no equal pixels, and plateaus shorter than
#: _NOISY_PLATEAU no noisy steps (300-W indoor_020/029, 4-10 px plateaus, 0.49 / 0.57 -> 0);
#: the median gives them back, steps kept sharp. From 4 levels a clean Human3.6M wall moved
#: 0.19 -> 0.30 on a 1-px shift, from 6 indoor_020 fell to 0 again; read wholly on the
#: median, 73 of the 185 stability originals rose to ~0.19 (its 1-2-level steps of texture)
_MEDIAN_STEP = 5


def _tall_steps_along_rows(g: np.ndarray, least: int) -> tuple[np.ndarray, np.ndarray,
                                                                np.ndarray]:
    """:func:`_steps_along_rows` of the uint8 plane ``g``, only its steps of >= ``least``
    levels (the same arrays, same order). A step's height is the jump from the pixel before
    it to the one two after it (a one-pixel step has a zero difference after it), so the
    candidates are three zero differences, a non-zero one and such a jump: a few cv2 passes
    over the uint8 plane, the rest read at the candidates."""
    h, ww = g.shape
    w = ww - 1                                 # differences per row
    e = np.zeros(0, np.int64)
    if w < 9:
        return e, e, e
    z = cv2.compare(g[:, 1:], g[:, :-1], cv2.CMP_EQ)           # 255 where a difference is 0
    # two planes written in place (fresh planes cost page faults worth more than the passes)
    cand = cv2.bitwise_and(z[:, :w - 7], z[:, 1:w - 6])
    cv2.bitwise_and(cand, z[:, 2:w - 5], dst=cand)           # differences k - 3 .. k - 1 zero
    jump = cv2.absdiff(g[:, 5:w - 2], g[:, 3:w - 4])
    cv2.compare(jump, least, cv2.CMP_GE, dst=jump)            # a jump of >= least at k ..
    cv2.subtract(jump, z[:, 3:w - 4], dst=jump)               # .. and d[k] != 0 (255 - 255)
    cv2.bitwise_and(cand, jump, dst=cand)
    pts = cv2.findNonZero(cand)                # row-major, like np.flatnonzero, and faster
    if pts is None:
        return e, e, e
    pts = pts.reshape(-1, 2).astype(np.int64)  # (k - 3, row)
    k, rr = pts[:, 0] + 3, pts[:, 1]
    at = rr * ww + k                           # g's flat index of the pixel before the step
    v = g.ravel()[at[:, None] + np.arange(6)].astype(np.int64)   # pixels k .. k + 5
    c, n1 = v[:, 1] - v[:, 0], v[:, 2] - v[:, 1]
    one = (v[:, 1:4] == v[:, 2:5]).all(axis=1)     # differences k + 1 .. k + 3 zero
    two = ~one & (np.sign(c) == np.sign(n1)) & (v[:, 2:5] == v[:, 3:6]).all(axis=1)
    keep = one | two
    height = np.where(two, c + n1, c)[keep]
    return rr[keep], k[keep], height


def _all_steps(g: np.ndarray, gm: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                       np.ndarray, np.ndarray]:
    """The steps of :func:`_plane_steps` on ``g``, and the exact steps of >= _MEDIAN_STEP
    levels of ``gm`` (the 3 x 3 median of ``g``) with no step of ``g`` within 2 px on their
    row. Returns (row, col, signed height, weight, is_ramp), sorted along the rows."""
    rr, cc, hh, wt, ramp = _plane_steps(g)
    rm, cm, hm = _tall_steps_along_rows(gm, _MEDIAN_STEP)
    if not rm.size:
        return rr, cc, hh, wt, ramp
    # both lists are in row-major order: where each median step would go among the plane's
    # steps, and whether a plane step within 2 px on its row is beside it there (the keys
    # of two rows lie further apart than that); then inserted, not sorted
    width = g.shape[1] + 8
    key, kn = rr * width + cc, rm * width + cm
    at = np.searchsorted(key, kn)
    near = np.zeros(kn.size, bool)
    if key.size:
        near = ((at > 0) & (kn - key[np.maximum(at - 1, 0)] <= 2)) | \
               ((at < key.size) & (key[np.minimum(at, key.size - 1)] - kn <= 2))
    at, rm, cm, hm = at[~near], rm[~near], cm[~near], hm[~near]
    return (np.insert(rr, at, rm), np.insert(cc, at, cm), np.insert(hh, at, hm),
            np.insert(wt, at, 1.0), np.insert(ramp, at, False))


def _plane_steps(g: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                          np.ndarray]:
    """Exact-plateau steps; noisy ones where no exact step is within 2 px on the row; ramps
    where neither is within 4 px. The small steps (<= _NOISY_RANGE) inside a ramp's plateau
    windows are its own tails (a smoothed step ends in 1-level exact steps) and are dropped:
    between the ramps of a staircase they broke its chain. Returns (row, col, signed height,
    weight, is_ramp), sorted along the rows."""
    h, w = g.shape
    r1, c1, h1 = _steps_along_rows(g)
    if w < 2 * _NOISY_PLATEAU + 3:
        wt, ramp = np.ones(r1.size), np.zeros(r1.size, bool)
        return r1, c1, h1.astype(np.float64), wt, ramp
    flat = _flat(g, _NOISY_PLATEAU)
    csum = np.zeros((h, w + 1), np.int32)
    np.cumsum(g, axis=1, out=csum[:, 1:])
    r2, c2, h2 = _noisy_steps(g, flat, csum)
    new = _away(r1, c1, r2, c2, 2, w)
    rr, cc = np.concatenate([r1, r2[new]]), np.concatenate([c1, c2[new]])
    hh = np.concatenate([h1.astype(np.float64), h2[new]])
    r3, c3, h3, w3, first, last = _ramp_steps(g, flat, csum)
    if r3.size:
        inside = _inside(rr, cc, r3, first, last, w)
        keep = ~(inside & (np.abs(hh) <= _NOISY_RANGE))
        rr, cc, hh = rr[keep], cc[keep], hh[keep]
    new = _away(rr, cc, r3, c3, 4, w)
    wt = np.concatenate([np.ones(rr.size), w3[new]])
    ramp = np.concatenate([np.zeros(rr.size, bool), np.ones(int(new.sum()), bool)])
    rr, cc = np.concatenate([rr, r3[new]]), np.concatenate([cc, c3[new]])
    hh = np.concatenate([hh, h3[new]])
    order = np.lexsort((cc, rr))
    return rr[order], cc[order], hh[order], wt[order], ramp[order]
