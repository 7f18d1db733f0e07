"""Sharpness: ``oversharpened`` (ringing halos beside edges, the unsharp-mask look).

What is measured
----------------
At the edge points the blur measure already found (``checks.artifact.blur.edges``: local
maxima of the gradient, contrast >= 20 grey levels, each with the unit step toward its bright
side), the luma profile across the edge is read at integer steps -8..+8 along the gradient.
Beyond the transition the profile should settle on two levels: the dark side's (median of
steps -8..-6) and the bright side's (+6..+8). An unsharp mask or a sharpening detailer leaves
a band *brighter than the bright level* next to the edge (+1..+5) and a band *darker than the
dark level* on the other side (-5..-1). The halo of one edge is the mean of those two
excursions, as a fraction of the edge's contrast (plateau to plateau).

Edges whose contrast (plateau to plateau) is at least ``MIN_CONTRAST`` count. The image's
value is the **median** halo over them (weighted by their mosaic tile's weight on a
large picture): content makes some edges overshoot by nature (a thin
bright line beside an edge, texture), sharpening makes most of them overshoot. Selecting only
edges with flat plateaus was tried and rejected: a halo's own tail makes a plateau slope, so
that filter throws away exactly the edges that show the defect (astronaut with unsharp
amount 4 read 0.07 with it, 0.23 without).

At which scale, and why
-----------------------
Native pixels, with the blur measure's edge points: sharpening halos are 1–3 px wide at the
pixel grid they were made on, and downscaling first would average them away. A halo as a
fraction of contrast is the same at any size. Above the blur measure's pixel budget it reads
a native tile mosaic whose tiles are half the most textured ones (where a sharp subject's
halos show) and half on an even lattice over the frame (``blur.edges(spread=True)``):
sharpening is a whole-frame operation, and the most textured tiles alone let one textured
object (a knitted scarf, a patterned shirt) stand for the picture (two held-out p3m
portraits read 0.19 / 0.22 from them, 0.03 / 0.09 over every pixel).
"""
from __future__ import annotations

import numpy as np

from checks.artifact.blur import edges, weighted_percentile
from checks.artifact.noise import native_sigma
from keyframe.image import LoadedImage
from keyframe.report import Measurement
from keyframe.severity import ramp

#: edges must span at least this many grey levels plateau to plateau
MIN_CONTRAST = 40.0
#: at most this many edge points are profiled (evenly subsampled): bounds the cost
MAX_POINTS = 12000
#: expected max of 5 standard normal samples: the noise share of an excursion, per unit std
NOISE_BIAS = 1.16
#: edges with a measurable profile needed before the measure says anything
MIN_EDGES = 30

#: Halo (median fraction of contrast, after the noise share). Calibrated with
#: scripts/calibrate/sharpness.py on: clean photos (skimage astronaut 0.045, coffee 0.039,
#: chelsea 0.037, rocket 0.149 — a press photo with mild sharpening; LIVE references
#: 0.008–0.052), clean ComfyUI generations 0.004–0.127 (Flux dev 0.127), blur_dataset *_S
#: camera shots 0.088 and 0.186 (the Nikon's in-camera sharpening); unsharp mask sigma 1.5 px
#: with amount 0.5 / 1 / 2 / 4: astronaut 0.075 / 0.100 / 0.141 / 0.186, coffee 0.071 /
#: 0.115 / 0.194 / 0.300, chelsea 0.050 / 0.070 / 0.107 / 0.207, rocket 0.25 / 0.33 / 0.45 /
#: 0.52; white noise sigma 2–40 on the photos and the LIVE white-noise ladders 0.02–0.14.
#: Linear ramp: 0 at 0.10, 1 at 0.28 — a camera's own sharpening stays under major (0.48),
#: so an unsharp mask of amount 4 on the soft-edged astronaut reads the same 0.48.
HALO_ZERO_AT = 0.10
HALO_ONE_AT = 0.28


def _profiles(image: LoadedImage) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Luma profiles (points x 17 samples, steps -8..+8) across the sharp, strong edges."""
    e = edges(image, spread=True)
    keep = np.nonzero(e.contrast >= MIN_CONTRAST * 0.75)[0]
    if keep.size > MAX_POINTS:
        keep = keep[np.linspace(0, keep.size - 1, MAX_POINTS).astype(np.int64)]
    h, w = e.plane.shape
    # the samples by flat index, int32 unless the plane is huge: the same values as 2-d
    # fancy indexing with int64 indices, at half the cost (2.0 -> 1.1 ms)
    kind = np.int32 if h * w < 2 ** 31 else np.int64
    steps = np.arange(-8, 9, dtype=kind)
    y, x = e.y[keep].astype(kind), e.x[keep].astype(kind)
    ys = np.clip(y[:, None] + steps[None, :] * e.uy[keep, None], 0, h - 1)
    xs = np.clip(x[:, None] + steps[None, :] * e.ux[keep, None], 0, w - 1)
    ys *= kind(w)
    ys += xs
    return e.plane.ravel().take(ys), e.y[keep], e.x[keep], keep


def _median3(a: np.ndarray) -> np.ndarray:
    """``np.median(a, axis=1)`` of an N x 3 array (finite): the middle value of each row, by
    minima and maxima (np.median's partition per row cost ten times as much)."""
    x, y, z = a[:, 0], a[:, 1], a[:, 2]
    return np.maximum(np.minimum(x, y), np.minimum(np.maximum(x, y), z))


def halos(image: LoadedImage) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per judged edge: halo (fraction of contrast), its position (y, x) in the plane and
    its weight (its mosaic tile's, ``checks.artifact.blur.Edges``)."""
    prof, ys, xs, keep = _profiles(image)
    weight = edges(image, spread=True).weight[keep]
    if prof.shape[0] == 0:
        return np.zeros(0), ys, xs, weight
    lo, hi = _median3(prof[:, 0:3]), _median3(prof[:, 14:17])
    contrast = hi - lo
    ok = contrast >= MIN_CONTRAST
    # pixel noise of std n lifts the maximum of five samples by ~1.16 n on average (and
    # lowers the minimum alike): take that expected share off each excursion
    bias = NOISE_BIAS * native_sigma(image)
    over = np.maximum(prof[:, 9:14].max(axis=1) - hi - bias, 0.0)
    under = np.maximum(lo - prof[:, 3:8].min(axis=1) - bias, 0.0)
    halo = (over + under) / (2.0 * np.maximum(contrast, 1.0))
    return halo[ok], ys[ok], xs[ok], weight[ok]


def measure_oversharpened(image: LoadedImage) -> Measurement:
    """Ringing halos beside edges as a fraction of edge contrast; see the module docstring."""
    halo, _, _, weight = halos(image)
    if halo.size < MIN_EDGES:
        return Measurement("oversharpened", 0.0,
                           "too few clean edges to judge sharpening halos",
                           measurements={"halo": 0.0, "edges": int(halo.size)})
    value = (float(np.median(halo)) if bool(np.all(weight == 1))
             else weighted_percentile(halo, weight, 50))
    sev = ramp(value, HALO_ZERO_AT, HALO_ONE_AT)
    if sev >= 0.25:
        msg = (f"edges carry sharpening halos: overshoot {value:.0%} of edge contrast "
               f"beside strong edges")
    else:
        msg = f"no sharpening halos to speak of (overshoot {value:.0%} of edge contrast)"
    return Measurement("oversharpened", sev, msg,
                       measurements={"halo": value, "edges": int(halo.size)})
