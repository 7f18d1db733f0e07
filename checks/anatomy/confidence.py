"""How surely each detection was read, 0..1: the weights of what the body accounting and the
severities read on it (issue 13 item 6, stable scores).

Each detector drops what it reads below a line (a YOLOX person below 0.4, a pose flag below
0.5, a hand's landmark presence below 0.5, a face under 24 px …); what passes used to count
in full, so a detection that crossed a line when the picture moved by a pixel added or took
away a whole item. Here each quantity ramps from its gate (nothing) to a little above it
(whole). The lower ends are the gates of :mod:`checks.anatomy.people`,
:mod:`checks.anatomy.detect` and :mod:`checks.anatomy` (tests/test_anatomy_ramps.py checks
that they agree); the widths, and why they are narrow, are in docs/anatomy.md. No model runs
here.
"""
from __future__ import annotations

from checks.anatomy.detect import Face, Hand, Person
from keyframe.severity import ramp

#: How surely a detection was made weighs what is read on it: 0 at the gate below which the
#: detection is dropped, whole a little above it, so a box, flag or hand that crosses a gate
#: when the picture moves by a pixel moves a severity by little instead of adding or removing
#: a whole item (scripts/calibrate/anatomy_stability.py: a pose flag of 0.50 on sdXL_hug_05
#: read 0.49 after a 1-px shift and took a 0.5 item with it; a palm-detector score of 0.52 on
#: an 9-px hand in a CrowdPose crowd read a whole "shaped unlike real hands" item). YOLOX
#: score (``detect.PERSON_SCORE`` is the gate), person box height over the frame height
#: (``checks.anatomy.MIN_PERSON_HEIGHT``), the pose model's person flag (``people.POSE_VALID``):
PERSON_SURE, PERSON_TALL, POSE_SURE = (0.4, 0.45), (0.15, 0.16), (0.5, 0.6)
#: the pose model's person flag for the codes read on a skeleton's joints (pose_missing_limb,
#: pose_implausible, subject_cut_off): from the same gate, wider. The flag jitters by 0.1-0.4
#: under invisible changes (sdXL_hug_02's second person: 0.44 on the picture, 0.58-0.63 under
#: +-1 grey level or a 1-px shift; COCO 040083: 0.57 -> 0.60), so on ``POSE_SURE``'s 0.1 a
#: limb the pose model cannot see came and went with it (pose_missing_limb 0 -> 0.37-0.54,
#: 0.13 -> 0.29). 0.5 -> 0.8: past the gate's margin 4 + 4 -> 3 + 1 of 2 x 90 perturbed readings
#: (scripts/calibrate/anatomy_stability.py, two samples), every verdict of
#: scripts/calibrate/anatomy.py the same. The accounting items keep ``POSE_SURE``: a wider
#: flag ramp there sent graded crowds to certified (docs/anatomy.md)
POSE_READ = (0.5, 0.8)
#: a hand's landmark presence (``people.HAND_SEEN``), its palm-detector score (``detect.hands``'
#: 0.5) or, for a hand read at a wrist, the wrist's visibility (``people.VISIBLE``), and the side of
#: its landmark crop in source px (a landmark model's read of a hand in a crop under ~20 px
#: is mostly its prior). The crop, not the landmarks' palm length: a malformed hand's
#: landmarks collapse (sdXL_jogging_07's fist: palm 15.9 px on the picture, 5.9 on its mirror)
HAND_PRESENT, HAND_SCORE, HAND_PX = (0.5, 0.55), (0.5, 0.55), (16.0, 24.0)
#: a hand's wrist this many palm lengths from the frame's edge (``people.EDGE_PALMS``: its arm may
#: come in from outside) counts from nothing to a whole item as it leaves the edge
HAND_EDGE = (1.5, 1.75)
#: a face's height in px (``checks.anatomy.MIN_FACE_PX``, below which a face is not judged).
#: Not its YuNet score: faces YuNet keeps at 0.70-0.72 are what decides two graded severe
#: crowds (SC_physician_01, sdXL_volleyball_03), and a ramp on it sent both to certified
FACE_PX = (24.0, 27.0)
#: a person box is a close-up (its body leaves the frame) as its bottom reaches the frame's
#: bottom edge (share of the height) and its hips leave the frame or it fills the height;
#: each ramp starts at the former hard line (0.97, hips at the edge, 0.85), so what was not
#: a close-up reads as before (centred ramps took sdXL_hug_07's lost pose to a fifth)
CLOSEUP_BOTTOM, CLOSEUP_HIPS, CLOSEUP_TALL = (0.97, 0.99), (1.0, 1.03), (0.85, 0.88)
#: a person box this share of the frame from an edge is cut by it (its pose is not
#: expected to read whole): from ``people.EDGE_SHARE`` (nothing) to this (whole)
EDGE_CLEAR = 0.025
#: the gate of ``edge_clear``: a box this share of the frame from an edge (``people.EDGE_SHARE``)
EDGE_SHARE = 0.02


def closeness(person: Person, height: int) -> float:
    """How surely the framing is a head-and-shoulders (or tighter) shot, 0..1: the box
    reaches the bottom edge and the hips are outside the frame (or the box spans most of the
    height) — the pose model is not expected to find a whole skeleton there. Ramps
    (``CLOSEUP_*``) instead of the former hard lines, so a box whose bottom moves by a pixel
    moves the lost-pose and unread-person items by little."""
    x, y, w, h = person.box
    bottom = ramp((y + h) / height, *CLOSEUP_BOTTOM)
    hips = ramp(float(person.points[[23, 24], 1].max()) / height, *CLOSEUP_HIPS)
    return float(bottom * max(hips, ramp(h / height, *CLOSEUP_TALL)))


def person_sure(person: Person, height: int) -> float:
    """How surely a person box is a person the check reads (0..1): its YOLOX score and its
    height over the frame's, each on a ramp from the gate that drops it."""
    return (ramp(person.score, *PERSON_SURE)
            * ramp(float(person.box[3]) / height, *PERSON_TALL))


def hand_sure(hand: Hand) -> float:
    """How surely a hand was read (0..1): landmark presence, palm-detector score (the
    wrist's visibility for a hand read at a wrist) and palm length, each on a ramp from the
    gate that drops it (the crop's size: 0 at 16 px)."""
    return (ramp(hand.presence, *HAND_PRESENT) * ramp(hand.score, *HAND_SCORE)
            * ramp(float(hand.box[2]), *HAND_PX))


def face_sure(face: Face) -> float:
    """How surely a face was read (0..1): its height in px, from the size it is judged at."""
    return ramp(float(face.box[3]), *FACE_PX)


def edge_clear(box, width: int, height: int) -> float:
    """0 for a box within ``people.EDGE_SHARE`` of the frame of an edge, 1 from ``EDGE_CLEAR``."""
    x, y, w, h = box
    gap = min(x / width, y / height, 1 - (x + w) / width, 1 - (y + h) / height)
    return ramp(gap, EDGE_SHARE, EDGE_CLEAR)


def flag_sure(person: Person) -> float:
    """How surely the pose model reads a skeleton on ``person`` (0..1): its person flag on
    ``POSE_SURE``, from the gate that drops the skeleton."""
    return ramp(person.flag, *POSE_SURE)


def joints_sure(person: Person, height: int) -> float:
    """How surely the pose model read the joints of the skeleton on ``person`` (0..1):
    :func:`person_sure` times its flag on ``POSE_READ``, the weight of the codes read on
    the joints."""
    return person_sure(person, height) * ramp(person.flag, *POSE_READ)


def pose_sure(person: Person, height: int) -> float:
    """How surely the box is a person whose skeleton the pose model reads (0..1):
    :func:`person_sure` times :func:`flag_sure`."""
    return person_sure(person, height) * flag_sure(person)
