"""Edge measurements of an opaque picture without a subject matte (a backstop).

With the matte the composite was made with, :mod:`checks.edge_halo.matte` measures the
subject's boundary instead; the measures below read every strong edge of the picture, and on
the calibration composites they do not separate haloed from clean (ROC-AUC 0.50): their
anchors sit above every clean photo, so they fire only on rims and steps stronger than any
seen clean.

What is measured
----------------
Without an alpha plane the cut-out's edge is only visible as what it left in the picture.

* ``edge_halo``: at each strong edge point (Canny on the 1024-px canonical luma, contrast of
  at least ``MIN_CONTRAST`` grey levels between the two sides) the colour profile along the
  edge normal is read at -5..5 px. ``I`` (dark side) and ``O`` (bright side) are the means of
  the two outer samples on each side; an edge of any sharpness keeps the samples between
  them on the segment I–O. A composite rim is colour that belongs to *neither side*:
  its distance off the segment (perpendicular, e.g. a green spill between skin and sky) plus
  its *one-sided* overshoot past I or O (a light rim around a dark subject). The ringing that
  ``oversharpened`` owns overshoots on *both* sides by about as much (an unsharp mask scales
  the step), so the part common to both sides (their minimum) is removed: ringing reads ~0.
  Per 32-px cell the point values are averaged (texture varies from point to point, a rim
  runs along the boundary), and the severity reads the mean of the worst ``TOP_SHARE`` of
  the cells with edges: a rim around one subject is a stretch of boundary, not the frame.
* ``hard_edge``: at native resolution, strong edge points whose whole transition happens
  between two adjacent pixels (``STEP_SHARE`` of the contrast in one pixel: a binary matte
  pasted without anti-aliasing), counted where edges are dense (hair, fur: more than
  ``DENSE_ZERO`` edge px per px of cell side). Optics and anti-aliasing spread every real
  edge over 2+ pixels, so clean photos and generations read low.
* ``alpha_fringe`` needs the alpha plane: 0 for opaque inputs (edge_halo covers the rim).

Calibration (``scripts/calibrate_edge_halo.py``): composites F·a + B·(1-a) on dim_foamliu
new backgrounds, lemur on the beach plate and p3m portraits on the DIM backgrounds, clean
(F from ``estimate_foreground_ml``) vs haloed (original photo as F; alpha dilated 2 px) vs
binary (alpha > 0.5); clean skimage photos and ComfyUI generations; unsharp-masked photos.
"""
from __future__ import annotations

import cv2
import numpy as np

from checks.edge_halo._common import (CANNY_HI, CANNY_LO, CELL, cell_sums, step_points,
                                      upmask, worst_region)
from keyframe import views
from keyframe.image import LoadedImage
from keyframe.report import Measurement
from keyframe.severity import ramp

MIN_CONTRAST = 30.0
RADIUS = 5
#: at most this many edge points are profiled (a regular subsample beyond)
MAX_POINTS = 120_000
#: a cell needs this many edge points to count
MIN_CELL_POINTS = 8
TOP_SHARE = 0.1
_CHUNK = 256  # profiles per remap row (OpenCV maps must stay under 32767 px)
#: edge_halo: mean rim excess (grey levels) of the worst cells. Clean skimage photos 25–122,
#: unsharp-masked ones 39–151, composites (clean or haloed alike) 40–90: texture edges
#: dominate and this statistic does not yet separate haloed composites (ROC-AUC ~0.5), so the
#: anchors sit above every clean photo: it fires only on rims stronger than any seen clean.
HALO_ZERO, HALO_ONE = 160.0, 320.0
DENSE_ZERO, DENSE_ONE = 1.0, 3.0
#: hard_edge: share of step points in the dense cells (worst TOP_SHARE). Clean photos read
#: 0.11–0.92 (the rocket's and coffee's crisp edges), binary-alpha composites 0.46–0.90: no
#: separation yet, so the anchors sit at the top of the scale (a backstop, not a detector).
HARD_ZERO, HARD_ONE = 0.95, 1.0


def _profiles(rgb: np.ndarray, gray: np.ndarray, radius: int
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ys, xs, samples N x (2r+1) x 3) along the luma gradient at Canny edge points."""
    edges = cv2.Canny(gray, CANNY_LO, CANNY_HI, L2gradient=True)
    ys, xs = np.nonzero(edges)
    if len(ys) > MAX_POINTS:
        step = -(-len(ys) // MAX_POINTS)
        ys, xs = ys[::step], xs[::step]
    g = cv2.GaussianBlur(gray, (0, 0), 1.0).astype(np.float32)
    gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3)[ys, xs]
    gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)[ys, xs]
    norm = np.maximum(np.hypot(gx, gy), 1e-6)
    nx, ny = gx / norm, gy / norm
    t = np.arange(-radius, radius + 1, dtype=np.float32)
    mx = (xs[:, None] + t * nx[:, None]).astype(np.float32)
    my = (ys[:, None] + t * ny[:, None]).astype(np.float32)
    n, k = len(ys), 2 * radius + 1
    rows = -(-n // _CHUNK) if n else 0
    pad = rows * _CHUNK - n
    mx = np.pad(mx, ((0, pad), (0, 0))).reshape(rows, _CHUNK * k)
    my = np.pad(my, ((0, pad), (0, 0))).reshape(rows, _CHUNK * k)
    s = cv2.remap(rgb.astype(np.float32), mx, my, cv2.INTER_LINEAR,
                  borderMode=cv2.BORDER_REPLICATE) if n else np.zeros((0, k, 3), np.float32)
    return ys, xs, s.reshape(-1, k, 3)[:n]


def rim_excess(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per profile: (rim excess in grey levels, contrast |O - I|). See the module docstring."""
    lo = samples[:, :2].mean(axis=1)
    hi = samples[:, -2:].mean(axis=1)
    d = hi - lo
    c2 = np.maximum((d * d).sum(axis=1), 1e-6)
    mid = samples[:, 2:-2] - lo[:, None]
    s = (mid * d[:, None]).sum(axis=2) / c2[:, None]
    contrast = np.sqrt(c2)
    beyond_hi = (np.maximum(s - 1.0, 0.0) * contrast[:, None]).max(axis=1)
    below_lo = (np.maximum(-s, 0.0) * contrast[:, None]).max(axis=1)
    perp = np.sqrt(((mid - s[..., None] * d[:, None]) ** 2).sum(axis=2)).max(axis=1)
    noise = 0.5 * (np.abs(samples[:, 0] - samples[:, 1]).sum(axis=1)
                   + np.abs(samples[:, -1] - samples[:, -2]).sum(axis=1))
    one_sided = np.abs(beyond_hi - below_lo)
    return np.maximum(one_sided + perp - noise, 0.0), contrast


def _top_mean(values: np.ndarray) -> float:
    if values.size == 0:
        return 0.0
    k = max(3, int(np.ceil(TOP_SHARE * values.size)))
    return float(np.sort(values)[-k:].mean())


def measure_flat(image: LoadedImage, *, with_mask: bool = False) -> list[Measurement]:
    """``edge_halo``, ``hard_edge`` and ``alpha_fringe`` (0) of an opaque image."""
    return [_halo(image, with_mask), _hard(image, with_mask),
            Measurement("alpha_fringe", 0.0, "no alpha plane: rims are measured by edge_halo",
                        measurements={"energy": 0.0})]


def _halo(image: LoadedImage, with_mask: bool) -> Measurement:
    f = views.scale_to(image)
    rgb, gray = views.rgb_at(image), views.gray_at(image)
    ys, xs, s = _profiles(rgb, gray, RADIUS)
    excess, contrast = rim_excess(s)
    keep = contrast >= MIN_CONTRAST
    ys, xs, excess = ys[keep], xs[keep], excess[keep]
    total = np.zeros(gray.shape, np.float32)
    count = np.zeros(gray.shape, np.float32)
    np.add.at(total, (ys, xs), excess)
    np.add.at(count, (ys, xs), 1.0)
    tsum, csum = cell_sums(total), cell_sums(count)
    ok = csum >= MIN_CELL_POINTS
    cmean = np.where(ok, tsum / np.maximum(csum, 1), 0.0)
    level = _top_mean(cmean[ok])
    sev = ramp(level, HALO_ZERO, HALO_ONE)
    msg = (f"rims of colour that belongs to neither side along strong edges: "
           f"{level:.1f} grey levels in the worst stretches")
    mask = None
    if with_mask:
        m = np.zeros(gray.shape, bool)
        m[ys[excess > HALO_ZERO], xs[excess > HALO_ZERO]] = True
        mask = upmask(cv2.dilate(m.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0, image)
    return Measurement("edge_halo", sev, msg, region=worst_region(cmean, image, f),
                       measurements={"rim_excess": level, "edge_points": int(keep.sum()),
                                     "cells": int(ok.sum())}, mask=mask)


def _hard(image: LoadedImage, with_mask: bool) -> Measurement:
    gray = views.gray_u8(image)
    f = views.scale_to(image)
    cell = max(8, round(CELL / f))
    ys, xs, step, strong = step_points(gray, max_points=MAX_POINTS)
    n_pts = np.zeros(gray.shape, np.float32)
    n_step = np.zeros(gray.shape, np.float32)
    n_pts[ys, xs] = 1.0
    n_step[ys[step], xs[step]] = 1.0
    n_strong = np.zeros(gray.shape, np.float32)
    n_strong[ys[strong], xs[strong]] = 1.0
    pts, steps, strongs = cell_sums(n_pts, cell), cell_sums(n_step, cell), cell_sums(n_strong, cell)
    dense = np.clip((pts / cell - DENSE_ZERO) / (DENSE_ONE - DENSE_ZERO), 0.0, 1.0)
    ok = strongs >= MIN_CELL_POINTS
    score = np.where(ok, steps / np.maximum(strongs, 1) * dense, 0.0)
    level = _top_mean(score[ok])
    sev = ramp(level, HARD_ZERO, HARD_ONE)
    msg = (f"{level:.0%} of the strong edges in the densest, hair-like stretches are one-pixel "
           f"steps with no transition (the cut-out look)")
    return Measurement("hard_edge", sev, msg, region=worst_region(score, image, 1.0, cell),
                       measurements={"step_share": level, "edge_points": int(len(ys))},
                       mask=upmask(n_step > 0, image) if with_mask else None)
