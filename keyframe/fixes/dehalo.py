"""Dehalo: pull rim pixels along strong edges back inside their two sides' colours
(mends ``edge_halo`` on opaque pictures)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from keyframe.fixes._common import check_rgb, luma, to_float, to_uint8
from keyframe.registry import Fix
from keyframe.report import Measurement


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

    With a ``matte`` file (the subject's alpha, :mod:`keyframe.matte`) only the band of
    ``width`` px each side of the subject's boundary is touched, and each of its pixels is
    moved onto the segment between the two sides' local colours (see ``_onto_sides``):
    the texture elsewhere in the picture is left alone.

    Why: a flattened composite's rim moves with the subject in every generated frame.
    """

    name = "dehalo"
    mends = ("edge_halo",)
    changes_geometry = False
    stage = 50
    reads = ("band_px_source", "matte_file")
    #: on an RGBA cut-out the rim is in the matte, not in the colour: see :meth:`apply_rgba`
    uses_alpha = True

    @dataclass(frozen=True)
    class Params:
        width: int = field(default=2, metadata={"min": 1, "max": 8})
        threshold: float = field(default=40.0, metadata={"min": 5.0, "max": 200.0})
        strength: float = field(default=1.0, metadata={"min": 0.0, "max": 1.0})
        #: path of the subject matte (same size): the rim is then the band of ``width`` px
        #: each side of its 0.5 contour instead of every strong edge (keyframe.matte)
        matte: str = ""

    @classmethod
    def files_for(cls, params: Any) -> tuple[str, ...]:
        """The subject matte the rim is taken from, when the step names one."""
        return (params.matte,) if params.matte else ()

    @classmethod
    def plan_params(cls, measurement: Measurement) -> dict[str, Any]:
        """With a subject matte (the check's matte measurement): ``width`` covering the band
        it judged — ``band_px_source``, its 3 canonical px in source px, at least 2, at most
        8 — and the matte file it read (``matte_file``). Calibrated on the 2-px dilated
        mattes of scripts/calibrate/edge_halo.py: width 3 at 800 px leaves every rim below
        minor, width 2 leaves some major. A cut-out's measurement carries the same
        ``band_px_source``: the matte is choked by as much. Otherwise: the defaults."""
        reach = measurement.measurements.get("band_px_source")
        if not reach:
            return {}
        planned: dict[str, Any] = {"width": int(min(8, max(2, math.ceil(float(reach)))))}
        matte = measurement.measurements.get("matte_file")
        if isinstance(matte, str) and matte:
            planned["matte"] = matte
        return planned

    def apply_rgba(self, rgb: np.ndarray, alpha: np.ndarray | None, params: Any
                   ) -> tuple[np.ndarray, np.ndarray | None]:
        """Opaque: :meth:`apply`. A cut-out: a rim that shows on some background is the old
        background kept inside a loose matte, so the matte is choked by ``width`` px and the
        new soft band decontaminated (``defringe``'s estimate: pymatting
        ``estimate_foreground_ml``)."""
        if alpha is None:
            return self.apply(rgb, params), None
        check_rgb(rgb, self.name)
        if params.strength <= 0:
            return rgb.copy(), alpha.copy()
        from keyframe.fixes.defringe import Defringe, choke
        return Defringe().apply_alpha(rgb, choke(alpha, params.width),
                                      Defringe.validate({"method": "estimate"}))

    def apply(self, rgb: np.ndarray, params: Any) -> np.ndarray:
        check_rgb(rgb, self.name)
        f = to_float(rgb)
        w = params.width
        if params.strength <= 0:
            return rgb.copy()
        if params.matte:
            return to_uint8(_onto_sides(f, _subject(params.matte, rgb.shape[:2]), w,
                                        params.strength))
        y = to_uint8(luma(f))
        edges = cv2.Canny(y, params.threshold, 2 * params.threshold, L2gradient=True)
        rim = cv2.dilate(edges, cv2.getStructuringElement(cv2.MORPH_ELLIPSE,
                                                          (2 * w + 1, 2 * w + 1))) > 0
        if not rim.any():
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


def _subject(path: str, shape: tuple[int, int]) -> np.ndarray:
    from keyframe.image import ImageError
    from keyframe.matte import read_matte
    try:
        return read_matte(path, shape=shape) >= 128
    except ImageError as exc:
        raise ValueError(f"dehalo: {exc}") from None


def _onto_sides(f: np.ndarray, subject: np.ndarray, width: int, strength: float) -> np.ndarray:
    """Matte mode: each pixel within ``width`` px of the subject's boundary loses the part of
    its colour that lies off the segment between the two sides' local colours (the measure
    of :mod:`checks.edge_halo.matte`, side means with a Gaussian of 4/3 ``width``). The
    position along the segment — how much subject, how much background — is kept, so soft
    hair keeps its structure; only the third colour (the old background) goes."""
    from keyframe.matte import onto_segment, side_colours, signed_distance
    sd = signed_distance(subject)
    ((inside, outside, band),) = side_colours(f, sd, band=float(width),
                                              sigma=4.0 * width / 3.0, half=False)
    out = f.copy()
    c = f[band]
    p, _ = onto_segment(c, inside, outside)
    out[band] = c + strength * (p - c)
    return out
