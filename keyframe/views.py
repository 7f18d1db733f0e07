"""Derived pixel views shared by the checks, computed once per image.

Several checks look at the same luma plane or the same canonical-size copy; computing them
once and keeping them in ``LoadedImage.cache`` is what keeps the whole suite fast. Views are
read-only arrays: a check must never write into them.
"""
from __future__ import annotations

import dataclasses
from typing import Callable, TypeVar

import cv2
import numpy as np

from keyframe.image import LoadedImage

T = TypeVar("T")

#: long side (px) of the canonical copy used by checks whose measure depends on content,
#: not on the pixel grid (clipping, banding, borders): one size for 512–4096 px inputs.
CANONICAL_LONG_SIDE = 1024


def cached(image: LoadedImage, key: str, compute: Callable[[], T]) -> T:
    """Return ``image.cache[key]``, computing and storing it on first use."""
    if key not in image.cache:
        value = compute()
        if isinstance(value, np.ndarray):
            value.setflags(write=False)
        image.cache[key] = value
    return image.cache[key]


def gray_u8(image: LoadedImage) -> np.ndarray:
    """Luma (ITU-R BT.601 weights, as OpenCV) of the sRGB-encoded pixels, uint8, full size."""
    return cached(image, "gray_u8", lambda: cv2.cvtColor(image.rgb, cv2.COLOR_RGB2GRAY))


def gray(image: LoadedImage) -> np.ndarray:
    """Luma as float32 in [0, 1], full size."""
    return cached(image, "gray_f32",
                  lambda: gray_u8(image).astype(np.float32) * np.float32(1 / 255))


def scale_to(image: LoadedImage, long_side: int = CANONICAL_LONG_SIDE) -> float:
    """Factor that brings the image's long side to ``long_side`` (never above 1: no upscaling)."""
    return min(1.0, long_side / max(image.width, image.height))


def rgb_at(image: LoadedImage, long_side: int = CANONICAL_LONG_SIDE) -> np.ndarray:
    """The RGB pixels with the long side at most ``long_side`` (area-averaged), uint8."""
    def compute() -> np.ndarray:
        f = scale_to(image, long_side)
        if f >= 1.0:
            return image.rgb
        size = (max(1, round(image.width * f)), max(1, round(image.height * f)))
        return cv2.resize(image.rgb, size, interpolation=cv2.INTER_AREA)
    return cached(image, f"rgb@{long_side}", compute)


def gray_at(image: LoadedImage, long_side: int = CANONICAL_LONG_SIDE) -> np.ndarray:
    """Luma uint8 with the long side at most ``long_side`` (area-averaged)."""
    def compute() -> np.ndarray:
        if scale_to(image, long_side) >= 1.0:
            return gray_u8(image)
        return cv2.cvtColor(rgb_at(image, long_side), cv2.COLOR_RGB2GRAY)
    return cached(image, f"gray@{long_side}", compute)


def to_source(region: tuple[int, int, int, int], factor: float,
              image: LoadedImage) -> tuple[int, int, int, int]:
    """Map an (x, y, w, h) box measured on a copy scaled by ``factor`` back to source pixels."""
    x, y, w, h = region
    inv = 1.0 / factor
    x0, y0 = int(np.floor(x * inv)), int(np.floor(y * inv))
    x1 = min(image.width, int(np.ceil((x + w) * inv)))
    y1 = min(image.height, int(np.ceil((y + h) * inv)))
    return (x0, y0, max(1, x1 - x0), max(1, y1 - y0))


def flattened(image: LoadedImage) -> LoadedImage:
    """An RGBA image as the picture it shows: composited onto mid-grey, without alpha.

    The same identity (path, sha256, size, provenance) and its own view cache; ``image``
    itself when it has no alpha. Checks that do not judge transparency measure this.
    """
    if image.alpha is None:
        return image

    def compute() -> LoadedImage:
        a = image.alpha.astype(np.float32)[..., None] * np.float32(1 / 255)
        rgb = image.rgb.astype(np.float32) * a + np.float32(128.0) * (1 - a)
        out = np.clip(rgb + 0.5, 0, 255).astype(np.uint8)
        out.setflags(write=False)
        return dataclasses.replace(image, rgb=out, alpha=None, cache={})
    return cached(image, "flattened", compute)


def fit(rgb: np.ndarray, long_side: int, *, halve_first: bool = False) -> np.ndarray:
    """``rgb`` area-averaged to at most ``long_side`` px on its long side (never enlarged):
    the previews of the review page and the triage thumbnails.

    With ``halve_first``, while the picture is at least twice that it is halved first (2 x 2
    means: OpenCV's integer-factor path, half the CPU of one fractional area resize of a
    1024-px picture: 2.5 -> 1.3 ms), then resized once to the same size; the result differs
    from one area resize by ~0.5 grey levels on average (a thumbnail no check reads)."""
    h, w = rgb.shape[:2]
    f = min(1.0, long_side / max(h, w))
    if f >= 1.0:
        return rgb
    size = (max(1, round(w * f)), max(1, round(h * f)))
    while halve_first and max(h, w) // 2 >= long_side and min(h, w) >= 2:
        h, w = h // 2, w // 2
        rgb = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA)
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)

