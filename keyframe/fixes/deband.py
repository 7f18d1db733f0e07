"""Deband: smooth quantisation steps in flat areas and dither them (mends ``banding``).

Two smoothings: the quantisation cell (``cell`` > 0, what new plans use) and the older
self-guided filter (``cell`` = 0, how recipes written before the cell replay). Calibration:
``scripts/calibrate/deband.py``, figures on docs/fixes.md#deband."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from keyframe.fixes._common import box_mean, check_rgb, luma, to_float, to_uint8
from keyframe.registry import Fix
from keyframe.report import Measurement


class Deband(Fix):
    """Turn staircase gradients back into smooth ones, only where the image is flat.

    With ``cell`` > 0 (new plans; issue 13: the guided filter flattened real shading, 3-5 dB
    further from the clean picture than the banded input), the result is held in each
    pixel's **quantisation cell**: a posterised value stands for anything within half a step
    of it, so the smooth picture is looked for there and nowhere else.

    1. *Step*: per channel, the height of isolated jumps between plateaus (a non-zero
       neighbour difference with two equal pixels on each side, along rows and columns);
       the channel's step is their median (heights 2-48, at least 2 jumps per 1000 px;
       else the channel has no steps and is left alone; a step over 24 levels is left alone
       too; when no channel has a step, the picture was not posterised into plateaus, e.g.
       a deblocked JPEG, or too coarsely, and the self-guided filter below runs instead).
    2. *Cell*: half-width ``cell * step`` per pixel and channel, times how surely the pixel
       is in a staircase: jumps of about that step nearby (within ~8 px at 1024 px) and a
       plateau around it (share of equal neighbours over 9 px from 0.5 to 0.8); both are
       also read on the channel's 3 x 3 median, where grain leaves a posterised area its
       plateaus, a median plateau counting 0.7 of a plain one; texture and clean 8-bit
       gradients get a cell of 0 and are left exactly as they are.
    3. *Smooth*: projection onto the cell (POCS), ``x <- clip(box_mean(x), f - c, f + c)``
       with a 5-px box, 12 times: steps become ramps, curvature and narrow shapes stay
       within the cell instead of being averaged away.
    4. *Dither* as below.

    With ``cell`` = 0, the older filter:

    1. *Mask*: the local activity, mean |luma gradient| (grey levels per pixel) over a
       ``(2 * radius + 1)``-px window, is below ``threshold`` in a banded sky (steps of a few
       levels every few pixels) and well above it in texture. The mask is 1 below
       ``threshold``, 0 above ``2 * threshold``, and feathered with a Gaussian of ``radius / 2``.
    2. *Smooth*: a self-guided filter (He et al.) of window radius ``radius`` on float RGB,
       with ``eps = (threshold * radius) ** 2``: steps of that size are averaged
       into ramps, strong edges are kept.
    3. *Dither*: where the smoothed value moved away from the original, triangular noise of
       peak ``dither`` grey levels (one field for R, G and B, from ``numpy`` seeded with
       ``seed``) is added before rounding to 8 bits, so the ramp does not re-quantise into
       the same bands. Untouched pixels get no dither: a flat image stays exactly flat.

    Why: 8-bit generators and VAEs leave contour bands in skies and backdrops; video
    compression and motion make them crawl.
    """

    name = "deband"
    mends = ("banding",)
    changes_geometry = False
    stage = 110

    @dataclass(frozen=True)
    class Params:
        radius: int = field(default=12, metadata={"min": 1, "max": 64})
        threshold: float = field(default=1.5, metadata={"min": 0.0, "max": 20.0})
        dither: float = field(default=1.0, metadata={"min": 0.0, "max": 2.0})
        seed: int = field(default=0, metadata={"min": 0, "max": 2**32 - 1})
        #: half-width of the quantisation cell the result is held in, in estimated
        #: per-channel steps (0.5: exactly the cell); 0: the self-guided filter (recipes
        #: written before the cell). With a cell, ``radius`` and ``threshold`` are unused
        cell: float = field(default=0.0, metadata={"min": 0.0, "max": 1.0})

    @classmethod
    def plan_params(cls, measurement: Measurement) -> dict[str, Any]:
        """The quantisation cell (its size is measured by the fix from the picture's own
        steps); radius and threshold as planned before the cell, for reading only."""
        s = float(measurement.severity)
        return {"radius": int(round(8 + 16 * s)), "threshold": round(1.0 + 2.0 * s, 3),
                "cell": CELL}

    def apply(self, rgb: np.ndarray, params: Any) -> np.ndarray:
        check_rgb(rgb, self.name)
        f = to_float(rgb)
        if params.cell > 0:
            cell = _within_cell(rgb, f, params.cell)
            if cell is not None:
                return _dither(f, cell - f, params)
        if params.threshold <= 0:
            return rgb.copy()
        r = params.radius
        y = luma(f)
        grad = np.zeros_like(y)
        grad[:, :-1] += np.abs(np.diff(y, axis=1))
        grad[:-1, :] += np.abs(np.diff(y, axis=0))
        activity = box_mean(grad, r)
        mask = np.clip(2.0 - activity / params.threshold, 0.0, 1.0)
        if params.cell > 0:
            # a plan made with the cell that fell back here: keep the filter's window off
            # structure (pixels with a strong edge within ``radius``)
            mask *= box_mean((grad > _STRUCTURE).astype(np.float32), r) == 0
        mask = cv2.GaussianBlur(mask, (0, 0), max(0.5, r / 2.0), borderType=cv2.BORDER_REFLECT)
        eps = (params.threshold * r) ** 2
        smooth = _guided_self(f, r, eps)
        return _dither(f, mask[..., None] * (smooth - f), params)


#: a luma gradient (|dx| + |dy|, grey levels per px) above this is structure, not a banding
#: step, and the guided filter (a window of (2 radius + 1)^2 px) stays away from it when a
#: plan made with the cell falls back to the filter: a deblocked q=8 sky (samples/
#: jpeg_blocky.jpg, ramps of ~1.5-3 levels per px) was smoothed through the thin lattice
#: of a transmission tower until it nearly vanished (its luma std 9.9 -> 6.6), and
#: certified. With 8 it keeps 9.5 and the sky's contours still go (banding 0.69 -> 0.00);
#: 16 / 24 kept 8.8 / 8.7; eval_gate's jpeg8 ladder (the fallback's cases) 12/13 and
#: 28.5 -> 29.0 dB to the clean pictures. Steps of 8 levels and more next to a pixel are
#: left alone by a fallback: where they are banding, the gate leaves it to a person
_STRUCTURE = 8.0


def _dither(f: np.ndarray, moved: np.ndarray, params: Any) -> np.ndarray:
    """Round ``f + moved`` to 8 bits with triangular noise of peak ``params.dither`` where
    it moved (weight 1 from half a grey level); untouched pixels stay exact."""
    out = f + moved
    if params.dither > 0:
        rng = np.random.default_rng(params.seed)
        u = rng.random((2,) + f.shape[:2], dtype=np.float32)
        noise = params.dither * (u[0] - u[1])
        weight = np.clip(np.abs(moved).max(axis=2) / 0.5, 0.0, 1.0)
        out += (noise * weight)[..., None]
    return to_uint8(out)


def _guided_self(f: np.ndarray, r: int, eps: float) -> np.ndarray:
    """Self-guided filter of each channel of ``f``: edge-preserving mean over (2r+1)² px."""
    mean = box_mean(f, r)
    var = np.maximum(box_mean(f * f, r) - mean * mean, 0.0)
    a = var / (var + eps)
    b = mean - a * mean
    return box_mean(a, r) * f + box_mean(b, r)


#: what new plans use: exactly the cell (a quantised value stands for +-half a step)
CELL = 0.5
#: the cell's calibration (scripts/calibrate/deband.py; the banding ladder of eval_gate, 14
#: pictures x 16/24/40 levels): jumps counted as steps (grey levels), and how many a channel
#: needs per pixel (fewer in every channel: no posterised plateaus, e.g. a deblocked q=8
#: JPEG, 0.07-0.7 per 1000 px, against 3.5 or more in the best channel of every ladder
#: case: the guided filter); a pixel's cell is full with jumps of 0.5-1.5 steps at a Gaussian density of
#: _DENSITY within _REACH px and a share of equal neighbours from _PLATEAU[0] to [1] over
#: +-_PLATEAU_RADIUS px; the POCS box radius and iterations (at 1024 px, scaled with size)
_JUMP, _MIN_JUMPS = (2, 48), 0.002
_REACH, _DENSITY = 8.0, 0.004
_PLATEAU, _PLATEAU_RADIUS = (0.5, 0.8), 4
#: plateaus under noise: a posterised area of a grainy photo (or one only partly posterised)
#: has steps but few equal neighbours, so it read as texture, got no cell and kept its
#: 5-8-level luma steps, which ``banding`` reads on the 3 x 3 median (eval_gate's banding
#: ladder on its 14 tune pictures, scripts/calibrate/deband.py: 6 of 42 cases still >= 0.25
#: after the fix, e.g. the HONOR wall at 16/24/40 levels, 0.47/0.39/0.38, its colour
#: contours plainly visible). The jumps and plateaus are read on each channel's 3 x 3 median
#: too, and a median plateau makes a cell of this share of a plain one's. Tune set: 1.0
#: left 0 of 42 >= 0.25 but smoothed real grain, at 40 levels 9 of 14 cases 0.2-1.1 dB
#: below the plain cell's PSNR (the astronaut below its banded input); 0.7: 0 of 42, worst
#: -0.3 dB (astronaut, 40 levels), mean 44.4 -> 44.7 dB; 0.5: monarch at 16 levels still
#: 0.44; 0.3: parrots at 16 levels 0.37. The held-out pictures were not used
_MEDIAN_PLATEAU = 0.7
_BOX, _ITERATIONS = 2, 12
#: steps above this (fewer than ~11 levels per channel) are not smoothed in their cell: a
#: cell of +-14 levels (samples/banded.png, the rocket at 10 levels) holds the false hues of
#: the posterisation as soft blotches the banding measure no longer reads (0.80 -> 0.00,
#: certified, the sky visibly teal and purple), so the guided filter runs and the gate
#: leaves the picture to a person, as before. The ladder's steps: 17 (16 levels) and less
_MAX_CELL_STEP = 24.0


def _isolated_jumps(d: np.ndarray) -> np.ndarray:
    """Height (grey levels) of each jump along rows between two plateaus, at the pixel after
    the jump, from ``d``, the rows' neighbour differences (int16, one column fewer than the
    picture): a non-zero difference with two zero differences on each side; 0 elsewhere."""
    h = np.zeros((d.shape[0], d.shape[1] + 1), np.float32)
    if d.shape[1] < 5:
        return h
    z = d == 0
    c = d[:, 2:-2]
    iso = (c != 0) & z[:, :-4] & z[:, 1:-3] & z[:, 3:-1] & z[:, 4:]
    h[:, 3:-2] = np.where(iso, np.abs(c), 0)
    return h


def _jumps_and_plateau(plane: np.ndarray, radius: int) -> tuple[np.ndarray, np.ndarray]:
    """Isolated jumps (:func:`_isolated_jumps`, along rows and columns, the higher of the two)
    of the uint8 ``plane``, and its share of equal neighbours over +-``radius`` px."""
    gi = plane.astype(np.int16)
    dx, dy = np.diff(gi, axis=1), np.diff(gi, axis=0)
    jumps = np.maximum(_isolated_jumps(dx), _isolated_jumps(dy.T).T)
    flat = np.zeros(gi.shape, np.float32)
    flat[:, :-1] += dx == 0
    flat[:-1, :] += dy == 0
    return jumps, box_mean(flat / 2, radius)


def _plateau(share: np.ndarray) -> np.ndarray:
    """How surely a share of equal neighbours is a plateau: 0 at _PLATEAU[0], 1 from [1]."""
    return np.clip((share - _PLATEAU[0]) / (_PLATEAU[1] - _PLATEAU[0]), 0.0, 1.0)


def _within_cell(rgb: np.ndarray, f: np.ndarray, cell: float) -> np.ndarray | None:
    """Smoothest picture (POCS) within ``cell`` quantisation steps of ``f``, per channel;
    None when no channel has posterised plateaus to read a step of at most _MAX_CELL_STEP
    from."""
    h, w = f.shape[:2]
    scale = max(1.0, max(h, w) / 1024.0)
    radius = int(round(_PLATEAU_RADIUS * scale))
    c = np.zeros_like(f)
    found = False
    for ch in range(3):
        plane = np.ascontiguousarray(rgb[..., ch])
        jumps, share = _jumps_and_plateau(plane, radius)
        heights = jumps[(jumps >= _JUMP[0]) & (jumps <= _JUMP[1])]
        if heights.size < _MIN_JUMPS * h * w:
            continue
        step = float(np.median(heights))
        if step > _MAX_CELL_STEP:
            continue
        found = True
        # the same read on the 3 x 3 median, where noise leaves the plateaus no equal pixels
        jm, share_m = _jumps_and_plateau(cv2.medianBlur(plane, 3), radius)
        near = ((jumps >= 0.5 * step) & (jumps <= 1.5 * step)) \
            | ((jm >= 0.5 * step) & (jm <= 1.5 * step))
        near = cv2.GaussianBlur(near.astype(np.float32), (0, 0), _REACH * scale,
                                borderType=cv2.BORDER_REFLECT)
        sure = np.clip(near / _DENSITY, 0.0, 1.0) * np.maximum(
            _plateau(share), _MEDIAN_PLATEAU * _plateau(share_m))
        c[..., ch] = cell * step * sure
    if not found:
        return None
    lo, hi = f - c, f + c
    x = f.copy()
    box = max(1, int(round(_BOX * scale)))
    for _ in range(_ITERATIONS):
        x = np.clip(box_mean(x, box), lo, hi)
    return x
