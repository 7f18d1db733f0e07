"""Images in memory: where bytes become a :class:`LoadedImage` and pixels made in memory one.

:func:`load` / :func:`load_bytes` turn a file (PNG, JPEG, WebP, TIFF, BMP, GIF, anything
Pillow opens) into a :class:`LoadedImage`: sRGB, 8-bit, H x W x 3 pixels plus an optional
alpha plane. Every conversion on the way (EXIF orientation, ICC profile to sRGB, 16-bit or
float to 8-bit, palette / CMYK / grayscale to RGB, first frame of an animation, a fully
opaque alpha dropped) is recorded as one line in ``notes``, so a report can say what was done.
Inputs that cannot become pixels raise :class:`ImageError` with a stable ``kind`` and a
one-line message naming the file. Generator metadata (PNG text chunks, EXIF text, XMP) is
collected here and parsed by :func:`keyframe.provenance.parse` (pure, no I/O).

The decoding itself (Pillow, the pixel cap, PNG chunk checks, orientation, modes and ICC
profiles) is :mod:`keyframe.decode`, which defines :class:`ImageError` (re-exported here);
the way back, deterministic PNG bytes and the other output formats, is :mod:`keyframe.encode`
(:func:`encode_png` and :func:`encode_jpeg` re-exported here).
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from keyframe import provenance as _provenance
from keyframe.decode import ImageError, decode
from keyframe.encode import encode_jpeg  # noqa: F401 - re-exported (previews, tests)
from keyframe.encode import encode_png, rgb_array
from keyframe.fileio import ReadError, read_bytes

DEFAULT_MAX_PIXELS = 50_000_000
"""Default cap on width x height, checked from the header before any pixel is decoded."""

#: formats a folder scan picks up by file ending (their registered endings, when Pillow can
#: open them here: AVIF with Pillow >= 11.3, HEIF with the pillow-heif plug-in)
SCAN_FORMATS = ("PNG", "JPEG", "MPO", "WEBP", "TIFF", "BMP", "GIF", "AVIF", "HEIF")


@dataclass(eq=False)
class LoadedImage:
    """A decoded image: sRGB 8-bit RGB pixels, an optional alpha plane, and where it came from."""

    rgb: np.ndarray                      # H x W x 3, uint8, sRGB, C-contiguous, read-only
    alpha: np.ndarray | None = None      # H x W, uint8, or None when fully opaque / absent
    #: H x W uint8 alpha of the subject of an opaque composite (the matte it was composited
    #: with), when the caller has it: the edge-halo check then reads that boundary only
    matte: np.ndarray | None = None
    matte_source: str = ""               # the matte's file, when it came from one
    path: str = "<memory>"
    sha256: str = ""
    file_size: int = 0
    format: str = ""                     # "PNG", "JPEG", ...
    notes: list[str] = field(default_factory=list)        # conversions applied, one line each
    provenance: dict[str, Any] = field(default_factory=dict)
    cache: dict[str, Any] = field(default_factory=dict, repr=False)  # derived views (views.py)

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def has_alpha(self) -> bool:
        return self.alpha is not None


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of ``data``: the identity of a source or output file in reports and manifests."""
    return hashlib.sha256(data).hexdigest()


def load(path: str | os.PathLike[str], *, max_pixels: int | None = DEFAULT_MAX_PIXELS
         ) -> LoadedImage:
    """Read an image file once and decode it.

    The file is opened read-only and read into memory in one go, so the hash, the size and
    the pixels all describe the same bytes even if the file changes meanwhile. Only a
    regular file is opened (:func:`keyframe.fileio.open_regular`): a FIFO, socket, device or
    directory with an image's name is an ``unreadable`` error, never a hang.

    Parameters
    ----------
    path : str or os.PathLike
        The image file.
    max_pixels : int or None, keyword-only
        Refuse images whose width x height (read from the header, before decoding) exceeds
        this; ``None`` removes keyframe's cap (Pillow's own decompression-bomb guard remains).

    Returns
    -------
    LoadedImage

    Raises
    ------
    ImageError
        ``not_found`` (also a dangling symbolic link), ``unreadable`` (not a regular file, a
        link loop, permissions, I/O error) or any kind raised by :func:`load_bytes`.
    """
    name = os.fspath(path)
    try:
        data = read_bytes(name)         # regular files only, opened non-blocking
    except ReadError as exc:
        raise ImageError(exc.kind, str(exc)) from None
    return load_bytes(data, name=name, max_pixels=max_pixels)


def load_bytes(data: bytes, *, name: str = "<memory>",
               max_pixels: int | None = DEFAULT_MAX_PIXELS) -> LoadedImage:
    """Decode encoded image bytes into sRGB 8-bit RGB (+ alpha), recording every conversion.

    Parameters
    ----------
    data : bytes
        The whole encoded file.
    name : str, keyword-only
        Used as ``LoadedImage.path`` and in error messages.
    max_pixels : int or None, keyword-only
        Cap on width x height, checked from the header before decoding (see :func:`load`).

    Returns
    -------
    LoadedImage
        ``rgb`` and ``alpha`` are C-contiguous, uint8 and read-only.

    Raises
    ------
    ImageError
        ``zero_byte``, ``not_an_image``, ``truncated``, ``corrupt``, ``too_large`` or
        ``unsupported``; the message is one line and starts with ``name``.
    """
    data = bytes(data)
    if not data:
        raise ImageError("zero_byte", f"{name}: file is empty (0 bytes): "
                         "re-export or re-download it")
    decoded = decode(data, name=name, max_pixels=max_pixels)
    return LoadedImage(rgb=decoded.rgb, alpha=decoded.alpha, path=name,
                       sha256=sha256_bytes(data), file_size=len(data), format=decoded.format,
                       notes=decoded.notes, provenance=_provenance.parse(decoded.raw))


def pixel_sha256(rgb: np.ndarray, alpha: np.ndarray | None = None) -> str:
    """Hex SHA-256 of pixels as they are in memory: the shape, then the RGB bytes, then the
    alpha plane's (when there is one). The identity of pixels no file holds yet (the gate's
    candidates): cheap (no PNG encode), and equal for equal pixels whatever their history."""
    arr = np.ascontiguousarray(rgb, dtype=np.uint8)
    h = hashlib.sha256(f"rgb {arr.shape[0]}x{arr.shape[1]}\n".encode())
    h.update(memoryview(arr).cast("B"))
    if alpha is not None:
        h.update(b"alpha\n")
        h.update(memoryview(np.ascontiguousarray(alpha, dtype=np.uint8)).cast("B"))
    return h.hexdigest()


def from_array(rgb: np.ndarray, *, alpha: np.ndarray | None = None, name: str = "<memory>",
               notes: list[str] | None = None,
               provenance: dict[str, Any] | None = None, encode: bool = True) -> LoadedImage:
    """Wrap pixels made in memory (a fix's output) as a :class:`LoadedImage`.

    The arrays are copied and made read-only; ``alpha`` (H x W uint8, same size as ``rgb``)
    is kept as the alpha plane unless it is fully opaque. With ``encode`` (the default)
    ``sha256`` is that of :func:`encode_png` of the pixels, i.e. the hash the file would
    have if these pixels were packaged, ``file_size`` its length and ``format`` ``"PNG"``.
    Without it (the gate's candidates, most of which are rolled back) nothing is encoded:
    ``sha256`` is :func:`pixel_sha256`, ``file_size`` 0 (unknown) and ``format`` empty;
    the PNG is encoded once, when the pixels are packaged.

    Raises
    ------
    ValueError
        When ``rgb`` is not a non-empty H x W x 3 uint8 array.
    """
    png = encode_png(rgb) if encode else None
    given = rgb_array(rgb, "from_array")
    arr = np.array(given, order="C", copy=True)
    arr.setflags(write=False)
    plane = None
    if alpha is not None and not np.all(alpha == 255):
        plane = np.array(alpha, dtype=np.uint8, order="C", copy=True)
        if plane.shape != arr.shape[:2]:
            raise ValueError(f"alpha plane {plane.shape} does not match pixels {arr.shape[:2]}")
        plane.setflags(write=False)
    if png is None:
        sha, size, fmt = pixel_sha256(arr, plane), 0, ""
    else:
        sha, size, fmt = sha256_bytes(png), len(png), "PNG"
    return LoadedImage(rgb=arr, alpha=plane, path=name, sha256=sha, file_size=size,
                       format=fmt, notes=list(notes or []), provenance=dict(provenance or {}))


def load_mask(path: str | os.PathLike[str], *,
              max_pixels: int | None = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """A mask file as a boolean H x W array: True where the luma (or, for a file with
    alpha, the alpha) is non-zero. Raises :class:`ImageError` like :func:`load`."""
    im = load(path, max_pixels=max_pixels)
    plane = im.alpha if im.alpha is not None else im.rgb.max(axis=2)
    return np.asarray(plane) > 0


def scan_suffixes() -> frozenset[str]:
    """File endings (lower case, with the dot) of the :data:`SCAN_FORMATS` Pillow can open
    here, for folder scans; a file named explicitly is always tried, whatever its ending."""
    Image.init()
    return frozenset(ext.lower() for ext, fmt in Image.registered_extensions().items()
                     if fmt in SCAN_FORMATS and fmt in Image.OPEN)
