"""The only place bytes become pixels and pixels become bytes.

:func:`load` / :func:`load_bytes` turn a file (PNG, JPEG, WebP, TIFF, BMP, GIF, anything
Pillow opens) into a :class:`LoadedImage`: sRGB, 8-bit, H x W x 3 pixels plus an optional
alpha plane. Every conversion on the way (EXIF orientation, ICC profile to sRGB, 16-bit or
float to 8-bit, palette / CMYK / grayscale to RGB, first frame of an animation, a fully
opaque alpha dropped) is recorded as one line in ``notes``, so a report can say what was done.
Inputs that cannot become pixels raise :class:`ImageError` with a stable ``kind`` and a
one-line message naming the file. Generator metadata (PNG text chunks, EXIF text, XMP) is
collected here and parsed by :func:`keyframe.provenance.parse` (pure, no I/O).

:func:`encode_png` is the way back: deterministic PNG bytes (no metadata, fixed settings).
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import warnings
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from keyframe import provenance as _provenance
from keyframe.fileio import ReadError, read_bytes
from keyframe.metadata import raw_metadata
from keyframe.pngcheck import bad_crc, check_png

with contextlib.suppress(ImportError):          # HEIC/HEIF, when the plug-in is installed
    from pillow_heif import register_heif_opener
    register_heif_opener()

DEFAULT_MAX_PIXELS = 50_000_000
"""Default cap on width x height, checked from the header before any pixel is decoded."""

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

_ORIENTATION = {2: "mirrored horizontally", 3: "rotated 180°", 4: "mirrored vertically",
                5: "transposed", 6: "rotated 90° clockwise", 7: "transversed",
                8: "rotated 90° counter-clockwise"}
_MODE_NAMES = {"1": "1-bit", "L": "grayscale", "LA": "grayscale + alpha", "P": "palette",
               "PA": "palette + alpha", "LAB": "Lab",
               "I": "32-bit integer", "F": "32-bit float", "La": "grayscale + alpha",
               "RGBa": "premultiplied RGBA", "RGBX": "RGBX"}
#: formats a folder scan picks up by file ending (their registered endings, when Pillow can
#: open them here: AVIF with Pillow >= 11.3, HEIF with the pillow-heif plug-in)
SCAN_FORMATS = ("PNG", "JPEG", "MPO", "WEBP", "TIFF", "BMP", "GIF", "AVIF", "HEIF")
_MAGIC = ((b"\x89PNG\r\n\x1a\n", "PNG"), (b"\xff\xd8\xff", "JPEG"), (b"GIF8", "GIF"),
          (b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"), (b"BM", "BMP"))


class ImageError(Exception):
    """An input that cannot become pixels. ``kind`` is a stable short id, str() one line.

    Parameters
    ----------
    kind : str
        ``not_found``, ``unreadable``, ``zero_byte``, ``not_an_image``, ``truncated``,
        ``corrupt``, ``too_large``, ``unsupported`` or ``matte_size`` (a subject matte whose
        size is not the image's, :mod:`keyframe.matte`); reports and the CLI key on it, so it
        never changes.
    message : str
        What is wrong and, where useful, what to do. Newlines are folded into spaces so the
        message always fits one line of a log or a JSON Lines report.
    """

    def __init__(self, kind: str, message: str):
        super().__init__(" ".join(str(message).split()))
        self.kind = kind


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
    notes: list[str] = []
    im = _open(data, name, max_pixels)
    fmt = im.format or ""
    n_frames = int(getattr(im, "n_frames", 1) or 1)
    if n_frames > 1:
        kind = "animated" if fmt in ("GIF", "PNG", "WEBP") else "multi-frame"
        notes.append(f"{kind} {fmt} with {n_frames} frames: first frame used")
    sixteen = im.mode in ("RGB", "RGBA") and any(";16" in str(t) for t in im.tile)
    _decode(im, data, name, max_pixels)
    if fmt == "PNG":
        _check_png(data, im, name, notes)
    raw = raw_metadata(im, notes)
    icc = im.info.get("icc_profile")
    im = _orient(im, notes)
    if sixteen:
        notes.append("16-bit per channel reduced to 8-bit")
    rgb, alpha = _to_rgb(im, icc, name, notes)
    return LoadedImage(rgb=rgb, alpha=alpha, path=name, sha256=sha256_bytes(data),
                       file_size=len(data), format=fmt, notes=notes,
                       provenance=_provenance.parse(raw))


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
    arr = np.asarray(rgb)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3 or 0 in arr.shape:
        raise ValueError(f"encode_png needs a non-empty H x W x 3 uint8 array, "
                         f"got shape {arr.shape} dtype {arr.dtype}")
    import cv2

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
    arr = np.asarray(rgb)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3 or 0 in arr.shape:
        raise ValueError(f"encode_jpeg needs a non-empty H x W x 3 uint8 array, "
                         f"got shape {arr.shape} dtype {arr.dtype}")
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
    arr = np.asarray(rgb)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3 or 0 in arr.shape:
        raise ValueError(f"encode_for needs a non-empty H x W x 3 uint8 array, "
                         f"got shape {arr.shape} dtype {arr.dtype}")
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(arr), "RGB").save(buf, "WEBP", lossless=True,
                                                           quality=100, method=4)
    return buf.getvalue()


# --------------------------------------------------------------------------- decoding steps

def _open(data: bytes, name: str, max_pixels: int | None) -> Image.Image:
    """Identify the format and read the header only; enforce the pixel cap before decoding."""
    try:
        # Pillow's bomb guard is moved to twice our cap, so that its error (converted to
        # "too_large" naming --max-pixels) never fires below the cap the user chose.
        with warnings.catch_warnings(), _pillow_cap(max_pixels):
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        size = _bomb_size(exc)
        raise ImageError("too_large", f"{name}: image has {size}, above the cap of "
                         f"{max_pixels or 2 * (Image.MAX_IMAGE_PIXELS or 0):,} pixels: "
                         "refused before decoding (raise it with --max-pixels if the file is "
                         "trusted)") from None
    except UnidentifiedImageError:
        fmt = next((f for magic, f in _MAGIC if data.startswith(magic)), None)
        if fmt is None and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            fmt = "WEBP"
        bad = bad_crc(data) if fmt == "PNG" else []
        if bad:
            raise ImageError("corrupt", f"{name}: PNG chunk {bad[0]} fails its CRC check: the "
                             "file is damaged") from None
        if fmt:
            raise ImageError("corrupt", f"{name}: looks like a {fmt} file ({len(data):,} bytes) "
                             "but its header cannot be read: the file is damaged") from None
        raise ImageError("not_an_image", f"{name}: not an image file (format not recognised "
                         f"from its {len(data):,} bytes)") from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError) as exc:
        raise _decode_error(exc, data, name) from None
    w, h = im.size
    if w <= 0 or h <= 0:
        raise ImageError("corrupt", f"{name}: header gives an empty size {w}x{h}")
    if max_pixels is not None and w * h > max_pixels:
        raise ImageError("too_large", f"{name}: image is {w}x{h} = {w * h:,} pixels, above the "
                         f"cap of {max_pixels:,} pixels: raise it with --max-pixels "
                         "if the file is trusted")
    return im


def _decode(im: Image.Image, data: bytes, name: str, max_pixels: int | None) -> None:
    """Decode the pixels (first frame); map Pillow's failures to one-line ImageErrors."""
    try:
        with warnings.catch_warnings(), _pillow_cap(max_pixels):
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im.load()
    except Image.DecompressionBombError as exc:
        raise ImageError("too_large", f"{name}: image has {_bomb_size(exc)}, above the cap "
                         "(raise it with --max-pixels if the file is trusted)") from None
    except MemoryError:
        raise ImageError("too_large", f"{name}: out of memory while decoding {im.size[0]}x"
                         f"{im.size[1]} pixels: lower --max-pixels or free memory") from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError) as exc:
        raise _decode_error(exc, data, name) from None


@contextlib.contextmanager
def _pillow_cap(max_pixels: int | None):
    """Pillow's bomb limit set to ``max_pixels`` (it refuses at twice that) for the block; its
    default stays when there is no cap of ours."""
    saved = Image.MAX_IMAGE_PIXELS
    if max_pixels is not None:
        Image.MAX_IMAGE_PIXELS = max(int(max_pixels), 1)
    try:
        yield
    finally:
        Image.MAX_IMAGE_PIXELS = saved


def _bomb_size(exc: BaseException) -> str:
    m = re.search(r"\((\d+) pixels\)", str(exc))
    return f"{int(m.group(1)):,} pixels" if m else "too many pixels"


def _check_png(data: bytes, im: Image.Image, name: str, notes: list[str]) -> None:
    """What Pillow lets pass in a PNG (:func:`keyframe.pngcheck.check_png`): a failed CRC in
    a critical chunk is ``corrupt``, image data that ends early ``truncated``."""
    blank = im.crop((0, im.height - 1, im.width, im.height)).tobytes()
    error, found = check_png(data, blank_last_row=not any(blank))
    notes.extend(found)
    if error is not None:
        raise ImageError(error[0], f"{name}: {error[1]}")


def _decode_error(exc: BaseException, data: bytes, name: str) -> ImageError:
    msg = " ".join(str(exc).split()) or type(exc).__name__
    riff_short = (data[:4] == b"RIFF" and data[8:12] == b"WEBP"
                  and int.from_bytes(data[4:8], "little") + 8 > len(data))
    if "truncat" in msg.lower() or isinstance(exc, EOFError) or riff_short:
        return ImageError("truncated", f"{name}: file is truncated ({len(data):,} bytes; "
                          f"decoder said: {msg}): re-export or re-download it")
    return ImageError("corrupt", f"{name}: cannot decode the pixels ({msg}): the file is "
                      "damaged or uses a variant the decoder does not support")


def _orient(im: Image.Image, notes: list[str]) -> Image.Image:
    """Apply the EXIF orientation so that regions are in display coordinates."""
    try:
        orientation = int(im.getexif().get(0x0112, 1))
    except Exception as exc:  # noqa: BLE001 - unreadable EXIF: keep stored orientation
        notes.append(f"EXIF orientation could not be read ({type(exc).__name__}): ignored")
        return im
    if orientation not in _ORIENTATION:
        return im
    out = ImageOps.exif_transpose(im)
    notes.append(f"EXIF orientation {orientation} applied ({_ORIENTATION[orientation]})")
    return out if out is not None else im


def _to_rgb(im: Image.Image, icc: bytes | None, name: str, notes: list[str]
            ) -> tuple[np.ndarray, np.ndarray | None]:
    """Mode → 8-bit RGB (+ alpha plane), ICC → sRGB. Returns read-only contiguous arrays."""
    mode = im.mode
    alpha: np.ndarray | None = None
    extra = ""
    if "transparency" in im.info and mode in ("P", "PA", "L", "RGB"):
        im = im.convert("LA" if mode == "L" else "RGBA")
        if mode == "RGB":
            notes.append("transparent colour key converted to alpha")
        extra = " with transparency"
    elif mode in ("P", "PA", "RGBa", "La", "RGBX"):
        im = im.convert({"P": "RGB", "La": "LA"}.get(mode, "RGBA" if mode != "RGBX" else "RGB"))
    if im.mode in ("RGBA", "LA"):
        alpha = np.array(im.getchannel("A"), dtype=np.uint8)
        im = im.convert("RGB" if im.mode == "RGBA" else "L")
    if mode.startswith("I") or mode == "F":
        im = Image.fromarray(_deep_to_u8(np.array(im), mode, notes), "L")
    elif mode == "1":
        im = im.convert("L")
    if icc:
        im = _apply_icc(im, icc, notes)
    elif im.mode == "LAB":
        im = ImageCms.profileToProfile(im, ImageCms.createProfile("LAB"), _srgb_profile(),
                                       outputMode="RGB") or im
    if im.mode != "RGB":
        try:
            im = im.convert("RGB")
        except (ValueError, OSError) as exc:
            raise ImageError("unsupported", f"{name}: pixel mode {mode!r} cannot be converted "
                             f"to RGB ({_short(exc)})") from None
    if mode not in ("RGB", "RGBA", "RGBa", "RGBX"):
        notes.append(f"converted from {_mode_desc(mode)}{extra} to RGB")
    if alpha is not None and int(alpha.min()) == 255:
        notes.append("alpha channel fully opaque: dropped")
        alpha = None
    rgb = np.ascontiguousarray(np.array(im, dtype=np.uint8))
    rgb.setflags(write=False)
    if alpha is not None:
        alpha = np.ascontiguousarray(alpha)
        alpha.setflags(write=False)
    return rgb, alpha


def _mode_desc(mode: str) -> str:
    if mode.startswith("I;16"):
        return f"16-bit grayscale ({mode})"
    name = _MODE_NAMES.get(mode, mode)
    return name if name == mode else f"{name} ({mode})"


def _deep_to_u8(arr: np.ndarray, mode: str, notes: list[str]) -> np.ndarray:
    """16-bit / 32-bit integer / float gray → 8-bit by scaling (never by clipping the range)."""
    if mode == "F":
        a = np.nan_to_num(arr.astype(np.float64), nan=0.0, posinf=1.0, neginf=0.0)
        if a.size and a.min() >= 0.0 and a.max() <= 1.0:
            notes.append("32-bit float reduced to 8-bit (scaled from [0, 1])")
            return np.rint(a * 255.0).astype(np.uint8)
        notes.append("32-bit float reduced to 8-bit (values clipped to [0, 255])")
        return np.rint(np.clip(a, 0.0, 255.0)).astype(np.uint8)
    a = arr.astype(np.int64)
    if mode == "I" and a.size and (a.min() < 0 or a.max() > 65535):
        notes.append("32-bit integer values outside [0, 65535] clipped before scaling to 8-bit")
        a = np.clip(a, 0, 65535)
    notes.append(f"{'16-bit' if mode.startswith('I;16') else '32-bit integer'} grayscale "
                 "scaled to 8-bit (0..65535 → 0..255)")
    return ((a * 255 + 32767) // 65535).astype(np.uint8)


@lru_cache(maxsize=1)
def _srgb_profile() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def _apply_icc(im: Image.Image, icc: bytes, notes: list[str]) -> Image.Image:
    """Convert pixels from the embedded ICC profile to sRGB; a broken profile is ignored."""
    try:
        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        desc = " ".join((ImageCms.getProfileDescription(src) or "").split()) or "unnamed"
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError) as exc:
        notes.append(f"embedded ICC profile could not be read ({_short(exc)}): ignored, "
                     "pixels taken as sRGB")
        return im
    if "srgb" in desc.lower() and im.mode == "RGB":
        return im
    try:
        out = ImageCms.profileToProfile(im, src, _srgb_profile(),
                                        renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC,
                                        outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError) as exc:
        notes.append(f"embedded ICC profile '{desc}' could not be applied to {im.mode} pixels "
                     f"({_short(exc)}): ignored, pixels taken as sRGB")
        return im
    notes.append(f"converted from ICC profile '{desc}' to sRGB")
    return out if out is not None else im


def _short(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:120] or type(exc).__name__


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
    given = np.asarray(rgb)
    if given.dtype != np.uint8 or given.ndim != 3 or given.shape[2] != 3 or 0 in given.shape:
        raise ValueError(f"from_array needs a non-empty H x W x 3 uint8 array, "
                         f"got shape {given.shape} dtype {given.dtype}")
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
