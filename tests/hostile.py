"""A hostile corpus made in code: every kind of bad input and odd file docs/input.md's
reliability section names, in one folder, plus what each command must make of it.

:func:`make_corpus` writes the folder and returns the names a folder scan must give one
record each (``expected``) — everything with an image ending that is not hidden, not a folder
and not inside an earlier keyframe output. :func:`fingerprint` records what an original is
(bytes' sha256, mode, mtime, link target) so a test can prove nothing was touched.
"""
from __future__ import annotations

import hashlib
import io
import os
import socket
import stat
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms

from helpers import photo


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png(width: int, height: int, rows: bytes, *, bad_crc: bytes = b"") -> bytes:
    """A hand-built 8-bit RGB PNG whose IDAT holds ``rows`` (filtered scanlines); the chunk
    named by ``bad_crc`` gets a wrong CRC."""
    out = b"\x89PNG\r\n\x1a\n"
    for kind, body in ((b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)),
                       (b"tEXt", b"Comment\x00made in a test"),
                       (b"IDAT", zlib.compress(rows)), (b"IEND", b"")):
        chunk = _png_chunk(kind, body)
        if kind == bad_crc:
            chunk = chunk[:-4] + bytes(4 * [0x5A])
        out += chunk
    return out


def _rows(width: int, height: int, value: int = 180) -> bytes:
    return b"".join(b"\x00" + bytes([value]) * (3 * width) for _ in range(height))


def _encode(arr: np.ndarray, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, fmt, **kw)
    return buf.getvalue()


def make_corpus(root: Path, *, size: int = 96) -> tuple[Path, list[str]]:
    """Write the corpus under ``root/corpus``; return the folder and the names (relative,
    '/'-separated) a scan of it must report, one record each."""
    d = root / "corpus"
    d.mkdir(parents=True)
    base = photo("astronaut")[::4, ::4][:size, :size].copy()
    png = _encode(base, "PNG")
    files: dict[str, bytes] = {
        "good.png": png,
        "good copy.png": png,                                  # identical bytes, a space
        "UPPER.PNG": _encode(photo("coffee")[::5, ::5], "PNG"),
        "photo.jpg": _encode(photo("chelsea")[::3, ::3], "JPEG", quality=90),
        "pic.webp": _encode(base, "WEBP", quality=90),
        "gray16.png": _encode((np.arange(64 * 64, dtype=np.uint16).reshape(64, 64) * 15),
                              "PNG"),
        "palette.gif": _encode(base, "GIF"),
        "one_pixel.png": _encode(np.full((1, 1, 3), 200, np.uint8), "PNG"),
        "black.png": _encode(np.zeros((48, 48, 3), np.uint8), "PNG"),
        "zero.png": b"",
        "text.png": b"this is not an image at all\n",
        "truncated.png": png[: len(png) // 2],
        "truncated.jpg": _encode(base, "JPEG")[:700],
        "short_idat.png": _png(40, 40, _rows(40, 10)),         # data ends early, cleanly
        "bad_idat_crc.png": _png(40, 40, _rows(40, 40), bad_crc=b"IDAT"),
        "bad_text_crc.png": _png(40, 40, _rows(40, 40), bad_crc=b"tEXt"),
        "bomb.png": _png_header_only(30000, 30000),            # 900 MP header
        "huge.png": _png_header_only(9000, 9000),              # 81 MP: above the cap
        "broken_icc.jpg": _encode(base, "JPEG", icc_profile=b"not a profile" * 10),
        "ünïcødé 写真.png": png,
        "new\nline.png": png,
        ("l" * 200) + ".png": png,
    }
    buf = io.BytesIO()
    Image.new("CMYK", (32, 32), (10, 60, 200, 5)).save(buf, "JPEG")
    files["cmyk.jpg"] = buf.getvalue()
    if "AVIF" in Image.SAVE:                                   # Pillow >= 11.3 reads AVIF
        files["pic.avif"] = _encode(base, "AVIF", quality=70)
    rgba = np.dstack([base, np.where(np.arange(size)[None, :] < size // 2, 255, 0)
                      .repeat(size, 0).astype(np.uint8)])
    files["cutout.png"] = _encode(rgba, "PNG")
    frames = [Image.fromarray(np.full((16, 16, 3), v, np.uint8)) for v in (0, 128, 255)]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:])
    files["animated.gif"] = buf.getvalue()
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    files["srgb_icc.png"] = _encode(base, "PNG", icc_profile=srgb)
    exif = Image.Exif()
    exif[0x0112] = 6
    files["rotated.jpg"] = _encode(base, "JPEG", exif=exif.tobytes())
    for name, data in files.items():
        (d / name).write_bytes(data)
    os.symlink("good.png", d / "link.png")
    os.symlink("loop.png", d / "loop.png")
    os.symlink("nowhere.png", d / "dangling.png")
    os.symlink("/dev/zero", d / "device.png")                  # endless bytes if read
    os.mkfifo(d / "fifo.png")                                  # hangs a blocking open()
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(d / "socket.png"))
    sock.close()
    (d / "folder.png").mkdir()                                 # a folder: walked, empty
    (d / ".hidden.png").write_bytes(png)                       # hidden: not scanned
    (d / "notes.txt").write_text("not an image ending")
    old = d / "old_triage"                                     # an earlier keyframe output
    (old / ".keyframe").mkdir(parents=True)
    (old / "thumbs").mkdir()
    (old / "thumbs" / "abc.jpg").write_bytes(_encode(base, "JPEG"))
    (d / "sub").mkdir()
    (d / "sub" / "nested.png").write_bytes(_encode(photo("rocket")[::6, ::6], "PNG"))
    hidden = {".hidden.png", "notes.txt", "folder.png", "old_triage", "sub"}
    expected = sorted([n for n in os.listdir(d) if n not in hidden] + ["sub/nested.png"])
    return d, expected


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` and whose data is one tiny IDAT."""
    return (b"\x89PNG\r\n\x1a\n"
            + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + _png_chunk(b"IEND", b""))


def fingerprint(folder: Path) -> dict[str, tuple]:
    """Every entry under ``folder`` (links not followed): sha256 of a regular file's bytes,
    its mode and mtime; a link's target; the type of anything else."""
    out = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            p = Path(root) / name
            st = os.lstat(p)
            rel = str(p.relative_to(folder))
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(p))
            elif stat.S_ISREG(st.st_mode):
                out[rel] = ("file", hashlib.sha256(p.read_bytes()).hexdigest(), st.st_mode,
                            st.st_mtime_ns)
            else:
                out[rel] = ("other", stat.S_IFMT(st.st_mode))
    return out
