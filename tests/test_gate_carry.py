"""The gate carries over a check's measurements when a whole-frame filter left its declared
support pixel for pixel as it was (keyframe/carry.py), and measures again otherwise."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from checks.artifact import banding
from keyframe.carry import carried_over
from keyframe.gate import gate
from keyframe.image import from_array
from keyframe.profiles import load_profile
from keyframe.recipe import make_step
from keyframe.registry import Check
from keyframe.report import Measurement, Report
from test_artifact_tonal import radial

#: the default profile without its required artifact check (the stand-ins measure alone)
PROFILE = dataclasses.replace(load_profile("default"), required_checks=())


class Banding(Check):
    name = "banding_only"
    codes = ("banding",)

    def measure(self, image, ctx=None):
        return [banding.measure_banding(image)]


class Wobbly(Check):
    """A stand-in for a detector that reads the same people differently on every call
    (0 on the first, major after), with its support declared at ``box``."""

    name = "wobbly"
    codes = ("pose_missing_limb",)

    def __init__(self, box):
        self.box, self.calls = box, 0

    def measure(self, image, ctx=None):
        self.calls += 1
        return [Measurement("pose_missing_limb", 0.0 if self.calls == 1 else 0.6, "stand-in")]

    def support(self, measurements):
        return [self.box]


def picture() -> np.ndarray:
    """A banded sky over a field of texture that deband does not touch."""
    rgb = np.zeros((512, 512, 3), np.uint8)
    rgb[:256] = radial(16, 512, 256)
    rgb[256:] = np.random.default_rng(0).integers(40, 216, (256, 512, 3))
    return rgb


def test_a_filter_that_leaves_the_people_untouched_keeps_their_reading():
    wobbly = Wobbly((100, 320, 200, 160))          # in the texture: deband leaves it alone
    res = gate(from_array(picture(), name="x.png"), profile=PROFILE,
               checks=[Banding(), wobbly])
    assert [(a.step.fix, a.kept) for a in res.attempts] == [("deband", True)], res.attempts
    assert res.verdict == "certified" and wobbly.calls == 1


def test_a_filter_that_touches_the_support_is_measured_again():
    wobbly = Wobbly((100, 40, 200, 160))           # in the sky deband smooths
    res = gate(from_array(picture(), name="x.png"), profile=PROFILE,
               checks=[Banding(), wobbly])
    assert wobbly.calls == 2
    assert not res.attempts[0].kept and res.verdict != "certified"


@pytest.mark.parametrize("fix, params", [("crop_border", {"top": 4, "bottom": 0, "left": 0,
                                                           "right": 0}),
                                          ("erase", {"region": "0,0,8,8"})])
def test_geometry_steps_and_fills_are_always_measured_again(fix, params):
    rgb = picture()
    report = Report(path="x", sha256="0" * 64, width=512, height=512, measurements={
        "pose_missing_limb": Measurement("pose_missing_limb", 0.0, "x", check="wobbly")})
    step = make_step(fix, params)
    after = rgb.copy()
    after[:8, :8] = 0
    assert carried_over(step, rgb, after, report, [Wobbly((100, 320, 200, 160))]) == {}


def _anatomy(persons: int, faces: int, hands: int) -> dict[str, Measurement]:
    def boxes(prefix, n):
        return {f"{prefix}{i}_{k}": v for i in range(1, min(n, 4) + 1)
                for k, v in zip("xywh", (100 * i, 50, 40, 80))}
    return {"subject_cut_off": Measurement("subject_cut_off", 0.0, "x", measurements={
                "persons": persons, **boxes("person", persons)}),
            "face_too_small": Measurement("face_too_small", 0.0, "x", measurements={
                "faces": faces, **boxes("face", faces)}),
            "hand_malformed": Measurement("hand_malformed", 0.0, "x", measurements={
                "hands": hands, **boxes("hand", hands)})}


def test_the_anatomy_support_is_its_people_with_their_crop_margins():
    from checks.anatomy import AnatomyCheck
    check = AnatomyCheck()
    got = check.support(_anatomy(2, 1, 3))
    assert len(got) == 6
    x, y, w, h = got[0]                     # person 1: 40x80 box, a square 1.3x its side
    assert (w, h) == pytest.approx((104, 104)) and x + w / 2 == pytest.approx(120)
    # no person found, or more than the measurements list: the whole frame
    assert check.support(_anatomy(0, 1, 0)) is None
    assert check.support(_anatomy(5, 1, 0)) is None
    assert check.support(_anatomy(2, 1, 9)) is None
