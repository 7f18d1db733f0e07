"""Edge measurements of an opaque composite whose subject matte is known.

Why a matte
-----------
In a flattened composite the subject's boundary is only one edge among thousands: hair,
fur, grass and print all make rims and steps of their own, so measures read over every edge
of the picture do not separate a haloed composite from a clean one (ROC-AUC 0.50 for a rim
measure and a step measure over all strong edges, tried first; without a matte the check is
skipped). A compositing pipeline has the matte it composited with (the cut-out tool's
alpha); given it (``LoadedImage.matte``, ``--mattes DIR`` on the command line) the measures
below read only the boundary and compare it with the texture next to it.

What is measured
----------------
* ``edge_halo`` — *colour that belongs to neither side.* At the canonical 1024-px scale the
  matte's 0.5 contour is the boundary; every pixel within ``BAND`` px of it is compared with
  the local colours of the two sides: ``F`` and ``B`` are normalised-convolution means
  (Gaussian ``SIDE_SIGMA`` px) of the pixels ``BAND`` .. ``BAND + 3 SIDE_SIGMA`` px inside and
  outside. A clean edge of any softness mixes ``F`` and ``B``, so its colours stay on the
  segment F–B; the old background left in the edge (a halo, a green spill, a light rim) lies
  off it. The distance off the segment is averaged over the band; texture makes distances of
  its own, so the same statistic is read on two *control* contours — the boundary moved
  ``2 BAND + 1`` px inward and outward (Euclidean) — and their mean is subtracted. The
  result (grey levels) is the rim's excess over the subject's and background's own
  texture: monotone in the rim's contrast and width, 0 for a decontaminated composite.
* ``hard_edge`` — *a binary step on a hair-like contour.* At native resolution, strong edge
  points (Canny, contrast >= 60 grey levels over 5 px) within ``NEAR`` px of the contour;
  the share whose whole transition happens between two adjacent pixels, times the
  contour's complexity (its length over the length after a Gaussian of ``SMOOTH_SIGMA`` px):
  a binary paste of hair or fur. A crisp but anti-aliased edge spreads over 2+ pixels.
* ``alpha_fringe`` needs an alpha plane: 0 here.

Calibration (``scripts/calibrate/edge_halo.py``, "composites with their matte"): composites
F·a + B·(1-a) from dim_foamliu (5), pymatting lemur and p3m_demo (5 portraits at 800 px) over
new backgrounds: clean (F from ``estimate_foreground_ml``) vs haloed (the original photo as
F; the alpha dilated 2 px) vs binary (alpha > 0.5); the matte given is the ground-truth
alpha (or the alpha the composite was made with). Anchors and ROC-AUC are quoted there and
next to the constants.
"""
from __future__ import annotations

import cv2
import numpy as np

from checks.edge_halo._common import (CELL, boundary, cell_sums, smooth, step_points,
                                      upmask, worst_region)
from keyframe import views
from keyframe.image import LoadedImage
from keyframe.matte import onto_segment, side_colours, signed_distance
from keyframe.report import Measurement
from keyframe.severity import ramp

#: half-width (canonical px) of the boundary band judged, and gap to the side references
BAND = 3
SIDE_SIGMA = 4.0
#: edge_halo: band excess over the control contours (grey levels off the F-B segment).
#: With the ground-truth matte, clean composites read -7.4..1.3 (p3m portraits highest),
#: photo-colour composites -7.2..6.0, 2-px dilated mattes -3.3..34.9 (calibration script:
#: severity ROC-AUC 0.90 dilated vs clean, 0.69 photo colour vs clean). Minor at 4, major at 8.
HALO_ZERO, HALO_ONE = 0.0, 16.0
#: hard_edge: strong edge points within NEAR px of the contour (steps: _common.step_points)
NEAR = 2
SMOOTH_SIGMA = 3.0
#: share of step points along the contour: clean composites 0.02-0.37 (the glass of dim1 and
#: the fur of dim3 have crisp strands of their own), binary mattes 0.25-0.98 (step share
#: ROC-AUC 0.98 binary vs clean + photo colour). Complexity as in the RGBA measure.
STEP_ZERO, STEP_ONE = 0.4, 0.8
COMPLEX_ZERO, COMPLEX_ONE = 1.0, 1.3
#: the contour must be at least this long (canonical px) to be judged
MIN_CONTOUR = 64


def measure_matte(image: LoadedImage, *, with_mask: bool = False) -> list[Measurement]:
    """``edge_halo``, ``hard_edge`` and ``alpha_fringe`` (0) of an opaque composite with
    ``image.matte`` (H x W uint8, the subject's alpha) set."""
    return [_halo(image, with_mask), _hard(image, with_mask),
            Measurement("alpha_fringe", 0.0, "no alpha plane: the rim is measured by edge_halo",
                        measurements={"energy": 0.0})]


def matte_at(image: LoadedImage) -> np.ndarray:
    """The subject matte as a boolean mask (alpha >= 0.5) at the canonical scale."""
    def compute() -> np.ndarray:
        m = image.matte
        if views.scale_to(image) < 1.0:
            h, w = views.rgb_at(image).shape[:2]     # the halo reads this copy anyway
            m = cv2.resize(m, (w, h), interpolation=cv2.INTER_AREA)
        return m >= 128
    return views.cached(image, "edge_halo.matte", compute)


def _box(mask: np.ndarray, pad: int) -> tuple[slice, slice]:
    edge = boundary(mask) | boundary(~mask)
    rows, cols = np.flatnonzero(edge.any(axis=1)), np.flatnonzero(edge.any(axis=0))
    if rows.size == 0:
        return slice(0, 0), slice(0, 0)
    return (slice(max(0, rows[0] - pad), rows[-1] + pad + 1),
            slice(max(0, cols[0] - pad), cols[-1] + pad + 1))


def rim_excess(pre: np.ndarray, clear: np.ndarray | None, mask: np.ndarray,
               backgrounds: tuple[tuple[float, float, float], ...] = ((0.0, 0.0, 0.0),)
               ) -> dict:
    """The ``edge_halo`` statistic of a picture ``pre + clear x background`` along the
    boundary of ``mask``, for each background; the worst one is returned.

    ``pre`` is H x W x 3 float32 colour (an opaque picture: its colour; a cut-out: its
    premultiplied colour ``a C``), ``clear`` None or H x W ``1 - a`` (how much of a background
    shows). Everything is linear in the background, so the side means are computed once and
    each background costs only the projection. Returns ``level`` (grey levels over the
    controls), ``control``, ``background``, ``box``, ``band`` (in the box), ``values`` and
    ``shape`` (of ``mask``).
    """
    shift = 2 * BAND + 1
    box = _box(mask, int(BAND + 3 * SIDE_SIGMA + 2 * shift + 4))
    planes = pre[box] if clear is None else np.dstack([pre[box], clear[box]])
    sd = signed_distance(mask[box])
    sides = side_colours(planes, sd, band=BAND, sigma=SIDE_SIGMA,
                         offsets=(0, shift, -shift))  # the boundary, moved inward, outward
    contours = [(planes[band], f, b, band) for f, b, band in sides]
    worst = None
    for bg in backgrounds:
        means = []
        for x, f, b, _ in contours:
            if clear is not None:           # colour seen over this background
                g = np.asarray(bg, np.float32)
                x, f, b = (v[:, :3] + v[:, 3:] * g for v in (x, f, b))
            means.append(onto_segment(x, f, b)[1])
        levels = [float(v.mean()) for v in means[1:] if v.size]
        control = float(np.mean(levels)) if levels else 0.0
        level = float(means[0].mean()) - control if means[0].size else 0.0
        if worst is None or level > worst["level"]:
            worst = {"level": level, "control": control, "background": bg, "box": box,
                     "band": contours[0][3], "values": means[0], "shape": mask.shape}
    return worst


def halo_measurement(image: LoadedImage, found: dict, *, with_mask: bool, where: str,
                     extra: dict) -> Measurement:
    """``edge_halo`` from :func:`rim_excess`'s result, with its region and (optionally) the
    mask of the band pixels whose local excess reads major or worse."""
    f = views.scale_to(image)
    shape = found["shape"]
    level, control, box, band = found["level"], found["control"], found["box"], found["band"]
    excess = np.zeros(shape, np.float32)
    excess[box][band] = np.maximum(found["values"] - control, 0.0)
    sev = ramp(level, HALO_ZERO, HALO_ONE)
    msg = (f"a rim of colour that belongs to neither side along {where}: "
           f"{level:.1f} grey levels beyond the texture on either side")
    region = worst_region(cell_sums(excess), image, f) if level > 0 else None
    mask_out = None
    if with_mask:        # band pixels whose local (4 x BAND px) excess reads major or worse
        inband = np.zeros(shape, np.float32)
        inband[box][band] = 1.0
        signed = np.zeros(shape, np.float32)
        signed[box][band] = found["values"] - control
        den = smooth(inband, 4 * BAND)
        local = smooth(signed, 4 * BAND) / np.maximum(den, 1e-4)
        mask_out = upmask((inband > 0) & (local > 0.5 * (HALO_ZERO + HALO_ONE)), image)
    return Measurement("edge_halo", sev, msg, region=region,
                       measurements={"rim_excess": level, "control": control,
                                     "band_px": int(found["values"].size), **extra},
                       mask=mask_out)


def _halo(image: LoadedImage, with_mask: bool) -> Measurement:
    found = rim_excess(views.rgb_at(image).astype(np.float32), None, matte_at(image))
    f = views.scale_to(image)
    return halo_measurement(image, found, with_mask=with_mask, where="the subject's matte",
                            extra={"matte": 1.0, "band_px_source": round(BAND / f, 3),
                                   "matte_file": image.matte_source})


def _hard(image: LoadedImage, with_mask: bool) -> Measurement:
    f = views.scale_to(image)
    contour_c = boundary(matte_at(image))
    length = int(np.count_nonzero(contour_c))
    outline = smooth(matte_at(image).astype(np.float32), SMOOTH_SIGMA) >= 0.5
    complexity = length / max(1, int(np.count_nonzero(boundary(outline))))
    binary = image.matte >= 128
    near = cv2.dilate((boundary(binary) | boundary(~binary)).astype(np.uint8),
                      cv2.getStructuringElement(cv2.MORPH_RECT, (2 * NEAR + 1,) * 2)) > 0
    ys, xs, step, strong = step_points(views.gray_u8(image), where=near)
    n_strong = int(strong.sum())
    share = float(step.sum()) / n_strong if n_strong >= 16 else 0.0
    size = ramp(length, MIN_CONTOUR / 2, MIN_CONTOUR)
    sev = ramp(share, STEP_ZERO, STEP_ONE) * ramp(complexity, COMPLEX_ZERO, COMPLEX_ONE) * size
    steps = np.zeros(binary.shape, np.float32)
    steps[ys[step], xs[step]] = 1.0
    cell = max(4, round(CELL / f))
    region = worst_region(cell_sums(steps, cell), image, 1.0, cell) if sev > 0 else None
    msg = (f"{share:.0%} of the strong edges along the subject's matte are one-pixel steps, "
           f"on a contour {complexity:.2f}x longer than its smooth outline: a binary cut-out edge")
    return Measurement("hard_edge", sev, msg, region=region,
                       measurements={"step_share": share, "complexity": complexity,
                                     "edge_points": n_strong, "matte": 1.0},
                       mask=steps > 0 if with_mask else None)
