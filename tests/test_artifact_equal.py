"""The artifact checks' fast paths (issue 18) equal the plain implementations they replaced.

Each reference below is the code as it was before the speed work, kept here verbatim in
its arithmetic: the new code must give the same arrays, bit for bit (same dtype), on real
photos, their posterised / noisy / smoothed copies and odd sizes, in both orientations.
"""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from checks.artifact import (banding_steps, blur, compression, grid, grid_templates, mosaic,
                             noise, seams, sharpness, tonal)
from checks.artifact.noise import native_sigma
from keyframe_dev.data import add_noise, img, photo


# ------------------------------------------------------------------ the pictures

def _planes() -> list[np.ndarray]:
    """Luma planes that exercise every branch: texture, exact plateaus (posterised), plateaus
    under +-1 of noise, plateaus joined by short ramps (a posterised picture smoothed), and
    sizes that are not multiples of any tile or period."""
    rng = np.random.default_rng(3)
    out = []
    for name, side in (("astronaut", 512), ("coffee", 600), ("chelsea", 451)):
        rgb = photo(name)
        g = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        g = cv2.resize(g, (side, side * g.shape[0] // g.shape[1]), interpolation=cv2.INTER_AREA)
        post = (g // 16 * 16 + 8).astype(np.uint8)
        noisy = np.clip(post.astype(np.int16) + rng.integers(-1, 2, post.shape), 0, 255)
        smooth = cv2.GaussianBlur(post, (0, 0), 2.0)
        out += [g, post, noisy.astype(np.uint8), smooth]
    yy, xx = np.mgrid[0:300, 0:433]
    ramp = (xx * 255 / 432 // 12 * 12).astype(np.uint8)                # a banded gradient
    out.append(cv2.GaussianBlur(ramp, (0, 0), 1.5))
    out.append(((xx // 4 + yy // 4) % 2 * 3 + 120).astype(np.uint8))    # an 8-px checkerboard
    return out


PLANES = _planes()


def _both(g: np.ndarray) -> list[np.ndarray]:
    return [g, np.ascontiguousarray(g.T)]


def _equal(a, b) -> bool:
    return all(np.asarray(x).dtype == np.asarray(y).dtype and np.array_equal(x, y)
               for x, y in zip(a, b, strict=True))


# ------------------------------------------------------------------ banding references

def _steps_along_rows_ref(g):
    d = np.diff(g, axis=1)
    w = d.shape[1]
    if w < 9:
        e = np.zeros(0, np.int64)
        return e, e, e
    z = d == 0
    c = d[:, 3:w - 4]
    n1 = d[:, 4:w - 3]
    left = z[:, 0:w - 7] & z[:, 1:w - 6] & z[:, 2:w - 5]
    one = (c != 0) & left & z[:, 4:w - 3] & z[:, 5:w - 2] & z[:, 6:w - 1]
    two = ((c != 0) & left & (np.sign(c) == np.sign(n1)) & z[:, 5:w - 2] & z[:, 6:w - 1]
           & z[:, 7:w])
    height = np.where(two, c + n1, c)
    rr, cc = np.nonzero(one | two)
    return rr, cc + 3, height[rr, cc].astype(np.int64)


def _flat_ref(g, k):
    n = g.shape[1] - k + 1
    kernel = np.ones((1, k), np.uint8)
    hi = cv2.dilate(g, kernel, anchor=(0, 0), borderType=cv2.BORDER_REPLICATE)[:, :n]
    lo = cv2.erode(g, kernel, anchor=(0, 0), borderType=cv2.BORDER_REPLICATE)[:, :n]
    return (hi - lo) <= banding_steps._NOISY_RANGE


def _noisy_steps_ref(g, flat, csum):
    P = banding_steps._NOISY_PLATEAU
    w = g.shape[1]
    e = np.zeros(0, np.int64)
    if w < 2 * P + 2:
        return e, e, np.zeros(0)
    n = w - 2 * P
    left = g[:, P - 1:P - 1 + n]
    d1 = g[:, P:P + n] != left
    d2 = g[:, P + 1:P + 1 + n] != left
    cand = flat[:, :n] & ((d1 & flat[:, P:P + n]) | (d2 & flat[:, P + 1:P + 1 + n]))
    rr, cc = np.nonzero(cand)
    if not rr.size:
        return e, e, np.zeros(0)

    def mean(col):
        return (csum[rr, col + P] - csum[rr, col]) / P

    lo = mean(cc)
    h1 = mean(cc + P) - lo
    h2 = mean(cc + P + 1) - lo
    one = flat[rr, cc + P] & (np.abs(h1) >= banding_steps._NOISY_STEP)
    mid = g[rr, cc + P]
    two = (~one & flat[rr, cc + P + 1] & (np.abs(h2) >= banding_steps._NOISY_STEP)
           & (np.minimum(lo, lo + h2) < mid) & (mid < np.maximum(lo, lo + h2)))
    keep = one | two
    rr, cc, hh = rr[keep], cc[keep], np.where(one, h1, h2)[keep]
    if rr.size:
        keep = np.ones(rr.size, bool)
        keep[1:] = ~((rr[1:] == rr[:-1]) & (cc[1:] - cc[:-1] <= 2))
        rr, cc, hh = rr[keep], cc[keep], hh[keep]
    return rr, cc + P - 1, hh


def _inside_ref(rr, cc, r, first, last, h, w):
    cover = np.zeros((h, w + 1), np.int32)
    np.add.at(cover, (r, first), 1)
    np.add.at(cover, (r, last + 1), -1)
    return np.cumsum(cover, axis=1)[rr, cc] > 0


def _away_ref(rr, cc, r, c, reach, width):
    if not r.size:
        return np.zeros(0, bool)
    taken = np.zeros((int(max(rr.max(initial=0), r.max())) + 1, width + 2 * reach), bool)
    for d in range(-reach, reach + 1):
        taken[rr, np.clip(cc + d + reach, 0, width + 2 * reach - 1)] = True
    return ~taken[r, c + reach]


def _csum(g):
    csum = np.zeros((g.shape[0], g.shape[1] + 1), np.int32)
    np.cumsum(g, axis=1, out=csum[:, 1:])
    return csum


@pytest.mark.parametrize("i", range(len(PLANES)))
def test_banding_steps_equal_the_plain_implementation(i):
    for g in _both(PLANES[i].astype(np.int16)):
        assert _equal(banding_steps._steps_along_rows(g), _steps_along_rows_ref(g))
        flat = banding_steps._flat(g, banding_steps._NOISY_PLATEAU)
        assert _equal([flat], [_flat_ref(g, banding_steps._NOISY_PLATEAU)])
        csum = _csum(g)
        assert _equal(banding_steps._noisy_steps(g, flat, csum), _noisy_steps_ref(g, flat, csum))
        r3, c3, _, _, first, last = banding_steps._ramp_steps(g, flat, csum)
        rr, cc, _ = banding_steps._steps_along_rows(g)
        r2, c2, _ = banding_steps._noisy_steps(g, flat, csum)
        for reach, (a, b) in ((2, (r2, c2)), (4, (r3, c3))):
            assert _equal([banding_steps._away(rr, cc, a, b, reach, g.shape[1])],
                          [_away_ref(rr, cc, a, b, reach, g.shape[1])])
        if r3.size:
            assert _equal([banding_steps._inside(rr, cc, r3, first, last, g.shape[1])],
                          [_inside_ref(rr, cc, r3, first, last, *g.shape)])


@pytest.mark.parametrize("i", range(len(PLANES)))
def test_banding_tall_steps_of_the_median_equal_the_plain_implementation(i):
    """The median plane's steps (issue 13, short plateaus under noise) are the plain
    reference's steps of the 3 x 3 median, those of >= _MEDIAN_STEP levels, in its order."""
    for g in _both(PLANES[i]):
        gm = cv2.medianBlur(g, 3)
        rr, cc, hh = _steps_along_rows_ref(gm.astype(np.int16))
        tall = np.abs(hh) >= banding_steps._MEDIAN_STEP
        assert _equal(banding_steps._tall_steps_along_rows(gm, banding_steps._MEDIAN_STEP),
                      (rr[tall], cc[tall], hh[tall]))


def _all_steps_ref(g, gm):
    """The plane's steps and the median's tall ones away from them, sorted anew."""
    rr, cc, hh, wt, ramp = banding_steps._plane_steps(g)
    rm, cm, hm = _steps_along_rows_ref(gm.astype(np.int16))
    tall = np.abs(hm) >= banding_steps._MEDIAN_STEP
    rm, cm, hm = rm[tall], cm[tall], hm[tall]
    new = _away_ref(rr, cc, rm, cm, 2, g.shape[1])
    n = int(new.sum())
    rr, cc = np.concatenate([rr, rm[new]]), np.concatenate([cc, cm[new]])
    hh = np.concatenate([hh, hm[new].astype(np.float64)])
    wt, ramp = np.concatenate([wt, np.ones(n)]), np.concatenate([ramp, np.zeros(n, bool)])
    order = np.lexsort((cc, rr))
    return rr[order], cc[order], hh[order], wt[order], ramp[order]


@pytest.mark.parametrize("i", range(len(PLANES)))
def test_banding_all_steps_equal_the_plain_implementation(i):
    for g8 in _both(PLANES[i]):
        gm = cv2.medianBlur(g8, 3)
        g = g8.astype(np.int16)
        assert _equal(banding_steps._all_steps(g, gm), _all_steps_ref(g, gm))


def test_the_pictures_hold_every_kind_of_step():
    """The planes above are a test of something: exact, noisy, ramp and median steps all
    occur."""
    kinds = np.zeros(4, int)
    for g8 in PLANES:
        g = g8.astype(np.int16)
        flat, csum = banding_steps._flat(g, banding_steps._NOISY_PLATEAU), _csum(g)
        kinds += [banding_steps._steps_along_rows(g)[0].size, banding_steps._noisy_steps(g, flat, csum)[0].size,
                  banding_steps._ramp_steps(g, flat, csum)[0].size,
                  banding_steps._tall_steps_along_rows(cv2.medianBlur(g8, 3), banding_steps._MEDIAN_STEP)[0].size]
    assert (kinds > 100).all(), kinds


# ------------------------------------------------------------------ seam profile reference

def _band_profile_ref(g):
    h, w = g.shape
    d = np.diff(g.astype(np.int16), axis=1)
    band = 32
    if h // band < 3:
        return np.abs(d.mean(0, dtype=np.float32))
    s = cv2.boxFilter(d.astype(np.float32), -1, (1, band), anchor=(0, 0), normalize=False,
                      borderType=cv2.BORDER_CONSTANT)[:h - band + 1]
    return np.median(np.abs(s * np.float32(1 / band)), axis=0)


@pytest.mark.parametrize("i", range(len(PLANES)))
def test_seam_profile_equals_the_plain_median(i):
    g = PLANES[i]
    for v in (g, g.T, g[::2], g[:, ::3].T, g[:95], g[:96].T, g[:64, :50]):
        assert _equal([seams.band_profile(v)], [_band_profile_ref(v)])


def test_seam_fold_statistics_equal_numpys():
    """The seam fold's lower quartile and medians: numpy's values, bit for bit."""
    rng = np.random.default_rng(2)
    for _ in range(400):
        x = rng.normal(size=(int(rng.integers(2, 70)), int(rng.integers(1, 100))))
        x = np.round(x, int(rng.integers(0, 3)))          # ties too
        assert np.array_equal(seams._lower_quartile(x), np.percentile(x, 25, axis=0))
        assert seams._median(x.ravel()) == float(np.median(x.ravel()))


# ------------------------------------------------------------------ periodic templates reference

def _templates_ref(pieces, period, short):
    m = max(1, min(grid.TILE, short // 8) // period)
    side = m * period
    out = []
    for y0, x0, r in pieces:
        ty, tx = r.shape[0] // side, r.shape[1] // side
        if ty < 1 or tx < 1:
            continue
        w = r.shape[1]
        c = r[:ty * side].reshape(ty, m, period * w).sum(axis=1).reshape(ty, period, w)
        c = c[:, :, :tx * side].reshape(ty, period, tx, m, period).sum(axis=3)
        t = (c * np.float32(1.0 / (m * m))).transpose(0, 2, 1, 3)
        t = np.roll(t, (y0 % period, x0 % period), axis=(2, 3))
        out.append((x0, y0, side, t - t.mean(axis=(2, 3), keepdims=True)))
    return out


@pytest.mark.parametrize("i", (0, 1, 5, 12, 13))
def test_periodic_templates_equal_the_plain_fold(i):
    g = PLANES[i]
    big = cv2.resize(g, (1500, 1500 * g.shape[0] // g.shape[1]))   # four crops, moved phases
    for plane in (g, big):
        pieces = grid_templates.pieces(plane)
        for period in grid.PERIODS:
            new = grid_templates.templates(pieces, period, min(plane.shape))
            ref = _templates_ref(pieces, period, min(plane.shape))
            assert len(new) == len(ref)
            for a, b in zip(new, ref):
                assert a[:3] == b[:3] and _equal([a[3]], [b[3]])


# ------------------------------------------------------------------ blur's edge points reference

def _edges_ref(image):
    """blur._edges before the speed work (with the stability work's frame band and tile
    weights): float Sobels of the float canonical copy for the mosaic's tile ranking, np.hypot
    of the coarse gradient on the whole plane, every direction's test over all candidates."""
    import math
    plane, core = _analysis_plane_ref(image)
    noise_sigma = native_sigma(image)
    sa = round(min(blur.SIGMA_A_MAX, blur.SIGMA_A + blur.NOISE_WIDEN * noise_sigma), 2)
    fine = cv2.GaussianBlur(plane, (0, 0), sa)
    coarse = cv2.GaussianBlur(plane, (0, 0), blur.SIGMA_B)
    gx = cv2.Sobel(fine, cv2.CV_32F, 1, 0, ksize=1, scale=0.5)
    gy = cv2.Sobel(fine, cv2.CV_32F, 0, 1, ksize=1, scale=0.5)
    m1 = np.hypot(gx, gy)
    m2 = np.hypot(cv2.Sobel(coarse, cv2.CV_32F, 1, 0, ksize=1, scale=0.5),
                  cv2.Sobel(coarse, cv2.CV_32F, 0, 1, ksize=1, scale=0.5))
    pad = np.pad(m1, 1)
    candidates = m2 >= blur.MIN_CONTRAST * 0.5 / (math.sqrt(2 * math.pi) * blur.SIGMA_B)
    if core is not None:
        candidates &= core > 0
    else:
        F = blur.FRAME
        candidates[:F] = candidates[-F:] = False
        candidates[:, :F] = candidates[:, -F:] = False
    idx = np.flatnonzero(candidates)
    cgx, cgy, cm1 = gx.ravel().take(idx), gy.ravel().take(idx), m1.ravel().take(idx)
    wid = m1.shape[1]
    flat, at = pad.ravel(), idx + (idx // wid) * 2 + wid + 3
    ax, ay = np.abs(cgx), np.abs(cgy)
    horiz = ax > 2.4142 * ay
    vert = ay > 2.4142 * ax
    diag = ~(horiz | vert)
    same = (cgx * cgy) > 0
    parts = []
    for k, (mask, (dy, dx)) in enumerate(zip((horiz, diag & same, vert, diag & ~same),
                                             blur._STEPS)):
        off = dy * (wid + 2) + dx
        sel = mask & (cm1 > flat.take(at + off)) & (cm1 >= flat.take(at - off))
        ys, xs = np.divmod(idx[sel], wid)
        sign = np.sign(cgx[sel] * dx + cgy[sel] * dy).astype(np.int32)
        parts.append((ys, xs, sign * dy, sign * dx, np.full(ys.size, k, np.int32)))
    ys, xs, uy, ux, b = (np.concatenate(c) for c in zip(*parts))
    gain_a, gain_b = blur._noise_gain(sa), blur._noise_gain(blur.SIGMA_B)
    var = noise_sigma ** 2
    g1 = np.sqrt(np.maximum(m1[ys, xs] ** 2 - gain_a * var, 0.0))
    g2 = np.sqrt(np.maximum(m2[ys, xs] ** 2 - gain_b * var, 1e-12))
    r2 = np.maximum((g1 / g2) ** 2, 1.0 + 1e-4)
    s2 = np.clip((blur.SIGMA_B ** 2 - r2 * sa ** 2) / (r2 - 1.0), 0.0, blur.MAX_SIGMA ** 2)
    contrast = g2 * math.sqrt(2 * math.pi) * np.sqrt(s2 + blur.SIGMA_B ** 2)
    keep = contrast >= blur.MIN_CONTRAST
    ys, xs = ys[keep], xs[keep]
    weight = np.ones(ys.size, np.float32) if core is None else core[ys, xs]
    return (plane, ys, xs, uy[keep], ux[keep], b[keep],
            np.sqrt(s2[keep]).astype(np.float32), contrast[keep].astype(np.float32), weight)


def _analysis_plane_ref(image):
    """mosaic.analysis_plane (not spread) as the stability work left it: float Sobels of the
    float canonical copy, each tile weighted by its energy's rank (TILE_RAMP)."""
    from keyframe import views
    gray = views.gray_u8(image)
    h, w = gray.shape
    T, M = mosaic.TILE, mosaic.MARGIN
    if h * w <= mosaic.PIXEL_BUDGET or min(h, w) < T + 2 * M:
        return gray.astype(np.float32), None
    small = views.gray_at(image).astype(np.float32)
    ny, nx = (h - 2 * M) // T, (w - 2 * M) // T
    gx = cv2.Sobel(small, cv2.CV_32F, 1, 0)
    gy = cv2.Sobel(small, cv2.CV_32F, 0, 1)
    energy = cv2.resize(np.abs(gx) + np.abs(gy), (nx, ny), interpolation=cv2.INTER_AREA).ravel()
    budget = max(1, mosaic.PIXEL_BUDGET // (T + 2 * M) ** 2)
    ranked = np.sort(energy)[::-1]
    full = ranked[min(int(budget * mosaic.TILE_RAMP[0]), ranked.size - 1)]
    none = ranked[min(int(budget * mosaic.TILE_RAMP[1]), ranked.size - 1)]
    weight = np.clip((energy - none) / max(float(full - none), 1e-6), 0.0, 1.0)
    keep = np.nonzero(weight > 0)[0]
    if keep.size == 0:
        keep, weight = np.arange(min(budget, energy.size)), np.ones_like(energy)
    side = T + 2 * M
    cols = int(np.ceil(np.sqrt(keep.size)))
    rows = int(np.ceil(keep.size / cols))
    tiles = np.zeros((rows * side, cols * side), np.float32)
    core = np.zeros_like(tiles)
    for i, t in enumerate(keep):
        ty, tx = divmod(int(t), nx)
        y, x = M + ty * T, M + tx * T
        r, c = divmod(i, cols)
        tiles[r * side:(r + 1) * side, c * side:(c + 1) * side] = \
            gray[y - M:y + T + M, x - M:x + T + M]
        core[r * side + M:r * side + M + T, c * side + M:c * side + M + T] = weight[t]
    return tiles, core


@pytest.mark.parametrize("name", ("astronaut", "coffee", "chelsea", "rocket"))
def test_blur_edge_points_equal_the_plain_implementation(name):
    rgb = photo(name)
    big = cv2.resize(rgb, (1024, 1024 * rgb.shape[0] // rgb.shape[1]))   # the tile mosaic
    # the whole picture, the tile mosaic, a soft one, and a noisy one (the noise widens the
    # fine scale, and its points are the ones the noise floor must not invent)
    for x in (rgb, big, cv2.GaussianBlur(big, (0, 0), 2.0), add_noise(rgb, 3.0)):
        e = blur._edges(img(x))
        ref = _edges_ref(img(x))
        got = (e.plane, e.y, e.x, e.uy, e.ux, e.bin, e.radius, e.contrast, e.weight)
        assert e.y.size > 1000 and _equal(got, ref)


def test_hypot32_equals_numpys_hypot():
    """blur.hypot32 (OpenCV's float64 magnitude, rounded) is np.hypot bit for bit: on the
    fine and coarse gradients of photos (every alignment: offset views) and on random values
    over 60 binades, with zeros and signed zeros."""
    for name in ("astronaut", "coffee", "rocket"):
        g = cv2.cvtColor(photo(name), cv2.COLOR_RGB2GRAY).astype(np.float32)
        for sigma in (0.5, 0.8, 2.0):
            sm = cv2.GaussianBlur(g, (0, 0), sigma)
            gx = cv2.Sobel(sm, cv2.CV_32F, 1, 0, ksize=1, scale=0.5)
            gy = cv2.Sobel(sm, cv2.CV_32F, 0, 1, ksize=1, scale=0.5)
            for off in range(3):
                x, y = gx[:, off:], gy[:, off:]
                assert _equal((blur.hypot32(x, y),), (np.hypot(x, y),))
    rng = np.random.default_rng(5)
    n = 200_001
    x = (rng.standard_normal(n) * 2.0 ** rng.integers(-30, 30, n)).astype(np.float32)
    y = (rng.standard_normal(n) * 2.0 ** rng.integers(-30, 30, n)).astype(np.float32)
    x[:100], y[50:150], x[200:300] = 0.0, 0.0, -0.0
    for off in range(9):
        assert _equal((blur.hypot32(x[off:], y[:n - off]),), (np.hypot(x[off:], y[:n - off]),))
    empty = np.zeros(0, np.float32)
    assert _equal((blur.hypot32(empty, empty),), (np.hypot(empty, empty),))


def _edge_fields(e):
    return (e.plane, e.y, e.x, e.uy, e.ux, e.bin, e.radius, e.contrast, e.weight)


@pytest.mark.parametrize("name", ("astronaut", "coffee", "chelsea", "rocket"))
def test_both_mosaics_edge_points_equal_their_separate_readings(name):
    """blur.edges reads blur's mosaic and the spread one in one pass over the tiles of
    either: the same points, in the same order, with the same weights, as each mosaic read
    on its own (blur._edges); at sizes whose mosaics are 7-9 tiles wide, sharp, soft and
    noisy."""
    rgb = photo(name)
    for side in (800, 1024, 1500):
        big = cv2.resize(rgb, (side, side * rgb.shape[0] // rgb.shape[1]))
        for x in (big, cv2.GaussianBlur(big, (0, 0), 2.0), add_noise(big, 3.0)):
            image = img(x)
            got = (blur.edges(image), blur.edges(image, spread=True))
            assert "blur.edges.mosaics" in image.cache
            fresh = img(x)
            ref = (blur._edges(fresh), blur._edges(fresh, spread=True))
            for e, r in zip(got, ref):
                assert e.y.size > 500 and _equal(_edge_fields(e), _edge_fields(r))


def test_a_tile_reads_the_same_wherever_it_sits_in_a_mosaic():
    """The premise of the shared mosaic pass: OpenCV's Gaussians and gradients give a tile's
    core (and the one-pixel ring the maximum test reads) the same float32 numbers at every
    position of mosaics 1-13 tiles wide, for the fine scales blur uses and the coarse one."""
    side, m, t = mosaic.TILE + 2 * mosaic.MARGIN, mosaic.MARGIN, mosaic.TILE
    g = cv2.cvtColor(photo("astronaut"), cv2.COLOR_RGB2GRAY).astype(np.float32)
    rng = np.random.default_rng(7)
    tiles = [g[y:y + side, x:x + side] for y, x in rng.integers(0, 512 - side, (6, 2))]
    tiles.append(add_noise(np.repeat(tiles[0][..., None], 3, 2), 4.0)[..., 0].astype(np.float32))

    def reading(plane, sa):
        fine = cv2.GaussianBlur(plane, (0, 0), sa)
        coarse = cv2.GaussianBlur(plane, (0, 0), blur.SIGMA_B)
        return [cv2.Sobel(f, cv2.CV_32F, dx, 1 - dx, ksize=1, scale=0.5)
                for f in (fine, coarse) for dx in (1, 0)]

    for sa in (0.5, 0.74, 1.2):
        ref = {}
        for cols in range(1, 14):
            rows = 1 + (cols % 3)
            pick = rng.integers(0, len(tiles), rows * cols)
            plane = np.zeros((rows * side, cols * side), np.float32)
            for i, k in enumerate(pick):
                r, c = divmod(i, cols)
                plane[r * side:(r + 1) * side, c * side:(c + 1) * side] = tiles[k]
            out = reading(plane, sa)
            for i, k in enumerate(pick):
                r, c = divmod(i, cols)
                cut = [a[r * side + m - 1:r * side + m + t + 1, c * side + m - 1:c * side + m + t + 1]
                       for a in out]
                if k in ref:
                    assert _equal(cut, ref[k])
                ref.setdefault(k, [a.copy() for a in cut])


# ------------------------------------------------------------------ noise blocks references

def _block_clipped_ref(plane):
    b, hb, wb = noise._blocks(plane)
    p = plane[1:hb * b + 1, 1:wb * b + 1]
    clip = ((p <= 2) | (p >= 253)).astype(np.float32)
    return cv2.resize(clip, (wb, hb), interpolation=cv2.INTER_AREA).reshape(hb * wb, -1) > 0


def _block_sigmas_ref(plane):
    b, hb, wb = noise._blocks(plane)
    p = plane[:hb * b + 2, :wb * b + 2].astype(np.float32)
    inner = (slice(1, -1), slice(1, -1))

    def block_mean_abs(taps):
        resp = cv2.sepFilter2D(p, cv2.CV_32F, taps, taps, borderType=cv2.BORDER_REFLECT)
        np.abs(resp, out=resp)
        return cv2.resize(resp[inner], (wb, hb), interpolation=cv2.INTER_AREA)

    r = np.minimum(block_mean_abs(noise._TAPS), block_mean_abs(noise._TAPS_WIDE))
    m = cv2.resize(p[inner], (wb, hb), interpolation=cv2.INTER_AREA)
    r, m = r.reshape(hb * wb, -1), m.reshape(hb * wb, -1)
    return np.where((m > 6) & (m < 249), r * noise._GAIN, np.nan)


@pytest.mark.parametrize("name", ("astronaut", "coffee", "rocket"))
def test_noise_blocks_equal_the_plain_implementation(name):
    rgb = photo(name)
    rng = np.random.default_rng(1)
    noisy = np.clip(rgb + rng.normal(0, 6, rgb.shape), 0, 255).astype(np.uint8)
    blown = np.clip(rgb.astype(np.int16) * 2 - 60, 0, 255).astype(np.uint8)   # clipped blocks
    for x in (rgb, noisy, blown):
        g = cv2.cvtColor(x, cv2.COLOR_RGB2GRAY)
        for v in (x, g, x[3:250, 5:301], g[:15, :200], x[:17, :40]):
            for new, ref in ((noise._block_sigmas, _block_sigmas_ref),
                             (noise._block_clipped, _block_clipped_ref)):
                a, b = new(v), ref(v)
                assert a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)
        assert _block_clipped_ref(blown).any() and not _block_clipped_ref(blown).all()


# ------------------------------------------------------------------ clipped blobs reference

def test_clip_blobs_equal_opencvs_default_labelling():
    """tonal._blobs (Grana's algorithm on the mask's box from an even row and column) gives
    OpenCV's default labels and blob stats: blobs, specks, noise, dilated or not, at odd
    offsets and sizes."""
    rng = np.random.default_rng(0)
    for i in range(300):
        h, w = (int(v) for v in rng.integers(20, 300, 2))
        m = np.zeros((h, w), np.uint8)
        for _ in range(int(rng.integers(1, 40))):
            cv2.circle(m, (int(rng.integers(0, w)), int(rng.integers(0, h))),
                       int(rng.integers(0, 12)), 1, -1)
        if i % 3 == 0:
            m |= (rng.random((h, w)) < rng.uniform(0.01, 0.5)).astype(np.uint8)
        if i % 5 == 0:
            m = cv2.dilate(m, np.ones((5, 5), np.uint8))
        n, labels, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
        got = tonal._blobs(m)
        assert got[0] == n and np.array_equal(got[1], labels)
        assert np.array_equal(got[2][1:], stats[1:])


# ------------------------------------------------------------------ chroma profile reference

def _chroma_profile_ref(cb, cr, axis):
    out = None
    for c in (cb, cr):
        if axis == 1:
            a = cv2.blur(c, (1, compression._CHROMA_ALONG), borderType=cv2.BORDER_REPLICATE)
            a = a[compression._lines(c.shape[0])]
            b = (a[:, 1:] + a[:, :-1]) * 0.5
            d = b[:, 2:] - b[:, :-2]
        else:
            a = cv2.blur(c, (compression._CHROMA_ALONG, 1), borderType=cv2.BORDER_REPLICATE)
            a = a[:, compression._lines(c.shape[1])]
            b = (a[1:] + a[:-1]) * 0.5
            d = b[2:] - b[:-2]
        d = np.minimum(np.abs(d), compression._CHROMA_CLIP) ** 2
        out = d if out is None else out + d
    return out.mean(axis=0 if axis == 1 else 1)


@pytest.mark.parametrize("name", ("astronaut", "coffee", "rocket"))
def test_chroma_profile_equals_the_plain_implementation(name):
    from keyframe.fixes._common import CB, CR
    f = photo(name).astype(np.float32)
    big = cv2.resize(f, (1400, 1400 * f.shape[0] // f.shape[1]))     # every second line
    for x in (f, big, f - cv2.GaussianBlur(f, (0, 0), 2.0), f * 1e-3):
        cb, cr = x @ CB, x @ CR
        for axis in (0, 1):
            assert _equal([compression._chroma_profile(cb, cr, axis)],
                          [_chroma_profile_ref(cb, cr, axis)])


def test_halo_median_of_three_equals_numpys():
    rng = np.random.default_rng(4)
    for _ in range(50):
        a = np.round(rng.normal(size=(2000, 3)) * 3).astype(np.float32)   # ties too
        assert _equal([sharpness._median3(a)], [np.median(a, axis=1)])


def _profiles_ref(image):
    e = blur.edges(image, spread=True)
    keep = np.nonzero(e.contrast >= sharpness.MIN_CONTRAST * 0.75)[0]
    if keep.size > sharpness.MAX_POINTS:
        keep = keep[np.linspace(0, keep.size - 1, sharpness.MAX_POINTS).astype(np.int64)]
    h, w = e.plane.shape
    steps = np.arange(-8, 9)
    ys = np.clip(e.y[keep, None] + steps[None, :] * e.uy[keep, None], 0, h - 1)
    xs = np.clip(e.x[keep, None] + steps[None, :] * e.ux[keep, None], 0, w - 1)
    return e.plane[ys, xs], e.y[keep], e.x[keep], keep


@pytest.mark.parametrize("name", ("astronaut", "coffee", "rocket"))
def test_halo_profiles_equal_the_plain_fancy_indexing(name):
    """Samples across the edges read by flat int32 index: the same as 2-d int64 indexing
    (the whole picture, the spread mosaic of a 1024-px copy, points near every border)."""
    rgb = photo(name)
    big = cv2.resize(rgb, (1024, 1024 * rgb.shape[0] // rgb.shape[1]))
    for x in (rgb, big, np.ascontiguousarray(rgb[:, ::-1].transpose(1, 0, 2))):
        got, ref = sharpness._profiles(img(x)), _profiles_ref(img(x))
        assert got[0].shape[0] > 1000 and _equal(got, ref)
