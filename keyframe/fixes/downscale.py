"""Downscale: bring an over-sized picture to the size the video model will see (mends
``oversized``)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from keyframe.fixes._common import check_rgb
from keyframe.registry import Fix
from keyframe.report import Measurement

_INTERP = {"area": cv2.INTER_AREA, "lanczos": cv2.INTER_LANCZOS4}


class Downscale(Fix):
    """Shrink the image so that its longer side is ``long_side`` px, aspect kept.

    ``method="area"`` (default: each output pixel is the mean of the input pixels it
    covers, no ringing, the right filter for shrinking) or ``"lanczos"`` (OpenCV's 8x8
    Lanczos, crisper, may ring). Each side is rounded to whole pixels. It never enlarges:
    a ``long_side`` at or above the current one returns an unchanged copy.

    Why: an upscaled render (a x4 Lanczos or an 8K upscale) carries more pixels than detail;
    every video target resamples it to its delivery size anyway, and at that size it is as
    sharp as its content. Doing it here, recorded in the recipe, is controlled; sharpening
    the soft full-size picture instead would only add halos.
    """

    name = "downscale"
    mends = ("oversized",)
    changes_geometry = True
    stage = 120
    reads = ("delivery_long_side",)

    @dataclass(frozen=True)
    class Params:
        long_side: int = field(default=1280, metadata={"min": 16, "max": 32768})
        method: str = field(default="area", metadata={"choices": tuple(_INTERP)})

    @classmethod
    def plan_params(cls, measurement: Measurement) -> dict[str, Any]:
        """The delivery long side the blur measure judged the picture at."""
        m = measurement.measurements
        return {"long_side": int(m.get("delivery_long_side", 1280) or 1280), "method": "area"}

    def apply(self, rgb: np.ndarray, params: Any) -> np.ndarray:
        check_rgb(rgb, self.name)
        h, w = rgb.shape[:2]
        if params.long_side >= max(h, w):
            return rgb.copy()
        f = params.long_side / max(h, w)
        size = (max(1, round(w * f)), max(1, round(h * f)))
        return cv2.resize(rgb, size, interpolation=_INTERP[params.method])
