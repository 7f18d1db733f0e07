"""Defringe: colour decontamination of a cut-out's soft edge (mends ``alpha_fringe``)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from keyframe.fixes._common import AlphaFix, to_uint8
from keyframe.report import Measurement

METHODS = ("estimate", "unmultiply", "unpremultiply")


def parse_colour(text: str) -> np.ndarray:
    """``"#rrggbb"`` -> float32 RGB (0–255); ``ValueError`` with one line otherwise."""
    t = text.strip().lstrip("#")
    if len(t) != 6 or any(ch not in "0123456789abcdefABCDEF" for ch in t):
        raise ValueError(f"colour {text!r} is not #rrggbb")
    return np.array([int(t[i:i + 2], 16) for i in (0, 2, 4)], np.float32)


def choke(alpha: np.ndarray, px: int) -> np.ndarray:
    """Alpha eroded by ``px`` px (grey erosion, elliptic), uint8."""
    if px <= 0:
        return alpha.copy()
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * px + 1, 2 * px + 1))
    return cv2.erode(alpha, k)


class Defringe(AlphaFix):
    """Give the semi-transparent edge band the foreground's own colour.

    ``method``:

    * ``"estimate"`` — pymatting's ``estimate_foreground_ml`` (Germer et al. 2020, multi-level
      foreground estimation): solves ``C = a F + (1 - a) B`` for smooth ``F`` and ``B``; run on
      the bounding box of the band only, pixels with alpha 0 or 255 are kept;
    * ``"unmultiply"`` — against a known old background colour ``background``:
      ``F = (C - (1 - a) B) / a``;
    * ``"unpremultiply"`` — colour stored premultiplied but read as straight: ``F = C / a``.

    ``choke`` then erodes alpha by that many px (drops the outermost, most contaminated
    ring). On an opaque image (no alpha) :meth:`apply` returns a copy: there is no band.

    Why: an image-to-video model animates the old background's rim with the subject.
    """

    name = "defringe"
    mends = ("alpha_fringe", "edge_halo")
    changes_geometry = False
    stage = 30
    reads = ("premultiplied",)

    @dataclass(frozen=True)
    class Params:
        method: str = field(default="estimate", metadata={"choices": METHODS})
        background: str = ""
        choke: int = field(default=0, metadata={"min": 0, "max": 8})

    @classmethod
    def plan_params(cls, measurement: Measurement) -> dict[str, Any]:
        """Un-premultiply when the band reads as premultiplied colour, else estimate."""
        if float(measurement.measurements.get("premultiplied", 0.0)) > 0.9:
            return {"method": "unpremultiply"}
        return {"method": "estimate"}

    def apply_alpha(self, rgb: np.ndarray, alpha: np.ndarray, params: Any
                    ) -> tuple[np.ndarray, np.ndarray | None]:
        band = (alpha > 0) & (alpha < 255)
        out = rgb.astype(np.float32)
        a = alpha.astype(np.float32) / 255.0
        if band.any():
            if params.method == "unmultiply":
                if not params.background:
                    raise ValueError("defringe: method 'unmultiply' needs background='#rrggbb'")
                bg = parse_colour(params.background)
                am = np.maximum(a, 1 / 255)[..., None]
                f = (out - (1.0 - a)[..., None] * bg) / am
                out = np.where(band[..., None], f, out)
            elif params.method == "unpremultiply":
                f = out / np.maximum(a, 1 / 255)[..., None]
                out = np.where(band[..., None], f, out)
            else:
                out = _estimate(out, a, band)
        return to_uint8(out), choke(alpha, params.choke)


def _estimate(c: np.ndarray, a: np.ndarray, band: np.ndarray) -> np.ndarray:
    from pymatting import estimate_foreground_ml
    ys, xs = np.nonzero(band)
    pad = 16
    y0, y1 = max(0, ys.min() - pad), min(a.shape[0], ys.max() + pad + 1)
    x0, x1 = max(0, xs.min() - pad), min(a.shape[1], xs.max() + pad + 1)
    crop = c[y0:y1, x0:x1].astype(np.float64) / 255.0
    f = estimate_foreground_ml(crop, a[y0:y1, x0:x1].astype(np.float64)) * 255.0
    out = c.copy()
    sub = band[y0:y1, x0:x1, None]
    out[y0:y1, x0:x1] = np.where(sub, f, c[y0:y1, x0:x1])
    return out
