"""Deblock: taper the small steps JPEG leaves at block boundaries (mends ``jpeg_blocking``)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from keyframe.fixes._common import LUMA, check_rgb, to_float, to_uint8
from keyframe.registry import Fix
from keyframe.report import Measurement


class Deblock(Fix):
    """Adaptive, edge-preserving smoothing across ``block``-pixel block boundaries.

    At every vertical, then every horizontal, block boundary (grid anchored at the top-left
    pixel, as in JPEG) the step between the two pixels that meet there is measured after
    removing the local slope. A step that is small (below ``4 + 36 * strength`` grey levels
    of luma) on sides that are fairly flat (mean |neighbour difference| below
    ``3 + 14 * strength``) is a coding artefact, not an edge: it is spread into a linear
    ramp over ``block // 2`` pixels on each side (fully from ``strength`` 0.5 up, by
    ``2 * strength`` below). Larger steps and
    busy sides fade out of the correction, so real edges and texture are kept, in the
    spirit of the H.264 in-loop deblocking filter. Pixels away from boundaries move only by
    the ramp; a flat image is returned unchanged.

    Why: blocking is a fixed 8-px grid; once the frame moves in a video the grid stays put
    and becomes obvious.
    """

    name = "deblock"
    mends = ("jpeg_blocking",)
    changes_geometry = False
    stage = 90

    @dataclass(frozen=True)
    class Params:
        strength: float = field(default=0.6, metadata={"min": 0.0, "max": 1.0})
        block: int = field(default=8, metadata={"min": 4, "max": 64})

    @classmethod
    def plan_params(cls, measurement: Measurement) -> dict[str, Any]:
        """Strength grows with severity (0.4 at none to 1.0 at severity 1)."""
        return {"strength": round(min(1.0, 0.4 + 0.6 * float(measurement.severity)), 3)}

    def apply(self, rgb: np.ndarray, params: Any) -> np.ndarray:
        check_rgb(rgb, self.name)
        f = to_float(rgb)
        if params.strength > 0:
            taper_boundaries(f, params.block, params.strength)
            taper_boundaries(f.transpose(1, 0, 2), params.block, params.strength)
        return to_uint8(f)


def taper_boundaries(f: np.ndarray, block: int, strength: float, taper: int = 0) -> None:
    """Smooth across the vertical boundaries x = k * block of ``f`` (H x W x 3), in place.

    The correction ramps over ``taper`` px on each side (default and at most ``block // 2``).
    """
    n = min(taper, block // 2) if taper > 0 else block // 2
    xb = np.arange(block, f.shape[1] - n + 1, block)
    if xb.size == 0:
        return
    i = np.arange(n)
    idx_p = xb[:, None] - 1 - i          # p0, p1, ... going left from the boundary
    idx_q = xb[:, None] + i              # q0, q1, ... going right
    p, q = f[:, idx_p], f[:, idx_q]      # H x B x n x 3
    slope = 0.5 * ((p[:, :, 0] - p[:, :, 1]) + (q[:, :, 1] - q[:, :, 0]))
    step = (q[:, :, 0] - p[:, :, 0]) - slope                     # H x B x 3
    y_step = np.abs(step @ LUMA)
    activity = (np.abs(np.diff(p, axis=2)).mean(axis=2)
                + np.abs(np.diff(q, axis=2)).mean(axis=2)) @ LUMA / 2.0
    alpha = 4.0 + 36.0 * strength
    beta = 3.0 + 14.0 * strength
    gate = (np.clip(2.0 * (alpha - y_step) / alpha, 0.0, 1.0)
            * np.clip(2.0 * (beta - activity) / beta, 0.0, 1.0))
    # ramp weights: p0/q0 move almost half the step towards each other, p_{n-1}/q_{n-1} least
    w = 0.5 * (n - i) / (n + 0.5)
    amount = min(1.0, 2.0 * strength) * gate
    shift = amount[:, :, None, None] * step[:, :, None, :] * w[None, None, :, None]
    f[:, idx_p] = p + shift
    f[:, idx_q] = q - shift
