"""Body accounting: reconcile independent detectors into people, and list what does not fit.

Each detector sees one kind of thing: YOLOX sees person boxes, YuNet sees faces, the palm
detector and hand-landmark model see hands, the pose model draws one skeleton (33 joints,
with a visibility per joint and its own "a person is here" flag) inside each person box. On a
real photo they agree: every face sits on a skeleton's head, every hand at the end of an arm,
each skeleton has its own limbs. A broken body makes them disagree in ways a person can name:
a hand attached to no arm, a third hand on one body, two skeletons sharing a pair of legs, a
face on no body. And a picture the detectors cannot read (people entangled, a pose the model
loses) makes them disagree in ways that name nothing: that is *uncertainty*, measured as its
own number rather than turned into a defect.

:func:`account` only matches geometry (the people themselves, and which face and hand each
holds: :mod:`checks.anatomy.bodies`); it runs no model and judges nothing. The numbers it
returns (distances in hand or body scales, counts) are mapped to severities by
:mod:`checks.anatomy`. Pose joint indices are MediaPipe's (0 nose, 2/5 eyes, 11/12 shoulders,
13/14 elbows, 15/16 wrists, 17-22 hand points, 23/24 hips, 25/26 knees, 27/28 ankles).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from checks.anatomy import confidence, geometry
from checks.anatomy.bodies import (ATTACH, POSE_VALID, SHARED, SIDES, VISIBLE, Body,
                                   assign_faces, assign_hands, find_bodies, hand_distance,
                                   palm_length)
from checks.anatomy.detect import Face, Hand, Person
from keyframe.severity import ramp

#: a hand landmark model sees a hand above this presence; the palm detector is sure of a
#: palm above ``PALM_SURE`` (traffic cones and blurred grass read as hands by both landmark
#: models in ai_human_anatomy sdXL_jogging_04 and mpii 051423444 score 0.44-0.48 there)
HAND_SEEN, PALM_SURE = 0.5, 0.6
#: a hand read this surely is one whose handedness is judged
HAND_SURE = 0.8
#: a hand whose wrist lies within this many palm lengths of the frame edge may belong to an
#: arm outside the frame; a person box within this share of the frame of an edge is cut
EDGE_PALMS, EDGE_SHARE = 1.5, 0.02
#: a face at least this share of the frame height is a close-up (its body leaves the frame)
CLOSEUP_FACE = 0.2
#: weight of one thing the detectors cannot account for in the uncertainty sum, and of one
#: pair of people overlapping by at least ``OVERLAP`` of the smaller box; each is scaled by
#: how far its evidence lies past the line where it starts to count (a hand just beyond
#: its wrist, a pose flag just under 0.5, an overlap just over 0.6 count little), so one
#: pixel more or less moves the sum by little (scripts/calibrate/anatomy_stability.py)
UNSURE_WEIGHT, OVERLAP, OVERLAP_WEIGHT = 0.5, 0.6, 0.25
#: weight of one skeleton on which neither a face nor a hand can be read
UNVERIFIED_WEIGHT = 0.25
LIMBS = {"left arm": (11, 13, 15), "right arm": (12, 14, 16),
         "left leg": (23, 25, 27), "right leg": (24, 26, 28)}


@dataclass
class Issue:
    """One thing the detectors disagree on, in words and pixels.

    ``kind`` is the finding code it supports (``extra_limb``, ``detached_part``,
    ``merged_bodies``) or ``"uncertain"`` (the detectors cannot verify it); ``strength`` is
    the evidence in [0, 1] before any cross-check; ``region`` is x, y, w, h in source px.
    """

    kind: str
    strength: float
    region: tuple[int, int, int, int]
    sentence: str
    values: dict[str, float] = field(default_factory=dict)


@dataclass
class Accounting:
    bodies: list[Body]
    issues: list[Issue]
    faces: list[Face]
    hands: list[Hand]
    #: per face / hand: the body index it belongs to (0: none)
    face_owner: list[int]
    hand_owner: list[int]


def _edge_palms(hand: Hand, width: int, height: int) -> float:
    """Distance (palm lengths) from the hand's wrist to the nearest frame edge."""
    w = hand.points[0]
    return float(min(w[0], w[1], width - w[0], height - w[1])) / palm_length(hand)


def _hand_issues(bodies, hands, owner, width, height) -> list[Issue]:
    out = []
    if not any(b.valid for b in bodies):
        return out            # a picture of hands alone: there is no body to be attached to
    for k, h in enumerate(hands):
        if owner[k]:
            continue
        palm = palm_length(h)
        region = geometry.around(h.points, 0.3 * palm)
        where = geometry.where(region, width, height)
        sure = confirmed(h)
        values = {"hand": k + 1, "edge_palms": round(_edge_palms(h, width, height), 2),
                  "confirmed": float(sure)}
        if values["edge_palms"] < EDGE_PALMS:
            continue          # the arm comes in from outside the frame
        hosts = [b for b in bodies if geometry.inside(h.points.mean(0), b.box)]
        full = [b for b in hosts if b.valid and len(b.hands) == 2]
        if full:
            b = full[0]
            out.append(Issue("extra_limb", 0.6 + 0.3 * sure, region,
                             f"person {b.index} shows a third hand at {where} "
                             f"(both of its wrists already hold a hand)",
                             {**values, "person": b.index}))
        elif hosts:
            names = " or ".join(f"person {b.index}" for b in hosts[:2])
            gap = min((hand_distance(h, b.person, s) for b in bodies if b.valid
                       for s in SIDES), default=np.inf)
            values["nearest_wrist_palms"] = round(float(min(gap, 99.0)), 2)
            # weighed by how surely the hand and the skeletons it was matched against were
            # read, and by how far its wrist is from the edge its arm may come in from
            sure = (confidence.hand_sure(h) * max(b.pose_sure for b in bodies if b.valid)
                    * ramp(values["edge_palms"], *confidence.HAND_EDGE))
            out.append(Issue("uncertain", UNSURE_WEIGHT * ramp(gap, ATTACH, 2 * ATTACH) * sure,
                             region, f"a hand at {where} is not at the end of an arm of "
                             f"{names} as the pose model draws it", values))
        else:
            out.append(Issue("detached_part", 0.6 + 0.3 * sure, region,
                             f"a hand at {where} is attached to no arm", values))
    return out


def _face_issues(bodies, faces, owner, claims, width, height) -> list[Issue]:
    out = []
    for k, f in enumerate(faces):
        region = geometry.box_int(f.box)
        where = geometry.where(region, width, height)
        values = {"face": k + 1}
        if len(claims[k]) > 1:
            a, b = claims[k][:2]
            out.append(Issue("merged_bodies", 0.6, region,
                             f"persons {a} and {b} share one head at {where}",
                             {**values, "persons": float(len(claims[k]))}))
            continue
        # how surely a skeleton holds the face: its nose within 0.6 face sizes (1.2 and
        # beyond: not at all) and its person flag (confidence.flag_sure); a face held by no surely-read
        # skeleton reads in full (it was all or nothing at the flag's 0.5)
        x, y, w, h = f.box
        centre = (x + w / 2, y + h / 2)
        noses = [np.linalg.norm(b.person.points[0] - np.asarray(centre)) / max(w, h)
                 for b in bodies if b.valid]
        hold = max(((1 - ramp(d, 0.6, 1.2)) * confidence.flag_sure(b.person)
                    for d, b in zip(noses, (b for b in bodies if b.valid))), default=0.0)
        if hold >= 1.0:
            continue
        hosts = [b for b in bodies if geometry.inside(centre, b.box)]
        crowded = any(sum(geometry.inside((g.box[0] + g.box[2] / 2, g.box[1] + g.box[3] / 2), b.box)
                          for g in faces) > 1 for b in hosts)
        if not crowded and (h >= CLOSEUP_FACE * height or y + 4 * h >= height):
            continue          # a close-up: the body leaves the frame below the face
        if not crowded and hosts and all(b.closeup for b in hosts):
            continue
        # how far the nearest skeleton's nose is from this face, in face sizes (a nose at 0.6
        # still owns it): a face just missed reads little, one on no body reads in full
        gap = min(noses, default=np.inf)
        values["nearest_nose_faces"] = round(float(min(gap, 99.0)), 2)
        out.append(Issue("uncertain", UNSURE_WEIGHT * (1 - hold) * confidence.face_sure(f),
                         region,
                         f"a face at {where} sits on no skeleton the pose model draws"
                         + (" (two faces share one person box)" if crowded else ""), values))
    return out


def _limb_issues(bodies, width, height) -> list[Issue]:
    out = []
    valid = [b for b in bodies if b.valid]
    for i, a in enumerate(valid):
        for b in valid[i + 1:]:
            pa, pb = a.person, b.person
            if np.linalg.norm(pa.points[0] - pb.points[0]) < max(a.scale, b.scale):
                continue                         # one head: the face pass reports it
            scale = max(a.scale, b.scale)
            for name_a, ja in LIMBS.items():
                for name_b, jb in LIMBS.items():
                    if name_a.split()[1] != name_b.split()[1]:
                        continue
                    if min(pa.visibility[list(ja)].min(),
                           pb.visibility[list(jb)].min()) <= VISIBLE:
                        continue
                    d = np.linalg.norm(pa.points[list(ja[1:])] - pb.points[list(jb[1:])],
                                       axis=1).max() / scale
                    if d < SHARED:
                        pts = np.concatenate([pa.points[list(ja)], pb.points[list(jb)]])
                        region = geometry.around(pts, 0.2 * scale)
                        out.append(Issue("merged_bodies", 1.0 - 0.5 * d / SHARED, region,
                                         f"persons {a.index} and {b.index} share one "
                                         f"{name_a.split()[1]} at "
                                         f"{geometry.where(region, width, height)}",
                                         {"limb_gap_scales": round(float(d), 3)}))
    return out


def _unverified(bodies, faces, hands, width, height) -> list[Issue]:
    """Skeletons on which neither a face nor a hand could be read: too small or too hidden
    for the face and hand models (a crowd of small people is what the detectors cannot
    vouch for, one such person is only noticeable). The weight is a whole item only on a
    sure skeleton (``Body.pose_sure``) that is not a close-up, with no face or hand read
    surely (``confidence.face_sure``, ``confidence.hand_sure``): a face or hand barely read counts part of a read."""
    out = []
    for b in bodies:
        if not b.valid:
            continue
        read = max([confidence.face_sure(faces[k]) for k in b.faces]
                   + [confidence.hand_sure(hands[k]) for k in b.hands.values()], default=0.0)
        weight = UNVERIFIED_WEIGHT * b.pose_sure * (1 - b.closeness) * (1 - read)
        if weight > 0:
            region = geometry.box_int(b.box)
            out.append(Issue("uncertain", weight, region,
                             f"neither the face nor a hand of person {b.index} at "
                             f"{geometry.where(region, width, height)} can be read",
                             {"read": round(read, 3), "pose_sure": round(b.pose_sure, 3)}))
    return out


def _scene_issues(bodies, width, height) -> list[Issue]:
    """People the pose model loses, and people overlapping so much that their limbs
    cannot be told apart."""
    out = []
    for b in bodies:
        if b.valid:
            continue
        # weighed by how sure the pose model is that no person is there (its flag 0.5 .. 0.1),
        # how surely the box is a person, and how far it is from a close-up or the frame's
        # edge (a person cut by the frame is not expected to read whole)
        weight = (UNSURE_WEIGHT * ramp(b.person.flag, POSE_VALID, 0.1) * b.sure
                  * (1 - b.closeness) * confidence.edge_clear(b.box, width, height))
        if weight <= 0:
            continue
        region = geometry.box_int(b.box)
        out.append(Issue("uncertain", weight, region,
                         f"the pose model cannot read person {b.index} at "
                         f"{geometry.where(region, width, height)}",
                         {"pose_flag": round(float(b.person.flag), 3)}))
    for i, a in enumerate(bodies):
        for b in bodies[i + 1:]:
            ov = geometry.overlap(a.box, b.box)
            if ov >= OVERLAP:
                region = geometry.box_int(geometry.union(a.box, b.box))
                out.append(Issue("uncertain", OVERLAP_WEIGHT * ramp(ov, OVERLAP, 1.0)
                                 * a.sure * b.sure, region,
                                 f"persons {a.index} and {b.index} overlap "
                                 f"({ov:.0%} of the smaller one)", {"overlap": round(ov, 3)}))
    return out


def wrong_hand(hand: Hand) -> float:
    """How sure both landmark models are that ``hand`` is the other hand than the arm it is
    on (0 = it is the arm's own hand, 1 = both are certain it is the mirror hand: the thumb
    on the wrong side). Needs the side (``hand.side``, set by :func:`account` or by the pose
    read) and both models' handedness; 0 otherwise. On the real photos of ../shared/data
    every hand read with presence >= 0.8 scores <= 0.28 with the full model alone."""
    if hand.side is None or hand.second_handedness is None:
        return 0.0
    # both models must see the hand surely: ramps from the former gates (presence 0.8, the
    # second model's 0.5), so a presence that crosses one with a pixel moves this by little
    sure = (ramp(hand.presence, HAND_SURE, HAND_SURE + 0.1)
            * ramp(hand.second_presence or 0.0, HAND_SEEN, HAND_SEEN + 0.2))
    right = min(hand.handedness, hand.second_handedness)
    left = 1.0 - max(hand.handedness, hand.second_handedness)
    # MediaPipe's handedness is for a mirrored (selfie) picture: a person's left hand reads
    # low "right hand" scores here (checked on the real photos above)
    return float(right if hand.side == "left" else left) * sure


def confirmed(hand: Hand) -> bool:
    """The palm detector is sure of it and both landmark models see a hand on its crop."""
    return bool(hand.source == "palm" and hand.score >= PALM_SURE
                and hand.presence >= HAND_SEEN and (hand.second_presence or 0.0) >= HAND_SEEN)


def account(persons: list[Person], faces: list[Face], hands: list[Hand], *, width: int,
            height: int) -> Accounting:
    """Reconcile person boxes with skeletons, faces and hands into people.

    Parameters
    ----------
    persons : list of Person
        Person boxes with their pose filled in (:func:`checks.anatomy.detect.pose`), largest
        first.
    faces, hands : list
        Faces (YuNet) and hands whose landmark model saw a hand (presence >= 0.5).
    width, height : int, keyword-only
        The frame, for "leaves the frame" and the words of a region.

    Returns
    -------
    Accounting
        The bodies, what each face and hand belongs to, and every inconsistency as an
        :class:`Issue` (kind, raw strength, region, sentence).
    """
    bodies = find_bodies(persons, width, height)
    f_owner, claims = assign_faces(bodies, faces)
    h_owner = assign_hands(bodies, hands)
    issues = (_hand_issues(bodies, hands, h_owner, width, height)
              + _face_issues(bodies, faces, f_owner, claims, width, height)
              + _limb_issues(bodies, width, height)
              + _scene_issues(bodies, width, height)
              + _unverified(bodies, faces, hands, width, height))
    return Accounting(bodies, issues, faces, hands, f_owner, h_owner)
