"""Anatomy family: faces, hands and bodies measured with small pretrained models on CPU.

Codes: ``face_distorted``, ``face_soft``, ``face_too_small``, ``hand_malformed``,
``hand_wrong_side`` (a hand read as the other arm's: review at most), ``pose_missing_limb``,
``pose_implausible``, ``subject_cut_off`` (one body part judged by one model), and the
body-accounting codes ``extra_limb``, ``detached_part``, ``merged_bodies`` and
``anatomy_uncertain`` (the detectors reconciled into people, :mod:`checks.anatomy.people`).

Models (keyframe.models): YuNet-s faces + MediaPipe face mesh; YOLOX-nano person boxes +
MediaPipe pose landmarks (full; TFLite, ``ai-edge-litert``); MediaPipe palm detection (full)
+ hand landmarks (full, with the lite model as a second opinion on every hand the palm
detector finds), and a hand read at every visible wrist of every skeleton (the pose model's
hand ROI, as MediaPipe Holistic does), so hands too small for the palm detector are still
read. A missing model raises :class:`~keyframe.models.ModelMissing`, which puts the check in
``skipped`` with the pull command. Decoding lives in :mod:`checks.anatomy.detect`, geometry
in :mod:`checks.anatomy.measures` and :mod:`checks.anatomy.people`, severities in
:mod:`checks.anatomy.severities`; this module runs the models and the two readings.

Two readings: every code is read on the picture and, when that reading shows anything at
all (a code >= 0.25, the scale's "noticeable"), again on its mirror image; each severity is
the lower of the two (``mirror_severity`` records the mirror's). A malformed hand is
malformed both ways round; a model's read that flips with an imperceptible change is not.
A picture whose first reading is all below 0.25 keeps that reading (the mirror can only lower
it), which halves the cost on clean pictures.

Each code's region is the worst instance (source pixels); the boxes of every face, hand and
person found (up to 4 each) are in the measurements of ``face_too_small`` (``face1_x`` …),
``hand_malformed`` (``hand1_x`` …) and ``subject_cut_off`` (``person1_x`` …), so a reframing
step can avoid cutting them.
"""
from __future__ import annotations

import functools
from typing import Callable

import cv2
import numpy as np

from checks.anatomy import (detect, geometry, measures, people, readings, severities,
                            silhouette)
from keyframe import views
from keyframe.image import LoadedImage
from keyframe.registry import NO_CONTEXT, Check, Context
from keyframe.report import Measurement

MAX_FACES = 4
MAX_PERSONS = 6
MAX_HANDS = 8
MIN_FACE_PX = 24            # smaller faces are counted for size but not judged for shape
#: a person box shorter than this share of the frame is too small to read a skeleton in
MIN_PERSON_HEIGHT = 0.15
#: palm length (source px) below which a hand's silhouette is not drawn: the 96-px crop of
#: a smaller hand is upsampled, its fingers under 3 source px wide, and GrabCut's outline is
#: the blur's, not the fingers'
SILHOUETTE_MIN_PALM = 16.0
#: YOLOX score down to which a person box vouches for a face on it (the bodies themselves need
#: detect.persons' 0.4): on every set of ../shared/data with a face (158 YuNet faces: the
#: graded AI images, real people, hands, clean generations, HandRefiner, other AI) every face
#: in a picture where a person was found lies on a box of at least this score; the two faces
#: on none are in pictures with no person box at all (a FreiHAND close-up, an SD portrait)
FACE_HOST_SCORE = 0.25
#: a reading with every code below this is final (the mirror reading can only lower it)
NOTICEABLE = 0.25
POSE_MODEL = "pose-landmark-full"
PALM_MODEL, HAND_MODEL, SECOND_HAND_MODEL = ("palm-detection-full", "hand-landmark-full",
                                             "hand-landmark-lite")


def _models() -> tuple[str, str, str, str]:
    """The pose, palm, hand and second-opinion hand models (module constants, so the
    calibration script can measure the lite set against the full one)."""
    return POSE_MODEL, PALM_MODEL, HAND_MODEL, SECOND_HAND_MODEL


def faces_on_people(faces: list[detect.Face], persons: list[detect.Person]
                    ) -> list[detect.Face]:
    """The faces whose centre lies on one of ``persons``' boxes; all of them when
    ``persons`` is empty.

    Where the person detector sees people, a "face" on none of them is a pattern YuNet took
    for one: on flux_dev_example a debanded urn at the left edge read as a face (0.82) beside
    the girl, and framing then measured it 0.9 % from the edge (subject_near_edge 0 -> 0.82,
    which rolled the deband back). With no person box at all, a face is all there is to go
    on (close-ups the person detector misses)."""
    if not persons:
        return list(faces)
    return [f for f in faces
            if any(geometry.inside((f.box[0] + f.box[2] / 2, f.box[1] + f.box[3] / 2), p.box)
                   for p in persons)]


class AnatomyCheck(Check):
    name = "anatomy"
    codes = ("face_distorted", "face_soft", "face_too_small", "hand_malformed",
             "hand_wrong_side", "pose_missing_limb", "pose_implausible", "subject_cut_off",
             "extra_limb", "detached_part", "merged_bodies", "anatomy_uncertain")
    #: "cannot verify" measures the detectors, not the picture: a step that makes a face
    #: harder to read has not damaged it (the gate keeps the step; the verdict routes it)
    confidence_codes = ("anatomy_uncertain",)
    models = ("yunet-s", "face-landmark", "yolox-nano", POSE_MODEL, PALM_MODEL, HAND_MODEL,
              SECOND_HAND_MODEL)

    def measure(self, image: LoadedImage, ctx: Context = NO_CONTEXT) -> list[Measurement]:
        """Every code, read on the picture and (when that reading shows anything) on its
        mirror image, combined by :func:`checks.anatomy.readings.combine`. Before two
        readings, +-1 grey level of noise moved pose_missing_limb by up to 0.76 on
        ai_human_anatomy + real mmpose photos (scripts/calibrate/anatomy_stability.py). The extra-finger
        silhouettes of the mirror reading are only drawn when the picture's show one (the
        evidence must be on both readings)."""
        for name in self.models:          # fail fast, before any work, if a model is missing
            detect.models.path(name)
        # the sharpness the faces are compared with: the same on both readings, read once
        # and only when a face is judged
        sharp = functools.cache(lambda: measures.image_fine_energy(views.gray_u8(image)))
        first = self._once(image, silhouettes=True, sharp_ref=sharp)
        second = first
        if max(m.severity for m in first) >= NOTICEABLE:
            hand = next(m for m in first if m.code == "hand_malformed")
            mirror = LoadedImage(rgb=cv2.flip(np.ascontiguousarray(image.rgb), 1))
            second = self._once(mirror, sharp_ref=sharp, silhouettes=hand.measurements.get(
                "extra_finger_severity", 0.0) > 0)
        found = readings.combine(first, second, width=image.rgb.shape[1])
        for m in found:
            m.check = self.name
        return found

    def support(self, measurements: dict[str, Measurement]
                ) -> list[tuple[float, float, float, float]] | None:
        """Every person, face and hand read, with the margins of the model crops made from
        them (a pose crop is a square 1.25x the person box, a face mesh crop 1.5x the face
        box; a hand's box is its landmark crop): the pixels the landmark models saw. None
        (the whole frame) when no person was found or more were found than the
        measurements list (4 of each): what the box detectors did not find elsewhere in
        the frame is their reading of the whole frame."""
        cut = measurements.get("subject_cut_off")
        faces = measurements.get("face_too_small")
        hands = measurements.get("hand_malformed")
        if cut is None or faces is None or hands is None:
            return None
        counts = (cut.measurements.get("persons", 0), faces.measurements.get("faces", 0),
                  hands.measurements.get("hands", 0))
        if counts[0] == 0 or max(counts) > 4:
            return None
        out = []
        for m, prefix, grow in ((cut, "person", 1.3), (faces, "face", 1.6),
                                (hands, "hand", 1.1)):
            for i in range(1, 5):
                if f"{prefix}{i}_x" not in m.measurements:
                    break
                x, y, w, h = (m.measurements[f"{prefix}{i}_{k}"] for k in "xywh")
                side = max(w, h) * grow
                out.append((x + w / 2 - side / 2, y + h / 2 - side / 2, side, side))
        return out

    def _once(self, image: LoadedImage, *, silhouettes: bool,
              sharp_ref: Callable[[], float]) -> list[Measurement]:
        rgb = image.rgb
        H, W = rgb.shape[:2]
        hosts = detect.persons(rgb, min_score=FACE_HOST_SCORE)
        found = sorted((p for p in hosts if p.score >= detect.PERSON_SCORE),
                       key=lambda p: -p.box[2] * p.box[3])
        persons = [p for p in found if p.box[3] >= MIN_PERSON_HEIGHT * H][:MAX_PERSONS]
        for p in persons:
            detect.pose(rgb, p, model=_models()[0])
        faces = sorted(faces_on_people(detect.faces(rgb), hosts if found else []),
                       key=lambda f: -f.box[3])[:MAX_FACES]
        for f in faces:
            if f.box[3] >= MIN_FACE_PX:
                detect.face_mesh(rgb, f)
        face_ms, unsure = severities.faces(faces, views.gray_u8(image), H, min_px=MIN_FACE_PX,
                                            sharp_ref=sharp_ref)
        found = self._hands(rgb, persons)
        judged = [f for f in faces if f.box[3] >= MIN_FACE_PX]
        acc = people.account(persons, judged, found, width=W, height=H)   # sides assigned
        if self._second_opinions(rgb, acc):
            acc = people.account(persons, judged, found, width=W, height=H)
        hands = [(h, self._geometry(rgb, h, silhouettes=silhouettes)) for h in found]
        valid = [(p, measures.body_geometry(p, W, H)) for p in persons
                 if p.flag >= people.POSE_VALID]
        return [*face_ms, severities.hand(hands), severities.hand_side(hands, acc),
                *severities.bodies(valid, len(persons), persons, height=H),
                *severities.accounting(acc.issues + unsure
                                        + severities.hand_unsure(hands, acc, W, H))]

    def _hands(self, rgb: np.ndarray, persons) -> list[detect.Hand]:
        """Hands the palm detector finds and hands at the visible wrists of every skeleton
        that no palm hand already covers, each read by the landmark model."""
        H, W = rgb.shape[:2]
        _, palm_model, hand_model, _ = _models()
        # a hand read with presence below HAND_SEEN is dropped below: no mirror read for it
        # one hand found twice (ROIs overlapping by detect.ROI_SAME) is read once
        palm = detect.hands(rgb, persons=persons, palm_model=palm_model, hand_model=hand_model,
                            max_hands=MAX_HANDS, mirror_from=people.HAND_SEEN)
        seen = [h for h in palm if h.presence >= people.HAND_SEEN]
        for p in persons:
            if p.flag < people.POSE_VALID:
                continue
            for side, joints in detect.POSE_HAND.items():
                w = p.points[joints[0]]
                if (p.visibility[joints[0]] <= people.VISIBLE
                        or not (0 <= w[0] < W and 0 <= w[1] < H)):
                    continue
                if any(np.linalg.norm(o.points[0] - w) < 1.5 * np.linalg.norm(o.points[9] - o.points[0])
                       for o in seen):
                    continue
                h = detect.hand_at_wrist(rgb, p, side, model=hand_model,
                                         mirror_from=people.HAND_SEEN)
                if h.presence >= people.HAND_SEEN:
                    seen.append(h)
        return seen[:MAX_HANDS]

    @staticmethod
    def _second_opinions(rgb: np.ndarray, acc: people.Accounting) -> bool:
        """The second landmark model's read of every hand where it can change a finding: a
        hand on no arm (a third or detached hand is only sure when both models see it) and a
        hand the first model already calls the other arm's (a wrong hand needs both).
        Returns whether any was read."""
        asked = False
        for h, owner in zip(acc.hands, acc.hand_owner):
            first = (h.handedness if h.side == "left" else 1.0 - h.handedness) if h.side else 0.0
            if not owner or first >= severities.WRONG_HAND[0]:
                detect.second_opinion(rgb, h, _models()[3])
                asked = True
        return asked

    @staticmethod
    def _geometry(rgb: np.ndarray, h: detect.Hand, *, silhouettes: bool) -> dict[str, float]:
        """The hand's geometry and, for a palm hand large enough, its silhouette."""
        g = measures.hand_geometry(h)
        if (silhouettes and h.source == "palm"
                and np.linalg.norm(h.points[9, :2] - h.points[0, :2]) >= SILHOUETTE_MIN_PALM):
            g["unexplained_finger"] = silhouette.hand_silhouette(rgb, h)["unexplained_extent"]
        return g
