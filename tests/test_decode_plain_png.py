"""The plain-PNG decode (libpng through OpenCV) gives what Pillow's path gives, bit for bit.

:func:`keyframe.decode._plain_png` decodes 8-bit RGB / RGBA PNGs without anything that would
change pixels or notes (palette, transparency key, ICC profile, EXIF, text after the image
data, bad CRCs); every other file goes through Pillow as before. Each test decodes the same
bytes both ways (the Pillow path forced by disabling the fast one) and compares pixels,
alpha, notes, metadata and format — or the error kind and message — and asserts which
files take the fast path, so that the comparison is not vacuous.
"""
from __future__ import annotations

import io
import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image, ImageCms, PngImagePlugin

from keyframe import decode as dec

RNG = np.random.default_rng(7)
_PLAIN = dec._plain_png


def _photo(h: int = 96, w: int = 120, channels: int = 3) -> np.ndarray:
    """Smooth gradients plus noise: every byte value and a non-trivial PNG filter choice."""
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([(x * 255 // max(1, w - 1)), (y * 255 // max(1, h - 1)),
                     ((x + y) * 3) % 256, (x * y) % 256][:channels], axis=-1)
    noise = RNG.integers(-20, 21, base.shape)
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def _png(im: Image.Image, **kw) -> bytes:
    bio = io.BytesIO()
    im.save(bio, "PNG", **kw)
    return bio.getvalue()


def _chunk(ctype: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + ctype + body + struct.pack(">I", zlib.crc32(ctype + body))


def _after_ihdr(data: bytes, chunk: bytes) -> bytes:
    return data[:33] + chunk + data[33:]           # signature (8) + IHDR (25)


def _both(data: bytes, monkeypatch) -> tuple[object, object, bool]:
    """(fast-path result, Pillow-path result, whether the fast path decoded it)."""
    calls = []

    def spy(*args):
        out = _PLAIN(*args)
        calls.append(out is not None)
        return out

    def run():
        try:
            return dec.decode(data, name="x.png", max_pixels=None)
        except dec.ImageError as exc:
            return exc
    monkeypatch.setattr(dec, "_plain_png", spy)
    fast = run()
    monkeypatch.setattr(dec, "_plain_png", lambda *args: None)
    slow = run()
    return fast, slow, any(calls)


def _assert_same(a, b) -> None:
    if isinstance(b, dec.ImageError):
        assert isinstance(a, dec.ImageError) and (a.kind, str(a)) == (b.kind, str(b))
        return
    assert a.rgb.dtype == b.rgb.dtype == np.uint8 and a.rgb.shape == b.rgb.shape
    assert np.array_equal(a.rgb, b.rgb)
    assert a.rgb.flags.c_contiguous and not a.rgb.flags.writeable
    assert (a.alpha is None) == (b.alpha is None)
    if a.alpha is not None:
        assert np.array_equal(a.alpha, b.alpha) and not a.alpha.flags.writeable
    assert (a.format, a.notes, a.raw) == (b.format, b.notes, b.raw)


def _text_info() -> PngImagePlugin.PngInfo:
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "a cat, Steps: 20, Sampler: Euler, Seed: 1")
    info.add_itxt("prompt", '{"3": {"class_type": "KSampler"}}', zip=True)
    info.add(b"gAMA", struct.pack(">I", 45455))
    info.add(b"tEXt", b"Software\x00Fast Test")
    return info


def _plain_cases() -> dict[str, bytes]:
    rgb, rgba = _photo(), _photo(channels=4)
    opaque = rgba.copy()
    opaque[..., 3] = 255
    blank = rgb.copy()
    blank[-1] = 0
    return {
        "rgb": _png(Image.fromarray(rgb)),
        "rgb_odd_size": _png(Image.fromarray(_photo(37, 251))),
        "rgba": _png(Image.fromarray(rgba)),
        "rgba_opaque": _png(Image.fromarray(opaque)),
        "rgb_text_gamma": _png(Image.fromarray(rgb), pnginfo=_text_info()),
        "rgb_blank_last_row": _png(Image.fromarray(blank)),
        "rgb_opencv": cv2.imencode(".png", rgb[..., ::-1])[1].tobytes(),
        "rgb_srgb_chunk": _after_ihdr(_png(Image.fromarray(rgb)), _chunk(b"sRGB", b"\x00")),
    }


def _other_cases() -> dict[str, bytes]:
    rgb = _photo()
    gray = rgb[..., 0]
    exif = Image.Exif()
    exif[0x0112] = 6
    xyz = ImageCms.ImageCmsProfile(ImageCms.createProfile("XYZ")).tobytes()
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    pal = Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE, colors=64)
    pal_t = pal.copy()
    pal_t.info["transparency"] = 3
    sixteen = cv2.imencode(".png", (rgb.astype(np.uint16) * 257)[..., ::-1])[1].tobytes()
    good = _png(Image.fromarray(rgb))
    bad_idat = bytearray(good)
    at = good.index(b"IDAT")
    (n,) = struct.unpack(">I", good[at - 4:at])
    bad_idat[at + 4 + n] ^= 0xFF                    # the IDAT chunk's CRC
    # a clean zlib stream of the first 40 of 96 rows (filter byte 0 each): the rest missing
    short = zlib.compress(b"".join(b"\x00" + row.tobytes() for row in rgb[:40]))
    head = good[:good.index(b"IDAT") - 4]
    short_png = head + _chunk(b"IDAT", short) + _chunk(b"IEND", b"")
    xmp = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description '
           'tiff:Orientation="6"/></rdf:RDF></x:xmpmeta>')
    xmp_info = PngImagePlugin.PngInfo()
    xmp_info.add_itxt("XML:com.adobe.xmp", xmp)
    jpeg = io.BytesIO()
    Image.fromarray(rgb).save(jpeg, "JPEG", exif=exif.tobytes(), quality=90)
    return {
        "gray": _png(Image.fromarray(gray)),
        "gray_alpha": _png(Image.fromarray(np.stack([gray, gray[::-1]], -1), "LA")),
        "palette": _png(pal),
        "palette_transparency": _png(pal_t),
        "rgb_transparency_key": _png(Image.fromarray(rgb), transparency=(1, 2, 3)),
        "rgb16": sixteen,
        "gray16": cv2.imencode(".png", gray.astype(np.uint16) * 257)[1].tobytes(),
        "icc_xyz": _png(Image.fromarray(rgb), icc_profile=xyz),
        "icc_srgb": _png(Image.fromarray(rgb), icc_profile=srgb),
        "exif_rotated_png": _png(Image.fromarray(rgb), exif=exif.tobytes()),
        "xmp_rotated_png": _png(Image.fromarray(rgb), pnginfo=xmp_info),
        "text_after_idat": good[:-12] + _chunk(b"tEXt", b"Software\x00late") + good[-12:],
        "exif_rotated_jpeg": jpeg.getvalue(),
        "bad_idat_crc": bytes(bad_idat),
        "truncated_file": good[: len(good) // 2],
        "idat_too_short": short_png,
        "trailing_garbage_after_iend": good + b"garbage",
    }


@pytest.mark.parametrize("case", sorted(_plain_cases()))
def test_plain_png_fast_and_identical(case, monkeypatch):
    fast, slow, took = _both(_plain_cases()[case], monkeypatch)
    assert took, f"{case}: expected the libpng path"
    _assert_same(fast, slow)


@pytest.mark.parametrize("case", sorted(_other_cases()))
def test_other_files_take_pillows_path(case, monkeypatch):
    data = _other_cases()[case]
    fast, slow, took = _both(data, monkeypatch)
    _assert_same(fast, slow)
    if case not in ("trailing_garbage_after_iend",):
        assert not took, f"{case}: must go through Pillow"


def test_blank_last_row_keeps_truncation_error(monkeypatch):
    """Image data that ends early (rows left black) is still ``truncated``, not decoded."""
    fast, slow, _ = _both(_other_cases()["idat_too_short"], monkeypatch)
    assert isinstance(slow, dec.ImageError) and slow.kind == "truncated"
    _assert_same(fast, slow)


def test_a_damaged_stream_with_good_crcs_is_one_error_and_no_libpng_line(monkeypatch, capfd):
    """Every chunk's CRC recomputed over a scrambled zlib stream: the file passes the plain
    test, libpng refuses it — and prints "libpng error: …" on fd 2 itself, which must not
    reach a batch's output —, and Pillow's path gives the loader's one error."""
    data = _png(Image.fromarray(_photo()))
    out, pos = bytearray(data[:8]), 8
    while pos < len(data):
        n = struct.unpack(">I", data[pos:pos + 4])[0]
        ctype, body = data[pos + 4:pos + 8], bytearray(data[pos + 8:pos + 8 + n])
        if ctype == b"IDAT":
            body[20:200] = bytes(b ^ 0x5A for b in body[20:200])
        out += _chunk(ctype, bytes(body))
        pos += 12 + n
    capfd.readouterr()
    fast, slow, tried = _both(bytes(out), monkeypatch)
    assert tried is False and isinstance(fast, dec.ImageError)   # libpng refused: Pillow's
    _assert_same(fast, slow)
    assert "libpng" not in capfd.readouterr().err


def test_real_pngs_identical(shared_data, samples_dir, monkeypatch):
    """Every PNG of ../shared/data and samples/: the same decode both ways."""
    files = sorted(shared_data.rglob("*.png")) + sorted(samples_dir.rglob("*.png"))
    assert files
    fast_count = 0
    for f in files:
        fast, slow, took = _both(f.read_bytes(), monkeypatch)
        _assert_same(fast, slow)
        fast_count += took
    assert fast_count >= len(files) // 2
