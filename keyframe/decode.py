"""Bytes become pixels here: Pillow opens the encoded file (the header first, the pixel cap
enforced before any pixel is decoded), decodes the first frame, checks a PNG's chunks, reads
the generator metadata, applies the EXIF orientation and turns every mode into sRGB 8-bit RGB
plus an optional alpha plane (16-bit, float, palette, CMYK, grayscale, Lab; an embedded ICC
profile converted to sRGB). Each conversion is one line in the notes; an input that cannot
become pixels raises :class:`ImageError`. :mod:`keyframe.image` builds the
:class:`~keyframe.image.LoadedImage` from what :func:`decode` returns and re-exports
:class:`ImageError`.
"""
from __future__ import annotations

import contextlib
import io
import re
import struct
import warnings
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from keyframe.metadata import raw_metadata
from keyframe.native import quiet_stderr
from keyframe.pngcheck import bad_crc, check_png, chunks

with contextlib.suppress(ImportError):          # HEIC/HEIF, when the plug-in is installed
    from pillow_heif import register_heif_opener
    register_heif_opener()

_ORIENTATION = {2: "mirrored horizontally", 3: "rotated 180°", 4: "mirrored vertically",
                5: "transposed", 6: "rotated 90° clockwise", 7: "transversed",
                8: "rotated 90° counter-clockwise"}
_MODE_NAMES = {"1": "1-bit", "L": "grayscale", "LA": "grayscale + alpha", "P": "palette",
               "PA": "palette + alpha", "LAB": "Lab",
               "I": "32-bit integer", "F": "32-bit float", "La": "grayscale + alpha",
               "RGBa": "premultiplied RGBA", "RGBX": "RGBX"}
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


@dataclass(frozen=True)
class Decoded:
    """What :func:`decode` made of a file's bytes: sRGB 8-bit pixels (read-only, contiguous),
    the alpha plane or None, the format Pillow named, the conversions applied (one line each)
    and the generator metadata as raw strings (for :func:`keyframe.provenance.parse`)."""

    rgb: np.ndarray
    alpha: np.ndarray | None
    format: str
    notes: list[str]
    raw: dict[str, Any]


def decode(data: bytes, *, name: str, max_pixels: int | None) -> Decoded:
    """Decode the (non-empty) encoded bytes ``data`` into sRGB 8-bit RGB (+ alpha), recording
    every conversion; ``name`` is quoted in errors. Raises :class:`ImageError` (``not_an_image``,
    ``truncated``, ``corrupt``, ``too_large`` or ``unsupported``)."""
    notes: list[str] = []
    im = _open(data, name, max_pixels)
    fmt = im.format or ""
    if fmt == "PNG":
        fast = _plain_png(data, im, notes)
        if fast is not None:
            return fast
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
    return Decoded(rgb=rgb, alpha=alpha, format=fmt, notes=notes, raw=raw)


#: PNG chunks that change no decoded pixel and no note in either decoder (Pillow and libpng
#: through OpenCV both ignore the colour-space hints gAMA, cHRM and sRGB; tested)
_PLAIN_CHUNKS = frozenset((b"IHDR", b"IDAT", b"IEND", b"tEXt", b"zTXt", b"iTXt", b"gAMA",
                           b"cHRM", b"sRGB", b"pHYs", b"tIME"))
#: info keys from which Pillow reads an EXIF block or an orientation
_EXIF_KEYS = ("exif", "Raw profile type exif", "xmp", "XML:com.adobe.xmp")


def _plain_png(data: bytes, im: Image.Image, notes: list[str]) -> Decoded | None:
    """A plain 8-bit RGB or RGBA PNG decoded by libpng (OpenCV's ``imdecode``, ~0.8x
    Pillow's CPU on 1024-px pictures), or None: the caller then decodes with Pillow.

    Plain means what makes both decoders give the same pixels, notes and metadata: 8 bits
    per channel, colour type 2 or 6, not interlaced, every chunk's CRC good, only
    :data:`_PLAIN_CHUNKS` (no palette, transparency key, ICC profile, EXIF or animation),
    nothing but image data after the first IDAT (so the header Pillow read already holds
    every text chunk) and no EXIF or XMP in it (so no orientation). Anything libpng refuses
    falls back to Pillow, whose errors the loader reports as before.
    """
    seen, header, after = set(), None, False
    for ctype, body, crc_ok in chunks(data):
        if not crc_ok or ctype not in _PLAIN_CHUNKS or (after and ctype not in (b"IDAT", b"IEND")):
            return None
        after = after or ctype == b"IDAT"
        seen.add(ctype)
        if ctype == b"IHDR" and len(body) == 13:
            header = struct.unpack(">IIBBBBB", body)
    if (header is None or b"IEND" not in seen or header[2:] not in ((8, 2, 0, 0, 0), (8, 6, 0, 0, 0))
            or im.mode != ("RGB" if header[3] == 2 else "RGBA")
            or any(k in im.info for k in _EXIF_KEYS)):
        return None
    with quiet_stderr():      # libpng prints its own line on a damaged stream: Pillow reports it
        arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if arr is None or arr.dtype != np.uint8 or arr.shape != (im.height, im.width, len(im.mode)):
        return None
    if not arr[-1].any():                   # a blank last row: as Pillow's path, count the data
        error, found = check_png(data, blank_last_row=True)
        if error is not None:
            return None                     # Pillow's path raises it, with the file's name
        notes.extend(found)
    stand_in = Image.new("1", (1, 1))       # the header's metadata, without its pixels
    stand_in.info = dict(im.info)
    raw = raw_metadata(stand_in, notes)
    alpha = None
    if arr.shape[2] == 4:
        rgb = cv2.cvtColor(arr, cv2.COLOR_BGRA2RGB)
        alpha = np.ascontiguousarray(arr[..., 3])
        if int(alpha.min()) == 255:
            notes.append("alpha channel fully opaque: dropped")
            alpha = None
        else:
            alpha.setflags(write=False)
    else:
        rgb = cv2.cvtColor(arr, cv2.COLOR_BGR2RGB)
    rgb.setflags(write=False)
    return Decoded(rgb=rgb, alpha=alpha, format="PNG", notes=notes, raw=raw)


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
