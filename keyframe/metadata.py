"""Generator text inside an image file (PNG text chunks, EXIF, XMP), read for provenance.

Part of the loader (:mod:`keyframe.image`): it reads an opened Pillow image's metadata into
plain strings, which :func:`keyframe.provenance.parse` turns into the report's provenance.
Broken metadata never stops a load; it becomes a note.
"""
from __future__ import annotations

from typing import Any

from PIL import Image

_MAX_META_CHARS = 1_000_000          # per raw metadata value handed to provenance.parse
_META_KEYS = ("parameters", "prompt", "workflow", "Comment", "comment", "Description",
              "Software", "Title", "Author", "Source", "Artist", "Generation time")


def raw_metadata(im: Image.Image, notes: list[str]) -> dict[str, str]:
    """Collect generator text (PNG chunks, EXIF text, XMP) as plain strings for provenance."""
    raw: dict[str, str] = {}
    info = dict(im.info)
    try:
        info.update(getattr(im, "text", None) or {})      # PNG: includes chunks after IDAT
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        why = " ".join(str(exc).split())[:120] or type(exc).__name__
        notes.append(f"PNG text chunks could not be read ({why}): ignored")
    for key in _META_KEYS:
        val = info.get(key)
        if isinstance(val, bytes):
            val = val.decode("utf-8", errors="replace")
        if isinstance(val, str) and val.strip():
            raw["Comment" if key == "comment" else key] = val[:_MAX_META_CHARS]
    xmp = info.get("xmp") or info.get("XML:com.adobe.xmp")
    if isinstance(xmp, bytes):
        xmp = xmp.decode("utf-8", errors="replace")
    if isinstance(xmp, str) and xmp.strip():
        raw["XMP"] = xmp[:_MAX_META_CHARS]
    try:
        exif = im.getexif()
        for tag, key in ((0x010E, "ImageDescription"), (0x0131, "Software"), (0x013B, "Artist")):
            val = exif.get(tag)
            if isinstance(val, bytes):
                val = val.decode("utf-8", errors="replace")
            if isinstance(val, str) and val.strip("\x00 \n"):
                raw.setdefault(key, val.strip("\x00")[:_MAX_META_CHARS])
        comment = exif.get_ifd(0x8769).get(0x9286)
        text = user_comment(comment) if comment is not None else ""
        if text.strip():
            raw["UserComment"] = text[:_MAX_META_CHARS]
    except Exception as exc:  # noqa: BLE001 - broken EXIF must not stop the load
        notes.append(f"EXIF metadata could not be read ({type(exc).__name__}): ignored")
    return raw


def user_comment(value: Any) -> str:
    """Decode EXIF UserComment: an 8-byte charset header (ASCII, UNICODE, JIS, undefined)."""
    if isinstance(value, str):
        return value.strip("\x00")
    if not isinstance(value, (bytes, bytearray)):
        return ""
    head, body = bytes(value[:8]), bytes(value[8:])
    if head.startswith(b"UNICODE"):
        if body[:2] in (b"\xff\xfe", b"\xfe\xff"):
            return body.decode("utf-16", errors="replace").strip("\x00")
        candidates = [body.decode(enc, errors="replace") for enc in ("utf-16-be", "utf-16-le")]
        return max(candidates, key=lambda s: sum(c.isascii() and c.isprintable() for c in s)
                   ).strip("\x00")
    if head.startswith(b"JIS"):
        return body.decode("shift_jis", errors="replace").strip("\x00")
    if not head.startswith(b"ASCII") and head != b"\x00" * 8:
        body = bytes(value)                     # no header: take the bytes as they are
    return body.decode("utf-8", errors="replace").strip("\x00")
