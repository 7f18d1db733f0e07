"""Sharpen: halo-guarded unsharp mask on luma (mends ``blur``)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from keyframe.fixes._common import check_rgb, luma, to_float, to_uint8
from keyframe.registry import Fix
from keyframe.report import Measurement

#: half-size of the halo-guard window: 1 gives the 3x3 min/max of the original luma
GUARD_RADIUS = 1


class Sharpen(Fix):
    """Unsharp mask on luma with a noise threshold and a halo guard.

    The detail layer ``d = Y - gauss(Y, radius)`` of the Rec. 601 luma is added back
    ``amount`` times. Detail smaller than ``threshold`` grey levels is left alone (a linear
    ramp from ``threshold`` to ``2 * threshold``), so sensor-like noise and flat areas are not
    amplified. The sharpened luma is then clamped to the 3x3 min/max of the original luma
    widened by ``overshoot`` grey levels: edges get steeper but gain no bright or dark rim,
    which is the ``oversharpened`` defect a re-check would flag. The luma change is added
    equally to R, G and B, so chroma (Cr, Cb) is untouched.

    Why: generated stills are often soft; an image-to-video model inherits and smears that
    softness, while halos flicker once the frame moves.
    """

    name = "sharpen"
    mends = ("blur",)
    changes_geometry = False
    stage = 140
    reads = ("edge_width",)

    @dataclass(frozen=True)
    class Params:
        amount: float = field(default=0.8, metadata={"min": 0.0, "max": 3.0})
        radius: float = field(default=1.0, metadata={"min": 0.3, "max": 5.0})
        threshold: float = field(default=2.0, metadata={"min": 0.0, "max": 50.0})
        overshoot: float = field(default=2.0, metadata={"min": 0.0, "max": 50.0})

    @classmethod
    def plan_params(cls, measurement: Measurement) -> dict[str, Any]:
        """Amount grows with severity; radius = edge_width / 2.5 (a Gaussian edge of sigma s
        reads about 2.5 s wide in the blur check)."""
        s = float(measurement.severity)
        width = float(measurement.measurements.get("edge_width", 0.0) or 0.0)
        radius = width / 2.5 if width > 0 else 0.8 + 1.5 * s
        return {"amount": round(min(3.0, 0.6 + 2.0 * s), 3),
                "radius": round(min(5.0, max(0.5, radius)), 3)}

    def apply(self, rgb: np.ndarray, params: Any) -> np.ndarray:
        check_rgb(rgb, self.name)
        f = to_float(rgb)
        y = luma(f)
        detail = y - cv2.GaussianBlur(y, (0, 0), params.radius, borderType=cv2.BORDER_REFLECT)
        t = params.threshold
        if t > 0:
            detail *= np.clip((np.abs(detail) - t) / t, 0.0, 1.0)
        y_new = y + params.amount * detail
        kernel = np.ones((2 * GUARD_RADIUS + 1, 2 * GUARD_RADIUS + 1), np.uint8)
        lo = cv2.erode(y, kernel, borderType=cv2.BORDER_REFLECT) - params.overshoot
        hi = cv2.dilate(y, kernel, borderType=cv2.BORDER_REFLECT) + params.overshoot
        delta = np.clip(y_new, lo, hi) - y
        f += delta[..., None]               # f is this call's own float copy
        return to_uint8(f)
