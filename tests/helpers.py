"""Helpers shared by the check tests: images made in code; the loaders of real pictures and the
shared degradations live in :mod:`keyframe_dev.data` (scripts use them too) and are re-exported."""
from __future__ import annotations


import cv2
import numpy as np

from keyframe_dev.data import (CLEAN_GENERATION_DIRS, add_noise, clean_generations, clean_paths,
                               img, live_ladders, photo, read_rgb, usm)

__all__ = ["CLEAN_GENERATION_DIRS", "add_noise", "clean_generations", "clean_paths", "img",
           "live_ladders", "nondecreasing", "photo", "read_rgb", "scene", "upscale", "usm"]


def upscale(rgb: np.ndarray, factor: float, interp: int = cv2.INTER_CUBIC) -> np.ndarray:
    """The image rendered at 1/factor size (area) and blown back up to its size."""
    h, w = rgb.shape[:2]
    small = cv2.resize(rgb, (round(w / factor), round(h / factor)), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=interp)


def scene(n: int) -> np.ndarray:
    """A procedural scene drawn at n x n: anti-aliased discs and bars plus fine texture, so
    the same content is equally sharp at any size."""
    ss = 4
    big = np.full((n * ss, n * ss, 3), 70, np.uint8)
    rng = np.random.default_rng(1)
    for _ in range(14):
        cx, cy = rng.uniform(0.1, 0.9, 2) * n * ss
        r = rng.uniform(0.03, 0.1) * n * ss
        col = tuple(int(v) for v in rng.integers(120, 230, 3))
        cv2.circle(big, (int(cx), int(cy)), int(r), col, -1)
    for k in range(6):
        x = int((0.1 + 0.13 * k) * n * ss)
        cv2.rectangle(big, (x, int(0.05 * n * ss)), (x + int(0.03 * n * ss), int(0.3 * n * ss)),
                      (30, 30, 30), -1)
    small = cv2.resize(big, (n, n), interpolation=cv2.INTER_AREA)
    yy, xx = np.mgrid[0:n, 0:n]
    texture = 6 * np.sin(xx * 2 * np.pi / 23) * np.sin(yy * 2 * np.pi / 17)
    return np.clip(small + texture[..., None], 0, 255).astype(np.uint8)


def nondecreasing(xs, tol: float = 1e-6) -> bool:
    return all(b >= a - tol for a, b in zip(xs, xs[1:]))
