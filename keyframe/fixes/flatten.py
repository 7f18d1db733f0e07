"""Flatten: composite an RGBA cut-out onto a background colour or image (RGB out, no alpha).

The last step before a certified keyframe, which has no alpha plane.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from keyframe.fixes._common import AlphaFix, to_uint8
from keyframe.fixes.defringe import parse_colour


def background_plate(spec: str, height: int, width: int) -> np.ndarray:
    """The background ``spec`` ("#rrggbb", or an image file read through
    :func:`keyframe.image.load`, scaled to cover and centre-cropped) as H x W x 3 float32."""
    if spec.strip().startswith("#"):
        return np.broadcast_to(parse_colour(spec), (height, width, 3)).astype(np.float32)
    from keyframe.image import load
    bg = load(spec).rgb
    bh, bw = bg.shape[:2]
    s = max(height / bh, width / bw)
    size = (max(width, round(bw * s)), max(height, round(bh * s)))
    big = cv2.resize(bg, size, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC)
    y0, x0 = (big.shape[0] - height) // 2, (big.shape[1] - width) // 2
    return big[y0:y0 + height, x0:x0 + width].astype(np.float32)


class Flatten(AlphaFix):
    """``out = C a + B (1 - a)`` in sRGB values (as browsers and compositors flatten), with
    ``C`` the straight colour, ``a`` the alpha and ``B`` the ``background`` plate
    (:func:`background_plate`). The result has no alpha. An opaque image is returned as a copy.

    Run it after ``defringe``: flattening a contaminated edge bakes its rim into the picture.

    Why: a video model's first frame has no alpha; the transparent pixels' hidden colours
    must not decide what it sees.
    """

    name = "flatten"
    mends = ("has_alpha",)
    changes_geometry = False
    stage = 160
    keep_rule = "mended"      # keyframe.gate.judge: kept when it removed the transparency

    @dataclass(frozen=True)
    class Params:
        background: str = "#ffffff"

    @classmethod
    def validate(cls, params: dict[str, Any] | None) -> Any:
        p = super().validate(params)
        text = p.background.strip()
        if text.startswith("#"):
            parse_colour(text)
        elif not text:
            raise ValueError("flatten: background must be '#rrggbb' or an image path")
        return p

    @classmethod
    def files_for(cls, params: Any) -> tuple[str, ...]:
        """The background image, when the background is one (not a '#rrggbb' colour)."""
        text = params.background.strip()
        return () if text.startswith("#") else (text,)

    def apply_alpha(self, rgb: np.ndarray, alpha: np.ndarray, params: Any
                    ) -> tuple[np.ndarray, np.ndarray | None]:
        a = (alpha.astype(np.float32) / 255.0)[..., None]
        bg = background_plate(params.background, *alpha.shape)
        return to_uint8(rgb.astype(np.float32) * a + bg * (1.0 - a)), None
