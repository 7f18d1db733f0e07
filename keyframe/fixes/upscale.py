"""Upscale: resample to a larger size with Lanczos or bicubic (mends ``too_small``)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from keyframe.fixes._common import check_rgb
from keyframe.registry import Fix
from keyframe.report import Measurement

_INTERP = {"lanczos": cv2.INTER_LANCZOS4, "cubic": cv2.INTER_CUBIC}


class Upscale(Fix):
    """Enlarge the image by ``factor``, or to ``long_side`` pixels on its longer side.

    Resampling is OpenCV's 8x8 Lanczos (``method="lanczos"``) or 4x4 bicubic (``"cubic"``),
    both in 8-bit with the aspect ratio kept (each side rounded to whole pixels). It never
    shrinks: a ``long_side`` at or below the current one returns an unchanged copy.

    Why: a video model resamples a small frame itself, often crudely; bringing it to the
    size the target expects first is better controlled. It adds no detail (learned
    upscalers come later).
    """

    name = "upscale"
    mends = ("too_small", "blur")
    changes_geometry = True

    @dataclass(frozen=True)
    class Params:
        factor: float = field(default=2.0, metadata={"min": 1.0, "max": 8.0})
        long_side: int = field(default=0, metadata={"min": 0, "max": 32768})
        method: str = field(default="lanczos", metadata={"choices": ("lanczos", "cubic")})

    @classmethod
    def plan_params(cls, measurement: Measurement) -> dict[str, Any]:
        """1.5x for a slightly small image, 2x from severity 0.5, 3x from 0.9."""
        s = float(measurement.severity)
        return {"factor": 3.0 if s >= 0.9 else 2.0 if s >= 0.5 else 1.5}

    @staticmethod
    def output_size(width: int, height: int, params: Any) -> tuple[int, int]:
        """(width, height) that :meth:`apply` will produce for an input of that size."""
        scale = params.long_side / max(width, height) if params.long_side else params.factor
        scale = max(1.0, scale)
        return max(1, int(round(width * scale))), max(1, int(round(height * scale)))

    def apply(self, rgb: np.ndarray, params: Any) -> np.ndarray:
        check_rgb(rgb, self.name)
        h, w = rgb.shape[:2]
        new_w, new_h = self.output_size(w, h, params)
        if (new_w, new_h) == (w, h):
            return rgb.copy()
        out = cv2.resize(np.ascontiguousarray(rgb), (new_w, new_h),
                         interpolation=_INTERP[params.method])
        return np.ascontiguousarray(out)
