"""Deband: smooth quantisation steps in flat areas and dither them (mends ``banding``)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from keyframe.fixes._common import box_mean, check_rgb, luma, to_float, to_uint8
from keyframe.registry import Fix
from keyframe.report import Measurement


class Deband(Fix):
    """Turn staircase gradients back into smooth ones, only where the image is flat.

    1. *Mask*: the local activity, mean |luma gradient| (grey levels per pixel) over a
       ``(2 * radius + 1)``-px window, is below ``threshold`` in a banded sky (steps of a few
       levels every few pixels) and well above it in texture. The mask is 1 below
       ``threshold``, 0 above ``2 * threshold``, and feathered with a Gaussian of ``radius / 2``.
    2. *Smooth*: a self-guided filter (He et al.) of window radius ``radius`` on float RGB,
       with ``eps = (threshold * radius) ** 2``: steps of that size are averaged
       into ramps, strong edges are kept.
    3. *Dither*: where the smoothed value moved away from the original, triangular noise of
       peak ``dither`` grey levels (one field for R, G and B, from ``numpy`` seeded with
       ``seed``) is added before rounding to 8 bits, so the ramp does not re-quantise into
       the same bands. Untouched pixels get no dither: a flat image stays exactly flat.

    Why: 8-bit generators and VAEs leave contour bands in skies and backdrops; video
    compression and motion make them crawl.
    """

    name = "deband"
    mends = ("banding",)
    changes_geometry = False
    stage = 110

    @dataclass(frozen=True)
    class Params:
        radius: int = field(default=12, metadata={"min": 1, "max": 64})
        threshold: float = field(default=1.5, metadata={"min": 0.0, "max": 20.0})
        dither: float = field(default=1.0, metadata={"min": 0.0, "max": 2.0})
        seed: int = field(default=0, metadata={"min": 0, "max": 2**32 - 1})

    @classmethod
    def plan_params(cls, measurement: Measurement) -> dict[str, Any]:
        """Wider smoothing and a more permissive mask as severity grows."""
        s = float(measurement.severity)
        return {"radius": int(round(8 + 16 * s)), "threshold": round(1.0 + 2.0 * s, 3)}

    def apply(self, rgb: np.ndarray, params: Any) -> np.ndarray:
        check_rgb(rgb, self.name)
        f = to_float(rgb)
        if params.threshold <= 0:
            return rgb.copy()
        r = params.radius
        y = luma(f)
        grad = np.zeros_like(y)
        grad[:, :-1] += np.abs(np.diff(y, axis=1))
        grad[:-1, :] += np.abs(np.diff(y, axis=0))
        activity = box_mean(grad, r)
        mask = np.clip(2.0 - activity / params.threshold, 0.0, 1.0)
        mask = cv2.GaussianBlur(mask, (0, 0), max(0.5, r / 2.0), borderType=cv2.BORDER_REFLECT)
        eps = (params.threshold * r) ** 2
        smooth = _guided_self(f, r, eps)
        moved = mask[..., None] * (smooth - f)
        out = f + moved
        if params.dither > 0:
            rng = np.random.default_rng(params.seed)
            u = rng.random((2,) + y.shape, dtype=np.float32)
            noise = params.dither * (u[0] - u[1])
            weight = np.clip(np.abs(moved).max(axis=2) / 0.5, 0.0, 1.0)
            out += (noise * weight)[..., None]
        return to_uint8(out)


def _guided_self(f: np.ndarray, r: int, eps: float) -> np.ndarray:
    """Self-guided filter of each channel of ``f``: edge-preserving mean over (2r+1)² px."""
    mean = box_mean(f, r)
    var = np.maximum(box_mean(f * f, r) - mean * mean, 0.0)
    a = var / (var + eps)
    b = mean - a * mean
    return box_mean(a, r) * f + box_mean(b, r)
