"""Erase: fill what a region or mask covers from its surroundings (mends ``stray_text``,
``watermark``; the object eraser of recipes).

Methods: ``telea`` / ``ns`` (OpenCV fast marching / Navier-Stokes inpainting), ``biharmonic``
(scikit-image, on a crop around the hole), ``grain`` (a smooth membrane of the low
frequencies, pulled in from every side, plus synthetic grain with the surroundings'
strength, so a large hole gets grain instead of a smear and nothing of the picture is
copied into it), ``patch`` (the same low
frequencies plus the high-frequency texture of the best-matching neighbouring block: real
texture, but it copies whatever that block holds — a neighbouring line of text included —
so it is for recipes that choose it, never ``auto``), ``onnx:<model>`` (an inpainting
model from :mod:`keyframe.models`: inputs image ``1x3xHxW`` and mask ``1x1xHxW`` float32 in
[0, 1], mask 1 = hole; output image ``1x3xHxW`` in [0, 1]); ``auto`` picks Telea for holes
thinner than 12 px and ``grain`` otherwise. The hole is dilated by ``dilate`` px, the fill of
a method that does not grow from the hole's boundary (``patch``, ``onnx:``) is
colour-matched (per-channel mean and std of the filled area set to those of a ring around
it), a boundary fill is shifted by its mean step against the 2 px around it, and every fill
is feathered into the original over ``feather`` px, so no seam shows.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from keyframe.fixes._common import check_rgb, to_uint8
from keyframe.registry import Fix
from keyframe.report import Measurement

METHODS = ("auto", "telea", "ns", "biharmonic", "grain", "patch")
#: a hole whose largest inscribed half-width is under this (px) is "thin": Telea fills it
THIN_HOLE = 6
RING = 12
#: Jacobi sweeps that settle the grain fill's membrane onto its boundary
RELAX_SWEEPS = 40


def parse_regions(text: str) -> list[tuple[int, int, int, int]]:
    """``"x,y,w,h;x,y,w,h"`` -> boxes; raise ``ValueError`` with one line when malformed."""
    boxes = []
    for part in filter(None, (p.strip() for p in text.split(";"))):
        vals = part.split(",")
        if len(vals) != 4 or not all(v.strip().lstrip("-").isdigit() for v in vals):
            raise ValueError(f"erase: region {part!r} is not x,y,w,h (integers)")
        x, y, w, h = (int(v) for v in vals)
        if w <= 0 or h <= 0 or x < 0 or y < 0:
            raise ValueError(f"erase: region {part!r} needs x, y >= 0 and w, h > 0")
        boxes.append((x, y, w, h))
    return boxes


def hole_mask(shape: tuple[int, int], regions: list[tuple[int, int, int, int]],
              mask: np.ndarray | None = None) -> np.ndarray:
    """Boolean hole of ``shape`` from boxes (clipped to the image) and an optional mask."""
    m = np.zeros(shape, bool) if mask is None else np.asarray(mask, bool).copy()
    if m.shape != tuple(shape):
        raise ValueError(f"erase: mask is {m.shape[1]}x{m.shape[0]}, image is "
                         f"{shape[1]}x{shape[0]}")
    for x, y, w, h in regions:
        m[y:y + h, x:x + w] = True
    return m


def _patch_fill(f: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """Low frequencies by Telea on a blurred copy, high frequencies from the neighbouring
    block (same size as the hole's box, fully outside the hole) whose ring texture energy is
    closest to the hole's ring."""
    h8 = hole.astype(np.uint8)
    base = cv2.GaussianBlur(f, (0, 0), 3)
    low = cv2.inpaint(to_uint8(base), h8, 5, cv2.INPAINT_TELEA).astype(np.float32)
    high = f - base
    ys, xs = np.nonzero(hole)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    bh, bw = y1 - y0, x1 - x0
    H, W = hole.shape
    ring = cv2.dilate(h8, np.ones((2 * RING + 1,) * 2, np.uint8)).astype(bool) & ~hole
    target = float(np.abs(high[ring]).mean()) if ring.any() else 0.0
    best, best_err = None, np.inf
    for dy, dx in ((0, -1), (0, 1), (-1, 0), (1, 0), (-1, -1), (-1, 1), (1, -1), (1, 1)):
        for k in (1.0, 1.5, 2.0):
            sy, sx = int(y0 + dy * k * bh), int(x0 + dx * k * bw)
            if sy < 0 or sx < 0 or sy + bh > H or sx + bw > W or hole[sy:sy + bh, sx:sx + bw].any():
                continue
            err = abs(float(np.abs(high[sy:sy + bh, sx:sx + bw]).mean()) - target)
            if err < best_err:
                best, best_err = (sy, sx), err
    out = low.copy()
    if best is not None:
        sy, sx = best
        tex = np.zeros_like(high)
        tex[y0:y1, x0:x1] = high[sy:sy + bh, sx:sx + bw]
        out[hole] += tex[hole]
    return out


def _pull_push(f: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """A smooth membrane over ``hole``: the known pixels averaged down a pyramid (each level
    a weighted 2x2 mean, the weight being how much of it was known) until nothing is
    missing, then brought back up, each level filling its holes from the coarser one. No
    direction is preferred, so a square hole gets no cross of streaks (as Telea's marching
    front leaves), and the fill meets the boundary's colours."""
    w = (~hole).astype(np.float32)
    levels = [(f * w[..., None], w)]
    while levels[-1][1].min() <= 0 and min(levels[-1][1].shape) > 1:
        v, wt = levels[-1]
        levels.append((cv2.resize(v, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA),
                       cv2.resize(wt, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)))
    v, wt = levels[-1]
    known = f[~hole].mean(axis=0) if (~hole).any() else np.zeros(f.shape[2], np.float32)
    # a 1-px level can still miss pixels (the hole spans the picture): they take the mean
    est = np.where(wt[..., None] > 1e-6, v / np.maximum(wt, 1e-6)[..., None], known)
    for v, wt in reversed(levels[:-1]):
        up = cv2.resize(est, (wt.shape[1], wt.shape[0]), interpolation=cv2.INTER_LINEAR)
        a = np.clip(wt, 0, 1)[..., None]
        est = v / np.maximum(wt, 1e-6)[..., None] * a + up * (1 - a)
    # relax towards the harmonic (Laplace) fill, so that the membrane meets the boundary
    # without a step: the coarse levels set the interior, a few sweeps settle the rim
    ys, xs = np.nonzero(hole)
    y0, y1 = max(0, ys.min() - 1), min(hole.shape[0], ys.max() + 2)
    x0, x1 = max(0, xs.min() - 1), min(hole.shape[1], xs.max() + 2)
    sub, inside = est[y0:y1, x0:x1].copy(), hole[y0:y1, x0:x1]
    kernel = np.array([[0, 0.25, 0], [0.25, 0, 0.25], [0, 0.25, 0]], np.float32)
    for _ in range(RELAX_SWEEPS):
        sub[inside] = cv2.filter2D(sub, -1, kernel, borderType=cv2.BORDER_REPLICATE)[inside]
    est[y0:y1, x0:x1] = sub
    return est


def _grain_fill(f: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """Low frequencies by a pull-push membrane (:func:`_pull_push`) over a blurred copy, plus
    seeded grain (a 1-px Gaussian-blurred normal field shared by the channels) scaled per
    channel to the ring's high-frequency strength, read robustly (median absolute deviation:
    a stroke of a neighbouring letter in the ring does not raise it). Nothing is copied from
    elsewhere in the picture."""
    h8 = hole.astype(np.uint8)
    base = cv2.GaussianBlur(f, (0, 0), 3)
    reach = cv2.dilate(h8, np.ones((7, 7), np.uint8)).astype(bool)  # the blur saw the hole
    out = f.copy()
    out[reach] = _pull_push(base, reach)[reach]
    ring = cv2.dilate(h8, np.ones((2 * RING + 1,) * 2, np.uint8)).astype(bool) & ~hole
    if not ring.any():
        return out
    high = (f - base)[ring]
    strength = 1.4826 * np.median(np.abs(high - np.median(high, axis=0)), axis=0)
    grain = np.random.default_rng(0).standard_normal(hole.shape).astype(np.float32)
    grain = cv2.GaussianBlur(grain, (0, 0), 1.0)
    grain /= max(float(grain.std()), 1e-6)
    out[hole] += grain[hole][:, None] * strength[None, :]
    return out


def _boundary_match(fill: np.ndarray, f: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """A boundary fill, corrected: its variation damped to the ring's where it has more
    (Telea leaves +-2-level ripples on a flat ring), then shifted by the mean difference
    between the 2 px just outside the hole and its own 2 px just inside — side by side, so
    an uneven ring shifts nothing (a shift to the whole ring's mean prints a blotch)."""
    h8 = hole.astype(np.uint8)
    ring = cv2.dilate(h8, np.ones((2 * RING + 1,) * 2, np.uint8)).astype(bool) & ~hole
    k = np.ones((5, 5), np.uint8)
    outside = cv2.dilate(h8, k).astype(bool) & ~hole
    inside = hole & ~cv2.erode(h8, k).astype(bool)
    if not ring.any() or not inside.any():
        return fill
    out = fill.copy()
    src = out[hole]
    centre = src.mean(axis=0)
    spread = src.std(axis=0)
    gain = np.minimum(1.0, f[ring].std(axis=0) / np.maximum(spread, 1e-3))
    out[hole] = (src - centre) * gain + centre
    out[hole] += f[outside].mean(axis=0) - out[inside].mean(axis=0)
    return out


def _colour_match(fill: np.ndarray, f: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """Set the per-channel mean and std of the filled area to those of a ring around it."""
    ring = cv2.dilate(hole.astype(np.uint8), np.ones((2 * RING + 1,) * 2, np.uint8)
                      ).astype(bool) & ~hole
    if not ring.any():
        return fill
    out = fill.copy()
    for c in range(3):
        src, ref = fill[..., c][hole], f[..., c][ring]
        s_std, r_std = float(src.std()), float(ref.std())
        gain = min(2.0, r_std / s_std) if s_std > 1e-3 else 1.0
        out[..., c][hole] = (src - src.mean()) * gain + ref.mean()
    return out


def _onnx_fill(rgb: np.ndarray, hole: np.ndarray, model: str) -> np.ndarray:
    from keyframe import models  # the model registry: a missing model is a clear error
    sess = models.session(model)
    x = (rgb.astype(np.float32) / 255).transpose(2, 0, 1)[None]
    m = hole.astype(np.float32)[None, None]
    names = [i.name for i in sess.get_inputs()]
    y = sess.run(None, {names[0]: x, names[1]: m})[0]
    if y.shape != x.shape:
        raise ValueError(f"erase: model {model!r} returned shape {y.shape}, expected {x.shape}")
    return np.clip(y[0].transpose(1, 2, 0), 0, 1) * 255


def fill(rgb: np.ndarray, hole: np.ndarray, *, method: str = "auto") -> np.ndarray:
    """Raw fill of ``hole`` (float32 HxWx3, grey levels); pixels outside are the input's."""
    f = rgb.astype(np.float32)
    h8 = hole.astype(np.uint8)
    if method == "auto":
        thick = cv2.distanceTransform(h8, cv2.DIST_L2, 3).max()
        method = "telea" if thick < THIN_HOLE else "grain"
    if method in ("telea", "ns"):
        flag = cv2.INPAINT_TELEA if method == "telea" else cv2.INPAINT_NS
        out = cv2.inpaint(rgb, h8, 5, flag).astype(np.float32)
    elif method == "biharmonic":
        from skimage.restoration import inpaint_biharmonic
        ys, xs = np.nonzero(hole)
        pad = 16
        y0, y1 = max(0, ys.min() - pad), min(hole.shape[0], ys.max() + pad + 1)
        x0, x1 = max(0, xs.min() - pad), min(hole.shape[1], xs.max() + pad + 1)
        out = f.copy()
        out[y0:y1, x0:x1] = inpaint_biharmonic(f[y0:y1, x0:x1] / 255, hole[y0:y1, x0:x1],
                                               channel_axis=-1) * 255
    elif method == "grain":
        out = _grain_fill(f, hole)
    elif method == "patch":
        out = _patch_fill(f, hole)
    else:
        out = _onnx_fill(rgb, hole, method.split(":", 1)[1])
    return out


class Erase(Fix):
    """Fill the given region(s) and/or mask file from the surroundings (neither given: the
    image is returned unchanged).

    Why: pseudo-text, signatures and watermarks in the background are the commonest small
    flaw of a generated still; erasing them is cheaper than regenerating the frame.
    """

    name = "erase"
    mends = ("stray_text", "watermark")
    changes_geometry = False
    stage = 10
    reads = ("boxes",)
    #: the gate inspects what this step changed as a fill (keyframe.inspect.inspect_fill)
    inspect_as = "fill"
    #: params in source pixels (keyframe.recipe: a replay on another size refuses or scales)
    source_px = {"region": "regions"}

    @dataclass(frozen=True)
    class Params:
        region: str = ""          # "x,y,w,h" (source px), several joined by ";"
        mask: str = ""            # path of a mask image (non-zero = erase), same size
        dilate: int = field(default=4, metadata={"min": 0, "max": 64})
        feather: int = field(default=3, metadata={"min": 0, "max": 64})
        method: str = "auto"      # auto, telea, ns, biharmonic, grain, patch, onnx:<model-name>

    @classmethod
    def files_for(cls, params: Any) -> tuple[str, ...]:
        """The mask image, when the step names one."""
        return (params.mask,) if params.mask else ()

    @classmethod
    def validate(cls, params: dict[str, Any] | None) -> Any:
        p = super().validate(params)
        parse_regions(p.region)
        if p.method not in METHODS and not (p.method.startswith("onnx:") and len(p.method) > 5):
            raise ValueError(f"erase: method {p.method!r} is not one of "
                             f"{', '.join(METHODS)} or onnx:<model-name>")
        return p

    @classmethod
    def plan_params(cls, measurement: Measurement) -> dict[str, Any]:
        """The measured text boxes (``boxes`` evidence, else the region)."""
        boxes = str(measurement.measurements.get("boxes") or "")
        if not boxes and measurement.region:
            boxes = ",".join(str(v) for v in measurement.region)
        return {"region": boxes, "dilate": 4, "feather": 3, "method": "auto"}

    def apply(self, rgb: np.ndarray, params: Any) -> np.ndarray:
        check_rgb(rgb, self.name)
        mask = None
        if params.mask:
            from keyframe.image import load_mask
            mask = load_mask(params.mask)
        return erase(rgb, hole_mask(rgb.shape[:2], parse_regions(params.region), mask),
                     dilate=params.dilate, feather=params.feather, method=params.method)


def erase(rgb: np.ndarray, hole: np.ndarray, *, dilate: int = 4, feather: int = 3,
          method: str = "auto") -> np.ndarray:
    """Fill ``hole`` (bool HxW) of ``rgb``: dilate, fill, colour-match, feather; new array."""
    check_rgb(rgb, "erase")
    if not hole.any():
        return rgb.copy()
    h8 = hole.astype(np.uint8)
    if dilate:
        h8 = cv2.dilate(h8, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * dilate + 1,) * 2))
    hole = h8.astype(bool)
    f = rgb.astype(np.float32)
    big = hole
    if feather:   # fill a wider hole, then blend its outer band into the original
        big = cv2.dilate(h8, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * feather + 1,) * 2)
                         ).astype(bool)
    filled = fill(rgb, big, method=method)
    if method not in ("auto", "telea", "ns", "biharmonic", "grain"):
        # a fill whose low frequencies do not come from the hole's own boundary (copied
        # texture, a model's output) is brought to the ring's colour statistics; a boundary
        # fill already continues the colours around it, gradients included, and a shift to
        # the ring's mean would print a blotch where the ring is uneven (a shadow's edge)
        filled = _colour_match(filled, f, big)
    else:
        filled = _boundary_match(filled, f, big)
    dist = cv2.distanceTransform((~hole).astype(np.uint8), cv2.DIST_L2, 3)
    alpha = np.clip(1.0 - dist / (feather + 1), 0.0, 1.0) if feather else hole.astype(np.float32)
    return to_uint8(f + (filled - f) * alpha[..., None])
