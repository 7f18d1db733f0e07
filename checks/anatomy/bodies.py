"""Bodies: the detectors' people matched into one each, with the faces and hands they hold.

Person boxes with their skeletons become :class:`Body` objects (a person the detector found
twice kept once: :func:`find_bodies`); each face goes to the skeleton whose nose lies on it
(:func:`assign_faces`), each hand to the nearest free wrist within ``ATTACH`` palm lengths
(:func:`assign_hands`). Geometry only: what does not fit is listed by
:func:`checks.anatomy.people.account`. Pose joint indices are MediaPipe's (see
:mod:`checks.anatomy.people`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from checks.anatomy import confidence
from checks.anatomy.detect import Face, Hand, Person

#: a joint counts as seen above this visibility (the pose model's own estimate)
VISIBLE = 0.5
#: the pose model's person flag above which its skeleton is taken as a person
POSE_VALID = 0.5
#: a hand is attached to a skeleton's wrist when its wrist (or its centre) lies within this
#: many palm lengths of the pose model's wrist (or of the pose model's hand points)
ATTACH = 1.6
#: two skeletons are one detection when head, shoulders and hips lie within this share of
#: the body scale (YOLOX fires twice on one person); limbs closer than ``SHARED`` body scales
#: joint by joint, on skeletons whose heads are apart, are one limb claimed by two bodies
SAME_BODY, SHARED = 0.3, 0.25
SIDES = {"left": (15, 17, 19, 21), "right": (16, 18, 20, 22)}
CORE = (0, 11, 12, 23, 24)


@dataclass
class Body:
    """One person as the detectors agree on it."""

    index: int                      # 1-based, in the order of the person boxes (largest first)
    person: Person
    valid: bool                     # the pose model says a person is in the box
    scale: float                    # body scale (px): shoulder width or 0.6 torso length
    closeness: float                # 0..1: how surely the body leaves the frame (a close-up)
    sure: float = 1.0               # confidence.person_sure: how surely it is a person
    faces: list[int] = field(default_factory=list)
    hands: dict[str, int] = field(default_factory=dict)     # side -> hand index

    @property
    def box(self) -> np.ndarray:
        return self.person.box

    @property
    def closeup(self) -> bool:
        """A head-and-shoulders (or tighter) framing, on the close-up ramps' middle."""
        return self.closeness >= 0.5

    @property
    def pose_sure(self) -> float:
        """How surely the box is a person whose skeleton the pose model reads (0..1)."""
        return self.sure * confidence.flag_sure(self.person)


def body_scale(person: Person) -> float:
    """Shoulder width or 0.6 x torso length (px), whichever is larger; a quarter of the box
    height when the shoulders are not seen."""
    p, v = person.points, person.visibility
    if min(v[11], v[12]) > VISIBLE:
        shoulders = float(np.linalg.norm(p[11] - p[12]))
        torso = float(np.linalg.norm((p[11] + p[12]) / 2 - (p[23] + p[24]) / 2))
        return max(shoulders, 0.6 * torso, 1.0)
    return max(float(person.box[3]) / 4, 1.0)


def palm_length(hand: Hand) -> float:
    return float(np.linalg.norm(hand.points[9] - hand.points[0])) + 1e-6


def hand_distance(hand: Hand, person: Person, side: str) -> float:
    """Distance (palm lengths) from ``hand`` to the pose model's hand on ``side``."""
    idx = SIDES[side]
    pts = person.points[list(idx)]
    d_wrist = np.linalg.norm(hand.points[0] - pts[0])
    d_centre = np.linalg.norm(hand.points[[0, 5, 9, 13, 17]].mean(0) - pts[1:].mean(0))
    return float(min(d_wrist, d_centre)) / palm_length(hand)


def _same_body(a: Body, b: Body) -> bool:
    pa, pb = a.person, b.person
    seen = [j for j in CORE if min(pa.visibility[j], pb.visibility[j]) > VISIBLE]
    if len(seen) < 3:
        return False
    d = np.linalg.norm(pa.points[seen] - pb.points[seen], axis=1).mean()
    return bool(d < SAME_BODY * max(a.scale, b.scale))


def find_bodies(persons: list[Person], width: int, height: int) -> list[Body]:
    bodies = [Body(i + 1, p, bool(p.flag >= POSE_VALID), body_scale(p),
                   confidence.closeness(p, height), confidence.person_sure(p, height)) for i, p in enumerate(persons)]
    keep: list[Body] = []
    for b in sorted(bodies, key=lambda b: -b.person.score):
        if b.valid and any(k.valid and _same_body(b, k) for k in keep):
            continue                      # the detector fired twice on one person
        keep.append(b)
    return sorted(keep, key=lambda b: b.index)


def assign_faces(bodies: list[Body], faces: list[Face]) -> tuple[list[int], list[list[int]]]:
    """Each face to the valid skeleton whose nose lies on it; also every claimant."""
    owner, claims = [], []
    for k, f in enumerate(faces):
        x, y, w, h = f.box
        c, s = np.array([x + w / 2, y + h / 2]), max(w, h)
        cand = []
        for b in bodies:
            p, v = b.person.points, b.person.visibility
            if b.valid and v[0] > VISIBLE and np.linalg.norm(p[0] - c) < 0.6 * s:
                cand.append((float(np.linalg.norm(p[0] - c)), b.index))
        cand.sort()
        claims.append([i for _, i in cand])
        owner.append(cand[0][1] if cand else 0)
        if cand:
            next(b for b in bodies if b.index == cand[0][1]).faces.append(k)
    return owner, claims


def assign_hands(bodies: list[Body], hands: list[Hand]) -> list[int]:
    """Greedy: the closest (hand, wrist) pairs first, one hand per wrist."""
    pairs = []
    for k, h in enumerate(hands):
        for b in bodies:
            if not b.valid:
                continue
            for side in SIDES:
                d = hand_distance(h, b.person, side)
                if d <= ATTACH:
                    pairs.append((d, k, b.index, side))
    owner = [0] * len(hands)
    taken = set()
    by_index = {b.index: b for b in bodies}
    for d, k, i, side in sorted(pairs):
        if owner[k] or (i, side) in taken:
            continue
        owner[k] = i
        taken.add((i, side))
        by_index[i].hands[side] = k
        if hands[k].side is None:
            hands[k].side = side
    return owner
