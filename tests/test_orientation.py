"""A near-square picture's orientation for a target taking 16:9 and 9:16 comes from its
subject (or the orientation every requested target shares), not from a 0.6 % aspect
difference: 1075x1082, 1082x1075 and 1024x1024 of one composition get one orientation."""
from __future__ import annotations

import numpy as np
import pytest

from checks.framing import FramingCheck
from helpers import scene
from keyframe.image import from_array
from keyframe.registry import Context
from keyframe.report import Measurement
from keyframe.targets import NEAR_SQUARE, load_target, shared_orientations

SIZES = [(1075, 1082), (1082, 1075), (1024, 1024)]


def scaled(box, w, h):
    """A box given on a 1000 x 1000 frame, at ``w`` x ``h``."""
    x, y, bw, bh = box
    return round(x * w / 1000), round(y * h / 1000), round(bw * w / 1000), round(bh * h / 1000)


TALL = (400, 100, 220, 820)             # a standing person
WIDE = (60, 380, 880, 400)              # a group, a landscape object


@pytest.mark.parametrize("box, want", [(TALL, (720, 1280)), (WIDE, (1280, 720)),
                                       (None, (1280, 720))])
def test_near_square_sizes_agree_on_the_orientation(box, want):
    veo = load_target("veo")
    got = {(w, h): veo.output_size(w, h, subject=scaled(box, w, h) if box else None)
           for w, h in SIZES}
    assert set(got.values()) == {want}, got


def test_without_a_subject_the_first_aspect_is_the_default_whatever_the_rounding():
    veo = load_target("veo")
    # before: 1075x1082 became 9:16 by nearest log ratio, 1082x1075 and 1:1 16:9
    assert {veo.output_size(w, h) for w, h in SIZES} == {(1280, 720)}


def test_a_squarish_subject_says_nothing():
    veo = load_target("veo")
    assert veo.output_size(1075, 1082, subject=(300, 300, 450, 500)) == (1280, 720)


def test_the_shared_orientation_wins_over_the_subject():
    veo, svd = load_target("veo"), load_target("svd")
    shared = shared_orientations([veo, svd])
    assert shared == ("landscape",)
    assert veo.output_size(1024, 1024, subject=scaled(TALL, 1024, 1024),
                           orientations=shared) == (1280, 720)
    assert shared_orientations([veo]) == ()
    assert shared_orientations([veo, load_target("kling")]) == ("landscape", "portrait")


def test_the_aspect_decides_outside_the_near_square_band():
    veo = load_target("veo")
    w = round(1000 * np.exp(NEAR_SQUARE + 0.01))           # just outside: landscape by aspect
    assert veo.output_size(w, 1000, subject=(400, 50, 200, 900)) == (1280, 720)
    assert veo.output_size(1000, w, subject=(50, 400, 900, 200)) == (720, 1280)


def test_a_target_taking_square_keeps_it():
    for name in ("kling", "luma-ray2", "runway-gen4"):
        t = load_target(name)
        W, H = t.output_size(1075, 1082, subject=scaled(TALL, 1075, 1082))
        assert W == H, name


def _framing(w, h, person, orientations=()):
    rgb = np.ascontiguousarray(np.resize(scene(max(w, h)), (h, w, 3)))
    prior = {"subject_cut_off": Measurement("subject_cut_off", 0.0, "", region=person)}
    ctx = Context(target="veo", prior=prior, orientations=orientations)
    found = {m.code: m for m in FramingCheck().measure(from_array(rgb, name="x.png"), ctx)}
    v = found["aspect_mismatch"].measurements
    return v["target_width"], v["target_height"]


@pytest.mark.parametrize("w, h", SIZES)
def test_the_framing_check_plans_the_subjects_orientation(w, h):
    assert _framing(w, h, scaled(TALL, w, h)) == (720, 1280)
    assert _framing(w, h, scaled(WIDE, w, h)) == (1280, 720)
    assert _framing(w, h, scaled(TALL, w, h), ("landscape",)) == (1280, 720)


def test_the_aspect_finding_says_the_orientation_it_frames():
    rgb = np.full((1082, 1075, 3), 100, np.uint8)
    prior = {"subject_cut_off": Measurement("subject_cut_off", 0.0, "",
                                            region=scaled(WIDE, 1075, 1082))}
    found = FramingCheck().measure(from_array(rgb, name="x.png"),
                                   Context(target="veo", prior=prior))
    m = {f.code: f for f in found}["aspect_mismatch"]
    assert "nearest accepted 0.562; framed 1.778" in m.message
