"""Helpers shared by the edge-halo measurements: the worst stretch of boundary as a region."""
from __future__ import annotations

import cv2
import numpy as np

from keyframe import views
from keyframe.image import LoadedImage

#: side (px, at the scale measured) of the cells the boundary is cut into to find the worst
#: stretch: long enough to average out texture, short enough to say where the rim is
CELL = 32


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
