"""Helpers shared by the fixes: input checks, float <-> uint8, luma, box statistics."""
from __future__ import annotations

import cv2
import numpy as np

#: Rec. 601 luma weights (the Y of YCrCb); adding the same offset to R, G and B changes Y by
#: that offset and leaves Cr and Cb untouched, so luma-only edits are done that way.
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def check_rgb(rgb: np.ndarray, fix: str) -> None:
    """Raise ``ValueError`` (one line) unless ``rgb`` is an HxWx3 uint8 array."""
    if not isinstance(rgb, np.ndarray) or rgb.ndim != 3 or rgb.shape[2] != 3 \
            or rgb.dtype != np.uint8:
        shape = getattr(rgb, "shape", None)
        dtype = getattr(rgb, "dtype", type(rgb).__name__)
        raise ValueError(f"{fix}: expected an HxWx3 uint8 array, got shape {shape} {dtype}")


def to_float(rgb: np.ndarray) -> np.ndarray:
    """A new float32 copy of ``rgb`` in grey levels (0–255)."""
    return rgb.astype(np.float32)


def to_uint8(x: np.ndarray) -> np.ndarray:
    """Round half to even, clip to [0, 255] and return a new C-contiguous uint8 array."""
    return np.ascontiguousarray(np.clip(np.rint(x), 0, 255).astype(np.uint8))


def luma(f: np.ndarray) -> np.ndarray:
    """Rec. 601 luma (float32, grey levels) of a float HxWx3 image."""
    return f @ LUMA


def box_mean(x: np.ndarray, radius: int) -> np.ndarray:
    """Mean over a (2r+1)² window, reflecting at the borders (float32)."""
    k = 2 * int(radius) + 1
    return cv2.blur(x, (k, k), borderType=cv2.BORDER_REFLECT)
