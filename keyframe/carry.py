"""What the gate need not measure again: checks whose pixels a step left untouched.

A check may declare the source-pixel regions its measurements of a picture depend on
(:meth:`keyframe.registry.Check.support`; the anatomy check: every person, face and hand it
read, with the margins of its model crops). When a whole-frame filter (deband, deblock,
degrid, …) changes no pixel inside them, the candidate's people are the picture's people
pixel for pixel, and re-running the detectors would only read their jitter — a 1-px change
elsewhere moved ``pose_missing_limb`` 0.00 → 0.20 and rolled good steps back (issue 13) — so
the gate carries those measurements over instead. Geometry steps, local fills and steps with a
region are always measured again, as is any check without a declared support.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from keyframe.registry import Check, fix_classes
from keyframe.report import Measurement, Report


def _touched(before: np.ndarray, after: np.ndarray,
             boxes: Sequence[tuple[float, float, float, float]]) -> bool:
    """Whether any pixel inside ``boxes`` (x, y, w, h; clipped to the frame) differs: only
    the boxes are compared, not the whole frame."""
    h, w = before.shape[:2]
    for x, y, bw, bh in boxes:
        x0, y0 = max(0, int(np.floor(x))), max(0, int(np.floor(y)))
        x1, y1 = min(w, int(np.ceil(x + bw))), min(h, int(np.ceil(y + bh)))
        if x1 > x0 and y1 > y0 and not np.array_equal(before[y0:y1, x0:x1],
                                                      after[y0:y1, x0:x1]):
            return True
    return False


def carried_over(step: Any, before: np.ndarray, after: np.ndarray, report: Report,
                 checks: Sequence[Check]) -> dict[str, Measurement]:
    """The measurements of ``report`` (made on ``before``) that stand for ``after``, by code:
    those of every check in ``checks`` whose declared support ``after`` leaves pixel for
    pixel as ``before`` had it, when ``step`` is a whole-frame filter that keeps the size."""
    kind = getattr(fix_classes()[step.fix], "inspect_as", None)
    if (before.shape != after.shape or step.region is not None or kind is not None
            or fix_classes()[step.fix].geometry_changes(step.params)):
        return {}
    out: dict[str, Measurement] = {}
    for check in checks:
        own = {c: m for c, m in report.measurements.items() if m.check == check.name}
        boxes = check.support(own) if set(own) == set(check.codes) else None
        if boxes is not None and not _touched(before, after, boxes):
            out.update(own)
    return out
