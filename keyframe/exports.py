"""Per-target export bytes: the keyframe at the target's geometry, in a format and size it takes.

:func:`make_export` reframes the pixels to :meth:`Target.output_size` (subject-aware crop or
canvas extension, then Lanczos; :class:`keyframe.fixes.reframe.Reframe`) and encodes them:
PNG when the target takes PNG and it fits the size cap, else JPEG at the highest quality
that fits (bisection over 40–95), else — for targets without a fixed size — a smaller size
(never under the target's minimum side). :func:`limit_problems` re-reads export bytes and
lists every limit they break; the tests and ``keyframe verify`` use it. Nothing here writes
files: :mod:`keyframe.package` does.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from keyframe.fixes.reframe import HEADROOM, Reframe, union
from keyframe.image import (ImageError, LoadedImage, encode_jpeg, encode_png, load_bytes,
                            sha256_bytes)
from keyframe.registry import Context, check_classes
from keyframe.report import Measurement, Report
from keyframe.step_geometry import History, invented_with, over_enlarge
from keyframe.targets import Target

JPEG_MAX_QUALITY = 95
#: below this JPEG quality the export is shrunk instead (blocking would show in the video)
JPEG_MIN_QUALITY = 40
#: largest |log| distance between an export's aspect and the target's accepted one
ASPECT_TOLERANCE = 0.01
EXTENSIONS = {"png": "png", "jpeg": "jpg", "webp": "webp"}


class ExportError(ValueError):
    """An image that cannot be exported within a target's limits; one-line message."""


@dataclass(frozen=True)
class Export:
    """The bytes of one target's export and what they are."""

    target: str
    format: str
    data: bytes
    width: int
    height: int
    quality: int | None
    #: how the keyframe was brought to the target's geometry (Layout.record()), None if not
    reframe: dict | None = None
    #: the same in words ("cropped …; canvas extended …; resized …"), "" if not reframed
    note: str = ""

    @property
    def ext(self) -> str:
        return EXTENSIONS[self.format]

    @property
    def filename(self) -> str:
        return f"{self.target}.{self.ext}"

    @property
    def sha256(self) -> str:
        return sha256_bytes(self.data)

    def record(self) -> dict:
        """The manifest entry: file, sha256, bytes, size, format, JPEG quality."""
        return {"file": f"exports/{self.filename}", "sha256": self.sha256,
                "bytes": len(self.data), "width": self.width, "height": self.height,
                "format": self.format, "quality": self.quality, "reframe": self.reframe,
                "note": self.note}


def _jpeg(rgb: np.ndarray, quality: int) -> bytes:
    return encode_jpeg(rgb, quality=quality)


def _fit_jpeg(rgb: np.ndarray, cap: int) -> tuple[bytes, int] | None:
    """Highest quality in [JPEG_MIN_QUALITY, JPEG_MAX_QUALITY] whose JPEG fits ``cap``."""
    top = _jpeg(rgb, JPEG_MAX_QUALITY)
    if not cap or len(top) <= cap:
        return top, JPEG_MAX_QUALITY
    lo, hi, best = JPEG_MIN_QUALITY, JPEG_MAX_QUALITY - 1, None
    while lo <= hi:                         # JPEG size grows with quality: bisect
        q = (lo + hi) // 2
        data = _jpeg(rgb, q)
        if len(data) <= cap:
            best, lo = (data, q), q + 1
        else:
            hi = q - 1
    return best


def _encode(rgb: np.ndarray, target: Target) -> tuple[str, bytes, int | None] | None:
    cap = target.max_bytes
    if "png" in target.formats:
        png = encode_png(rgb)
        if not cap or len(png) <= cap:
            return "png", png, None
    if "jpeg" in target.formats:
        fit = _fit_jpeg(rgb, cap)
        if fit is not None:
            return "jpeg", fit[0], fit[1]
    return None


#: the framing codes whose measurements carry the subject box (keyframe/checks/framing)
SUBJECT_CODES = ("aspect_mismatch", "subject_near_edge")


def subject_boxes(measurements: Mapping[str, Measurement]) -> list[list[int]]:
    """The subject box (x, y, w, h) in framing ``measurements`` (by code), when it came from
    regions (people, a salient object) rather than the saliency map; [] otherwise."""
    for code in SUBJECT_CODES:
        m = measurements.get(code)
        v = m.measurements if m is not None else {}
        if v.get("subject_from_regions") and v.get("subject_w") and v.get("subject_h"):
            return [[int(v["subject_x"]), int(v["subject_y"]), int(v["subject_w"]),
                     int(v["subject_h"])]]
    return []


def export_subject(image: LoadedImage, report: Report, target: Target) -> list[list[int]]:
    """The boxes ``target``'s export of ``image`` keeps whole: the subject the framing check
    measures on ``image`` for that target, with the faces and persons ``report`` (the
    keyframe's re-check) found — so a picture without people gets its salient object when
    the export reframes it, as the gate's own reframe does; [] (the saliency box) when
    framing is not registered or located the subject only by saliency."""
    framing = check_classes().get("framing")
    if framing is None:
        return subject_boxes(report.measurements)
    found = framing().measure(image, Context(target=target.source or target.name,
                                             prior=report.measurements))
    return subject_boxes({m.code: m for m in found})


def _earlier(history: History) -> str:
    """", counting the gate's steps" when the keyframe's own steps invented canvas."""
    return (", counting what the gate's steps did to the keyframe"
            if history.invented is not None else "")


def make_export(rgb: np.ndarray, target: Target, *,
                protect: Sequence[Sequence[int]] = (), max_enlarge: float = math.inf,
                max_invented: float = 1.0, orientations: tuple[str, ...] = (),
                history: History = History()) -> Export:
    """Export ``rgb`` for ``target``: every limit of the target met, or :class:`ExportError`.

    Parameters
    ----------
    rgb : ndarray
        H x W x 3 uint8 pixels (the keyframe).
    target : Target
        Whose limits to meet.
    protect : sequence of (x, y, w, h), keyword-only
        Boxes the reframing may not cut (the subject the framing check measured: people, an
        object); default: the saliency box. With boxes, an extension first crops the other
        side to them (reframe's ``trim``, as the gate plans it), so it invents as little as
        it can.
    max_enlarge, max_invented : float, keyword-only
        The profile's ``[gate]`` limits (:class:`keyframe.profiles.GateRule`): an export
        that would enlarge the keyframe's content more, or invent a larger share of its
        frame as a blurred mirror, is refused (:class:`ExportError`, with the figure), as
        the gate refuses such a reframe of the keyframe itself.
    history : History, keyword-only
        What the gate's kept geometry steps did to the keyframe
        (:class:`keyframe.step_geometry.History`): the limits hold for the export as a
        first frame made from the source, so an export adding bands to a keyframe the gate
        already extended counts both.
    orientations : tuple of str, keyword-only
        The orientations every target of the package takes
        (:func:`keyframe.targets.shared_orientations`). A near-square keyframe is exported
        in the one they share, else in the orientation of the ``protect`` boxes, else the
        target's first (:meth:`Target.chosen_aspect`), as the gate's reframe chooses.
    """
    h, w = rgb.shape[:2]
    subject = union([tuple(int(v) for v in b) for b in protect])
    size = target.output_size(w, h, subject=subject, orientations=orientations)
    fixed = bool(target.size or target.sizes or target.area)
    reframe = Reframe()
    m = target.multiple_of
    for _ in range(12):
        params = Reframe.validate({"width": size[0], "height": size[1],
                                   "protect": [list(b) for b in protect],
                                   "trim": bool(protect),
                                   "headroom": HEADROOM if protect else 0.0})
        lay = reframe.layout(rgb, params)
        too_large = over_enlarge(history, lay.scale, max_enlarge=max_enlarge)
        if too_large:
            raise ExportError(f"cannot export for {target.name}: its frame {too_large}")
        invented = invented_with(history, lay)
        if invented > max_invented:
            raise ExportError(f"cannot export for {target.name}: {invented:.0%} of its "
                              f"frame would be invented as a blurred mirror{_earlier(history)} "
                              f"(the profile allows {max_invented:.0%})")
        pixels = reframe.render(rgb, lay)
        encoded = _encode(pixels, target)
        if encoded is not None:
            fmt, data, quality = encoded
            changed = lay.size != lay.source or any(lay.pad) or lay.crop != (0, 0, w, h)
            return Export(target=target.name, format=fmt, data=data, width=size[0],
                          height=size[1], quality=quality,
                          reframe=lay.record() if changed else None,
                          note=lay.describe() if changed else "")
        if fixed:
            break
        # even the lowest JPEG quality is over the cap: shrink by the bytes' square root
        last = len(_jpeg(pixels, JPEG_MIN_QUALITY))
        f = math.sqrt(target.max_bytes / last) * 0.95
        short = min(size) * f
        if short < target.min_short_side:
            f = target.min_short_side / min(size)
        new = (max(m, int(size[0] * f) // m * m), max(m, int(size[1] * f) // m * m))
        if new == size:
            break
        size = new
    raise ExportError(f"cannot export for {target.name}: no {'/'.join(target.formats)} "
                      f"encoding of {size[0]}x{size[1]} fits {target.max_bytes:,} bytes")


def limit_problems(data: bytes, target: Target) -> list[str]:
    """Every limit of ``target`` that export ``data`` breaks, one line each (empty: fine)."""
    try:
        image = load_bytes(data, name=f"export for {target.name}", max_pixels=None)
    except ImageError as exc:
        return [str(exc)]
    problems = []
    fmt = {"PNG": "png", "JPEG": "jpeg", "WEBP": "webp"}.get(image.format, image.format)
    w, h = image.width, image.height
    if fmt not in target.formats:
        problems.append(f"format {fmt} is not one of {', '.join(target.formats)}")
    if target.max_bytes and len(data) > target.max_bytes:
        problems.append(f"{len(data):,} bytes is over the cap of {target.max_bytes:,}")
    if min(w, h) < target.min_short_side:
        problems.append(f"short side {min(w, h)} px is under {target.min_short_side} px")
    if max(w, h) > target.max_side:
        problems.append(f"long side {max(w, h)} px is over {target.max_side} px")
    if target.range_distance(w, h) > ASPECT_TOLERANCE:
        lo, hi = target.aspect_range
        problems.append(f"aspect {w / h:.4f} is outside [{lo}, {hi}]")
    d, nearest = target.aspect_distance(w, h)
    if d > ASPECT_TOLERANCE:
        problems.append(f"aspect {w / h:.4f} is not an accepted aspect (nearest {nearest:.4f})")
    if w % target.multiple_of or h % target.multiple_of:
        problems.append(f"{w}x{h} is not in multiples of {target.multiple_of}")
    if target.sizes and (w, h) not in target.sizes:
        problems.append(f"{w}x{h} is not one of the accepted sizes")
    if target.size and (w, h) not in (target.size, target.size[::-1]) \
            and abs(math.log(w * h / (target.size[0] * target.size[1]))) > 0.1:
        problems.append(f"{w}x{h} is not near {target.size[0]}x{target.size[1]} in area")
    if image.has_alpha:
        problems.append("has an alpha channel")
    return problems
