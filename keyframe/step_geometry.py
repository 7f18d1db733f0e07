"""One step as the gate sees it before judging its pixels: how much it enlarges the picture
and how much canvas it invents (read from its layout before it runs), and the inspections
of what it changed (:mod:`keyframe.inspect`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import cv2
import numpy as np

from keyframe.inspect import Inspection, inspect_change, inspect_extension, inspect_fill
from keyframe.recipe import RecipeStep
from keyframe.registry import fix_classes
from keyframe.report import Finding, level_rank


def enlargement(step: RecipeStep, rgb: np.ndarray) -> tuple[float, Any]:
    """How much ``step`` would enlarge the content of ``rgb``, and its layout when the fix
    describes one (``geometry(rgb, params)``, e.g. :meth:`Reframe.layout`: crop, canvas
    extension, output size). A geometry step without one is judged by the square root of
    its output's area over its input's after running it (0.0 here: not known yet)."""
    fix = fix_classes()[step.fix]()
    describe = getattr(fix, "geometry", None)
    if describe is None or step.region is not None:
        return 0.0, None
    layout = describe(rgb, step.params)
    return float(layout.scale), layout


@dataclass(frozen=True, eq=False)            # holds an array: compared by identity
class History:
    """What the kept geometry steps did to the source so far: how much its content is
    enlarged (``enlarged``, the product of the steps' scales) and which pixels of the
    current picture they invented (``invented``: a bool mask, None while there are none).
    The profile's ``max_enlarge`` and ``max_invented`` hold for the keyframe, not for each
    step: two reframes of x1.8, or of 40 % invented each, would pass one by one."""

    enlarged: float = 1.0
    invented: np.ndarray | None = None

    def share(self) -> float:
        """Share of the current picture invented so far."""
        return 0.0 if self.invented is None else float(self.invented.mean())

    def after(self, layout: Any, shape: tuple[int, ...], scale: float) -> "History":
        """The history once a step ran: with ``layout`` (a reframe: its crop, its bands, its
        resize) or, for a geometry step without one, scaled to the output ``shape``."""
        h, w = shape[:2]
        mask = self.invented
        if layout is not None and (mask is not None or any(layout.pad)):
            x, y, cw, ch = layout.crop
            t, b, l, r = layout.pad
            kept = (np.zeros((ch, cw), bool) if mask is None
                    else mask[y:y + ch, x:x + cw])
            mask = np.pad(kept, ((t, b), (l, r)), constant_values=True)
        if mask is not None and mask.shape != (h, w):
            mask = cv2.resize(mask.astype(np.uint8), (w, h),
                              interpolation=cv2.INTER_NEAREST).astype(bool)
        return History(self.enlarged * scale, mask if mask is not None and mask.any() else None)


def invented_with(history: History, layout: Any) -> float:
    """Share of ``layout``'s output frame that would be invented: its own bands and what
    earlier steps invented inside its crop."""
    x, y, cw, ch = layout.crop
    fw, fh = layout.canvas
    old = 0 if history.invented is None else int(history.invented[y:y + ch, x:x + cw].sum())
    return 1.0 - (cw * ch - old) / float(fw * fh)


def over_enlarge(history: History, scale: float, *, max_enlarge: float) -> str:
    """Why a step enlarging by ``scale`` may not be kept after ``history`` (""): the
    source's content would be enlarged more than ``max_enlarge`` in all."""
    total = history.enlarged * scale
    if total <= max_enlarge:
        return ""
    earlier = (f" with the earlier steps' x{history.enlarged:.2f}"
               if history.enlarged > 1.0 + 1e-6 else "")
    return f"would enlarge the picture x{total:.2f}{earlier} (the profile allows x{max_enlarge:g})"


def over_limits(step: RecipeStep, rgb: np.ndarray, *, max_enlarge: float,
                max_invented: float, history: History = History()) -> tuple[str, Any]:
    """Why ``step`` may not run on ``rgb`` (""), judged on its layout before any pixel moves,
    and the layout (None for a step without one, :func:`enlargement`): with the steps
    before it (``history``), it would enlarge the source's content more than
    ``max_enlarge``, or extend the canvas so that more than ``max_invented`` of the frame
    is invented (blurred mirror bands, its own and earlier ones it keeps)."""
    scale, layout = enlargement(step, rgb)
    if layout is None:
        return "", None
    invented = invented_with(history, layout)
    too_large = over_enlarge(history, scale, max_enlarge=max_enlarge)
    if too_large:
        return too_large, layout
    if invented > max_invented:
        earlier = (f", counting the {history.share():.0%} earlier steps invented"
                   if history.invented is not None else "")
        return (f"would invent {invented:.0%} of the frame as a blurred mirror{earlier} (the "
                f"profile allows {max_invented:.0%})"), layout
    return "", layout


#: the checks whose finding regions are the defect's own outline, so a crop keeping part of
#: one shows a cut: the text check's regions are the OCR line boxes (half a title is half its
#: letters). Not anatomy (a hand's box is its points and 0.3 palm around them: on
#: realishuman 5c1bf7bf a Veo crop 25 px into such a box left the hand whole) nor the
#: artifact checks (banding's region is an area: cropping into it cuts nothing)
CUT_CHECKS = ("text",)


def cuts_finding(step: RecipeStep, layout: Any, findings: Sequence[Finding]) -> str:
    """Why ``layout``'s crop may not run (""): it cuts through the region of a finding of
    :data:`CUT_CHECKS` at ``major`` or above that ``step`` does not mend, keeping part of it
    (the region clipped to the frame) and dropping the rest.

    A crop planned for the frame's aspect lowers such a code by cutting its region, not by
    mending it: P3M's tour poster p_07141906 (1:1 to 16:9) had its "Jimmy Buffett" title,
    read as garbled text (0.61, major), trimmed at row 169 by the person box's 12 %
    headroom; the half title read 0.00 and the keyframe was certified (seen by eye). A crop
    that keeps a region whole or drops it whole is not refused here."""
    mends = set(getattr(fix_classes()[step.fix], "mends", ()))
    x, y, w, h = layout.crop
    sw, sh = layout.source
    for f in findings:
        if (f.region is None or f.check not in CUT_CHECKS or f.code in mends
                or level_rank(f.level) < level_rank("major")):
            continue
        rx0, ry0 = max(0, f.region[0]), max(0, f.region[1])
        rx1, ry1 = min(sw, f.region[0] + f.region[2]), min(sh, f.region[1] + f.region[3])
        if rx1 <= rx0 or ry1 <= ry0:
            continue
        ix = max(0, min(x + w, rx1) - max(x, rx0))
        iy = max(0, min(y + h, ry1) - max(y, ry0))
        kept = ix * iy / float((rx1 - rx0) * (ry1 - ry0))
        if 0.0 < kept < 1.0:
            return (f"would cut through the {f.code} finding ({f.level}) at {list(f.region)}, "
                    f"keeping {kept:.0%} of it: a crop does not mend it")
    return ""


def inspect_step(step: RecipeStep, before: np.ndarray, after: np.ndarray,
                 layout: Any = None) -> list[Inspection]:
    """The inspections of what ``step`` changed (:mod:`keyframe.inspect`): a canvas
    extension (the bands of ``layout.added()``) as an extension; a fix whose ``inspect_as``
    is ``"fill"`` (erase) as a fill; one whose ``inspect_as`` is ``"local"`` (face_detail)
    or any step with a region as a local change; a fix with an ``inspect(before, after,
    params)`` method by it (degrid: the tiles its solve may leave). Filters over the whole frame (sharpen,
    denoise, …) and dehalo's thin band along a matte (the edge-halo check re-measures
    exactly that band) are left to the global re-check."""
    if layout is not None:
        bands = layout.added()
        return inspect_extension(after, bands) if bands else []
    if before.shape != after.shape:
        return []
    kind = getattr(fix_classes()[step.fix], "inspect_as", None)
    if kind == "fill":
        return inspect_fill(before, after)
    if kind == "local" or step.region is not None:
        return inspect_change(before, after)
    own = getattr(fix_classes()[step.fix](), "inspect", None)
    if own is not None:         # a fix that knows what it can leave behind (degrid's tiles)
        return own(before, after, step.params)
    return []       # a filter over the whole frame: the global re-check measures it
