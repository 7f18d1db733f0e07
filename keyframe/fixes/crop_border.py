"""Crop border: cut a measured frame or letterbox off the image (mends ``border``)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from keyframe.fixes._common import check_rgb
from keyframe.registry import Fix
from keyframe.report import Measurement

#: the smallest side a crop may leave
MIN_SIDE = 16


class CropBorder(Fix):
    """Remove ``top``, ``bottom``, ``left`` and ``right`` pixels from the image.

    Pixels inside the crop are copied unchanged. A crop that would leave fewer than
    ``MIN_SIDE`` (16) pixels on either axis raises ``ValueError``.

    Why: a generator's frame, letterbox or blank margin becomes a static band in every video
    frame and wastes the video model's resolution.
    """

    name = "crop_border"
    mends = ("border",)
    changes_geometry = True
    uncovers_frame = True
    stage = 60
    reads = ("top", "bottom", "left", "right")
    #: params in source pixels (keyframe.recipe: a replay on another size refuses or scales)
    source_px = {"top": "y", "bottom": "y", "left": "x", "right": "x"}

    @dataclass(frozen=True)
    class Params:
        top: int = field(default=0, metadata={"min": 0})
        bottom: int = field(default=0, metadata={"min": 0})
        left: int = field(default=0, metadata={"min": 0})
        right: int = field(default=0, metadata={"min": 0})

    @classmethod
    def plan_params(cls, measurement: Measurement) -> dict[str, Any]:
        """The measured border widths (source px), rounded, never negative."""
        m = measurement.measurements
        return {side: max(0, int(round(float(m.get(side, 0) or 0))))
                for side in ("top", "bottom", "left", "right")}

    def apply(self, rgb: np.ndarray, params: Any) -> np.ndarray:
        check_rgb(rgb, self.name)
        h, w = rgb.shape[:2]
        new_h = h - params.top - params.bottom
        new_w = w - params.left - params.right
        if new_h < MIN_SIDE or new_w < MIN_SIDE:
            raise ValueError(f"{self.name}: cropping {params.top}/{params.bottom}/{params.left}/"
                             f"{params.right} px (top/bottom/left/right) from {w}x{h} would "
                             f"leave {max(new_w, 0)}x{max(new_h, 0)}, under {MIN_SIDE} px")
        return np.ascontiguousarray(rgb[params.top:h - params.bottom,
                                        params.left:w - params.right]).copy()
