"""keyframe.image: every input is built here in code (Pillow / numpy / OpenCV into tmp_path)."""
from __future__ import annotations

import io
import json
import os
import struct
import time
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageCms

from keyframe.image import (DEFAULT_MAX_PIXELS, ImageError, LoadedImage, encode_png, load,
                            load_bytes, sha256_bytes)


def _gradient(h: int = 48, w: int = 64) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 255 // (w - 1), y * 255 // (h - 1), (x + y) % 256], -1).astype(np.uint8)


def _save(tmp_path: Path, name: str, im: Image.Image, fmt: str | None = None, **kw) -> Path:
    path = tmp_path / name
    im.save(path, fmt, **kw)
    return path


def _png_header(width: int, height: int) -> bytes:
    """A PNG that is only a signature, an IHDR claiming width x height, and IEND."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2,
                                                              0, 0, 0)) + chunk(b"IEND", b""))


def _swapped_rg_profile() -> bytes:
    """A minimal ICC v2 RGB display profile whose red and green colorants are sRGB's green and
    red: a pixel stored as pure red means sRGB pure green."""
    def s15(v: float) -> bytes:
        return struct.pack(">i", round(v * 65536))

    def xyz(x: float, y: float, z: float) -> bytes:
        return b"XYZ " + b"\0" * 4 + s15(x) + s15(y) + s15(z)

    name = b"Swapped RG test\0"
    desc = (b"desc" + b"\0" * 4 + struct.pack(">I", len(name)) + name + b"\0" * 8
            + b"\0\0\0" + b"\0" * 67)
    curve = b"curv" + b"\0" * 4 + struct.pack(">I", 1) + struct.pack(">H", 0x0233) + b"\0\0"
    tags = [(b"desc", desc), (b"wtpt", xyz(0.9642, 1.0, 0.8249)),
            (b"rXYZ", xyz(0.3851, 0.7169, 0.0971)), (b"gXYZ", xyz(0.4361, 0.2225, 0.0139)),
            (b"bXYZ", xyz(0.1431, 0.0606, 0.7141)), (b"rTRC", curve), (b"gTRC", curve),
            (b"bTRC", curve), (b"cprt", b"text" + b"\0" * 4 + b"none\0\0\0\0")]
    offset = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for sig, data in tags:
        data += b"\0" * (-len(data) % 4)
        table += sig + struct.pack(">II", offset + len(body), len(data))
        body += data
    size = offset + len(body)
    header = (struct.pack(">I", size) + b"\0" * 4 + struct.pack(">I", 0x02100000) + b"mntr"
              + b"RGB XYZ " + struct.pack(">6H", 2024, 1, 1, 0, 0, 0) + b"acsp" + b"\0" * 24
              + struct.pack(">I", 0) + s15(0.9642) + s15(1.0) + s15(0.8249) + b"\0" * 48)
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + body


def _check_invariants(li: LoadedImage) -> None:
    assert isinstance(li, LoadedImage)
    assert li.rgb.dtype == np.uint8 and li.rgb.ndim == 3 and li.rgb.shape[2] == 3
    assert li.rgb.flags.c_contiguous and not li.rgb.flags.writeable
    if li.alpha is not None:
        assert li.alpha.shape == li.rgb.shape[:2] and li.alpha.dtype == np.uint8
        assert not li.alpha.flags.writeable
    json.dumps({"notes": li.notes, "provenance": li.provenance})


# ------------------------------------------------------------------------------ formats

@pytest.mark.parametrize("fmt,ext,kw,exact", [
    ("PNG", "png", {}, True), ("TIFF", "tif", {}, True), ("BMP", "bmp", {}, True),
    ("WEBP", "webp", {"lossless": True}, True), ("JPEG", "jpg", {"quality": 95}, False),
    ("WEBP", "webp", {"quality": 90}, False)])
def test_round_trip_formats(tmp_path, fmt, ext, kw, exact):
    arr = _gradient()
    path = _save(tmp_path, f"a.{ext}", Image.fromarray(arr), fmt, **kw)
    li = load(path)
    _check_invariants(li)
    assert li.format == fmt and li.rgb.shape == arr.shape and li.alpha is None
    assert li.path == str(path) and li.file_size == path.stat().st_size
    assert li.sha256 == sha256_bytes(path.read_bytes())
    diff = np.abs(li.rgb.astype(int) - arr).max()
    assert diff == 0 if exact else diff < 40
    assert li.notes == []


def test_load_accepts_pathlike_and_str(tmp_path):
    path = _save(tmp_path, "a.png", Image.fromarray(_gradient()))
    assert load(str(path)).sha256 == load(path).sha256 == load_bytes(path.read_bytes()).sha256


def test_original_file_unchanged(tmp_path):
    path = _save(tmp_path, "a.png", Image.fromarray(_gradient()), exif=Image.Exif())
    before, mtime = path.read_bytes(), path.stat().st_mtime_ns
    load(path)
    assert path.read_bytes() == before and path.stat().st_mtime_ns == mtime


# ------------------------------------------------------------------------ conversions

def test_exif_orientation_6_rotates(tmp_path):
    arr = np.full((64, 96, 3), 255, np.uint8)
    arr[:16, :16] = (255, 0, 0)                       # marker at stored top-left
    exif = Image.Exif()
    exif[0x0112] = 6
    path = _save(tmp_path, "o.jpg", Image.fromarray(arr), "JPEG", quality=95, exif=exif.tobytes())
    li = load(path)
    assert li.rgb.shape == (96, 64, 3)               # rotated 90° clockwise for display
    r, g, b = li.rgb[8, 56].astype(int)               # marker now at the top-right
    assert r > 200 and g < 60 and b < 60
    assert li.rgb[8, 8].min() > 200                   # top-left is white
    assert any("EXIF orientation 6 applied" in n for n in li.notes)


def test_icc_non_srgb_profile_converted(tmp_path):
    arr = np.zeros((8, 8, 3), np.uint8)
    arr[:, :4] = (255, 0, 0)
    arr[:, 4:] = (0, 0, 255)
    path = _save(tmp_path, "p.png", Image.fromarray(arr), icc_profile=_swapped_rg_profile())
    li = load(path)
    assert any("converted from ICC profile 'Swapped RG test' to sRGB" in n for n in li.notes)
    r, g, b = li.rgb[0, 0].astype(int)
    assert g > 230 and r < 30 and b < 30               # stored red was sRGB green
    assert li.rgb[0, 7, 2] > 230 and li.rgb[0, 7, :2].max() < 30


def test_icc_srgb_is_a_no_op(tmp_path):
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    arr = _gradient()
    li = load(_save(tmp_path, "s.png", Image.fromarray(arr), icc_profile=srgb))
    assert li.notes == [] and np.array_equal(li.rgb, arr)


def test_icc_broken_profile_noted_and_ignored(tmp_path):
    arr = _gradient()
    li = load(_save(tmp_path, "b.png", Image.fromarray(arr), icc_profile=b"not a profile" * 20))
    assert np.array_equal(li.rgb, arr)
    assert any("ICC profile could not be read" in n and "ignored" in n for n in li.notes)


def test_16bit_gray_png_scaled(tmp_path):
    g = np.array([[65535, 32768, 0, 256]], np.uint16)
    path = tmp_path / "g16.png"
    cv2.imwrite(str(path), g)
    li = load(path)
    assert li.rgb[0, :, 0].tolist()[0] == 255 and abs(int(li.rgb[0, 1, 0]) - 128) <= 1
    assert li.rgb[0, 2, 0] == 0 and li.rgb[0, 3, 0] == 1
    assert (li.rgb[..., 0] == li.rgb[..., 2]).all()
    assert any("16-bit" in n and "8-bit" in n for n in li.notes)


@pytest.mark.parametrize("ext", ["png", "tif"])
def test_16bit_rgb_scaled(tmp_path, ext):
    a = np.zeros((4, 4, 3), np.uint16)
    a[0, 0] = 65535
    a[0, 1] = 32768
    a[0, 2] = (0, 0, 65535)                          # OpenCV order: BGR → red
    path = tmp_path / f"rgb16.{ext}"
    cv2.imwrite(str(path), a)
    li = load(path)
    assert li.rgb[0, 0].tolist() == [255, 255, 255]
    assert np.abs(li.rgb[0, 1].astype(int) - 128).max() <= 1
    assert li.rgb[0, 2].tolist() == [255, 0, 0]
    assert "16-bit per channel reduced to 8-bit" in li.notes


def test_float_tiff_scaled_from_unit_range(tmp_path):
    f = np.array([[0.0, 0.5, 1.0]], np.float32)
    li = load(_save(tmp_path, "f.tif", Image.fromarray(f, "F")))
    assert li.rgb[0, :, 1].tolist() == [0, 128, 255]
    assert any("float" in n and "[0, 1]" in n for n in li.notes)


def test_palette_with_transparency_gives_alpha(tmp_path):
    im = Image.new("P", (6, 4), 1)
    im.putpalette([0, 0, 0, 255, 0, 0] + [0] * (254 * 3))
    im.putpixel((0, 0), 0)
    li = load(_save(tmp_path, "p.png", im, transparency=0))
    _check_invariants(li)
    assert li.has_alpha and li.alpha[0, 0] == 0 and li.alpha[1, 1] == 255
    assert li.rgb[1, 1].tolist() == [255, 0, 0]
    assert any("palette" in n and "transparency" in n for n in li.notes)


def test_palette_without_transparency(tmp_path):
    im = Image.fromarray(_gradient()).convert("P")
    li = load(_save(tmp_path, "p.png", im))
    assert li.alpha is None and "converted from palette (P) to RGB" in li.notes


def test_la_keeps_alpha_plane(tmp_path):
    la = np.zeros((4, 5, 2), np.uint8)
    la[..., 0] = 100
    la[..., 1] = np.arange(5) * 60
    li = load(_save(tmp_path, "la.png", Image.fromarray(la, "LA")))
    assert li.rgb[0, 0].tolist() == [100, 100, 100]
    assert li.alpha[0].tolist() == [0, 60, 120, 180, 240]
    assert any("grayscale + alpha (LA)" in n for n in li.notes)


def test_cmyk_jpeg(tmp_path):
    im = Image.new("CMYK", (32, 32), (0, 255, 255, 0))
    li = load(_save(tmp_path, "c.jpg", im, "JPEG", quality=95))
    r, g, b = li.rgb[16, 16].astype(int)
    assert r > 230 and g < 30 and b < 30
    assert "converted from CMYK to RGB" in li.notes


def test_grayscale(tmp_path):
    g = np.tile(np.arange(0, 256, 4, dtype=np.uint8), (3, 1))
    li = load(_save(tmp_path, "g.png", Image.fromarray(g, "L")))
    assert np.array_equal(li.rgb[..., 0], g) and np.array_equal(li.rgb[..., 2], g)
    assert "converted from grayscale (L) to RGB" in li.notes


def test_one_bit(tmp_path):
    im = Image.new("1", (4, 4), 1)
    li = load(_save(tmp_path, "b.png", im))
    assert (li.rgb == 255).all() and any("1-bit" in n for n in li.notes)


def test_alpha_fully_opaque_dropped(tmp_path):
    rgba = np.dstack([_gradient(), np.full((48, 64), 255, np.uint8)])
    li = load(_save(tmp_path, "a.png", Image.fromarray(rgba, "RGBA")))
    assert li.alpha is None and "alpha channel fully opaque: dropped" in li.notes


def test_alpha_kept_when_not_opaque(tmp_path):
    rgba = np.dstack([_gradient(), np.full((48, 64), 255, np.uint8)])
    rgba[0, 0, 3] = 10
    li = load(_save(tmp_path, "a.png", Image.fromarray(rgba, "RGBA")))
    assert li.has_alpha and li.alpha[0, 0] == 10 and np.array_equal(li.rgb, rgba[..., :3])


def test_animated_gif_first_frame(tmp_path):
    frames = [Image.new("RGB", (16, 16), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    path = tmp_path / "a.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=50, loop=0)
    li = load(path)
    assert li.format == "GIF" and li.rgb[8, 8].tolist() == [255, 0, 0]
    assert "animated GIF with 3 frames: first frame used" in li.notes


def test_png_parameters_become_provenance(tmp_path):
    from PIL.PngImagePlugin import PngInfo
    info = PngInfo()
    info.add_text("parameters", "a red fox\nNegative prompt: blurry\nSteps: 30, "
                                "Sampler: DPM++ 2M, CFG scale: 6.5, Seed: 42, Size: 64x48")
    li = load(_save(tmp_path, "m.png", Image.fromarray(_gradient()), pnginfo=info))
    assert li.provenance["generator"] == "AUTOMATIC1111"
    assert li.provenance["seed"] == 42 and li.provenance["negative_prompt"] == "blurry"


def test_jpeg_exif_usercomment_unicode_parsed(tmp_path):
    exif = Image.Exif()
    exif[0x0131] = "SomeTool"
    text = "a cat\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 5"
    exif.get_ifd(0x8769)[0x9286] = b"UNICODE\0" + text.encode("utf-16-be")
    li = load(_save(tmp_path, "u.jpg", Image.fromarray(_gradient()), "JPEG", exif=exif.tobytes()))
    assert li.provenance["prompt"] == "a cat" and li.provenance["seed"] == 5


def test_exif_software_and_description(tmp_path):
    exif = Image.Exif()
    exif[0x0131] = "Midjourney"
    exif[0x010E] = "a lighthouse at dusk"
    li = load(_save(tmp_path, "d.jpg", Image.fromarray(_gradient()), "JPEG", exif=exif.tobytes()))
    assert li.provenance == {"generator": "Midjourney", "description": "a lighthouse at dusk"}


# ------------------------------------------------------------------------------ bad input

def test_pixel_cap_from_header_is_fast(tmp_path):
    path = tmp_path / "huge.png"
    path.write_bytes(_png_header(100_000, 100_000))
    t0 = time.perf_counter()
    with pytest.raises(ImageError) as err:
        load(path)
    assert time.perf_counter() - t0 < 0.5
    assert err.value.kind == "too_large" and "huge.png" in str(err.value)


def test_pixel_cap_ours_below_pillows(tmp_path):
    path = tmp_path / "big.png"
    path.write_bytes(_png_header(8000, 8000))          # 64 MP: over our 50 MP default
    with pytest.raises(ImageError) as err:
        load(path)
    msg = str(err.value)
    assert err.value.kind == "too_large"
    assert "8000x8000" in msg and f"{DEFAULT_MAX_PIXELS:,}" in msg and "--max-pixels" in msg


def test_pixel_cap_option(tmp_path):
    path = _save(tmp_path, "a.png", Image.fromarray(_gradient()))
    with pytest.raises(ImageError) as err:
        load(path, max_pixels=1000)
    assert err.value.kind == "too_large"
    assert load(path, max_pixels=None).width == 64


def test_zero_byte(tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(ImageError) as err:
        load(tmp_path / "empty.png")
    assert err.value.kind == "zero_byte"


def test_random_bytes_not_an_image(tmp_path):
    (tmp_path / "noise.png").write_bytes(np.random.default_rng(1).bytes(4096))
    with pytest.raises(ImageError) as err:
        load(tmp_path / "noise.png")
    assert err.value.kind == "not_an_image"


def test_text_file_not_an_image(tmp_path):
    (tmp_path / "notes.jpg").write_text("hello, I am not a picture\n" * 20)
    with pytest.raises(ImageError) as err:
        load(tmp_path / "notes.jpg")
    assert err.value.kind == "not_an_image"


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_truncated(tmp_path, fmt):
    arr = np.random.default_rng(0).integers(0, 255, (128, 128, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, fmt)
    data = buf.getvalue()
    path = tmp_path / f"cut.{fmt.lower()}"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError) as err:
        load(path)
    assert err.value.kind == "truncated" and "cut." in str(err.value)


def test_damaged_pixel_data_is_corrupt(tmp_path):
    arr = np.random.default_rng(0).integers(0, 255, (128, 128, 3), dtype=np.uint8)
    data = bytearray(encode_png(arr))
    data[1000] ^= 0xFF
    (tmp_path / "bad.png").write_bytes(bytes(data))
    with pytest.raises(ImageError) as err:
        load(tmp_path / "bad.png")
    assert err.value.kind == "corrupt" and "bad.png" in str(err.value)


def test_png_signature_without_header_is_corrupt(tmp_path):
    (tmp_path / "sig.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 4)
    with pytest.raises(ImageError) as err:
        load(tmp_path / "sig.png")
    assert err.value.kind == "corrupt" and "PNG" in str(err.value)


def test_not_found(tmp_path):
    with pytest.raises(ImageError) as err:
        load(tmp_path / "missing.png")
    assert err.value.kind == "not_found"


def test_directory_unreadable(tmp_path):
    (tmp_path / "adir.png").mkdir()
    with pytest.raises(ImageError) as err:
        load(tmp_path / "adir.png")
    assert err.value.kind == "unreadable"


def _bad_inputs(tmp_path: Path) -> list[Path]:
    (tmp_path / "e.png").write_bytes(b"")
    (tmp_path / "t.png").write_text("x\ny\n")
    (tmp_path / "h.png").write_bytes(_png_header(9000, 9000))
    noisy = np.random.default_rng(2).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    (tmp_path / "c.png").write_bytes(encode_png(noisy)[:3000])
    (tmp_path / "d.png").mkdir()
    return [tmp_path / n for n in ("e.png", "t.png", "h.png", "c.png", "d.png", "nope.png")]


def test_error_messages_one_line_and_name_the_file(tmp_path):
    kinds = set()
    for path in _bad_inputs(tmp_path):
        with pytest.raises(ImageError) as err:
            load(path)
        msg = str(err.value)
        assert "\n" not in msg and str(path) in msg, msg
        kinds.add(err.value.kind)
    assert kinds == {"zero_byte", "not_an_image", "too_large", "truncated", "unreadable",
                     "not_found"}


def test_pillow_global_state_untouched():
    from PIL import ImageFile
    import keyframe.image  # noqa: F401
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    assert Image.MAX_IMAGE_PIXELS == int(1024 * 1024 * 1024 // 4 // 3)


def test_image_error_folds_newlines():
    assert str(ImageError("corrupt", "a\nb\r\nc")) == "a b c"


# ------------------------------------------------------------------------------ encoding

def test_encode_png_deterministic_and_exact():
    arr = _gradient()
    data = encode_png(arr)
    assert data == encode_png(arr.copy())
    li = load_bytes(data, name="x.png")
    assert np.array_equal(li.rgb, arr) and li.notes == [] and li.path == "x.png"
    assert li.sha256 == sha256_bytes(data) and li.file_size == len(data)
    for chunk in (b"tEXt", b"tIME", b"iTXt", b"zTXt", b"pHYs"):
        assert chunk not in data


def test_encode_png_accepts_read_only_and_non_contiguous():
    li = load_bytes(encode_png(_gradient()))
    view = li.rgb[:, ::2]
    assert np.array_equal(load_bytes(encode_png(view)).rgb, view)


@pytest.mark.parametrize("bad", [np.zeros((4, 4), np.uint8), np.zeros((4, 4, 4), np.uint8),
                                 np.zeros((4, 4, 3), np.float32), np.zeros((0, 4, 3), np.uint8)])
def test_encode_png_rejects_bad_arrays(bad):
    with pytest.raises(ValueError):
        encode_png(bad)


def test_sha256_bytes():
    assert sha256_bytes(b"") == ("e3b0c44298fc1c149afbf4c8996fb924"
                                 "27ae41e4649b934ca495991b7852b855")


def test_loaded_image_from_memory_defaults():
    li = load_bytes(encode_png(_gradient(10, 12)))
    assert li.path == "<memory>" and (li.width, li.height) == (12, 10) and not li.has_alpha
    assert os.fspath(li.path) == "<memory>"
