"""Turning a raw measurement into a severity in [0, 1].

Checks measure in physical units (edge width in pixels, noise sigma in grey levels, …) and map
the number to a severity with one of these monotone curves, anchored at two calibrated values:
where clean material sits (severity 0) and where the defect is as bad as it gets (severity 1).
The anchors live next to each measurement, with the data they were calibrated on.
"""
from __future__ import annotations

import math


def ramp(value: float, zero_at: float, one_at: float) -> float:
    """Linear ramp: 0 at ``zero_at``, 1 at ``one_at`` (either direction), clipped to [0, 1]."""
    if not math.isfinite(value):
        return 1.0 if (value > 0) == (one_at > zero_at) else 0.0
    t = (value - zero_at) / (one_at - zero_at)
    return min(1.0, max(0.0, t))


def log_ramp(value: float, zero_at: float, one_at: float) -> float:
    """Linear in log(value): for ratios and energies that span decades. Anchors must be > 0."""
    v = max(value, 1e-12)
    return ramp(math.log(v), math.log(zero_at), math.log(one_at))
