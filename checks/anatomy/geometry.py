"""Box and point geometry for the body accounting, and the words for a place in the frame.

Boxes are (x, y, w, h) in source pixels. Nothing here knows about bodies.
"""
from __future__ import annotations

import numpy as np


def box_int(box) -> tuple[int, int, int, int]:
    """``box`` rounded to whole pixels."""
    return tuple(int(round(float(v))) for v in box)


def around(points: np.ndarray, pad: float) -> tuple[int, int, int, int]:
    """The box around ``points`` (n x 2), grown by ``pad`` px on every side."""
    lo, hi = points.min(0) - pad, points.max(0) + pad
    return box_int((lo[0], lo[1], hi[0] - lo[0], hi[1] - lo[1]))


def where(box, width: int, height: int) -> str:
    """'the lower left', 'the top', 'the centre' … of the frame, for a sentence."""
    cx = (box[0] + box[2] / 2) / width
    cy = (box[1] + box[3] / 2) / height
    v = "top" if cy < 1 / 3 else "bottom" if cy > 2 / 3 else ""
    h = "left" if cx < 1 / 3 else "right" if cx > 2 / 3 else ""
    if v and h:
        return f"the {'upper' if v == 'top' else 'lower'} {h}"
    return f"the {v or h or 'centre'}"


def inside(point, box, grow: float = 0.0) -> bool:
    """Whether ``point`` lies in ``box`` grown by ``grow`` of its size on every side."""
    x, y, w, h = box
    return (x - grow * w <= point[0] <= x + w * (1 + grow)
            and y - grow * h <= point[1] <= y + h * (1 + grow))


def touches_edge(box, width: int, height: int, *, edge_share: float) -> bool:
    """Whether ``box`` comes within ``edge_share`` of the frame of any edge."""
    x, y, w, h = box
    m = edge_share
    return bool(x <= m * width or y <= m * height or x + w >= (1 - m) * width
                or y + h >= (1 - m) * height)


def overlap(a, b) -> float:
    """Intersection of boxes ``a`` and ``b`` (x, y, w, h) over the smaller one's area."""
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    return float(ix * iy / (min(a[2] * a[3], b[2] * b[3]) + 1e-9))


def union(a, b):
    """The smallest box holding boxes ``a`` and ``b``."""
    x0, y0 = min(a[0], b[0]), min(a[1], b[1])
    x1, y1 = max(a[0] + a[2], b[0] + b[2]), max(a[1] + a[3], b[1] + b[3])
    return (x0, y0, x1 - x0, y1 - y0)
