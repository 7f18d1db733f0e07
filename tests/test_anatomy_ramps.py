"""Anatomy severities move continuously with the detectors' own numbers (issue 13, stable
scores): a detection that crosses one of the gates the detectors apply (a pose flag of 0.5,
a person score, a face's 24 px, a hand's presence or palm score, a close-up's bottom edge)
when the picture moves by a pixel moves a severity by little instead of adding or removing
a whole item. Each test reads an item just below and just above its former hard line, and
a ladder across it. Synthetic detections; no model runs here."""
from __future__ import annotations

import numpy as np
import pytest

from checks.anatomy import confidence, people, severities
from checks.anatomy.detect import PERSON_SCORE, Face
from tests.test_people import H, W, face_on, hand_at, skeleton

#: how much an item may move across a former hard line (it moved by a whole item, 0.25-0.5)
STEP = 0.03


def unsure(persons, faces=(), hands=()) -> float:
    """The summed weight of the uncertainty items of one accounting."""
    acc = people.account(list(persons), list(faces), list(hands), width=W, height=H)
    return sum(i.strength for i in acc.issues if i.kind == "uncertain")


def nondecreasing(values) -> bool:
    return all(b >= a - 1e-9 for a, b in zip(values, values[1:]))


def test_a_person_whose_pose_flag_crosses_valid_moves_the_sum_by_little():
    """sdXL_hug_05: a pose flag of 0.50 read 0.49 after a 1-px shift; the skeleton stopped
    counting and took a "neither face nor hand" item (0.25) with it. Lost pose and unread
    person now meet at the flag's gate."""
    below = unsure([skeleton(500, 150, 500, flag=0.49)])
    above = unsure([skeleton(500, 150, 500, flag=0.51)])
    assert abs(below - above) < STEP
    lost = [unsure([skeleton(500, 150, 500, flag=f)]) for f in (0.45, 0.3, 0.1, 0.0)]
    assert nondecreasing(lost) and lost[-1] == pytest.approx(people.UNSURE_WEIGHT)
    unread = [unsure([skeleton(500, 150, 500, flag=f)]) for f in (0.55, 0.6, 0.7, 1.0)]
    assert nondecreasing(unread) and unread[-1] == pytest.approx(people.UNVERIFIED_WEIGHT)


def test_a_hand_off_the_arm_counts_as_surely_as_the_skeleton_it_was_matched_against():
    """The hand 4 palm lengths from the wrist of a skeleton whose flag is 0.50 is not a whole
    item; on a sure skeleton it is."""
    def hand_off(flag):
        body = skeleton(500, 100, 600, flag=flag)
        return unsure([body], [face_on(body)], [hand_at(body.points[15] + (0, 130))])
    at_gate, sure = hand_off(0.505), hand_off(1.0)
    assert sure == pytest.approx(people.UNSURE_WEIGHT)
    assert abs(hand_off(0.495) - at_gate) < STEP


def test_a_person_box_near_the_score_gate_counts_a_little():
    """The lost-pose item was 0 below a YOLOX score of 0.5 and whole above it; it now
    grows from the detector's own gate (detect.PERSON_SCORE) like every item on a box."""
    lost = skeleton(500, 150, 500, flag=0.0)
    weights = []
    for s in (0.38, PERSON_SCORE + 0.002, 0.42, 0.44, 0.5, 0.6):
        lost.score = s
        weights.append(unsure([lost]))
    assert nondecreasing(weights) and weights[0] == 0.0 and weights[1] < STEP
    assert weights[-2] == weights[-1] == pytest.approx(people.UNSURE_WEIGHT)


def test_a_lost_pose_fades_as_the_box_becomes_a_close_up():
    """The lost pose of a box that reaches the bottom edge with its hips out of the frame is
    a close-up, not a loss; the bottom edge crossing 97 % of the frame no longer flips it
    (the MPII 005808361 couple: 0 -> 0.50 on a 1-px shift)."""
    def lost(bottom):
        p = skeleton(500, 100, 600, flag=0.0)
        p.box[3] = bottom * H - p.box[1]
        p.points[[23, 24], 1] = H + 20               # hips below the frame
        return unsure([p])
    weights = [lost(b) for b in (0.90, 0.95, 0.965, 0.975, 0.99)]
    assert weights == sorted(weights, reverse=True) and weights[-1] == 0.0
    assert abs(lost(0.97 - 0.5 / H) - lost(0.97 + 0.5 / H)) < STEP      # one pixel


def test_a_person_whose_face_crosses_the_judged_size_stays_put():
    """A face under 24 px is not judged (not in the accounting); at 24 px it counted as a
    read face and took the "neither face nor hand" item away."""
    body = skeleton(500, 100, 600)

    def with_face(px):
        f = face_on(body, size=px)
        return unsure([body], [f] if px >= 24 else [])
    assert abs(with_face(23.9) - with_face(24.1)) < STEP
    ladder = [with_face(px) for px in (20, 24.5, 27, 30, 40)]
    assert ladder == sorted(ladder, reverse=True) and ladder[-1] == 0.0


@pytest.mark.parametrize("field, gate", [("presence", people.HAND_SEEN), ("score", 0.5)])
def test_a_hand_barely_read_counts_part_of_a_read(field, gate):
    """A hand's landmark presence or palm score crossing the gate that drops it moves the
    unread-person item and the hand's own evidence by little."""
    body = skeleton(500, 100, 600)

    def read(value):
        h = hand_at(body.points[15])
        setattr(h, field, value)
        return h
    gone = unsure([body])
    barely = unsure([body], hands=[read(gate + 0.002)])
    assert abs(gone - barely) < STEP
    assert unsure([body], hands=[read(0.95)]) == 0.0
    geometry = {"hand_outlier": 20.0, "bone_deviation": 1.0, "flip_tip_disagreement": 0.2}
    acc = people.account([body], [], [read(gate + 0.002)], width=W, height=H)
    weak = severities.hand([(acc.hands[0], dict(geometry))]).severity
    acc = people.account([body], [], [read(0.95)], width=W, height=H)
    sure = severities.hand([(acc.hands[0], dict(geometry))]).severity
    assert weak < STEP < 0.4 < sure


def test_a_tiny_hand_is_not_a_whole_item():
    """CrowdPose 106848: a 9-px hand the palm detector finds at 0.52 read 17-21 robust z and
    a whole "shaped unlike real hands" item, or not, with ±1 grey level."""
    body = skeleton(500, 100, 600)
    acc = people.account([body], [], [], width=W, height=H)
    weights = []
    for palm in (5.0, 6.0, 7.5, 9.0, 30.0):            # landmark crops of 2.6 palms
        h = hand_at((500, 300), palm=palm)
        items = severities.hand_unsure([(h, {"hand_outlier": 20.0})], acc, W, H)
        weights.append(items[0].strength if items else 0.0)
    assert nondecreasing(weights) and weights[:2] == [0.0, 0.0] and 0 < weights[2] < weights[3]
    assert weights[-1] == pytest.approx(2 * people.UNSURE_WEIGHT)


def test_a_missing_limb_weighs_with_how_surely_the_skeleton_was_read():
    """pose_missing_limb came from any skeleton with a flag >= 0.5 at full weight."""
    def missing(flag):
        p = skeleton(500, 100, 600, flag=flag)
        g = {"missing_limb": 0.99, "limb_asymmetry": 0.0, "cut_off": 0.0, "head_cut": 0.0,
             "pose_flag": flag}
        rows = [(p, g)] if flag >= people.POSE_VALID else []
        return severities.bodies(rows, 1, [p], height=H)[0].severity
    assert missing(0.499) == 0.0 and missing(0.501) < STEP
    ladder = [missing(f) for f in (0.5, 0.53, 0.56, 0.6, 0.9)]
    assert nondecreasing(ladder) and ladder[-1] > 0.8


def test_a_missing_limb_moves_little_with_the_pose_flags_jitter():
    """The pose flag jitters by 0.1-0.4 under invisible changes (sdXL_hug_02's second
    person: 0.44 on the picture, 0.58-0.63 after +-1 grey level or a 1-px shift). On the
    accounting items' ramp (0.5 -> 0.6) a step of 0.1 past the gate took the whole code; the
    codes read on the joints ramp to 0.8, so it takes a third."""
    def missing(flag):
        p = skeleton(500, 100, 600, flag=flag)
        g = {"missing_limb": 0.99, "limb_asymmetry": 0.0, "cut_off": 0.0, "head_cut": 0.0,
             "pose_flag": flag}
        return severities.bodies([(p, g)], 1, [p], height=H)[0].severity
    whole = missing(0.9)
    assert missing(0.8) == pytest.approx(whole)
    assert missing(0.6) - missing(0.5) <= whole / 3 + 1e-3
    assert missing(0.7) - missing(0.6) <= whole / 3 + 1e-3


def test_wrong_hand_grows_with_both_models_presence():
    """wrong_hand needed presence >= 0.8 and the second model's >= 0.5, all or nothing."""
    def wrong(presence, second):
        h = hand_at((600, 400), right=0.97, side="left", presence=presence, second=second)
        return people.wrong_hand(h)
    assert wrong(0.79, 0.99) == 0.0 and wrong(0.81, 0.99) < 0.1
    assert wrong(0.99, 0.49) == 0.0 and wrong(0.99, 0.51) < 0.1
    ladder = [wrong(p, 0.99) for p in (0.8, 0.83, 0.86, 0.9, 0.99)]
    assert nondecreasing(ladder) and ladder[-1] == pytest.approx(0.97)


def test_a_face_the_mesh_cannot_read_counts_as_surely_as_it_was_found():
    """The mesh-unreadable item of a face just large enough to be judged (24 px) is small."""
    def item(px):
        f = Face(np.array([400.0, 100.0, px, px]), 0.9, np.zeros((5, 2)),
                 np.zeros((468, 3)), 0.01)
        f.kps = np.array([[400 + px / 4, 100 + px / 3], [400 + 3 * px / 4, 100 + px / 3],
                          [400 + px / 2, 100 + px / 2], [400 + px / 3, 100 + 0.8 * px],
                          [400 + 2 * px / 3, 100 + 0.8 * px]])
        _, issues = severities.faces([f], np.zeros((H, W), np.uint8), H, min_px=24,
                                     sharp_ref=lambda: 1.0)
        return sum(i.strength for i in issues)
    assert item(24.1) < STEP
    assert item(60.0) == pytest.approx(people.UNSURE_WEIGHT, abs=0.01)


def test_every_ramp_starts_at_the_gate_it_softens():
    """The lower ends in checks/anatomy/confidence.py are the detectors' and the check's own
    gates: a ramp that started elsewhere would move what was read before, or leave a step."""
    from checks import anatomy
    assert confidence.PERSON_SURE[0] == PERSON_SCORE
    assert confidence.PERSON_TALL[0] == anatomy.MIN_PERSON_HEIGHT
    assert confidence.POSE_SURE[0] == confidence.POSE_READ[0] == people.POSE_VALID
    assert confidence.HAND_PRESENT[0] == people.HAND_SEEN
    assert confidence.HAND_SCORE[0] == people.VISIBLE
    assert confidence.FACE_PX[0] == anatomy.MIN_FACE_PX
    assert confidence.HAND_EDGE[0] == people.EDGE_PALMS
    assert confidence.EDGE_SHARE == people.EDGE_SHARE
