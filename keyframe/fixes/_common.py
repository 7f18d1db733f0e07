"""Helpers shared by the fixes: input checks, float <-> uint8, luma, box statistics, and the
base of the fixes that work on the alpha plane."""
from __future__ import annotations

import abc
from typing import Any

import cv2
import numpy as np

from keyframe.registry import Fix

#: Rec. 601 luma weights (the Y of YCrCb); adding the same offset to R, G and B changes Y by
#: that offset and leaves Cr and Cb untouched, so luma-only edits are done that way.
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
#: JFIF's Cb and Cr weights (the planes a JPEG subsamples and quantises coarsest), and what
#: a unit of each adds to R, G, B (luma unchanged)
CB = np.array([-0.168736, -0.331264, 0.5], np.float32)
CR = np.array([0.5, -0.418688, -0.081312], np.float32)
FROM_CB = np.array([0.0, -0.344136, 1.772], np.float32)
FROM_CR = np.array([1.402, -0.714136, 0.0], np.float32)


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
    r = np.rint(x)
    np.clip(r, 0, 255, out=r)          # in place: one float temporary, not two
    return np.ascontiguousarray(r.astype(np.uint8))


def luma(f: np.ndarray) -> np.ndarray:
    """Rec. 601 luma (float32, grey levels) of a float HxWx3 image."""
    return f @ LUMA


def box_mean(x: np.ndarray, radius: int) -> np.ndarray:
    """Mean over a (2r+1)² window, reflecting at the borders (float32)."""
    k = 2 * int(radius) + 1
    return cv2.blur(x, (k, k), borderType=cv2.BORDER_REFLECT)


#: context (px) a local fix sees around its region, beyond the feather, so filters near the
#: region's edge do not read the crop's border
REGION_CONTEXT = 16


def check_region(region: tuple[int, int, int, int], width: int, height: int) -> None:
    """Raise ``ValueError`` (one line) unless ``region`` = (x, y, w, h) lies inside the image."""
    x, y, w, h = (int(v) for v in region)
    if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > width or y + h > height:
        raise ValueError(f"region {[x, y, w, h]} is not inside the {width}x{height} image")


def feather_mask(height: int, width: int, region: tuple[int, int, int, int],
                 feather: int) -> np.ndarray:
    """Blend weight (float32, H x W): 1 inside ``region``, falling linearly to 0 over
    ``feather`` px outside it (Chebyshev distance), exactly 0 beyond.

    Separable: the weight is the product of a 1-D ramp in x and one in y, so the region's
    corners round off like a box with soft edges.
    """
    x, y, w, h = region

    def ramp(n: int, start: int, length: int) -> np.ndarray:
        i = np.arange(n, dtype=np.float32)
        d = np.maximum(np.maximum(start - i, i - (start + length - 1)), 0.0)
        if feather <= 0:
            return (d == 0).astype(np.float32)
        return np.clip(1.0 - d / (feather + 1.0), 0.0, 1.0)

    return np.outer(ramp(height, y, h), ramp(width, x, w)).astype(np.float32)


def apply_in_region(fn, rgb: np.ndarray, region: tuple[int, int, int, int], *,
                    feather: int = 8, context: int = REGION_CONTEXT) -> np.ndarray:
    """Run ``fn`` (an ``rgb -> rgb`` step that keeps geometry) on ``region`` only.

    ``fn`` sees the region widened by ``feather + context`` px (clipped to the image), and
    its result is blended back with :func:`feather_mask`: pixels inside the region take the
    fixed values, the ``feather`` px ring around it a linear mix, and every pixel beyond is
    copied from ``rgb`` byte for byte. So a local mend never shifts the colours of the rest
    of the frame — the usual complaint about detect-and-fix tools.

    Raises
    ------
    ValueError
        When ``region`` is not inside the image or ``fn`` changed the crop's size.
    """
    check_rgb(rgb, "region")
    height, width = rgb.shape[:2]
    check_region(region, width, height)
    x, y, w, h = (int(v) for v in region)
    pad = max(0, int(feather)) + max(0, int(context))
    x0, y0 = max(0, x - pad), max(0, y - pad)
    x1, y1 = min(width, x + w + pad), min(height, y + h + pad)
    crop = np.ascontiguousarray(rgb[y0:y1, x0:x1])
    fixed = fn(crop)
    if fixed.shape != crop.shape:
        raise ValueError(f"a local fix must keep the crop's size: got {fixed.shape[1]}x"
                         f"{fixed.shape[0]} for {crop.shape[1]}x{crop.shape[0]}")
    mask = feather_mask(y1 - y0, x1 - x0, (x - x0, y - y0, w, h), int(feather))[..., None]
    blended = to_uint8(crop.astype(np.float32) * (1.0 - mask) + fixed.astype(np.float32) * mask)
    blended = np.where(mask > 0, blended, crop)
    out = rgb.copy()
    out[y0:y1, x0:x1] = blended
    return out


class AlphaFix(Fix):
    """A fix that works on a cut-out's alpha plane (``uses_alpha``): on an opaque image,
    where there is no matte to mend, it returns a copy."""

    uses_alpha = True

    def apply(self, rgb: np.ndarray, params: Any) -> np.ndarray:
        check_rgb(rgb, self.name)
        return rgb.copy()

    def apply_rgba(self, rgb: np.ndarray, alpha: np.ndarray | None, params: Any
                   ) -> tuple[np.ndarray, np.ndarray | None]:
        check_rgb(rgb, self.name)
        if alpha is None:
            return rgb.copy(), None
        return self.apply_alpha(rgb, alpha, params)

    @abc.abstractmethod
    def apply_alpha(self, rgb: np.ndarray, alpha: np.ndarray, params: Any
                    ) -> tuple[np.ndarray, np.ndarray | None]:
        """The fix proper, on straight colour and an HxW uint8 alpha plane."""
