"""Face detail: restore fine detail in one face region and blend it back without a seam
(mends ``face_soft``)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from keyframe.fixes._common import check_rgb, luma, to_float, to_uint8
from keyframe.registry import Fix
from keyframe.report import Measurement


def feather_mask(shape: tuple[int, int], box: tuple[int, int, int, int],
                 feather: float) -> np.ndarray:
    """Float mask: 1 on an ellipse inscribed in ``box``, falling smoothly (smoothstep of the
    distance) to exactly 0 at ``feather`` px outside it. Zero everywhere else, so pixels
    beyond the feathered band are never touched, and no step at the band edge can form a
    seam (the most common complaint about face detailers)."""
    H, W = shape
    x, y, w, h = box
    cx, cy, rx, ry = x + w / 2, y + h / 2, max(w / 2, 1), max(h / 2, 1)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    r = np.sqrt(((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2)
    dist = (r - 1.0) * min(rx, ry)                 # ~ px outside the ellipse
    t = np.clip(1.0 - dist / max(feather, 1e-3), 0.0, 1.0)
    return (t * t * (3 - 2 * t)).astype(np.float32)


class FaceDetail(Fix):
    """Unsharp-mask the luma of one face (x, y, w, h in source px) at a radius tied to the
    face size, halo-guarded by the local min/max, and blend with :func:`feather_mask`.

    Only the face and a feathered band around it change; the rest of the frame is identical
    to the input. Colour is untouched (luma offset added equally to R, G, B).

    Why: a soft face is what viewers notice first and what an image-to-video model smears
    most; sharpening the whole frame would grain the background, and a visible seam around
    a detailed face is the usual complaint about face detailers.
    """

    name = "face_detail"
    mends = ("face_soft",)
    changes_geometry = False
    stage = 150
    #: the gate inspects what this step changed as a local edit (keyframe.inspect)
    inspect_as = "local"
    #: params in source pixels (keyframe.recipe: a replay on another size refuses or scales)
    source_px = {"x": "x", "y": "y", "w": "x", "h": "y"}
    #: the box is THAT picture's face: not re-measured, a replay on another picture refuses
    content_px = {"x": "face box", "y": "face box", "w": "face box", "h": "face box"}

    @dataclass(frozen=True)
    class Params:
        x: int = field(default=0, metadata={"min": 0})
        y: int = field(default=0, metadata={"min": 0})
        w: int = field(default=0, metadata={"min": 0})
        h: int = field(default=0, metadata={"min": 0})
        amount: float = field(default=1.0, metadata={"min": 0.0, "max": 3.0})
        feather: float = field(default=0.25, metadata={"min": 0.05, "max": 1.0})

    @classmethod
    def plan_params(cls, measurement: Measurement) -> dict[str, Any]:
        """The face box from the measurement; amount grows with severity."""
        if measurement.region is None:
            return {}
        x, y, w, h = measurement.region
        return {"x": max(0, x), "y": max(0, y), "w": w, "h": h,
                "amount": round(min(3.0, 0.8 + 1.5 * float(measurement.severity)), 3)}

    def apply(self, rgb: np.ndarray, params: Any) -> np.ndarray:
        check_rgb(rgb, self.name)
        out = rgb.copy()
        H, W = rgb.shape[:2]
        if params.w < 4 or params.h < 4 or params.x >= W or params.y >= H:
            return out
        pad = int(np.ceil(params.feather * min(params.w, params.h))) + 2
        x0, y0 = max(0, params.x - pad), max(0, params.y - pad)
        x1, y1 = min(W, params.x + params.w + pad), min(H, params.y + params.h + pad)
        f = to_float(rgb[y0:y1, x0:x1])
        y = luma(f)
        radius = max(0.8, params.h / 128.0)
        detail = y - cv2.GaussianBlur(y, (0, 0), radius, borderType=cv2.BORDER_REFLECT)
        k = np.ones((3, 3), np.uint8)
        lo = cv2.erode(y, k, borderType=cv2.BORDER_REFLECT) - 2.0
        hi = cv2.dilate(y, k, borderType=cv2.BORDER_REFLECT) + 2.0
        delta = np.clip(y + params.amount * detail, lo, hi) - y
        mask = feather_mask((y1 - y0, x1 - x0), (params.x - x0, params.y - y0, params.w, params.h),
                            params.feather * min(params.w, params.h))
        out[y0:y1, x0:x1] = to_uint8(f + (delta * mask)[..., None])
        return out
