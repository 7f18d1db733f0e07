"""Pixels become bytes here: deterministic PNG, baseline JPEG, and the format a file's ending
names (PNG, JPEG or lossless WebP). No metadata is written, and the same array always gives
the same bytes: packages and recipes compare outputs by hash. :mod:`keyframe.image`, the way
in, re-exports these names.
"""
from __future__ import annotations

import io
import os
import zlib
from typing import Any

import numpy as np
from PIL import Image

PNG_COMPRESS_LEVEL = 6
"""zlib level used by :func:`encode_png`; fixed so that the same array gives the same bytes."""
PNG_COMPRESS_TYPE = zlib.Z_RLE
"""zlib strategy used by :func:`encode_png`: run-length matches only (after PNG's adaptive row
filters, photographs and generations leave few longer matches to find). About a fifth of the
default strategy's time for about the same size on generated pictures (figures:
docs/speed.md), so the package's one encode is a small share of a gate. (OpenCV's PNG strategy
values are zlib's.)"""
PNG_IDAT_BYTES = 65536
"""Size of each IDAT chunk :func:`encode_png` writes (libpng's default is 8 KiB: 12 bytes of
chunk header and CRC per 8 KiB)."""


def rgb_array(rgb: Any, who: str) -> np.ndarray:
    """``rgb`` as an array, which must be a non-empty H x W x 3 uint8 array; ``ValueError``
    (one line naming ``who``, the function that needs it) otherwise."""
    arr = np.asarray(rgb)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3 or 0 in arr.shape:
        raise ValueError(f"{who} needs a non-empty H x W x 3 uint8 array, "
                         f"got shape {arr.shape} dtype {arr.dtype}")
    return arr


def encode_png(rgb: np.ndarray) -> bytes:
    """Encode an H x W x 3 uint8 array as PNG bytes, deterministically.

    No metadata (no text, time or gamma chunks) and fixed settings, so the same array always
    gives the same bytes (for one OpenCV / libpng / zlib build): packages and recipes compare
    outputs by hash. libpng through OpenCV, with its adaptive row filters (each row the
    filter whose output sums least) and :data:`PNG_COMPRESS_TYPE`: ~0.75x the time of
    Pillow's encoder with the same zlib settings, and ~1 % fewer bytes (docs/speed.md).

    Raises
    ------
    ValueError
        When ``rgb`` is not an H x W x 3 uint8 array.
    """
    import cv2

    arr = rgb_array(rgb, "encode_png")
    params = [cv2.IMWRITE_PNG_COMPRESSION, PNG_COMPRESS_LEVEL,
              cv2.IMWRITE_PNG_STRATEGY, PNG_COMPRESS_TYPE]
    if hasattr(cv2, "IMWRITE_PNG_FILTER"):   # OpenCV >= 4.11 (older: libpng's default filters)
        params += [cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_ALL_FILTERS]
        params += [cv2.IMWRITE_PNG_ZLIBBUFFER_SIZE, PNG_IDAT_BYTES]
    bgr = cv2.cvtColor(np.ascontiguousarray(arr), cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".png", bgr, params)
    if not ok:
        raise ValueError(f"OpenCV could not encode a {arr.shape} array as PNG")
    return buf.tobytes()


def encode_jpeg(rgb: np.ndarray, *, quality: int = 85) -> bytes:
    """Encode an H x W x 3 uint8 array as baseline JPEG bytes (no metadata).

    Used for previews (the thumbnails of ``report.html``) and for target exports, never for
    ``keyframe.png``.

    Raises
    ------
    ValueError
        When ``rgb`` is not an H x W x 3 uint8 array or ``quality`` is outside 1..95.
    """
    arr = rgb_array(rgb, "encode_jpeg")
    if not 1 <= int(quality) <= 95:
        raise ValueError(f"JPEG quality must be in 1..95, got {quality}")
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(arr), "RGB").save(buf, "JPEG", quality=int(quality))
    return buf.getvalue()


#: what a single-image output (``keyframe fix``/``extract -o``) is written as, by its ending
OUTPUT_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}


def output_format(path: str | os.PathLike[str]) -> str:
    """The format (``"PNG"``, ``"JPEG"``, ``"WEBP"``) ``path``'s ending names for a written
    image; ``ValueError`` (one line naming the accepted endings) for any other ending."""
    suffix = os.path.splitext(os.fspath(path))[1].lower()
    fmt = OUTPUT_FORMATS.get(suffix)
    if fmt is None:
        raise ValueError(f"{os.fspath(path)}: cannot tell the output format from "
                         f"{suffix or 'no ending'}; end the name in "
                         f"{', '.join(OUTPUT_FORMATS)}")
    return fmt


def encode_for(rgb: np.ndarray, path: str | os.PathLike[str]) -> bytes:
    """Encode an H x W x 3 uint8 array in the format ``path``'s ending names
    (:func:`output_format`): PNG (:func:`encode_png`), JPEG (quality 95) or lossless WebP.

    Raises
    ------
    ValueError
        For another ending, or when ``rgb`` is not an H x W x 3 uint8 array.
    """
    fmt = output_format(path)
    if fmt == "PNG":
        return encode_png(rgb)
    if fmt == "JPEG":
        return encode_jpeg(rgb, quality=95)
    arr = rgb_array(rgb, "encode_for")
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(arr), "RGB").save(buf, "WEBP", lossless=True,
                                                           quality=100, method=4)
    return buf.getvalue()
