"""Reframe: bring an image to a target's aspect and size without cutting its subject.

Mends ``aspect_mismatch``, ``too_small`` and ``subject_near_edge`` (geometry). Also home of
:func:`saliency`, the model-free subject map the framing check and this fix share.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
from PIL import Image

from keyframe.fixes._common import check_rgb
from keyframe.registry import Fix
from keyframe.report import Measurement

Box = tuple[int, int, int, int]

#: long side (px) at which the spectral-residual saliency is computed (Hou & Zhang use 64)
SALIENCY_SIDE = 64


def saliency(rgb: np.ndarray, *, full_size: bool = True) -> np.ndarray:
    """Spectral-residual saliency (Hou & Zhang, CVPR 2007), in [0, 1].

    The log amplitude spectrum of a 64-px luma copy minus its 3x3 local mean is the part of
    the spectrum that is not the smooth 1/f statistics of natural images; transforming it
    back with the original phase highlights what stands out. Computed at 64 px (the scale
    the method was designed for) and smoothed; resized to the input's size when
    ``full_size`` (else returned at 64 px on the long side).
    """
    h, w = rgb.shape[:2]
    f = SALIENCY_SIDE / max(h, w)
    sw, sh = max(8, round(w * f)), max(8, round(h * f))
    small_rgb = cv2.resize(np.ascontiguousarray(rgb), (sw, sh), interpolation=cv2.INTER_AREA)
    small = cv2.cvtColor(small_rgb, cv2.COLOR_RGB2GRAY).astype(np.float64)
    spec = np.fft.fft2(small)
    log_amp = np.log(np.abs(spec) + 1e-9)
    residual = log_amp - cv2.blur(log_amp, (3, 3), borderType=cv2.BORDER_REFLECT)
    sal = np.abs(np.fft.ifft2(np.exp(residual + 1j * np.angle(spec)))) ** 2
    sal = cv2.GaussianBlur(sal, (0, 0), 2.5 * max(sw, sh) / 64)
    sal = (sal / (sal.max() + 1e-12)).astype(np.float32)
    if not full_size:
        return sal
    return cv2.resize(sal, (w, h), interpolation=cv2.INTER_LINEAR)


def salient_box(rgb: np.ndarray, *, mass: float = 0.6) -> Box:
    """Smallest centred-on-the-mass box holding ``mass`` of the saliency (x, y, w, h)."""
    H, W = rgb.shape[:2]
    sal = saliency(rgb, full_size=False).astype(np.float64)
    h, w = sal.shape
    total = sal.sum() + 1e-12
    cx, cy = sal.sum(0).cumsum() / total, sal.sum(1).cumsum() / total
    lo = (1 - mass) / 2
    x0, x1 = int(np.searchsorted(cx, lo)), int(np.searchsorted(cx, 1 - lo)) + 1
    y0, y1 = int(np.searchsorted(cy, lo)), int(np.searchsorted(cy, 1 - lo)) + 1
    fx, fy = W / w, H / h
    X0, Y0 = int(x0 * fx), int(y0 * fy)
    X1, Y1 = min(W, int(np.ceil(min(w, x1) * fx))), min(H, int(np.ceil(min(h, y1) * fy)))
    return X0, Y0, max(1, X1 - X0), max(1, Y1 - Y0)


def union(boxes: list[Box]) -> Box | None:
    """The box holding every box in ``boxes`` (None for none)."""
    if not boxes:
        return None
    x0 = min(b[0] for b in boxes)
    y0 = min(b[1] for b in boxes)
    x1 = max(b[0] + b[2] for b in boxes)
    y1 = max(b[1] + b[3] for b in boxes)
    return x0, y0, x1 - x0, y1 - y0


def _window(length: int, keep: int, lo: int, hi: int) -> int | None:
    """Start of a ``keep``-long window in [0, length) holding [lo, hi), centred on it; None
    when [lo, hi) is longer than the window."""
    if hi - lo > keep:
        return None
    start = int(round((lo + hi) / 2 - keep / 2))
    start = min(max(start, hi - keep, 0), lo, length - keep)
    return max(0, start)


def extend(rgb: np.ndarray, top: int, bottom: int, left: int, right: int) -> np.ndarray:
    """Extend the canvas by mirrored content that fades into its own blur away from the seam.

    The mirror keeps colours and edge directions continuous at the seam; blending towards a
    strong blur with the distance from it keeps the added band from reading as a duplicate.
    """
    pad = cv2.copyMakeBorder(rgb, top, bottom, left, right, cv2.BORDER_REFLECT_101)
    big = max(top, bottom, left, right, 1)
    blurred = _wide_blur(pad, max(2.0, big / 3))
    h, w = rgb.shape[:2]
    H, W = pad.shape[:2]
    yy = np.arange(H, dtype=np.float32)
    xx = np.arange(W, dtype=np.float32)
    dy = np.maximum(top - yy, yy - (top + h - 1)).clip(0) / big
    dx = np.maximum(left - xx, xx - (left + w - 1)).clip(0) / big
    wgt = np.clip(np.maximum(dy[:, None], dx[None, :]) * 2.0, 0, 1)[..., None]
    out = pad.astype(np.float32) * (1 - wgt) + blurred.astype(np.float32) * wgt
    out[top:top + h, left:left + w] = rgb
    return np.ascontiguousarray(np.clip(np.rint(out), 0, 255).astype(np.uint8))


def _wide_blur(rgb: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of any width at a bounded cost: blur a copy shrunk so that sigma is
    4 px there, then enlarge it back (the blurred image has no detail to lose)."""
    k = max(1.0, sigma / 4.0)
    h, w = rgb.shape[:2]
    if k <= 1.0:
        return cv2.GaussianBlur(rgb, (0, 0), sigma)
    small = cv2.resize(rgb, (max(1, round(w / k)), max(1, round(h / k))),
                       interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigma / k)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


class Reframe(Fix):
    """Crop or extend to ``width:height``, keeping protected boxes whole, then resize.

    ``protect`` boxes (x, y, w, h in source px; faces and persons from the anatomy check)
    are never cut; with none, the saliency box (60 % of the spectral-residual mass) is kept.
    ``mode="auto"`` crops when the kept box fits the crop window and otherwise extends the
    canvas (:func:`extend`); ``margin`` (fraction of the frame) is then kept between the kept
    box and every edge, extending when needed, so a camera push-in keeps the subject. The
    result is resized with Lanczos to ``width`` x ``height`` (0 keeps the cropped size, with
    sides rounded to ``multiple``).

    Why: a video model crops or pads a first frame of another aspect itself, blindly.
    """

    name = "reframe"
    mends = ("aspect_mismatch", "too_small", "subject_near_edge")
    changes_geometry = True

    @dataclass(frozen=True)
    class Params:
        width: int = field(default=0, metadata={"min": 0, "max": 16384})
        height: int = field(default=0, metadata={"min": 0, "max": 16384})
        mode: str = field(default="auto", metadata={"choices": ("auto", "crop", "extend")})
        margin: float = field(default=0.0, metadata={"min": 0.0, "max": 0.3})
        multiple: int = field(default=2, metadata={"min": 1, "max": 128})
        protect: tuple = ()

    @classmethod
    def plan_params(cls, measurement: Measurement) -> dict[str, Any]:
        """Size, margin and protected box the framing check measured for the target."""
        m = measurement.measurements
        params: dict[str, Any] = {"width": int(m.get("target_width", 0) or 0),
                                  "height": int(m.get("target_height", 0) or 0),
                                  "multiple": int(m.get("multiple_of", 2) or 2)}
        if m.get("subject_w", 0) and m.get("subject_from_regions", 0):
            params["protect"] = [[int(m["subject_x"]), int(m["subject_y"]),
                                  int(m["subject_w"]), int(m["subject_h"])]]
        if measurement.code == "subject_near_edge":
            params["margin"] = float(m.get("margin_wanted", 0.0) or 0.0)
        return params

    def apply(self, rgb: np.ndarray, params: Any) -> np.ndarray:
        check_rgb(rgb, self.name)
        h, w = rgb.shape[:2]
        boxes = [_box(b, w, h) for b in params.protect]
        keep = union(boxes) or salient_box(rgb)
        if (params.width == 0) != (params.height == 0):
            raise ValueError(f"{self.name}: give both width and height, or neither")
        aspect = params.width / params.height if params.width else w / h
        out, keep = self._to_aspect(rgb, aspect, keep, params.mode, bool(boxes))
        if params.margin > 0:
            out = self._margin(out, keep, params.margin, aspect)
        oh, ow = out.shape[:2]
        tw, th = params.width, params.height
        if not tw:
            m = params.multiple
            tw, th = max(m, ow // m * m), max(m, oh // m * m)
        if (ow, oh) != (tw, th):
            out = np.asarray(Image.fromarray(out).resize((tw, th), Image.Resampling.LANCZOS))
        return np.ascontiguousarray(out).copy()

    def _to_aspect(self, rgb: np.ndarray, aspect: float, keep: Box, mode: str,
                   strict: bool) -> tuple[np.ndarray, Box]:
        h, w = rgb.shape[:2]
        kx, ky, kw, kh = keep
        if abs(np.log(w / h / aspect)) < 1e-3:
            return rgb, keep
        wide = w / h > aspect
        if mode != "extend":
            if wide:
                cw = max(1, round(h * aspect))
                x0 = _window(w, cw, kx, kx + kw)
                if x0 is None and not strict and mode == "crop":
                    x0 = min(max(0, kx + kw // 2 - cw // 2), w - cw)
                if x0 is not None:
                    return rgb[:, x0:x0 + cw], (kx - x0, ky, min(kw, cw), kh)
            else:
                ch = max(1, round(w / aspect))
                y0 = _window(h, ch, ky, ky + kh)
                if y0 is None and not strict and mode == "crop":
                    y0 = min(max(0, ky + kh // 2 - ch // 2), h - ch)
                if y0 is not None:
                    return rgb[y0:y0 + ch], (kx, ky - y0, kw, min(kh, ch))
            if mode == "crop":
                raise ValueError(f"{self.name}: a crop to aspect {aspect:.3f} would cut the "
                                 f"protected box {keep}; use mode='extend' or 'auto'")
        if wide:
            add = max(0, round(w / aspect) - h)
            top = add // 2
            return extend(rgb, top, add - top, 0, 0), (kx, ky + top, kw, kh)
        add = max(0, round(h * aspect) - w)
        left = add // 2
        return extend(rgb, 0, 0, left, add - left), (kx + left, ky, kw, kh)

    @staticmethod
    def _margin(rgb: np.ndarray, keep: Box, margin: float, aspect: float) -> np.ndarray:
        """Extend evenly (keeping ``aspect``) until ``keep`` is ``margin`` from every edge."""
        h, w = rgb.shape[:2]
        kx, ky, kw, kh = keep
        need = max(margin * w - kx, margin * w - (w - kx - kw),
                   (margin * h - ky) * aspect, (margin * h - (h - ky - kh)) * aspect, 0.0)
        if need <= 0:
            return rgb
        # extending each side by p px (and each of top/bottom by p / aspect) moves the box
        # p further from the sides while the frame grows: solve margin * (w + 2p) <= kx + p
        gap = min(kx, w - kx - kw, min(ky, h - ky - kh) * aspect)
        p = int(np.ceil(max(0.0, (margin * w - gap) / (1 - 2 * margin))))
        q = int(round(p / aspect))
        return extend(rgb, q, q, p, p)


def _box(b: Any, w: int, h: int) -> Box:
    try:
        x, y, bw, bh = (int(v) for v in b)
    except (TypeError, ValueError):
        raise ValueError(f"reframe: protect box {b!r} is not [x, y, w, h]") from None
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(w, x + bw), min(h, y + bh)
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"reframe: protect box {b!r} lies outside the {w}x{h} image")
    return x0, y0, x1 - x0, y1 - y0
