"""noise (checks/artifact/noise.py): behaviour on synthetic and real images."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
import skimage.data

from keyframe import views
from keyframe.image import LoadedImage
from checks.artifact import noise
from helpers import add_noise, live_ladders, read_rgb, scene

CLEAN = {n: getattr(skimage.data, n)() for n in ("astronaut", "coffee", "chelsea")}


def meas(rgb):
    return noise.measure_noise(LoadedImage(rgb=np.ascontiguousarray(rgb, dtype=np.uint8)))


@pytest.mark.parametrize("name", sorted(CLEAN) + ["rocket"])
def test_clean_photos_low(name):
    rgb = CLEAN.get(name)
    rgb = getattr(skimage.data, name)() if rgb is None else rgb
    m = meas(rgb)
    assert m.severity < 0.25, m
    assert m.measurements["sigma"] >= 0


def test_clean_synthetic_low():
    assert meas(scene(768)).severity < 0.25


def test_sigma_estimate_tracks_added_noise():
    # the same (grey) noise in all channels: luma std is 10 grey levels
    grey = add_noise(np.full((512, 512, 1), 120, np.uint8), 10)
    m = meas(np.repeat(grey, 3, axis=2))
    assert 8.5 < m.measurements["sigma"] < 11.5, m.measurements


def test_noise_ladder_increasing():
    rgb = CLEAN["astronaut"]
    sev = [meas(rgb).severity] + [meas(add_noise(rgb, s)).severity for s in (2, 5, 10, 20, 40)]
    assert all(a <= b for a, b in zip(sev, sev[1:])), sev
    assert sev[2] < sev[3] < sev[4], sev
    assert sev[0] < 0.25 and sev[4] >= 0.5 and sev[5] >= 0.8, sev


def test_blur_does_not_read_as_noise():
    for s in (1, 3, 8):
        assert meas(cv2.GaussianBlur(CLEAN["coffee"], (0, 0), s)).severity < 0.25


def test_canonical_scale_decides_severity():
    # the same per-pixel noise is less visible on a bigger image (downsized for video)
    small = add_noise(np.full((1024, 1024, 3), 120, np.uint8), 10)
    big = add_noise(np.full((2048, 2048, 3), 120, np.uint8), 10)
    ms, mb = meas(small), meas(big)
    assert abs(ms.measurements["sigma"] - mb.measurements["sigma"]) < 1.5
    assert mb.severity < ms.severity


@pytest.mark.parametrize("degrade", [None, 6.0])
def test_same_content_similar_across_sizes(degrade):
    sevs = []
    for n in (512, 1024, 2048, 4096):
        rgb = scene(n)
        if degrade:  # noise at the canonical (video) scale: per-pixel std grows with size
            rgb = add_noise(rgb, degrade * max(1.0, n / 1024))
        sevs.append(meas(rgb).severity)
    assert max(sevs) - min(sevs) <= 0.15, sevs


@pytest.mark.parametrize("shape", [(1, 1), (2, 5), (16, 16), (300, 200)])
def test_constant_image_is_zero(shape):
    m = meas(np.full((*shape, 3), 200, np.uint8))
    assert m.severity == 0.0


def test_live_wnoise_monotone_in_psnr(shared_data):
    ladders = live_ladders(shared_data, "wnoise")
    assert ladders
    for name, paths in ladders.items():
        sev = [meas(read_rgb(p)).severity for p in paths]
        assert all(a <= b + 1e-6 for a, b in zip(sev, sev[1:])), (name, sev)
        assert sev[-1] >= 0.8, (name, sev)


def test_comfyui_clean_generations(shared_data):
    root = shared_data / "comfyui_examples"
    files = [p for d in ("flux", "sdxl", "sd3", "sdturbo", "stable_cascade", "hypernetworks")
             for p in sorted((root / d).glob("*.png"))]
    assert files
    for p in files:
        assert meas(read_rgb(p)).severity < 0.25, p.name


def test_blur_dataset_not_noisy(shared_data):
    for p in sorted((shared_data / "blur_dataset_kwentar" / "samples").iterdir()):
        assert meas(read_rgb(p)).severity < 0.25, p.name


@pytest.mark.parametrize("amplitude", [2.0, 4.0, 8.0])
def test_checkerboard_is_not_noise(amplitude):
    """A period-2 decoder checkerboard is grid_artifact's; the wide kernel keeps it out of
    the noise estimate, while the same energy as white noise is still seen."""
    rgb = skimage.data.coffee().astype(np.float32)
    yy, xx = np.indices(rgb.shape[:2])
    board = np.where((xx + yy) % 2 == 0, amplitude, -amplitude)[..., None]
    checker = np.clip(rgb + board, 0, 255).astype(np.uint8)
    noisy = np.clip(rgb + np.random.default_rng(0).normal(0, amplitude, rgb.shape), 0, 255)
    assert meas(checker).severity < 0.25
    clean = meas(rgb.astype(np.uint8)).measurements["sigma"]
    # the wide kernel reads a little more texture than the 3x3 one: within a grey level
    assert meas(checker).measurements["sigma"] < clean + 1.0
    if amplitude >= 4:
        assert meas(noisy.astype(np.uint8)).severity >= 0.25


def test_a_frame_of_texture_reads_its_noise_where_it_is_flat():
    """Noise covers the whole frame, so it is read where the frame is flattest: a lawn
    (scikit-image's grass) with a smooth patch of a sixteenth of the frame, as the FreiHand
    composites of ../shared/data have a motion-blurred hand on a lawn, reads no noise (the
    flattest fifth read the lawn: 0.71), and noise added all over is still read, rising."""
    g = np.repeat(skimage.data.grass()[..., None], 3, axis=2)
    h, w = g.shape[:2]
    smooth = cv2.GaussianBlur(g, (0, 0), 6)
    patch = (slice(h // 3, h // 3 + h // 4), slice(w // 3, w // 3 + w // 4))
    g[patch] = smooth[patch]
    sevs = [meas(g).severity] + [meas(add_noise(g, s)).severity for s in (4, 8, 16)]
    assert sevs[0] < 0.25 and sevs[1] >= 0.25 and sevs[2] >= 0.5, sevs
    assert all(a < b for a, b in zip(sevs, sevs[1:])), sevs


def test_separable_passes_equal_the_2d_kernels():
    """The noise estimator filters with two 1-D passes; on integer pixels they must give the
    2-D kernels' response exactly (fails if the taps or the border differ)."""
    p = np.random.default_rng(3).integers(0, 256, (67, 81, 3)).astype(np.float32)
    for taps, kernel in ((noise._TAPS, noise._KERNEL), (noise._TAPS_WIDE, noise._KERNEL_WIDE)):
        sep = cv2.sepFilter2D(p, cv2.CV_32F, taps, taps, borderType=cv2.BORDER_REFLECT)
        full = cv2.filter2D(p, cv2.CV_32F, kernel, borderType=cv2.BORDER_REFLECT)
        assert np.array_equal(sep, full)


def test_native_and_canonical_luma_share_their_blocks_only_when_one_plane():
    """Up to 1024 px the canonical luma is the native one: its block estimates are made once
    and read by both; above, the two are separate planes with their own estimates."""
    small = LoadedImage(rgb=add_noise(scene(512), 6.0))
    noise.measure_noise(small)
    assert "noise.blocks.gray_u8" in small.cache
    assert np.array_equal(small.cache["noise.blocks.gray_u8"],
                          noise._block_sigmas(small.cache["gray_u8"]))
    big = LoadedImage(rgb=add_noise(np.full((900, 1400, 3), 120.0), 6.0))
    m = noise.measure_noise(big)
    luma = views.gray_at(big)
    assert luma is not views.gray_u8(big)
    assert m.measurements["sigma_canonical"] == pytest.approx(
        float(noise._sigma(luma, floor=True)[0]), abs=1e-5)
