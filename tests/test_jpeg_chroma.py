"""jpeg_blocking's chroma term and deblock's chroma pass (issue 13: a q=8 JPEG was certified
with its 16-px colour blocks, because the measure and the fix were luma-only)."""
from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from checks.artifact import compression
from helpers import clean_generations, img, photo, read_rgb
from keyframe.fixes.deblock import Deblock
from keyframe.gate import gate
from keyframe.image import from_array
from keyframe.profiles import load_profile


def pil_jpeg(rgb: np.ndarray, q: int) -> np.ndarray:
    """Pillow's JPEG (4:2:0 chroma, as most encoders and the sample) decoded back."""
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=q)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def chroma_sev(rgb: np.ndarray) -> float:
    return compression.measure_jpeg_blocking(img(rgb)).measurements["chroma_severity"]


def residual(after: np.ndarray, clean: np.ndarray) -> float:
    """Chroma block excess of the difference from the clean picture (the eval's oracle)."""
    return compression.chroma_block_grid(after.astype(np.float32)
                                         - clean.astype(np.float32))["excess"]


@pytest.mark.parametrize("name", ("astronaut", "coffee"))
def test_chroma_ladder_monotone(name):
    sevs = [chroma_sev(pil_jpeg(photo(name), q)) for q in (90, 75, 50, 30, 15, 8, 5)]
    assert all(b >= a - 0.02 for a, b in zip(sevs, sevs[1:])), sevs
    assert sevs[0] < 0.25, sevs
    assert sevs[5] >= 0.5 and sevs[6] >= 0.5, sevs


def mosaic(name: str, side: int) -> np.ndarray:
    """A native-resolution photo mirror-tiled to side x side: the same pixel statistics at
    any size (a resized photo has other content per block)."""
    p = photo(name)
    row = np.concatenate([p, p[:, ::-1]] * (side // (2 * p.shape[1]) + 1), axis=1)
    full = np.concatenate([row, row[::-1]] * (side // (2 * p.shape[0]) + 1), axis=0)
    return np.ascontiguousarray(full[:side, :side])


@pytest.mark.parametrize("name", ("coffee", "astronaut"))
def test_chroma_size_invariance(name):
    sevs = {side: [chroma_sev(pil_jpeg(mosaic(name, side), q)) for q in (50, 30, 15, 8)]
            for side in (512, 1536)}
    for a, b in zip(sevs[512], sevs[1536]):
        assert abs(a - b) <= 0.15, sevs
    assert min(sevs[512][3], sevs[1536][3]) >= 0.5, sevs


@pytest.mark.parametrize("name", ("astronaut", "coffee", "chelsea", "rocket"))
def test_clean_photo_no_chroma_alarm(name):
    assert chroma_sev(photo(name)) < 0.25


def test_colour_edges_on_the_grid_by_chance_are_no_blocking():
    # flat colour patches whose edges all sit on the 16-px grid, over a tenth of the blocks:
    # a chart or a UI in the picture, not compression
    rgb = photo("coffee").copy()
    rng = np.random.default_rng(1)
    h, w = rgb.shape[:2]
    for _ in range(6):
        y, x = 16 * rng.integers(1, h // 16 - 6), 16 * rng.integers(1, w // 16 - 6)
        hh, ww = 16 * rng.integers(2, 5), 16 * rng.integers(2, 5)
        rgb[y:y + hh, x:x + ww] = rng.integers(0, 256, 3)
    m = compression.measure_jpeg_blocking(img(rgb))
    assert m.measurements["chroma_severity"] < 0.25, m.measurements
    assert m.severity < 0.25, m.measurements


def test_clean_generations_no_chroma_alarm(shared_data):
    paths = clean_generations(shared_data)
    assert paths
    for p in paths:
        assert chroma_sev(read_rgb(p)) < 0.25, p.name


@pytest.mark.parametrize("name", ("astronaut", "coffee"))
def test_deblock_chroma_removes_colour_blocks(name):
    clean = photo(name)
    j = pil_jpeg(clean, 8)
    luma_only = Deblock().apply(j, Deblock.Params(strength=1.0))
    both = Deblock().apply(j, Deblock.Params(strength=1.0, chroma=1.0))
    # the luma taper alone leaves the colour blocks: the bug
    assert chroma_sev(luma_only) >= 0.5
    assert chroma_sev(both) < 0.5 and chroma_sev(both) < chroma_sev(luma_only) - 0.3
    assert residual(both, clean) <= compression._CHROMA_ZERO
    # luma untouched by the chroma pass (up to rounding, and clipping where a colour is at
    # the end of the range)
    y = np.array([0.299, 0.587, 0.114])
    assert np.percentile(np.abs((both.astype(float) - luma_only.astype(float)) @ y), 99) <= 1.0


def test_deblock_chroma_does_not_bleed_across_luma_edges():
    # a bright red field beside a dark blue one, the edge off the block grid
    rgb = np.zeros((128, 160, 3), np.uint8)
    rgb[:, :77] = (200, 40, 40)
    rgb[:, 77:] = (20, 30, 110)
    rgb = cv2.GaussianBlur(rgb, (0, 0), 0.7)
    j = pil_jpeg(rgb, 8)
    out = Deblock().apply(j, Deblock.Params(strength=1.0, chroma=1.0))
    for x in (72, 82):   # 5 px either side of the edge
        err_j = np.abs(j[:, x].astype(float) - rgb[:, x]).mean()
        err_o = np.abs(out[:, x].astype(float) - rgb[:, x]).mean()
        assert err_o <= err_j + 2.0, (x, err_j, err_o)


@pytest.mark.parametrize("name", ("astronaut", "coffee"))
def test_gate_on_q8_jpeg_leaves_no_colour_blocks(name):
    clean = photo(name)
    j = pil_jpeg(clean, 8)
    res = gate(from_array(j, name=f"{name}-q8.jpg"), profile=load_profile("default"))
    if res.verdict == "certified":
        assert residual(res.image.rgb, clean) <= compression._CHROMA_ZERO
        assert chroma_sev(res.image.rgb) < 0.5


@pytest.mark.parametrize("shape", [(1, 1), (5, 40), (40, 5), (20, 20), (24, 100)])
def test_deblock_chroma_on_tiny_pictures(shape):
    rgb = np.random.default_rng(0).integers(0, 256, shape + (3,), dtype=np.uint8)
    out = Deblock().apply(rgb, Deblock.Params(strength=1.0, chroma=1.0))
    assert out.shape == rgb.shape and out.dtype == np.uint8
    m = compression.measure_jpeg_blocking(img(rgb))
    assert 0.0 <= m.severity <= 1.0
