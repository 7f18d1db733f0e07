"""Blur: ``blur`` (defocus, motion blur, soft or upscaled renders) as an edge blur radius in px.

What is measured
----------------
The Gaussian blur radius of the image's edges, at native resolution, by re-blurring (Zhuo &
Sim, "Defocus map estimation from a single image", Pattern Recognition 2011). An edge of
contrast C blurred by sigma_e, seen through a Gaussian of sigma_s, has a peak gradient of
``C / (sqrt(2 pi) * sqrt(sigma_e² + sigma_s²))``. Taking the gradient at two known scales
(``SIGMA_A`` = 0.5 px, which also tames pixel noise, and ``SIGMA_B`` = 2 px) at the same edge
point, their ratio R gives ``sigma_e² = (SIGMA_B² − R² SIGMA_A²) / (R² − 1)`` — independent of
the edge's contrast, so a faint sharp edge and a strong sharp edge read alike.

Edge points are the local maxima of the fine gradient along its direction (non-maximum
suppression) whose estimated contrast ``C`` is at least ``MIN_CONTRAST`` grey levels, and at
least ``FRAME`` px from the frame (closer, the coarse Gaussian reads the border's reflected
copy and an edge cut by the frame reads sharp). They are
binned by gradient direction (0°, 45°, 90°, 135°). In each bin the estimate is a low
percentile (``PERCENTILE``) of sigma_e: the sharpest edges decide, so a portrait with a
bokeh background is judged by its subject. The image's blur radius is the **second largest**
of the bin values: motion blur widens every edge direction but the one parallel to the motion
(three bins of four), while a single soft direction is often content (a hazy horizon, the
soft horizontal folds of a field) rather than blur.

Pixel noise adds gradient energy of its own, more at the fine scale, which would make a noisy
soft image read sharp: its expected share (the noise sigma of ``checks.artifact.noise``, times
the gains of both gradients on unit white noise) is subtracted from both before the ratio.

At which scale, and why
-----------------------
At the size the video model will see (:func:`delivery_long_side`: the target's render size,
or 1280 px on the long side for targets that keep the source size, ``generic`` included).
A picture larger than that is area-downscaled to it first (issue 14): an 8K upscale or a ×4
Lanczos enlargement is soft at its own size but every target resamples it, and at the
delivery size it is as sharp as its content; a picture soft at the delivery size stays
``blur`` (and trash at critical). Pictures at or below the delivery size are measured
natively (an upscale to it would only add the resampler's own softness). The native radius
is measured too (``sigma_native``): ``oversized`` is the native severity minus the delivery
one, what a ``downscale`` to the delivery size mends (a sharp 1024-px scene enlarged ×1.5 /
×2 / ×3 / ×4 reads oversized 0.0 / 0.16 / 0.44 / 0.68, blur 0.22-0.25 at each; tests).
Above ``PIXEL_BUDGET`` pixels the measure reads a mosaic of the most textured native tiles
(ranked on the 1024-px canonical copy; each tile's points count by a weight on its energy,
``TILE_RAMP``, and the percentile is a weighted one) instead of every pixel, which keeps the cost flat and
favours the in-focus part, as the statistic wants. ``sigma_canonical`` reports the native
radius the same edges would have at the 1024-px canonical scale.
"""
from __future__ import annotations

import math
from functools import lru_cache
from dataclasses import dataclass

import cv2
import numpy as np

from checks.artifact import mosaic
from checks.artifact.mosaic import PIXEL_BUDGET, analysis_plane
from checks.artifact.noise import native_sigma
from keyframe import views
from keyframe.image import LoadedImage
from keyframe.report import Measurement
from keyframe.severity import log_ramp
from keyframe.targets import Target, load_target

SIGMA_A = 0.5
#: with pixel noise of std n grey levels the fine scale becomes 0.5 + NOISE_WIDEN * n px (at
#: most SIGMA_A_MAX): edge points are picked where the fine gradient peaks, and at 0.5 px
#: noise both inflates and picks those peaks, a bias the mean-noise subtraction cannot undo
NOISE_WIDEN = 0.06
SIGMA_A_MAX = 1.2
SIGMA_B = 2.0
#: an edge must have at least this contrast (grey levels, estimated) to be judged
MIN_CONTRAST = 20.0
#: percentile of per-edge blur radius within a direction bin (the sharpest edges decide)
PERCENTILE = 10
#: a direction bin needs this many edge points to count
MIN_POINTS = 50
#: largest radius reported (px): beyond ~4 x SIGMA_B the two scales no longer tell apart
MAX_SIGMA = 8.0
#: long side (px) at which sharpness is judged when the target keeps the source size: video
#: models render at 720p-1080p (1280 px is the long side of 720p; at 1024 px a real
#: motion-blurred 2048-px camera shot, blur_dataset 106_M, would read just under major)
VIEW_LONG_SIDE = 1280
#: edge points closer than this to the frame (px) are not judged: there the coarse Gaussian
#: (SIGMA_B) reaches past the border and reads the reflected copy, so an edge running into
#: the frame, or a zero-padded blur's dark fringe, reads as a ridge and as sharp (LIVE gblur
#: parrots_3: vertical bin 0.19 px at the frame vs 1.41 inside; a 1-px shift moved which
#: frame points were maxima and the radius 1.66 -> 1.39, scripts/calibrate/stability.py)
FRAME = int(math.ceil(3 * SIGMA_B))
DIRECTIONS = ("horizontal", "diagonal", "vertical", "antidiagonal")  # gradient direction

#: Blur radius (px, native; 10th percentile per direction, second-worst direction).
#: Calibrated with scripts/calibrate/sharpness.py on: clean photos (skimage astronaut,
#: coffee, chelsea, rocket; LIVE references; blur_dataset *_S camera shots) 0.0–0.4; clean
#: ComfyUI generations 0.0–0.64, the soft-by-nature SD1.5 hypernetwork render 0.90; bicubic
#: upscales of the clean photos ×2 0.27–0.69, ×3 0.71–1.03, ×4 1.09–1.40; Gaussian sigma
#: 1 / 2 px 0.46–0.90 / 1.27–1.63; blur_dataset defocus *_F 1.35 and 1.56, motion *_M 1.25
#: and 1.70; astronaut with its left 70 % defocused (sigma 6) 0.95.
#: Log ramp: 0 at 0.55 px, 1 at 2.0 px — so 0.25 at 0.76, 0.5 at 1.05 (a ×4 upscale, real
#: defocus: major), 0.8 at 1.55 (heavy defocus or motion: trash).
BLUR_ZERO_AT = 0.55
BLUR_ONE_AT = 2.0


@lru_cache(maxsize=64)
def _noise_gain(sigma: float) -> float:
    """Mean squared gradient magnitude, after a Gaussian of ``sigma``, of unit white noise."""
    noise = np.random.default_rng(0).normal(0, 1, (256, 256)).astype(np.float32)
    sm = cv2.GaussianBlur(noise, (0, 0), sigma)
    gx = cv2.Sobel(sm, cv2.CV_32F, 1, 0, ksize=1, scale=0.5)[8:-8, 8:-8]
    gy = cv2.Sobel(sm, cv2.CV_32F, 0, 1, ksize=1, scale=0.5)[8:-8, 8:-8]
    return float(np.mean(gx * gx + gy * gy))


def hypot32(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``np.hypot(x, y)`` of two float32 arrays of one shape, bit for bit, at ~0.3x its CPU.

    glibc's ``hypotf`` is the double square root of ``(double) x² + (double) y²`` rounded to
    float32; the float32 squares are exact in double, so the sum rounds once (FMA or not)
    and the square root is IEEE's: OpenCV's float64 ``magnitude``, rounded, is the same
    number at any alignment (tests/test_artifact_equal.py)."""
    if x.size == 0:
        return np.hypot(x, y)
    out = cv2.magnitude(x.astype(np.float64).reshape(-1, 1),
                        y.astype(np.float64).reshape(-1, 1))
    return out.astype(np.float32).reshape(x.shape)


@dataclass(frozen=True)
class Edges:
    """Edge points judged by the blur measure, shared with ``oversharpened``.

    ``plane`` is the luma analysed (float32 grey levels: the image, or a mosaic of native
    tiles with ``MARGIN`` px of context each). Per point: position ``y``, ``x`` in ``plane``;
    ``uy``, ``ux`` the unit step along the gradient toward the bright side; direction
    ``bin`` (index into ``DIRECTIONS``); blur ``radius`` (px) and ``contrast`` (grey levels);
    ``weight``, how much the point counts (its mosaic tile's weight; 1 on a whole image).
    """

    plane: np.ndarray
    y: np.ndarray
    x: np.ndarray
    uy: np.ndarray
    ux: np.ndarray
    bin: np.ndarray
    radius: np.ndarray
    contrast: np.ndarray
    weight: np.ndarray


_STEPS = ((0, 1), (1, 1), (1, 0), (1, -1))  # (dy, dx) of each direction bin


def edges(image: LoadedImage, *, spread: bool = False) -> Edges:
    """Edge points and their blur radius; computed once per image (see module docstring).

    ``spread``: above ``PIXEL_BUDGET`` pixels, half the mosaic's tiles spread evenly over the
    frame rather than all of them the most textured (:func:`_analysis_plane`); the same
    points below it. On a mosaic both sets of points are made at once
    (:func:`_mosaic_edges`): ``oversharpened`` reads the spread ones after ``blur``.
    """
    if image.width * image.height > PIXEL_BUDGET:
        both = views.cached(image, "blur.edges.mosaics", lambda: _mosaic_edges(image))
        if both is not None:
            return both[1] if spread else both[0]
    return views.cached(image, "blur.edges", lambda: _edges(image))


def _mosaic_edges(image: LoadedImage) -> tuple[Edges, Edges] | None:
    """The edge points of blur's mosaic and of the ``spread`` one, or None when the picture
    is read whole (docs/speed.md, sixth session).

    Most tiles are in both mosaics, so the points are found once, on blur's mosaic with the
    spread one's other tiles appended: blur's points are the first ones as they are; the
    spread mosaic's are moved to their places in it, in :func:`_points`' order there. A
    core point reads at most 9 px around it and a tile carries ``MARGIN`` = 10 px, and
    OpenCV's filters give a tile the same numbers wherever it sits (tested), so both sets
    equal the two separate readings bit for bit (tested).
    """
    own, spread = mosaic.tiles(image), mosaic.tiles(image, spread=True)
    if own is None or spread is None:
        return None
    side = mosaic.TILE + 2 * mosaic.MARGIN
    cols = mosaic.layout(own[0].size)
    union = np.concatenate([own[0], np.setdiff1d(spread[0], own[0])])
    plane, core = mosaic.assemble(image, union, np.ones(union.size, np.float32), cols=cols)
    found = _points(image, plane, core, weigh=False)
    slot = (found.y // side) * cols + found.x // side
    n = own[0].size
    mine = slot < n
    # blur's own mosaic is the top of this one, without the spread tiles in its last row
    plane_a = plane[:-(-n // cols) * side].copy()
    for i in range(n, plane_a.shape[0] // side * cols):
        r, c = divmod(i, cols)
        plane_a[r * side:(r + 1) * side, c * side:(c + 1) * side] = 0.0
    y, x = found.y[mine], found.x[mine]
    blur_points = Edges(plane_a, y, x, found.uy[mine], found.ux[mine], found.bin[mine],
                        found.radius[mine], found.contrast[mine], own[1][slot[mine]])
    return blur_points, _moved(found, slot, union, *spread, image)


def _moved(e: Edges, slot: np.ndarray, union: np.ndarray, keep: np.ndarray,
           weight: np.ndarray, image: LoadedImage) -> Edges:
    """The points of ``e`` (each on tile ``union[slot]``) that lie on tiles ``keep``, moved to
    their places in the mosaic of ``keep`` and in :func:`_points`' order there."""
    side = mosaic.TILE + 2 * mosaic.MARGIN
    plane, _ = mosaic.assemble(image, keep, weight)
    place = np.minimum(np.searchsorted(keep, union), keep.size - 1)   # per union tile
    place[keep[place] != union] = -1                                  # not in ``keep``
    at = place[slot]
    on = np.flatnonzero(at >= 0)
    at = at[on]
    r, c = np.divmod(at, mosaic.layout(keep.size))
    y, x = r * side + e.y[on] % side, c * side + e.x[on] % side
    k = np.argsort(e.bin[on].astype(np.int64) * plane.size + y * plane.shape[1] + x)
    y, x, sel = y[k], x[k], on[k]
    return Edges(plane, y, x, e.uy[sel], e.ux[sel], e.bin[sel], e.radius[sel],
                 e.contrast[sel], weight[at[k]])


def _edges(image: LoadedImage, *, spread: bool = False) -> Edges:
    plane, core = analysis_plane(image, spread=spread)
    return _points(image, plane, core)


def _points(image: LoadedImage, plane: np.ndarray, core: np.ndarray | None, *,
            weigh: bool = True) -> Edges:
    """The edge points of ``plane`` (the whole luma, or a mosaic whose ``core`` > 0 marks the
    pixels judged) and their blur radius (see the module docstring); without ``weigh`` the
    weights are left empty (the caller weighs the points by their tiles)."""
    empty = np.zeros(0, np.float32)
    if min(plane.shape) < 8:
        return Edges(plane, *(empty.astype(np.int32),) * 5, empty, empty, empty)
    noise_sigma = native_sigma(image)
    sa = round(min(SIGMA_A_MAX, SIGMA_A + NOISE_WIDEN * noise_sigma), 2)
    fine = cv2.GaussianBlur(plane, (0, 0), sa)
    coarse = cv2.GaussianBlur(plane, (0, 0), SIGMA_B)
    gx = cv2.Sobel(fine, cv2.CV_32F, 1, 0, ksize=1, scale=0.5)
    gy = cv2.Sobel(fine, cv2.CV_32F, 0, 1, ksize=1, scale=0.5)
    # np.hypot's numbers, not cv2.magnitude's on float32: OpenCV's float32 SIMD square root
    # rounds differently with the arrays' memory alignment, so equal pixels gave other edge
    # points from call to call (oversharpened moved 0.07 on a PNG round-trip;
    # scripts/calibrate/stability.py); :func:`hypot32` gives np.hypot's bits for less
    m1 = hypot32(gx, gy)
    pad = cv2.copyMakeBorder(m1, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    # a cheap lower bound of the contrast (C >= m2 * sqrt(2 pi) * SIGMA_B) gates weak edges;
    # the coarse magnitude m2 is taken (np.hypot's, as everywhere) only where its float32 square
    # comes within 0.1 % of the bound: a superset of the pixels that pass, at a quarter of
    # the square roots
    bound = MIN_CONTRAST * 0.5 / (math.sqrt(2 * math.pi) * SIGMA_B)
    cx = cv2.Sobel(coarse, cv2.CV_32F, 1, 0, ksize=1, scale=0.5)
    cy = cv2.Sobel(coarse, cv2.CV_32F, 0, 1, ksize=1, scale=0.5)
    near = np.multiply(cx, cx)
    near += cy * cy
    near = near >= 0.999 * bound * bound
    if core is not None:
        near &= core > 0
    else:
        near[:FRAME] = near[-FRAME:] = False
        near[:, :FRAME] = near[:, -FRAME:] = False
    # everything below reads the candidates only (in row-major order, as a full-frame
    # np.nonzero lists them): the same points as masking whole planes, without a dozen
    # full-frame passes
    idx = np.flatnonzero(near)
    cm2 = hypot32(cx.ravel().take(idx), cy.ravel().take(idx))
    passed = cm2 >= bound
    idx, cm2 = idx[passed], cm2[passed]
    cgx, cgy, cm1 = gx.ravel().take(idx), gy.ravel().take(idx), m1.ravel().take(idx)
    wid = m1.shape[1]
    flat, at = pad.ravel(), idx + (idx // wid) * 2 + wid + 3    # the same pixel in ``pad``
    ax, ay = np.abs(cgx), np.abs(cgy)
    horiz = ax > 2.4142 * ay
    vert = ay > 2.4142 * ax
    diag = ~(horiz | vert)
    same = (cgx * cgy) > 0
    masks = (horiz, diag & same, vert, diag & ~same)
    parts = []
    for k, (mask, (dy, dx)) in enumerate(zip(masks, _STEPS)):
        # a local maximum along the gradient, read on this direction's candidates only
        off = dy * (wid + 2) + dx
        i = np.flatnonzero(mask)
        ai, mi = at[i], cm1[i]
        i = i[(mi > flat.take(ai + off)) & (mi >= flat.take(ai - off))]
        sign = np.sign(cgx[i] * dx + cgy[i] * dy).astype(np.int32)
        parts.append((i, sign * dy, sign * dx, np.full(i.size, k, np.int32)))
    i, uy, ux, b = (np.concatenate(c) for c in zip(*parts))
    ys, xs = np.divmod(idx[i], wid)
    # pixel noise adds gradient energy of its own (more at the fine scale): remove it, or a
    # noisy soft image reads sharp
    gain_a, gain_b = _noise_gain(sa), _noise_gain(SIGMA_B)
    var = noise_sigma ** 2
    g1 = np.sqrt(np.maximum(cm1[i] ** 2 - gain_a * var, 0.0))
    g2 = np.sqrt(np.maximum(cm2[i] ** 2 - gain_b * var, 1e-12))
    r2 = np.maximum((g1 / g2) ** 2, 1.0 + 1e-4)
    s2 = np.clip((SIGMA_B ** 2 - r2 * sa ** 2) / (r2 - 1.0), 0.0, MAX_SIGMA ** 2)
    contrast = g2 * math.sqrt(2 * math.pi) * np.sqrt(s2 + SIGMA_B ** 2)
    keep = contrast >= MIN_CONTRAST
    ys, xs = ys[keep], xs[keep]
    weight = (np.zeros(0, np.float32) if not weigh else np.ones(ys.size, np.float32)
              if core is None else core[ys, xs])
    return Edges(plane, ys, xs, uy[keep], ux[keep], b[keep],
                 np.sqrt(s2[keep]).astype(np.float32), contrast[keep].astype(np.float32),
                 weight)


def weighted_percentile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """The ``q``-th percentile of ``values`` under ``weights`` (each value at the middle of
    its weight; equal weights give numpy's "hazen" percentile)."""
    order = np.argsort(values, kind="stable")
    v, w = values[order], weights[order].astype(np.float64)
    cum = np.cumsum(w)
    return float(np.interp(q / 100.0 * cum[-1], cum - 0.5 * w, v))


def _radius(e: Edges) -> tuple[float | None, dict, float, int]:
    """(blur radius or None, per-direction radii, direction spread, edge points)."""
    per_dir, n_points = {}, 0
    for k, name in enumerate(DIRECTIONS):
        sel = e.bin == k
        r, w = e.radius[sel], e.weight[sel]
        n_points += r.size
        # a mosaic weighs its points by their tile's weight; a whole image reads as before
        per_dir[name] = (None if w.sum() < MIN_POINTS else
                         float(np.percentile(r, PERCENTILE)) if bool(np.all(w == 1)) else
                         weighted_percentile(r, w, PERCENTILE))
    valid = sorted(v for v in per_dir.values() if v is not None)
    if not valid:
        return None, per_dir, 0.0, n_points
    sigma = valid[-2] if len(valid) >= 2 else valid[-1]
    return sigma, per_dir, valid[-1] - valid[0], n_points


def delivery_long_side(target: str | None, width: int, height: int) -> int:
    """Long side (px) at which the video target will see a ``width`` x ``height`` picture.

    A target with a fixed render size or area: its export size. Otherwise (``generic`` and
    the services that keep the source size): the export size, at most ``VIEW_LONG_SIDE``
    (1280 px, the long side of 720p).
    """
    t = _target(target or "generic")
    ow, oh = t.output_size(width, height)
    fixed = bool(t.size or t.sizes or t.area)
    return int(max(ow, oh) if fixed else min(max(ow, oh), VIEW_LONG_SIDE))


@lru_cache(maxsize=32)
def _target(name: str) -> Target:
    return load_target(name)


def measure_blur(image: LoadedImage, *, target: str | None = None) -> list[Measurement]:
    """``blur`` at the delivery scale and ``oversized`` (see the module docstring).

    ``blur`` measurements: ``sigma`` (the radius at the delivery size), ``sigma_native``,
    ``edge_width`` (10–90 % width of a native edge, 2.56 sigma_native, at least 1 px; the
    sharpen fix reads it), ``sigma_canonical`` (the native radius at the 1024-px canonical
    scale), ``delivery_long_side``, per-direction native radii and their spread.
    ``oversized``: how much of the native softness the delivery size removes, as a severity
    difference; ``delivery_long_side`` is what the ``downscale`` fix plans to.
    """
    long_side = max(image.width, image.height)
    deliver = delivery_long_side(target, image.width, image.height)
    sigma_n, per_dir, spread, n_points = _radius(edges(image))
    if sigma_n is None:
        return [Measurement("blur", 0.0, "no edges strong enough to judge sharpness",
                            measurements={"sigma": 0.0, "edge_width": 0.0, "edges": n_points}),
                Measurement("oversized", 0.0, "no edges strong enough to judge sharpness",
                            measurements={"delivery_long_side": deliver})]
    sigma = sigma_n
    if long_side > deliver:
        view = views.cached(image, f"blur.delivery@{deliver}", lambda: LoadedImage(
            rgb=views.rgb_at(image, deliver)))
        sigma_d = _radius(views.cached(view, "blur.edges", lambda: _edges(view)))[0]
        sigma = sigma_n if sigma_d is None else sigma_d
    sev = log_ramp(max(sigma, 1e-3), BLUR_ZERO_AT, BLUR_ONE_AT)
    sev_native = log_ramp(max(sigma_n, 1e-3), BLUR_ZERO_AT, BLUR_ONE_AT)
    valid = sorted((v, k) for k, v in per_dir.items() if v is not None)
    worst = valid[-1][1]
    motion = len(valid) >= 3 and spread > 1.0 and valid[0][0] < 0.5 * valid[-1][0]
    at = f" at the {deliver}-px delivery size" if long_side > deliver else ""
    if sev < 0.25:
        msg = f"image is sharp{at}: edges blurred by {sigma:.2f} px"
    elif motion:
        msg = (f"motion blur: {worst} detail smeared, edges blurred by {sigma:.1f} px{at} "
               f"(sharp is under {BLUR_ZERO_AT} px)")
    else:
        msg = (f"image is soft: edges blurred by {sigma:.1f} px{at} "
               f"(sharp is under {BLUR_ZERO_AT} px)")
    ms = {"sigma": sigma, "sigma_native": sigma_n, "edge_width": max(1.0, 2.56 * sigma_n),
          "sigma_canonical": sigma_n * views.scale_to(image), "edges": n_points,
          "direction_spread": spread, "delivery_long_side": deliver}
    ms.update({f"sigma_{k}": v for k, v in per_dir.items() if v is not None})
    over = max(0.0, sev_native - sev) if long_side > deliver else 0.0
    if over >= 0.25:
        omsg = (f"over-sized soft picture: edges blurred by {sigma_n:.1f} px at its {long_side} "
                f"px, {sigma:.2f} px at the {deliver}-px delivery size (an upscale: downscale it)")
    else:
        omsg = f"picture detail matches its size ({long_side} px; delivery {deliver} px)"
    return [Measurement("blur", sev, msg, measurements=ms),
            Measurement("oversized", over, omsg,
                        measurements={"sigma_native": sigma_n, "sigma_delivery": sigma,
                                      "long_side": long_side, "delivery_long_side": deliver})]
