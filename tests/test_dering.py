"""deblock's dering pass: the JPEG's ringing beside strong edges is smoothed out inside the
8 x 8 blocks that hold them, by as much as the estimated quantisation step allows."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from checks.artifact.compression import measure_jpeg_blocking
from checks.artifact.sharpness import measure_oversharpened
from helpers import img, photo
from keyframe.fixes._common import LUMA
from keyframe.fixes.deblock import Deblock
from keyframe.fixes.dering import dering, quant_step

FREIHAND = Path(__file__).resolve().parents[2] / "shared" / "data" / "mmpose_testdata" \
    / "tests" / "data" / "freihand" / "00050180.jpg"


def pil_jpeg(rgb: np.ndarray, q: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=q)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def edge_picture() -> np.ndarray:
    """A dark / bright vertical edge (60 -> 190) a few px into its blocks, on a faint ramp."""
    h, w = 256, 256
    x = np.arange(w)[None, :].repeat(h, axis=0).astype(np.float32)
    base = np.where((x % 32) < 13, 60.0, 190.0) + 0.05 * x
    return np.clip(np.rint(base), 0, 255).astype(np.uint8)[..., None].repeat(3, axis=2)


def ringing(rgb: np.ndarray, clean: np.ndarray) -> float:
    """Mean |luma − clean luma| within 4 px of the edges, on their flat sides (not the
    transition pixels themselves)."""
    d = np.abs(rgb.astype(np.float32) @ LUMA - clean.astype(np.float32) @ LUMA)
    xs = np.arange(rgb.shape[1]) % 32
    beside = ((xs >= 9) & (xs <= 11)) | ((xs >= 14) & (xs <= 17))
    return float(d[:, beside].mean())


def contrast(rgb: np.ndarray) -> float:
    y = rgb.astype(np.float32) @ LUMA
    return float(np.median(y[:, 20::32]) - np.median(y[:, 8::32]))


def run_dering(rgb: np.ndarray, amount: float) -> np.ndarray:
    f = rgb.astype(np.float32)
    dering(f, 8, amount)
    return np.clip(np.rint(f), 0, 255).astype(np.uint8)


def test_quant_step_reads_the_jpeg_table():
    y = photo("astronaut").astype(np.float32) @ LUMA
    steps = [quant_step(pil_jpeg(photo("astronaut"), q).astype(np.float32) @ LUMA, 8)
             for q in (75, 50, 30)]
    # IJG luma table: (0, 1) = 11, (1, 0) = 12, scaled by 50 % / 100 % / 167 %
    assert steps == pytest.approx([5.75, 11.5, 18.5], abs=1.0)
    assert quant_step(y, 8) == 0.0                       # no JPEG history: no step


def test_edge_ringing_drops_and_edge_kept():
    clean = edge_picture()
    jpg = pil_jpeg(clean, 30)
    out = run_dering(jpg, 1.0)
    assert ringing(jpg, clean) > 1.0                     # the JPEG does ring
    assert ringing(out, clean) < 0.7 * ringing(jpg, clean)
    assert abs(contrast(out) - contrast(clean)) <= 2.0


def test_stronger_setting_removes_more_ringing():
    clean = edge_picture()
    jpg = pil_jpeg(clean, 30)
    r = [ringing(run_dering(jpg, a), clean) for a in (0.0, 0.5, 1.0)]
    assert r[0] > r[1] > r[2], r


def test_constant_and_clean_pictures_unchanged():
    flat = np.full((64, 64, 3), 117, np.uint8)
    assert np.array_equal(run_dering(flat, 1.0), flat)
    clean = photo("astronaut")
    assert np.array_equal(run_dering(clean, 1.0), clean)   # no step found: untouched


def test_old_recipes_replay_without_dering():
    assert Deblock.Params().dering == 0.0
    jpg = pil_jpeg(edge_picture(), 30)
    old = Deblock().apply(jpg, Deblock.Params(strength=0.8))
    new = Deblock().apply(jpg, Deblock.Params(strength=0.8, dering=0.0))
    assert np.array_equal(old, new)


@pytest.mark.skipif(not FREIHAND.exists(), reason="FreiHAND test picture not installed")
def test_freihand_q8_deblocked_reads_no_more_ringing_than_clean():
    clean = np.asarray(Image.open(FREIHAND).convert("RGB"))
    jpg = pil_jpeg(clean, 8)
    params = Deblock.plan_params(measure_jpeg_blocking(img(jpg)))
    assert params["dering"] == 1.0
    out = Deblock().apply(jpg, Deblock.Params(**params))
    halo = [measure_oversharpened(img(a)).measurements["halo"] for a in (clean, jpg, out)]
    assert halo[1] > halo[0] + 0.03                      # the JPEG reads its ringing
    assert halo[2] <= halo[0] + 0.01, halo
    plain = Deblock().apply(jpg, Deblock.Params(**dict(params, dering=0.0)))
    mse = [np.mean((a.astype(np.float64) - clean) ** 2) for a in (plain, out)]
    assert mse[1] <= mse[0], mse               # no further from the clean picture
