"""The profile's geometry limits hold for the keyframe, not for each step: the gate carries
what the kept steps enlarged and invented (keyframe.step_geometry.History)."""
from __future__ import annotations

import numpy as np

from keyframe.fixes.reframe import Layout
from keyframe.recipe import make_step
from keyframe.step_geometry import History, invented_with, over_limits


def test_a_second_extension_counts_the_bands_the_first_one_left():
    """A 600x600 picture extended left and right to 16:9 invents 44 % of a 1067x600 frame;
    a second reframe of that keyframe that adds 20 % of its own invents 55 % in all, over
    the default's 50 %, though each step alone is under it."""
    first = Layout(crop=(0, 0, 600, 600), pad=(0, 0, 233, 234), size=(1067, 600),
                   source=(600, 600))
    h1 = History().after(first, (600, 1067, 3), first.scale)
    assert abs(h1.share() - first.invented) < 0.01 and abs(h1.share() - 0.438) < 0.01
    second = Layout(crop=(0, 0, 1067, 600), pad=(0, 0, 134, 133), size=(1334, 600),
                    source=(1067, 600))
    assert abs(second.invented - 0.2) < 0.01
    total = invented_with(h1, second)
    assert abs(total - (1 - 0.562 * 0.8)) < 0.01                 # 55 %
    # a second step that crops the first one's bands away invents only its own
    inner = Layout(crop=(233, 0, 600, 600), pad=(0, 0, 0, 0), size=(600, 600),
                   source=(1067, 600))
    assert invented_with(h1, inner) == 0.0
    assert History().after(inner, (600, 600, 3), 1.0).invented is None


def test_over_limits_refuses_what_the_steps_add_up_to():
    """Through a real reframe step: the same 16:9 extension of a square picture is allowed
    on a fresh picture and refused once earlier steps invented most of the frame, or
    enlarged it x1.9 already (x2 allowed)."""
    rgb = np.full((600, 600, 3), 100, np.uint8)
    step = make_step("reframe", {"width": 1280, "height": 720, "mode": "extend"})
    why, layout = over_limits(step, rgb, max_enlarge=2.0, max_invented=0.5)
    assert why == "" and 0.4 < layout.invented < 0.5
    mask = np.zeros((600, 600), bool)
    mask[:, :150] = True                                          # a quarter invented before
    why, _ = over_limits(step, rgb, max_enlarge=2.0, max_invented=0.5,
                         history=History(1.0, mask))
    assert why.startswith("would invent") and "counting the 25% earlier steps invented" in why
    why, _ = over_limits(step, rgb, max_enlarge=2.0, max_invented=0.5,
                         history=History(1.9, None))
    assert why.startswith("would enlarge the picture x2.") and "earlier steps' x1.90" in why


def test_an_export_counts_the_bands_the_gate_already_added():
    """A 480x512 keyframe whose sides the gate already extended (a tenth of it invented)
    and an SVD export (16:9 only) that extends it again (47 % of its frame): the export is a
    first frame made from the source too, so the two add up (52 %) and it is refused with
    the figure; the same keyframe with nothing invented before exports."""
    import pytest
    from skimage import data

    from keyframe.exports import ExportError, make_export
    from keyframe.targets import load_target

    pic = np.ascontiguousarray(data.astronaut()[:, :480])             # 480x512
    svd = load_target("svd")
    box = [[0, 0, 480, 512]]
    done = make_export(pic, svd, protect=box, max_invented=0.5)
    assert (done.width, done.height) == (1024, 576) and "invented" in done.note
    mask = np.zeros(pic.shape[:2], bool)
    mask[:, :24] = mask[:, -24:] = True
    with pytest.raises(ExportError, match=r"5\d% of its frame would be invented as a blurred "
                                          r"mirror, counting what the gate's steps did"):
        make_export(pic, svd, protect=box, max_invented=0.5, history=History(1.0, mask))
