"""The periodic-pattern statistics of ``grid_artifact`` (split out of :mod:`checks.artifact.grid`,
whose docstring says what is measured): the clipped high-pass residual, the pieces read, the
per-tile P x P templates folded from it, the U-statistic power of the pattern they share and
its z, the unit checkerboard's power per period, and a template's period along each axis.
"""
from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

PERIODS = tuple(range(2, 33))
TILE = 64
RESIDUAL_SIGMA = 1.0
CLIP = 8.0
#: native side read as one piece; larger images are read on up to four crops of this side
MAX_SIDE = 1280


def residual(f: np.ndarray) -> np.ndarray:
    """Fine detail (the image minus a Gaussian of ``RESIDUAL_SIGMA``), clipped to ``±CLIP``."""
    f = f.astype(np.float32)
    return np.clip(f - cv2.GaussianBlur(f, (0, 0), RESIDUAL_SIGMA), -CLIP, CLIP)


@lru_cache(maxsize=None)
def unit_power(period: int) -> float:
    """Residual power (mean square) of a ±1 checkerboard of ``period`` px."""
    n = TILE // period * period * 2
    yy, xx = np.mgrid[0:n, 0:n]
    half = max(1, period // 2)
    pat = np.where((xx // half + yy // half) % 2 == 0, 1.0, -1.0).astype(np.float32)
    if period % 2:  # odd periods: a square wave of P // 2 and P - P // 2 pixels
        pat = np.where(((xx % period) < half) ^ ((yy % period) < half), 1.0, -1.0)
    r = residual(pat.astype(np.float32) + 128.0)
    core = r[8:-8, 8:-8]
    t = core[:core.shape[0] // period * period, :core.shape[1] // period * period]
    t = t.reshape(t.shape[0] // period, period, t.shape[1] // period, period).mean(axis=(0, 2))
    return float(np.mean((t - t.mean()) ** 2))


def pieces(g: np.ndarray) -> list[tuple[int, int, np.ndarray]]:
    """(y0, x0, residual) of the parts read: the whole image, or four native crops."""
    h, w = g.shape
    if max(h, w) <= MAX_SIDE:
        return [(0, 0, residual(g))]
    side_y, side_x = min(h, MAX_SIDE // 2), min(w, MAX_SIDE // 2)
    ys = sorted({int(round(c * h - side_y / 2)) for c in (0.25, 0.75)})
    xs = sorted({int(round(c * w - side_x / 2)) for c in (0.25, 0.75)})
    out = []
    for y in ys:
        for x in xs:
            y0, x0 = min(max(0, y), h - side_y), min(max(0, x), w - side_x)
            out.append((y0, x0, residual(g[y0:y0 + side_y, x0:x0 + side_x])))
    return out


def templates(pieces, period: int, short: int) -> list[tuple[int, int, int, np.ndarray]]:
    """Per piece: ``(x0, y0, tile side, templates)`` with the templates of its tiles as a
    ``(tiles_y, tiles_x, P, P)`` grid, zero-mean, phase-aligned to pixel 0. Tiles are
    ``TILE`` px, smaller on small pictures (at least 8 tiles along the ``short`` side, at
    least one cell each), so that the statistics across tiles have enough tiles."""
    m = max(1, min(TILE, short // 8) // period)          # cells per tile side
    side = m * period
    out = []
    for y0, x0, r in pieces:
        ty, tx = r.shape[0] // side, r.shape[1] // side
        if ty < 1 or tx < 1:
            continue
        # the cells' mean in two sums, each along one axis: first the m cell rows of every
        # tile row (contiguous runs of P full rows: a view, no copy), then the m cells along
        # x of what is left (1/m of the data), added cell by cell into the templates (numpy's
        # reduction over that strided axis of length m took 3-4 times as long, same sums);
        # one 6-d mean over axes (1, 4) of the cropped residual (a copy per period) took
        # 2-3 times as long as both
        w = r.shape[1]
        c = r[:ty * side].reshape(ty, m, period * w).sum(axis=1).reshape(ty, period, w)
        c = c[:, :, :tx * side].reshape(ty, period, tx, m, period)
        t = np.empty((ty, period, tx, period), np.float32)   # numpy's order of old
        if m == 1:
            t[...] = c[:, :, :, 0]
        else:
            np.add(c[:, :, :, 0], c[:, :, :, 1], out=t)
            for k in range(2, m):
                t += c[:, :, :, k]
        t *= np.float32(1.0 / (m * m))
        if y0 % period or x0 % period:
            t = np.roll(t, (y0 % period, x0 % period), axis=(1, 3))
        # each template's mean as numpy's 4-d mean summed it (every template row, then the
        # rows in order), at a fraction of its time; the zero-mean templates written as a
        # contiguous (tiles_y, tiles_x, P, P) grid, so that the statistics read them as
        # one (tiles, P * P) array without a copy
        mean = t.sum(axis=3).sum(axis=1) / (period * period)
        z = np.empty((ty, tx, period, period), np.float32)
        np.subtract(t.transpose(0, 2, 1, 3), mean[:, :, None, None], out=z)
        out.append((x0, y0, side, z))
    return out


def power(dots: np.ndarray, self_dots: np.ndarray, p: int) -> tuple[float, float, float]:
    """(power, z, standard error) of the pattern common to a set of tiles, from each tile's
    inner product ``dots`` with the sum of the set's templates and with itself
    (``self_dots``); templates of ``p`` x ``p`` px.

    Power: per tile, the inner product of its template with the mean template of the other
    tiles (per template pixel); their mean is an unbiased estimate of the common pattern's
    power. z: that mean over its standard error across tiles. A decoder pattern is the same
    in every tile it covers, so the products agree (high z); a texture is periodic only
    roughly, its phase drifting across the frame, so its products scatter (low z) however
    strong it is.
    """
    k = dots.size
    if k < 3:
        return 0.0, 0.0, float("inf")
    c = (dots - self_dots) / ((k - 1) * p * p)
    u = float(c.mean())
    se = float(c.std(ddof=1)) / np.sqrt(k)
    return u, u / (se + 1e-9), se


def axis_period(t: np.ndarray, axis: int) -> int:
    """Smallest period of template ``t`` along ``axis`` (0 when it is constant along it)."""
    p = t.shape[axis]
    total = float(np.sum(t * t)) + 1e-12
    along = t - t.mean(axis=axis, keepdims=True)
    if float(np.sum(along * along)) <= 0.1 * total:
        return 0
    for d in range(1, p):
        if p % d == 0 and float(np.sum((t - np.roll(t, d, axis=axis)) ** 2)) <= 0.2 * total:
            return max(2, d)
    return p
