"""``find_peaks`` of a 1-D signal without importing :mod:`scipy.signal`.

``import scipy.signal`` costs 1.2-1.3 s of CPU here (it imports ``scipy.stats`` and parses
hundreds of docstrings), more than a whole cold ``keyframe check`` of one image without it.
The anatomy check needs only the peaks of one short contour profile, so this module
re-states the part of :func:`scipy.signal.find_peaks` it uses (``height``, ``prominence``,
``distance``; no window length), step for step as scipy 1.x's ``_peak_finding`` does it:
local maxima with plateaus at their middle (rounded down), then the height filter, then
the distance filter (higher peaks first, ties in ``np.argsort`` order), then the prominence
filter. ``tests/test_peaks.py`` checks it against scipy on random and plateau signals.
"""
from __future__ import annotations

import math

import numpy as np


def local_maxima(x: np.ndarray) -> np.ndarray:
    """Indices of the local maxima of ``x`` (a plateau counts once, at its middle rounded
    down; the first and last samples never count)."""
    x = np.asarray(x, dtype=np.float64)
    out: list[int] = []
    i, i_max = 1, x.shape[0] - 1
    while i < i_max:
        if x[i - 1] < x[i]:
            ahead = i + 1
            while ahead < i_max and x[ahead] == x[i]:
                ahead += 1
            if x[ahead] < x[i]:
                out.append((i + ahead - 1) // 2)
                i = ahead
        i += 1
    return np.asarray(out, dtype=np.intp)


def prominences(x: np.ndarray, peaks: np.ndarray) -> np.ndarray:
    """The prominence of each peak of ``x``: its height above the higher of the lowest
    points reached walking left and right until a higher sample (or the end)."""
    x = np.asarray(x, dtype=np.float64)
    out = np.empty(len(peaks), dtype=np.float64)
    n = x.shape[0]
    for k, p in enumerate(peaks):
        top = x[p]
        i, left = p, top
        while i >= 0 and x[i] <= top:
            left = min(left, x[i])
            i -= 1
        i, right = p, top
        while i < n and x[i] <= top:
            right = min(right, x[i])
            i += 1
        out[k] = top - max(left, right)
    return out


def by_distance(peaks: np.ndarray, heights: np.ndarray, distance: float) -> np.ndarray:
    """Boolean mask of the peaks kept when every peak closer than ``distance`` samples to a
    higher kept one is dropped (scipy's ``_select_by_peak_distance``)."""
    gap = math.ceil(distance)
    keep = np.ones(len(peaks), dtype=bool)
    order = np.argsort(heights)
    for j in order[::-1]:
        if not keep[j]:
            continue
        k = j - 1
        while k >= 0 and peaks[j] - peaks[k] < gap:
            keep[k] = False
            k -= 1
        k = j + 1
        while k < len(peaks) and peaks[k] - peaks[j] < gap:
            keep[k] = False
            k += 1
    return keep


def find_peaks(x: np.ndarray, *, height: float | None = None,
               prominence: float | None = None,
               distance: float | None = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Peaks of ``x`` as :func:`scipy.signal.find_peaks` finds them with a minimum
    ``height``, a minimum ``prominence`` and a minimum ``distance`` (samples, >= 1).

    Returns
    -------
    peaks : ndarray of intp
        Indices into ``x``, ascending.
    properties : dict
        ``peak_heights`` and ``prominences`` of the kept peaks, when asked for.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"find_peaks needs a 1-D signal, got shape {x.shape}")
    if distance is not None and distance < 1:
        raise ValueError("`distance` must be greater or equal to 1")
    peaks = local_maxima(x)
    props: dict[str, np.ndarray] = {}
    if height is not None:
        keep = x[peaks] >= height
        peaks = peaks[keep]
        props["peak_heights"] = x[peaks]
    if distance is not None and len(peaks):
        keep = by_distance(peaks, x[peaks], distance)
        peaks = peaks[keep]
        props = {k: v[keep] for k, v in props.items()}
    if prominence is not None:
        prom = prominences(x, peaks)
        keep = prom >= prominence
        peaks = peaks[keep]
        props = {k: v[keep] for k, v in props.items()}
        props["prominences"] = prom[keep]
    return peaks, props
