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
from keyframe.fixes._reframe_window import HEADROOM, trimmed, window
from keyframe.registry import Fix
from keyframe.report import Measurement

Box = tuple[int, int, int, int]

#: long side (px) at which the spectral-residual saliency is computed (Hou & Zhang use 64)
SALIENCY_SIDE = 64
#: a 64-px luma spanning less than this (grey levels) shows nothing that stands out
FLAT_RANGE = 1.0


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
    if np.ptp(small) < FLAT_RANGE:
        # nothing stands out (and an all-black picture's spectrum is all zero: its
        # "residual" transformed back is a spike in the top-left corner, which read as a
        # subject at the edge): the same saliency everywhere
        return np.ones((h, w) if full_size else (sh, sw), np.float32)
    spec = np.fft.fft2(small)
    log_amp = np.log(np.abs(spec) + 1e-9)
    residual = log_amp - cv2.blur(log_amp, (3, 3), borderType=cv2.BORDER_REFLECT)
    sal = np.abs(np.fft.ifft2(np.exp(residual + 1j * np.angle(spec)))) ** 2
    sal = cv2.GaussianBlur(sal, (0, 0), 2.5 * max(sw, sh) / 64)
    sal = (sal / (sal.max() + 1e-12)).astype(np.float32)
    if not full_size:
        return sal
    return cv2.resize(sal, (w, h), interpolation=cv2.INTER_LINEAR)


def salient_box(rgb: np.ndarray, *, mass: float = 0.6, sal: np.ndarray | None = None) -> Box:
    """Smallest centred-on-the-mass box holding ``mass`` of the saliency (x, y, w, h);
    ``sal``: ``saliency(rgb, full_size=False)`` when the caller already has it."""
    H, W = rgb.shape[:2]
    sal = (saliency(rgb, full_size=False) if sal is None else sal).astype(np.float64)
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


#: distance (px from the seam) over which the added band's blur grows: detail of scale s is
#: gone s / EXTEND_RATE px from the seam (so nothing of the subject reads as mirrored)
EXTEND_RATE = 0.5


def extend(rgb: np.ndarray, top: int, bottom: int, left: int, right: int) -> np.ndarray:
    """Extend the canvas by the picture's mirror image, blurred more the further from the seam.

    The mirror keeps colours and edge directions continuous at the seam (no step); the blur
    radius grows with the distance ``d`` from the seam (a Gaussian of sigma about
    ``EXTEND_RATE * d``, blended between a few precomputed levels), so within a few pixels
    every detail of the mirrored content is gone and only its soft colours continue — the
    band reads as out-of-focus surroundings, never as a mirror image of the subject.
    """
    pad = cv2.copyMakeBorder(rgb, top, bottom, left, right, cv2.BORDER_REFLECT_101)
    big = max(top, bottom, left, right, 1)
    h, w = rgb.shape[:2]
    H, W = pad.shape[:2]
    yy = np.arange(H, dtype=np.float32)
    xx = np.arange(W, dtype=np.float32)
    dy = np.maximum(top - yy, yy - (top + h - 1)).clip(0)
    dx = np.maximum(left - xx, xx - (left + w - 1)).clip(0)
    want = np.maximum(dy[:, None], dx[None, :]) * EXTEND_RATE      # sigma wanted per pixel
    sigmas = [0.0]
    while sigmas[-1] < big * EXTEND_RATE:
        sigmas.append(max(1.0, sigmas[-1] * 2.0))
    pos = np.interp(want, sigmas, np.arange(len(sigmas), dtype=np.float32))
    out = np.zeros(pad.shape, np.float32)
    for i, sigma in enumerate(sigmas):   # blend the two levels around each pixel's sigma
        wgt = np.clip(1.0 - np.abs(pos - i), 0.0, 1.0)
        if wgt.any():
            level = pad if sigma == 0 else _wide_blur(pad, sigma)
            out += level.astype(np.float32) * wgt[..., None]
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


@dataclass(frozen=True)
class Layout:
    """What a reframe does to a picture, decided before any pixel moves.

    ``crop`` (x, y, w, h, source px) is the part of the source kept; ``pad`` (top, bottom,
    left, right, px at the crop's scale) the canvas added around it by :func:`extend`;
    ``size`` (w, h) the output after the final resize; ``source`` (w, h) the input;
    ``note`` what the crop could not keep that was asked for (the headroom above a
    protected box, when the window is too short for box and room: the box is kept whole).
    """

    crop: Box
    pad: tuple[int, int, int, int]
    size: tuple[int, int]
    source: tuple[int, int]
    note: str = ""

    @property
    def canvas(self) -> tuple[int, int]:
        """(w, h) of the cropped and extended picture, before the final resize."""
        t, b, l, r = self.pad
        return self.crop[2] + l + r, self.crop[3] + t + b

    @property
    def scale(self) -> float:
        """How much the source's content is enlarged (above 1) or reduced by the resize."""
        cw, ch = self.canvas
        return max(self.size[0] / cw, self.size[1] / ch)

    @property
    def invented(self) -> float:
        """Share of the output frame that the canvas extension added (0 without one)."""
        cw, ch = self.canvas
        return 1.0 - (self.crop[2] * self.crop[3]) / float(cw * ch)

    def describe(self) -> str:
        """What the reframe did, in words: cropped, extended, resized (one line)."""
        x, y, cw, ch = self.crop
        t, b, l, r = self.pad
        parts = []
        if (x, y) != (0, 0) or (cw, ch) != self.source:
            parts.append(f"cropped {cw}x{ch} at ({x}, {y}) out of {self.source[0]}x"
                         f"{self.source[1]}")
        if any(self.pad):
            sides = [f"{n} {v} px" for n, v in zip(("top", "bottom", "left", "right"), self.pad)
                     if v]
            parts.append("canvas extended (blurred mirror) " + ", ".join(sides)
                         + f" ({self.invented:.0%} of the frame invented)")
        if self.size != self.canvas:
            parts.append(f"resized to {self.size[0]}x{self.size[1]} (x{self.scale:.2f})")
        if self.note:
            parts.append(self.note)
        return "; ".join(parts) or "unchanged"

    def record(self) -> dict:
        """The layout for a manifest: source, crop, pad, size, scale."""
        return {"source": list(self.source), "crop": list(self.crop), "pad": list(self.pad),
                "size": list(self.size), "scale": round(self.scale, 4)}

    def added(self) -> list[tuple[str, Box]]:
        """The extended bands in output px: ``(side, (x, y, w, h))`` per side extended."""
        cw, ch = self.canvas
        fx, fy = self.size[0] / cw, self.size[1] / ch
        t, b, l, r = self.pad
        W, H = self.size
        bands = [("top", (0, 0, W, round(t * fy))), ("bottom", (0, H - round(b * fy), W,
                                                                 round(b * fy))),
                 ("left", (0, 0, round(l * fx), H)), ("right", (W - round(r * fx), 0,
                                                                round(r * fx), H))]
        return [(side, box) for side, box in bands if box[2] > 0 and box[3] > 0]


class Reframe(Fix):
    """Crop or extend to ``width:height``, keeping protected boxes whole, then resize.

    ``protect`` boxes (x, y, w, h in source px; faces and persons from the anatomy check)
    are never cut; with none, the saliency box (60 % of the spectral-residual mass) is kept.
    ``mode="auto"`` crops when the kept box fits the crop window and otherwise extends the
    canvas (:func:`extend`); ``margin`` (fraction of the frame) is then kept between the kept
    box and every edge, extending when needed, so a camera push-in keeps the subject. The
    result is resized with Lanczos to ``width`` x ``height`` (0 keeps the cropped size, with
    sides rounded to ``multiple``). :meth:`layout` says all of this before it is done (the
    gate reads the enlargement and the extended bands from it).

    Why: a video model crops or pads a first frame of another aspect itself, blindly.
    """

    name = "reframe"
    mends = ("aspect_mismatch", "too_small", "subject_near_edge")
    changes_geometry = True
    stage = 70
    reads = ("target_width", "target_height", "multiple_of", "subject_x", "subject_y",
             "subject_w", "subject_h", "subject_from_regions", "margin_wanted")
    #: params in source pixels (keyframe.recipe: a replay on another size refuses or scales)
    source_px = {"protect": "boxes"}
    #: the protected boxes are where THAT picture's subject is: a replay on another picture
    #: re-measures them as the gate does (anatomy's faces and persons, framing's subject box)
    content_px = {"protect": "protected box"}
    content_checks = ("anatomy", "framing")

    @dataclass(frozen=True)
    class Params:
        width: int = field(default=0, metadata={"min": 0, "max": 16384})
        height: int = field(default=0, metadata={"min": 0, "max": 16384})
        mode: str = field(default="auto", metadata={"choices": ("auto", "crop", "extend")})
        margin: float = field(default=0.0, metadata={"min": 0.0, "max": 0.3})
        multiple: int = field(default=2, metadata={"min": 1, "max": 128})
        protect: tuple = ()
        #: before extending, crop the other side to the kept box (+ TRIM_MARGIN); False
        #: (the default, as recipes recorded before it replay) extends the whole picture
        trim: bool = False
        #: with ``trim``: room kept beyond the kept box on each side of the trimmed axis, as
        #: a fraction of the box's extent, when more than TRIM_MARGIN of the side (the
        #: planner sets HEADROOM; 0, the default, replays recipes recorded before it)
        headroom: float = field(default=0.0, metadata={"min": 0.0, "max": 1.0})

    @classmethod
    def plan_params(cls, measurement: Measurement) -> dict[str, Any]:
        """Size, margin and protected box the framing check measured for the target."""
        m = measurement.measurements
        params: dict[str, Any] = {"width": int(m.get("target_width", 0) or 0),
                                  "height": int(m.get("target_height", 0) or 0),
                                  "multiple": int(m.get("multiple_of", 2) or 2), "trim": True,
                                  "headroom": HEADROOM}
        if m.get("subject_w", 0) and m.get("subject_from_regions", 0):
            params["protect"] = [[int(m["subject_x"]), int(m["subject_y"]),
                                  int(m["subject_w"]), int(m["subject_h"])]]
        if measurement.code == "subject_near_edge":
            params["margin"] = float(m.get("margin_wanted", 0.0) or 0.0)
        return params

    def layout(self, rgb: np.ndarray, params: Any) -> Layout:
        """The crop, the canvas extension and the output size this step will give ``rgb``."""
        check_rgb(rgb, self.name)
        h, w = rgb.shape[:2]
        if (params.width == 0) != (params.height == 0):
            raise ValueError(f"{self.name}: give both width and height, or neither")
        boxes = [_box(b, w, h) for b in params.protect]
        keep = union(boxes) or salient_box(rgb)
        aspect = params.width / params.height if params.width else w / h
        crop, pad, keep, note = self._to_aspect(w, h, aspect, keep, params.mode, bool(boxes),
                                                params.trim, params.headroom)
        if params.margin > 0:
            more = self._margin(crop[2] + pad[2] + pad[3], crop[3] + pad[0] + pad[1], keep,
                                params.margin, aspect)
            pad = tuple(a + b for a, b in zip(pad, more))
        t, b, l, r = pad
        ow, oh = crop[2] + l + r, crop[3] + t + b
        tw, th = params.width, params.height
        if not tw:
            m = params.multiple
            tw, th = max(m, ow // m * m), max(m, oh // m * m)
        return Layout(crop=crop, pad=pad, size=(tw, th), source=(w, h), note=note)

    def apply(self, rgb: np.ndarray, params: Any) -> np.ndarray:
        return self.render(rgb, self.layout(rgb, params))

    @staticmethod
    def render(rgb: np.ndarray, lay: Layout) -> np.ndarray:
        """The pixels of ``lay`` (made by :meth:`layout` for this ``rgb``): crop, extend,
        resize."""
        x, y, cw, ch = lay.crop
        out = rgb[y:y + ch, x:x + cw]
        if any(lay.pad):
            out = extend(np.ascontiguousarray(out), *lay.pad)
        if (out.shape[1], out.shape[0]) != lay.size:
            out = np.asarray(Image.fromarray(np.ascontiguousarray(out)).resize(
                lay.size, Image.Resampling.LANCZOS))
        return np.ascontiguousarray(out).copy()

    def geometry(self, rgb: np.ndarray, params: Any) -> Layout:
        """What the gate inspects: the enlargement and the added bands (:meth:`layout`)."""
        return self.layout(rgb, params)

    def _to_aspect(self, w: int, h: int, aspect: float, keep: Box, mode: str, strict: bool,
                   trim: bool, headroom: float = 0.0
                   ) -> tuple[Box, tuple[int, int, int, int], Box, str]:
        """(crop box, canvas pads, kept box in the extended canvas, note) bringing w:h to
        aspect. A crop around protected boxes (``strict``) keeps ``headroom`` of the box's
        extent beyond it where the frame has it (:func:`window`: the room above first; the
        window shifted to hold it; when it cannot hold box and room, the box whole and the
        ``note`` says how much room above was kept). When the kept box does not fit a crop,
        the canvas is extended across the side that is too short; with ``trim`` the other
        side is first cropped to the kept box and TRIM_MARGIN of the side or
        ``headroom`` of the box around it (the more of the two), so the invented bands are
        as narrow as the subject allows."""
        kx, ky, kw, kh = keep
        if abs(np.log(w / h / aspect)) < 1e-3:
            return (0, 0, w, h), (0, 0, 0, 0), keep, ""
        wide = w / h > aspect
        room = headroom if strict else 0.0
        if mode != "extend":
            if wide:
                cw = max(1, round(h * aspect))
                at = window(w, cw, kx, kx + kw, room=round(room * kw))
                x0 = None if at is None else at[0]
                if x0 is None and not strict and mode == "crop":
                    x0 = min(max(0, kx + kw // 2 - cw // 2), w - cw)
                if x0 is not None:
                    return (x0, 0, cw, h), (0, 0, 0, 0), (kx - x0, ky, min(kw, cw), kh), ""
            else:
                ch = max(1, round(w / aspect))
                want = round(room * kh)
                at = window(h, ch, ky, ky + kh, room=want, lead=True)
                y0 = None if at is None else at[0]
                note = "" if at is None or not at[1] else (
                    f"headroom: the {ch}-row crop keeps {want - at[1]} of the {want} rows "
                    f"asked above the protected box (kept whole)")
                if y0 is None and not strict and mode == "crop":
                    y0 = min(max(0, ky + kh // 2 - ch // 2), h - ch)
                if y0 is not None:
                    return (0, y0, w, ch), (0, 0, 0, 0), (kx, ky - y0, kw, min(kh, ch)), note
            if mode == "crop":
                raise ValueError(f"{self.name}: a crop to aspect {aspect:.3f} would cut the "
                                 f"protected box {keep}; use mode='extend' or 'auto'")
        if wide:
            x0, cw = trimmed(w, kx, kw, headroom) if trim else (0, w)
            add = max(0, round(cw / aspect) - h)
            top = add // 2
            return (x0, 0, cw, h), (top, add - top, 0, 0), (kx - x0, ky + top, kw, kh), ""
        y0, ch = trimmed(h, ky, kh, headroom) if trim else (0, h)
        add = max(0, round(ch * aspect) - w)
        left = add // 2
        return (0, y0, w, ch), (0, 0, left, add - left), (kx + left, ky - y0, kw, kh), ""

    @staticmethod
    def _margin(w: int, h: int, keep: Box, margin: float, aspect: float
                ) -> tuple[int, int, int, int]:
        """Pads (top, bottom, left, right) extending evenly (keeping ``aspect``) until
        ``keep`` is ``margin`` from every edge of a ``w`` x ``h`` canvas."""
        kx, ky, kw, kh = keep
        need = max(margin * w - kx, margin * w - (w - kx - kw),
                   (margin * h - ky) * aspect, (margin * h - (h - ky - kh)) * aspect, 0.0)
        if need <= 0:
            return 0, 0, 0, 0
        # extending each side by p px (and each of top/bottom by p / aspect) moves the box
        # p further from the sides while the frame grows: solve margin * (w + 2p) <= kx + p
        gap = min(kx, w - kx - kw, min(ky, h - ky - kh) * aspect)
        p = int(np.ceil(max(0.0, (margin * w - gap) / (1 - 2 * margin))))
        q = int(round(p / aspect))
        return q, q, p, p


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
