"""grid_artifact's periodic patterns (period 2..32 px) and degrid, on images made in code."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from checks.artifact import grid
from keyframe.fixes.degrid import Degrid
from tests.helpers import add_noise, img, nondecreasing, photo, scene
from keyframe_dev.data import checker
from keyframe_dev.textures import texture_images

PERIODS = (2, 4, 8, 16, 32)


def measure(rgb: np.ndarray):
    return grid.measure_grid_artifact(img(rgb))


@pytest.mark.parametrize("period", PERIODS)
def test_ladder_per_period(period):
    """2, 4, 8, 16 grey levels from dark to light: monotone, found at the right period, and
    a 2-level pattern is already above zero (the latent-stride case of issue 14)."""
    base = photo("astronaut")
    ms = [measure(checker(base, lv, period)) for lv in (0, 2, 4, 8, 16)]
    sev = [m.severity for m in ms]
    assert nondecreasing(sev, tol=0.02), sev
    assert sev[0] < 0.1 and sev[1] > 0.25 and sev[3] >= 0.75, sev
    assert ms[2].measurements["period_x"] == period == ms[2].measurements["period_y"]


@pytest.mark.parametrize("period", (8, 16))
def test_faint_latent_grid_on_textured_content(period):
    """A 2-level pattern at the latent stride shows on a busy photo too."""
    base = photo("chelsea")             # fur: a textured picture
    assert measure(base).severity < 0.1
    assert measure(checker(base, 2, period)).severity >= 0.25


@pytest.mark.parametrize("period", (8, 16))
def test_same_pattern_alike_across_sizes(period):
    sev = [measure(checker(scene(n), 4, period)).severity for n in (512, 1024, 2048, 4096)]
    assert max(sev) - min(sev) <= 0.15, sev


def test_local_pattern_has_a_region():
    base = photo("astronaut")
    rgb = base.copy()
    rgb[:256, :256] = checker(base, 4, 8)[:256, :256]
    m = measure(rgb)
    assert m.severity >= 0.5, m.message
    x, y, w, h = m.region
    assert x < 64 and y < 64 and x + w <= 320 and y + h <= 320, m.region
    assert measure(checker(base, 4, 8)).region is None     # over the whole frame: no region


def test_small_pictures_say_which_periods_they_cannot_judge():
    """Issue 14: a picture too small to hold enough repetitions of a period cannot judge a
    faint pattern of that period; it says so ("cannot judge", not "clean"), the judged range
    grows with the size, and a strong pattern is still found on a small picture."""
    fur = photo("chelsea")
    judged = []
    for n in (160, 224, 320, 512, 1024):
        small = cv2.resize(fur, (n, n * 2 // 3), interpolation=cv2.INTER_AREA)
        m = measure(small)
        judged.append(m.measurements["judged_up_to"])
        assert (judged[-1] < 32) == ("cannot judge" in m.message), (n, m.message)
        assert m.measurements["faintest_at_32"] > 2.0 or judged[-1] == 32, m.measurements
    assert nondecreasing(judged, tol=0) and judged[1] < 32 and judged[-1] == 32, judged
    crop = cv2.resize(fur, (224, 149), interpolation=cv2.INTER_AREA)
    assert measure(add_noise(crop, 8)).measurements["judged_up_to"] < judged[1]
    assert measure(checker(crop, 8, 32)).severity >= 0.5


@pytest.mark.parametrize("name", sorted(texture_images()))
def test_textures_are_not_grids(name):
    """Brick, grass, gravel (scikit-image) and fabric, knit, fence, tiled floor, halftone
    screens (keyframe_dev/textures.py) stay below minor."""
    assert measure(texture_images()[name]).severity < 0.25, name


@pytest.mark.parametrize("period", (2, 4, 8, 16))
@pytest.mark.parametrize("name", ("coffee", "astronaut"))
def test_degrid_mends_each_period(period, name):
    """degrid, planned from the measurement, takes the pattern below minor and leaves the
    picture much closer to the clean one than the pattern left it (8/16: the latent stride).
    32 px is found but not always mended (docs/checks.md: grid_artifact)."""
    base = photo(name)
    for lv in (2, 8):
        rgb = checker(base, lv, period)
        m = measure(rgb)
        out = Degrid().apply(rgb, Degrid.validate(Degrid.plan_params(m)))
        assert measure(out).severity < 0.25, (period, lv)
        err = np.abs(out.astype(float) - np.clip(base + lv / 2, 0, 255)).mean()
        assert err < 0.3 * lv / 2 + 0.5, (period, lv, err)     # the pattern's own: lv / 2


def _shifted(rgb: np.ndarray) -> np.ndarray:
    """``rgb`` moved one pixel right and down, same size (scripts/calibrate/stability.py)."""
    return np.ascontiguousarray(np.pad(rgb, ((1, 0), (1, 0), (0, 0)), mode="edge")[:-1, :-1])


def test_seam_reading_survives_a_one_pixel_shift(shared_data):
    # issue 13 (stable scores): 32-row bands fixed from row 0 and a hard z >= 5 read this
    # 512-px generation's content as a 56-px seam of 3.5 grey levels (0.57, major) and as
    # nothing (0.08) after a 1-px shift
    from PIL import Image
    rgb = np.asarray(Image.open(shared_data / "pal4vst/demo_test_data/text2image_sd/images/"
                                "0324.jpg").convert("RGB"))
    a, b = measure(rgb).severity, measure(_shifted(rgb)).severity
    assert abs(a - b) <= 0.05 and (a >= 0.25) == (b >= 0.25), (a, b)


@pytest.mark.parametrize("amp", [3, 6])
def test_real_seams_keep_their_level_under_a_shift(amp):
    rgb = photo("coffee").astype(np.float32)
    rgb[:, 63::64] += amp
    rgb[63::64, :] += amp
    rgb = np.clip(rgb, 0, 255).astype(np.uint8)
    a, b = measure(rgb).severity, measure(_shifted(rgb)).severity
    assert a >= 0.25 and abs(a - b) <= 0.05, (a, b)
