"""Helpers shared by the edge-halo measurements: the worst stretch of boundary as a region,
a mask's boundary pixels, and one-pixel steps at edge points."""
from __future__ import annotations

import cv2
import numpy as np

from keyframe import views
from keyframe.image import LoadedImage

#: side (px, at the scale measured) of the cells the boundary is cut into to find the worst
#: stretch: long enough to average out texture, short enough to say where the rim is
CELL = 32
#: a step: one pixel-to-pixel jump carries this share of the 5-px profile's contrast
STEP_SHARE = 0.85
#: contrast (grey levels over 5 px) of a strong edge point
STEP_CONTRAST = 60.0
CANNY_LO, CANNY_HI = 40, 100

_K3 = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))


def smooth(values: np.ndarray, sigma: float) -> np.ndarray:
    """A Gaussian-like blur of standard deviation ``sigma`` px: OpenCV's stack blur (a
    triangular kernel of radius ``sigma * sqrt(6)``, the same variance) costs the same at
    any ``sigma``, 2-4x less than ``GaussianBlur`` on these float planes."""
    k = 2 * round(sigma * 6 ** 0.5) + 1
    return cv2.stackBlur(values, (k, k))


def boundary(mask: np.ndarray) -> np.ndarray:
    """Pixels of a boolean mask that touch its outside (8-connected)."""
    return mask & ~cv2.erode(mask.astype(np.uint8), _K3).astype(bool)


def step_points(gray: np.ndarray, *, where: np.ndarray | None = None,
                max_points: int | None = None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Canny edge points of ``gray`` (inside ``where``): (ys, xs, is_step, is_strong).

    Along the gradient direction (quantised to the 8 neighbours) the 5-px luma profile's
    contrast makes a point *strong* at >= ``STEP_CONTRAST`` grey levels, and a *step* when
    one pixel-to-pixel jump carries ``STEP_SHARE`` of it: no transition pixel, a binary edge.
    Optics and anti-aliasing spread every real edge over 2+ pixels. Beyond ``max_points``
    points a regular subsample is profiled.
    """
    edges = cv2.Canny(gray, CANNY_LO, CANNY_HI, L2gradient=True) > 0
    ys, xs = np.nonzero(edges if where is None else edges & where)
    if max_points is not None and len(ys) > max_points:
        stride = -(-len(ys) // max_points)
        ys, xs = ys[::stride], xs[::stride]
    g = gray.astype(np.float32)
    gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3)[ys, xs]
    gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)[ys, xs]
    ang = np.round(np.arctan2(gy, gx) / (np.pi / 4)).astype(int) % 8
    dx = np.array([1, 1, 0, -1, -1, -1, 0, 1])[ang]
    dy = np.array([0, 1, 1, 1, 0, -1, -1, -1])[ang]
    h, w = gray.shape
    prof = np.stack([g[np.clip(ys + t * dy, 0, h - 1), np.clip(xs + t * dx, 0, w - 1)]
                     for t in range(-2, 3)], axis=1)
    contrast = np.abs(prof[:, 4] - prof[:, 0])
    strong = contrast >= STEP_CONTRAST
    step = strong & (np.abs(np.diff(prof, axis=1)).max(axis=1)
                     >= STEP_SHARE * np.maximum(contrast, 1))
    return ys, xs, step, strong


def cell_sums(values: np.ndarray, cell: int = CELL) -> np.ndarray:
    """Sum of ``values`` (H x W float) over ``cell`` x ``cell`` blocks (edge blocks padded)."""
    h, w = values.shape
    gh, gw = -(-h // cell), -(-w // cell)
    padded = np.zeros((gh * cell, gw * cell), np.float32)
    padded[:h, :w] = values
    return padded.reshape(gh, cell, gw, cell).sum(axis=(1, 3))


def worst_region(score: np.ndarray, image: LoadedImage, factor: float,
                 cell: int = CELL) -> tuple[int, int, int, int] | None:
    """Bounding box, in source pixels, of the worst cell of ``score`` (a per-cell map at
    scale ``factor``) and of its 8 neighbours scoring at least half as much; None if all 0."""
    if score.size == 0 or float(score.max()) <= 0:
        return None
    gy, gx = np.unravel_index(int(np.argmax(score)), score.shape)
    y0, y1 = max(0, gy - 1), min(score.shape[0], gy + 2)
    x0, x1 = max(0, gx - 1), min(score.shape[1], gx + 2)
    keep = score[y0:y1, x0:x1] >= 0.5 * score[gy, gx]
    ys, xs = np.nonzero(keep)
    bx0, bx1 = (x0 + xs.min()) * cell, (x0 + xs.max() + 1) * cell
    by0, by1 = (y0 + ys.min()) * cell, (y0 + ys.max() + 1) * cell
    return views.to_source((bx0, by0, bx1 - bx0, by1 - by0), factor, image)


def upmask(mask: np.ndarray, image: LoadedImage) -> np.ndarray:
    """A boolean mask measured on a scaled copy, brought to source size (nearest)."""
    if mask.shape == (image.height, image.width):
        return mask.astype(bool)
    up = cv2.resize(mask.astype(np.uint8), (image.width, image.height),
                    interpolation=cv2.INTER_NEAREST)
    return up.astype(bool)
