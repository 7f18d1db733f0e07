"""Dehalo: pull rim pixels along strong edges back inside their two sides' colours
(mends ``edge_halo`` on opaque pictures)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from keyframe.fixes._common import check_rgb, luma, to_float, to_uint8
from keyframe.registry import Fix


class Dehalo(Fix):
    """Clamp each channel of the pixels within ``width`` px of a strong edge into the range
    the pixels *beyond* the rim take on both sides.

    1. Strong edges: Canny on luma (thresholds ``threshold`` and twice it, grey levels).
    2. The rim is the ``width``-px band around them; the *envelope* of each rim pixel is the
       per-channel min and max over a ``2 * width + 1``-px neighbourhood of the pixels
       outside the rim (grey erosion and dilation with the rim masked out), i.e. the
       colours of the two sides along the edge normal.
    3. Rim pixels are clamped into their envelope; the change is feathered by ``strength``.

    A light or dark rim (colour of neither side) is pulled to the nearer side; a clean edge,
    whose every pixel lies between its sides, is left as it is.

    Why: a flattened composite's rim moves with the subject in every generated frame.
    """

    name = "dehalo"
    mends = ("edge_halo",)
    changes_geometry = False

    @dataclass(frozen=True)
    class Params:
        width: int = field(default=2, metadata={"min": 1, "max": 8})
        threshold: float = field(default=40.0, metadata={"min": 5.0, "max": 200.0})
        strength: float = field(default=1.0, metadata={"min": 0.0, "max": 1.0})

    def apply(self, rgb: np.ndarray, params: Any) -> np.ndarray:
        check_rgb(rgb, self.name)
        f = to_float(rgb)
        y = to_uint8(luma(f))
        edges = cv2.Canny(y, params.threshold, 2 * params.threshold, L2gradient=True)
        w = params.width
        rim = cv2.dilate(edges, cv2.getStructuringElement(cv2.MORPH_ELLIPSE,
                                                          (2 * w + 1, 2 * w + 1))) > 0
        if not rim.any() or params.strength <= 0:
            return rgb.copy()
        k = cv2.getStructuringElement(cv2.MORPH_RECT, (4 * w + 3, 4 * w + 3))
        hi_src = np.where(rim[..., None], -1.0, f).astype(np.float32)
        lo_src = np.where(rim[..., None], 256.0, f).astype(np.float32)
        hi = cv2.dilate(hi_src, k)
        lo = cv2.erode(lo_src, k)
        found = (hi >= 0) & (lo <= 255)
        clamped = np.clip(f, np.minimum(lo, hi), np.maximum(lo, hi))
        out = np.where(rim[..., None] & found, f + params.strength * (clamped - f), f)
        return to_uint8(out)
