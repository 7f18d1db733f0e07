"""``banding``: posterisation / contouring in smooth gradients (split out of ``tonal``).

Banding depends on content, not on the pixel grid, so it is measured on the canonical copy
(long side 1024 px, :func:`keyframe.views.gray_at`): one scale for 512-4096 px inputs. Its
plateaus are tens of pixels wide and its steps stay sharp under area averaging (a step is
spread over at most two canonical pixels, which the measure merges), so nothing is lost by
measuring there. Steps are read between exactly flat plateaus and, under a grey level or two
of noise or dither, between nearly flat ones, and tall steps (>= 5 levels) also on the
plane's 3 x 3 median, which gives short plateaus back from noise; a step a filter spread into
a short ramp still counts (docs/stability.md). Calibration tables:
``scripts/calibrate/compression.py``.
"""
from __future__ import annotations

import cv2
import numpy as np

from checks.artifact.banding_steps import _MAX_STEP, _RAMP_CHAIN, _TILE, _TILE_STEPS, _all_steps
from keyframe.image import LoadedImage
from keyframe.report import Measurement
from keyframe.severity import log_ramp
from keyframe.views import cached, gray_at, scale_to, to_source


def _staircase(rr: np.ndarray, cc: np.ndarray, hh: np.ndarray, span: int,
               ramp: np.ndarray) -> np.ndarray:
    """Mask of steps that have a neighbour step on the same line going the same way, of
    similar height (ratio <= 2) within ``span`` pixels: a staircase, as a quantised gradient
    makes, rather than a lone edge of a flat shape. A ramp counts only inside a run of
    >= _RAMP_CHAIN such steps."""
    if rr.size < 2:
        return np.zeros(rr.size, bool)
    a = np.abs(hh)
    pair = ((rr[1:] == rr[:-1]) & (np.sign(hh[1:]) == np.sign(hh[:-1]))
            & (np.maximum(a[1:], a[:-1]) <= 2 * np.minimum(a[1:], a[:-1]))
            & (cc[1:] - cc[:-1] <= span))
    ok = np.zeros(rr.size, bool)
    ok[1:] |= pair
    ok[:-1] |= pair
    run = np.cumsum(np.concatenate([[True], ~pair])) - 1      # the run each step is in
    long_run = np.bincount(run)[run] >= _RAMP_CHAIN
    return ok & (a <= _MAX_STEP) & (~ramp | long_run)


def _banding(image: LoadedImage) -> dict:
    g8 = gray_at(image)
    g = g8.astype(np.int16)
    h, w = g.shape
    res = {"step": 0.0, "area": 0.0, "severity": 0.0, "region": None}
    if h < 16 or w < 16:
        return res
    span = max(h, w) // 3
    # every row and column (not every second one: a 1-px shift then read the other half and
    # moved a clean SDXL sky 0.19 -> 0.28, scripts/calibrate/stability.py)
    gm = cv2.medianBlur(g8, 3)
    r1, c1, h1, w1, m1 = _all_steps(g, gm)
    r2, c2, h2, w2, m2 = _all_steps(cv2.transpose(g), cv2.transpose(gm))
    k1, k2 = _staircase(r1, c1, h1, span, m1), _staircase(r2, c2, h2, span, m2)
    ys = np.concatenate([r1[k1], c2[k2]])
    xs = np.concatenate([c1[k1], r2[k2]])
    # a ramp's height counts by its weight (how sharp it is next to its plateaus)
    hs = np.abs(np.concatenate([h1[k1] * w1[k1], h2[k2] * w2[k2]])).astype(np.float64)
    if hs.size == 0:
        return res
    ty, tx = -(-h // _TILE), -(-w // _TILE)
    tid = (ys // _TILE) * tx + xs // _TILE
    counts = np.bincount(tid, minlength=ty * tx)
    # per-tile step height: the mean of the tile's middle 20 % of staircase step heights (a
    # smoothed median: the integer median of a tile with as many 2- as 3-level steps jumped
    # between them, 0.19 <-> 0.30 of severity, on a pixel of change)
    order = np.lexsort((hs, tid))
    hs_s = hs[order]
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    csum = np.concatenate([[0.0], np.cumsum(hs_s)])
    lo = starts + (counts * 2) // 5
    hi = np.maximum(starts + counts - (counts * 2) // 5, lo + 1)
    med = np.zeros(ty * tx)
    has = counts >= _TILE_STEPS
    med[has] = (csum[hi[has]] - csum[lo[has]]) / (hi[has] - lo[has])
    med = med.reshape(ty, tx)
    kernel = np.ones((3, 3), np.uint8)
    best = (0.0, 0.0, 0.0, None)
    for hv in np.unique(med[med > 0]):
        m = cv2.dilate((med >= hv).astype(np.uint8), kernel)
        area = float(m.mean())
        s = log_ramp(hv, _BAND_ZERO, _BAND_ONE) * min(1.0, np.sqrt(area / _BAND_AREA))
        if s > best[0] or best[3] is None:
            best = (s, float(hv), area, m)
    s, hv, area, m = best
    region = None
    if m is not None:
        yy, xx = np.nonzero(m)
        box = (int(xx.min() * _TILE), int(yy.min() * _TILE),
               int(min(w, (xx.max() + 1) * _TILE) - xx.min() * _TILE),
               int(min(h, (yy.max() + 1) * _TILE) - yy.min() * _TILE))
        region = to_source(box, scale_to(image), image)
    return {"step": hv, "area": area, "severity": s, "region": region}


#: banding anchors (log ramp on the step height in grey levels at the canonical copy, times
#: sqrt(area / 4 %) capped at 1). Calibrated on synthetic gradients (horizontal grey, radial
#: colour) quantised to 256/64/32/16/8 levels, skimage photos and ComfyUI generations
#: posterised to 64..8 levels, and the clean set: one-level steps (an 8-bit gradient's own)
#: give 0, two-level steps (seen in clean Flux/SDXL skies) ~0.19, 4-level steps (64 levels)
#: ~0.3-0.4, 16 levels ~0.65-0.8, 8 levels ~0.85-1.
_BAND_ZERO, _BAND_ONE, _BAND_AREA = 1.0, 40.0, 0.04


def measure_banding(image: LoadedImage) -> Measurement:
    """Posterisation / contouring in smooth gradients, on the canonical 1024-px luma.

    What: along every row and column, "steps": one- or two-pixel jumps between two
    flat plateaus (>= 3 equal pixels each side, or 12 px within 2 levels under noise; steps of
    >= 5 levels also between equal pixels of the 3 x 3 median, where a grey level of noise
    leaves short plateaus no equal pixels), or short ramps between long plateaus (what a
    smoothing filter leaves of a step, weighted by how short), kept only when the next step
    on the same line goes the same way with a similar height (a staircase: a quantised
    gradient; ramps in runs of 3). Per 64-px tile with >= 12 such steps, the mean of the middle 20 % of step heights (a smoothed
    median); severity is the best, over height thresholds, of
    log_ramp(height) x sqrt(area of tiles at that height / 4 %). Why: natural gradients carry
    noise or one-level 8-bit steps; banding is a staircase of several-level steps over wide
    plateaus. A perfect 8-bit gradient scores 0 (one-level steps): inherent 8-bit steps are
    at most a display issue, not a defect of the image.
    """
    b = cached(image, "artifact.banding", lambda: _banding(image))
    sev = b["severity"]
    if sev < 0.25:
        msg = "no visible banding in smooth gradients"
    else:
        msg = (f"banding: smooth gradients step in {b['step']:.0f}-level contours over "
               f"{b['area']:.0%} of the frame")
    return Measurement(code="banding", severity=sev, message=msg,
                       region=b["region"] if sev >= 0.25 else None,
                       measurements={"step": b["step"], "area": b["area"]})
