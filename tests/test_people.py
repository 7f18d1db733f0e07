"""Body accounting (checks/anatomy/people.py) on synthetic detections: every inconsistency
the detectors can name becomes an issue with a region and a sentence; what they cannot
verify is uncertainty; what fits is silent. No model runs here."""
from __future__ import annotations

import numpy as np
import pytest

from checks.anatomy import people, severities
from checks.anatomy.detect import Face, Hand, Person
from keyframe.profiles import load_profile
from keyframe.report import Measurement, Report
from keyframe.router import route

W, H = 1000, 800


def skeleton(cx: float, top: float, height: float, *, flag: float = 1.0) -> Person:
    """An upright, front-facing MediaPipe skeleton (the person's left on the image right)."""
    h = height
    p = np.zeros((33, 2))
    p[0] = (cx, top + 0.06 * h)                                   # nose
    for j, dx in ((1, 0.02), (2, 0.03), (3, 0.04), (4, -0.02), (5, -0.03), (6, -0.04)):
        p[j] = (cx + dx * h, top + 0.04 * h)                      # eyes
    p[7], p[8] = (cx + 0.06 * h, top + 0.05 * h), (cx - 0.06 * h, top + 0.05 * h)
    p[9], p[10] = (cx + 0.02 * h, top + 0.09 * h), (cx - 0.02 * h, top + 0.09 * h)
    for left, right, y, dx in ((11, 12, 0.2, 0.12), (13, 14, 0.35, 0.16), (15, 16, 0.5, 0.17),
                               (23, 24, 0.52, 0.07), (25, 26, 0.72, 0.07),
                               (27, 28, 0.92, 0.07), (29, 30, 0.95, 0.07), (31, 32, 0.97, 0.09)):
        p[left], p[right] = (cx + dx * h, top + y * h), (cx - dx * h, top + y * h)
    for left, right in ((17, 18), (19, 20), (21, 22)):            # hand points below the wrist
        p[left], p[right] = p[15] + (0, 0.04 * h), p[16] + (0, 0.04 * h)
    person = Person(np.array([cx - 0.25 * h, top, 0.5 * h, h]), 0.9, p, np.full(33, 0.99),
                    np.zeros((33, 3)), flag)
    person.presence = np.ones(33)
    return person


def hand_at(wrist, *, palm: float = 30.0, score: float = 0.9, presence: float = 0.99,
            second: float = 0.99, right: float = 0.5, side: str | None = None) -> Hand:
    """A hand hanging down from ``wrist`` (fingers below it)."""
    w = np.asarray(wrist, float)
    pts = np.zeros((21, 2))
    pts[0] = w
    for f, dx in enumerate((-0.5, -0.25, 0.0, 0.25, 0.5)):
        for k in range(4):
            pts[1 + 4 * f + k] = w + (dx * palm, (0.6 + 0.45 * k) * palm)
    pts[9] = w + (0, palm)
    h = Hand(np.array([w[0] - palm, w[1] - palm / 2, 2.6 * palm, 2.6 * palm]), score, pts,
             np.zeros((21, 3)), presence, pts.copy(), right)
    h.second_presence, h.second_handedness, h.side = second, right, side
    return h


def face_on(person: Person, size: float = 60.0) -> Face:
    nose = person.points[0]
    return Face(np.array([nose[0] - size / 2, nose[1] - size / 2, size, size]), 0.9,
                np.zeros((5, 2)), None, 0.95)


def kinds(acc) -> list[str]:
    return sorted(i.kind for i in acc.issues)


def test_a_whole_person_is_accounted_for_and_silent():
    p = skeleton(500, 100, 600)
    hands = [hand_at(p.points[15]), hand_at(p.points[16])]
    acc = people.account([p], [face_on(p)], hands, width=W, height=H)
    assert acc.issues == []
    assert acc.face_owner == [1] and acc.hand_owner == [1, 1]
    assert set(acc.bodies[0].hands) == {"left", "right"}
    assert {h.side for h in hands} == {"left", "right"}


def test_a_third_hand_on_one_body_is_an_extra_limb_with_region_and_sentence():
    p = skeleton(500, 100, 600)
    third = hand_at((500, 420))                       # on the belly, both wrists taken
    acc = people.account([p], [face_on(p)], [hand_at(p.points[15]), hand_at(p.points[16]),
                                             third], width=W, height=H)
    (issue,) = acc.issues
    assert issue.kind == "extra_limb" and issue.strength == pytest.approx(0.9)
    assert issue.sentence.startswith("person 1 shows a third hand at the centre")
    x, y, w, h = issue.region
    assert x <= 500 <= x + w and y <= 430 <= y + h
    weak = hand_at((500, 420), second=0.2)           # one landmark model only: less evidence
    acc2 = people.account([p], [], [hand_at(p.points[15]), hand_at(p.points[16]), weak],
                          width=W, height=H)
    assert acc2.issues[0].strength == pytest.approx(0.6)
    assert acc2.issues[0].strength < issue.strength


def test_a_hand_far_from_every_body_is_detached_unless_its_arm_leaves_the_frame():
    p = skeleton(300, 100, 600)
    floating = hand_at((800, 300))
    acc = people.account([p], [], [hand_at(p.points[15]), floating], width=W, height=H)
    (issue,) = acc.issues
    assert issue.kind == "detached_part" and "attached to no arm" in issue.sentence
    assert "upper right" in issue.sentence or "right" in issue.sentence
    at_edge = hand_at((985, 300))                     # wrist 0.5 palm from the right edge
    acc = people.account([p], [face_on(p)], [at_edge], width=W, height=H)
    assert acc.issues == []


def test_hands_alone_are_not_detached():
    acc = people.account([], [], [hand_at((500, 300)), hand_at((300, 300))], width=W, height=H)
    assert acc.issues == []


def test_two_bodies_sharing_a_leg_are_merged():
    a, b = skeleton(350, 100, 600), skeleton(700, 100, 600)
    assert people.account([a, b], [face_on(a), face_on(b)], [], width=W, height=H).issues == []
    for j in (24, 26, 28):                            # b's right leg is a's left leg
        b.points[j] = a.points[j - 1]
    acc = people.account([a, b], [face_on(a), face_on(b)], [], width=W, height=H)
    (merged,) = acc.issues
    assert merged.kind == "merged_bodies" and merged.strength == pytest.approx(1.0)
    assert merged.sentence.startswith("persons 1 and 2 share one leg")
    x, y, w, h = merged.region
    assert y + h > a.points[27][1] and y < a.points[23][1]


def test_two_skeletons_on_one_head_share_it_and_one_skeleton_twice_is_one_person():
    a, b = skeleton(500, 100, 600), skeleton(500, 100, 600)
    b.points[11:] += (200, 0)                         # another body under the same head
    acc = people.account([a, b], [face_on(a)], [], width=W, height=H)
    assert [i.kind for i in acc.issues if i.kind != "uncertain"] == ["merged_bodies"]
    assert "share one head" in acc.issues[0].sentence
    acc = people.account([a, skeleton(502, 101, 600)], [face_on(a)], [], width=W, height=H)
    assert acc.issues == [] and len(acc.bodies) == 1


def test_what_the_detectors_cannot_read_is_uncertain_not_a_defect():
    lost = skeleton(500, 150, 500, flag=0.1)          # the pose model sees no person
    acc = people.account([lost], [], [], width=W, height=H)
    assert kinds(acc) == ["uncertain"] and "cannot read person 1" in acc.issues[0].sentence
    cut = skeleton(120, 150, 500, flag=0.1)           # ... but a person cut by the frame may
    assert people.account([cut], [], [], width=W, height=H).issues == []
    stray = Face(np.array([700.0, 100.0, 40.0, 40.0]), 0.9, np.zeros((5, 2)), None, 0.9)
    acc = people.account([], [stray], [], width=W, height=H)
    assert kinds(acc) == ["uncertain"] and "face" in acc.issues[0].sentence
    closeup = Face(np.array([400.0, 100.0, 300.0, 300.0]), 0.9, np.zeros((5, 2)), None, 0.9)
    assert people.account([], [closeup], [], width=W, height=H).issues == []


def test_wrong_hand_needs_both_models_and_a_side():
    on_left = hand_at((600, 400), right=0.97, side="left")      # a right hand on a left arm
    assert people.wrong_hand(on_left) == pytest.approx(0.97)
    own = hand_at((600, 400), right=0.03, side="left")
    assert people.wrong_hand(own) == pytest.approx(0.03)
    unsure = hand_at((600, 400), right=0.97, side="left")
    unsure.second_handedness = 0.1                               # the lite model disagrees
    assert people.wrong_hand(unsure) == pytest.approx(0.1)
    assert people.wrong_hand(hand_at((600, 400), right=0.97)) == 0.0      # no side known


def _report(**severity) -> Report:
    ms = {c: Measurement(c, s, f"{c} measured", (1, 2, 3, 4), check="anatomy")
          for c, s in severity.items()}
    ms["blur"] = Measurement("blur", 0.0, "sharp", check="artifact")   # the required check
    return Report(path="x.png", sha256="0" * 64, width=10, height=10, measurements=ms)


def test_uncertainty_grows_with_what_is_unaccounted():
    issue = people.Issue("uncertain", people.UNSURE_WEIGHT, (0, 0, 1, 1), "x")
    values = [next(m for m in severities.accounting([issue] * n) if m.code == "anatomy_uncertain")
              .severity for n in range(6)]
    assert values == sorted(values) and values[0] == 0.0 and values[-1] == 1.0
    assert values[1] < 0.5 <= values[2]                 # one item noticeable, two a review


@pytest.mark.parametrize("profile, verdict", [("default", "review"), ("strict", "review"),
                                              ("lenient", "certified")])
def test_uncertain_is_a_routing_decision_never_trash(profile, verdict):
    """`strict` (critical at 0.7) never trashes what the check called uncertain; `lenient`
    lets it through as minor; the severity is the same in all three."""
    d = route(_report(anatomy_uncertain=0.97), load_profile(profile))
    assert d.verdict == verdict, d.reason
    assert d.findings[0].severity == 0.97


def test_strong_consistent_evidence_trashes_and_one_detector_reviews():
    default = load_profile("default")
    for code in ("extra_limb", "detached_part", "merged_bodies"):
        assert route(_report(**{code: 0.9}), default).verdict == "trash"
        assert route(_report(**{code: 0.6}), default).verdict == "review"
        assert code in route(_report(**{code: 0.9}), default).reason


def test_a_hand_shaped_unlike_real_hands_cannot_be_verified():
    """A hand's finger geometry beyond real photos' hands is an uncertainty item whose
    weight grows with its robust z: none inside real hands' range, a whole item (a review
    on its own) past it; the sentence names the hand and where it is."""
    body = skeleton(500, 100, 600)
    hand = hand_at(body.points[15] + (0, 5))
    acc = people.account([body], [], [hand], width=W, height=H)
    lo, hi = severities.HAND_UNSURE
    weights = []
    for z in (0.0, lo, (lo + hi) / 2, hi, 3 * hi):
        items = severities.hand_unsure([(hand, {"hand_outlier": z})], acc, W, H)
        weights.append(items[0].strength if items else 0.0)
    assert weights == sorted(weights) and weights[:2] == [0.0, 0.0]
    assert 0 < weights[2] < weights[3] == weights[4]
    item = severities.hand_unsure([(hand, {"hand_outlier": 3 * hi})], acc, W, H)[0]
    assert item.kind == "uncertain" and item.region == severities.region(hand.box)
    assert "cannot be verified" in item.sentence and "person 1's hand" in item.sentence
    sev = next(m for m in severities.accounting([item]) if m.code == "anatomy_uncertain")
    assert route(_report(anatomy_uncertain=sev.severity), load_profile("default")).verdict \
        == "review"
