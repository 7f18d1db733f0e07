"""Reframe: target aspect and size, protected boxes never cut, canvas extended when needed."""
from __future__ import annotations

import numpy as np
import pytest

from helpers import scene
from keyframe.fixes.reframe import HEADROOM, Reframe, salient_box
from keyframe.report import Measurement


def run(rgb, **params):
    return Reframe().apply(rgb, Reframe.validate(params))


def test_size_and_input_untouched():
    rgb = scene(500)
    before = rgb.copy()
    out = run(rgb, width=320, height=180)
    assert out.shape == (180, 320, 3) and np.array_equal(rgb, before)


def test_crop_keeps_protected_box():
    rgb = np.zeros((300, 1000, 3), np.uint8)
    rgb[100:200, 800:900] = 255
    out = run(rgb, width=300, height=300, protect=[[800, 100, 100, 100]])
    assert out.shape == (300, 300, 3)
    assert (out > 200).all(axis=2).sum() == 100 * 100          # the whole square, uncut


def test_extends_when_crop_would_cut():
    rgb = np.full((300, 1000, 3), 90, np.uint8)
    rgb[:, 100:900] = 200
    out = run(rgb, width=500, height=500, protect=[[100, 0, 800, 300]])
    assert out.shape == (500, 500, 3)
    bright = (out[:, :, 0] > 150).any(axis=0)
    assert bright.sum() >= 0.75 * 500                          # subject spans the width


def test_crop_mode_refuses_to_cut():
    with pytest.raises(ValueError, match="cut"):
        run(scene(300), width=100, height=300, mode="crop", protect=[[0, 0, 300, 300]])


def test_margin_moves_subject_off_the_edge():
    rgb = scene(300)
    out = run(rgb, margin=0.1, protect=[[0, 100, 50, 50]])
    assert out.shape[1] > 300


def test_salient_box_finds_the_object():
    rgb = np.zeros((300, 1000, 3), np.uint8)
    rgb[100:200, 800:900] = 255
    x, y, w, h = salient_box(rgb)
    assert x < 850 < x + w and y < 150 < y + h


@pytest.mark.parametrize("shape, aspect, box, axis", [
    ((1000, 1000), (16, 9), (450, 100, 100, 800), 0),   # a tall object, a wide target
    ((1000, 1000), (9, 16), (100, 450, 800, 100), 1),   # a wide object, a tall target
])
def test_trim_crops_to_the_kept_box_before_extending(shape, aspect, box, axis):
    rgb = np.zeros(shape + (3,), np.uint8)
    x, y, w, h = box
    rgb[y:y + h, x:x + w] = 255
    size = {"width": 40 * aspect[0], "height": 40 * aspect[1], "protect": [list(box)]}
    plain = Reframe().layout(rgb, Reframe.validate(size))
    params = {**size, "trim": True}
    lay = Reframe().layout(rgb, Reframe.validate(params))
    out = Reframe().apply(rgb, Reframe.validate(params))
    # the kept box and 5 % of the side around it stay; the invented bands are narrower
    start, length = lay.crop[1 - axis], lay.crop[3 - axis]
    lo, extent = box[1 - axis], box[3 - axis]
    assert (start, length) == (lo - 50, extent + 100)
    assert plain.crop == (0, 0) + shape[::-1] and 0 < sum(lay.pad) < sum(plain.pad)
    cx, cy, cw, ch = lay.crop                                  # the whole object, uncut
    assert cx <= x and x + w <= cx + cw and cy <= y and y + h <= cy + ch
    assert out.shape == (40 * aspect[1], 40 * aspect[0], 3)


def test_the_planned_trim_keeps_headroom_beyond_a_person_box():
    """The Flux girl-in-field's person box (y 189, 826 tall on a 1024 square) for Veo: her
    hair bun rises 94 px above it. The planner's ``headroom`` (HEADROOM of the box's extent,
    99 px, more than the 5 % of the side) keeps it; the recorded default (0) trims as
    recipes made before it did (51 px)."""
    rgb = np.full((1024, 1024, 3), 120, np.uint8)
    size = {"width": 1280, "height": 720, "protect": [[273, 189, 488, 826]], "trim": True}
    planned = Reframe.plan_params(Measurement("aspect_mismatch", 1.0, "", measurements={
        "target_width": 1280, "target_height": 720, "subject_x": 273, "subject_y": 189,
        "subject_w": 488, "subject_h": 826, "subject_from_regions": 1}))
    assert planned["headroom"] == HEADROOM and planned["trim"] is True
    lay = Reframe().layout(rgb, Reframe.validate(planned))
    assert lay.crop[1] == 189 - round(HEADROOM * 826) <= 189 - 94
    old = Reframe().layout(rgb, Reframe.validate(size))
    assert old.crop[1] == 189 - 51
    assert lay.invented > old.invented         # the room costs a little more invented canvas


def test_trim_off_keeps_recorded_recipes_as_they_were():
    rgb = scene(400)
    params = {"width": 320, "height": 180, "protect": [[150, 20, 100, 360]]}
    lay = Reframe().layout(rgb[:, :300], Reframe.validate(params))
    assert lay.crop[1] == 0 and lay.crop[3] == 400            # no crop before extending


def test_the_invented_share_of_an_extension_is_said():
    rgb = np.full((1024, 1024, 3), 120, np.uint8)
    lay = Reframe().layout(rgb, Reframe.validate(
        {"width": 1280, "height": 720, "protect": [[0, 0, 1024, 1024]]}))
    assert lay.pad == (0, 0, 398, 398)
    assert abs(lay.invented - (1 - 1024 / 1820)) < 1e-9
    assert "(44% of the frame invented)" in lay.describe()
    crop = Reframe().layout(rgb, Reframe.validate({"width": 1280, "height": 720, "mode": "crop"}))
    assert crop.invented == 0.0 and "invented" not in crop.describe()


def _person_crop(box, shape=(1000, 1000), aspect=(16, 9), headroom=HEADROOM):
    rgb = np.full(shape + (3,), 120, np.uint8)
    w = 1280 if aspect[0] > aspect[1] else 720
    params = Reframe.validate({"width": w, "height": w * aspect[1] // aspect[0],
                               "protect": [list(box)], "trim": True, "headroom": headroom})
    return Reframe().layout(rgb, params)


def _holds(crop, box):
    x, y, w, h = crop
    bx, by, bw, bh = box
    return x <= bx and y <= by and bx + bw <= x + w and by + bh <= y + h


def test_a_crop_keeps_headroom_above_a_person_box_when_the_frame_has_room():
    """A 300-row person box at row 500 of a 1000-row square, cropped to 16:9 (562 rows):
    centred on the box the window starts at row 369; it starts 12 % of the box (36 rows)
    above the box's top at least, and holds the box whole."""
    box = (400, 500, 200, 300)
    lay = _person_crop(box)
    assert lay.crop[3] == 562 and not any(lay.pad) and _holds(lay.crop, box)
    assert lay.crop[1] <= 500 - round(HEADROOM * 300)
    assert lay.note == ""


def test_the_window_shifts_to_keep_the_headroom():
    """A box touching the crop's bottom if centred: 480 rows from row 80 (the window holds
    562): centring it on the box alone left 41 rows above; with the room asked above
    (58 rows) the window shifts up to row 22, the box still whole."""
    box = (400, 80, 200, 480)
    old = _person_crop(box, headroom=0.0)
    lay = _person_crop(box)
    assert old.crop[1] == 80 - 41 and _holds(old.crop, box)
    assert lay.crop[1] == 80 - round(HEADROOM * 480) and _holds(lay.crop, box)
    assert lay.note == ""


def test_a_window_too_short_for_box_and_headroom_keeps_the_box_and_says_so():
    """A 540-row box in a 562-row crop: 22 rows of room in all (65 were asked above): 21
    above (HEAD_P95 of the box), 1 below; the box is never cut, and the layout says what
    it kept."""
    box = (400, 300, 200, 540)
    lay = _person_crop(box)
    assert _holds(lay.crop, box) and lay.crop[1] == 300 - 21
    assert "keeps 21 of the 65 rows asked above the protected box" in lay.describe()


def test_a_short_window_keeps_room_below_the_feet_too():
    """The COCO skier (000000000785: box rows 54-385 of 425, a 360-row Veo crop): 29 spare
    rows; all of them above cut her ski binding. Now 13 above (HEAD_P95), 9 below
    (FOOT_P95), the other 7 above."""
    lay = _person_crop((278, 54, 214, 331), shape=(425, 640))
    assert lay.crop[1] == 54 - 20 and lay.crop[1] + 360 - (54 + 331) == 9


def test_no_headroom_where_the_frame_has_none():
    """A box at the very top: nothing above it to keep, no note (the crop is not short)."""
    box = (400, 0, 200, 300)
    lay = _person_crop(box)
    assert lay.crop[1] == 0 and _holds(lay.crop, box) and lay.note == ""


@pytest.mark.parametrize("x", [0, 100, 380, 700, 820])
def test_a_portrait_crop_keeps_the_box_whole_and_room_beside_it(x):
    box = (x, 100, 180, 800)
    lay = _person_crop(box, aspect=(9, 16))
    cx, _, cw, _ = lay.crop
    assert _holds(lay.crop, box) and not any(lay.pad)
    room = round(HEADROOM * 180)
    assert cx <= max(0, x - room) and min(1000, x + 180 + room) <= cx + cw
