"""Anatomy codes under changes nobody can see (issue 13, stable scores), on real pictures of
../shared/data with the real models: each test is a level change that
scripts/calibrate/anatomy_stability.py found and a fix in checks/anatomy removed. Skipped
when the data or the models are absent."""
from __future__ import annotations

import numpy as np

from checks.anatomy import AnatomyCheck
from keyframe.profiles import load_profile
from tests.helpers import img, read_rgb


def _noise(rgb: np.ndarray, seed: int) -> np.ndarray:
    """+-1 grey level of uniform noise (scripts/calibrate/anatomy_stability.py's)."""
    step = np.random.default_rng(seed).integers(-1, 2, rgb.shape)
    return np.clip(rgb.astype(np.int16) + step, 0, 255).astype(np.uint8)


def _severity(rgb: np.ndarray, code: str) -> float:
    return next(m.severity for m in AnatomyCheck().measure(img(rgb)) if m.code == code)


def test_a_pose_flag_that_jitters_past_its_gate_keeps_pose_missing_limb(shared_models,
                                                                         shared_data):
    """COCO 000000040083 (two children, real): the smaller one's pose flag reads 0.57 on the
    picture and 0.60 after +-1 grey level (seed 3). On the 0.5 -> 0.6 flag ramp that took
    its hidden arm from a third to all of pose_missing_limb, 0.13 -> 0.33 (none -> minor,
    past the gate's margin); on the joints' 0.5 -> 0.8 ramp it moves by less than 0.05."""
    rgb = read_rgb(shared_data / "mmpose_testdata/tests/data/coco/000000040083.jpg")
    rule = load_profile("default").rule("pose_missing_limb")
    a = _severity(rgb, "pose_missing_limb")
    b = _severity(_noise(rgb, 3), "pose_missing_limb")
    assert abs(a - b) < 0.05 and rule.level(a) == rule.level(b), (a, b)
