"""Anatomy family: faces, hands and bodies measured with small pretrained models on CPU.

Codes: ``face_distorted``, ``face_soft``, ``face_too_small``, ``hand_malformed``,
``pose_missing_limb``, ``pose_implausible``, ``subject_cut_off``.

Models (keyframe.models): YuNet-s faces + MediaPipe face mesh; YOLOX-nano person boxes +
MediaPipe pose_landmark_lite (TFLite, ``ai-edge-litert``); MediaPipe palm detection + hand
landmarks. A missing model raises :class:`~keyframe.models.ModelMissing`, which puts the
check in ``skipped`` with the pull command. Decoding lives in :mod:`checks.anatomy.detect`,
geometry in :mod:`checks.anatomy.measures`; this module only maps numbers to severities.
:mod:`checks.anatomy.silhouette` counts the fingers that stick out of the hand's own pixels:
a finger-shaped protrusion no landmark finger explains (an extra finger) raises
``hand_malformed`` to review (it did not change the held-out AUC against the human grades,
which mostly fault small or gripping hands, but it catches a drawn sixth finger that the
landmark geometry misses, and never fires on a real hand: README).

Each code's region is the worst instance (source pixels); the boxes of every face, hand and
person found (up to 4 each) are in the measurements of ``face_too_small`` (``face1_x`` …),
``hand_malformed`` (``hand1_x`` …) and ``subject_cut_off`` (``person1_x`` …), so a reframing
step can avoid cutting them. Anchors were set on the even-numbered half of
../shared/data/ai_human_anatomy and checked on the other half and on the real people of
mmpose_testdata (figures in README.md; scripts/bench_anatomy.py reproduces them).
"""
from __future__ import annotations

import numpy as np

from checks.anatomy import detect, measures, silhouette
from keyframe import views
from keyframe.image import LoadedImage
from keyframe.registry import Check
from keyframe.report import Measurement
from keyframe.severity import ramp

MAX_FACES = 4
MAX_PERSONS = 3
MIN_FACE_PX = 24            # smaller faces are counted for size but not judged for shape


def _boxes(prefix: str, items, limit: int = 4) -> dict[str, float]:
    out = {}
    for i, it in enumerate(items[:limit], 1):
        for k, v in zip("xywh", it.box):
            out[f"{prefix}{i}_{k}"] = round(float(v))
    return out


def _region(box) -> tuple[int, int, int, int]:
    return tuple(int(round(v)) for v in box)


#: face-mesh confidence below which a face-shape judgement is unsure, and the cap it gets
UNSURE_MESH = 0.2
UNSURE_CAP = 0.6


#: ``hand_outlier`` (robust z of bone proportions + mirror disagreement of the fingertips,
#: against real hands): real photos of mmpose_testdata reach 10 (an acrobat's foreshortened
#: hand, humanart real_human 590), 7.1 (MPII) and 6.4 (FreiHAND); on ai_human_anatomy the
#: hands graded severe reach 17+. The measure separates graded hands only modestly (ROC-AUC
#: ~0.7, README), so up to 20 it rises to major at most (review), and only an outlier twice
#: that far — beyond any real hand seen — reaches critical.
HAND_OUTLIER_MAJOR, HAND_OUTLIER_CRITICAL = 20.0, 40.0
HAND_OUTLIER_MAJOR_CAP = 0.75
#: ``unexplained_finger`` (hand scales from the nearest landmark finger bone to the tip of a
#: finger-shaped protrusion of the hand's silhouette): real people and real hand photos of
#: mmpose_testdata reach 0.15 and 0.07, HandRefiner's six-fingered hand (test/5.jpg) 0.51.
#: An extra finger is a review (major) at most: the silhouette comes from GrabCut.
EXTRA_FINGER_ZERO, EXTRA_FINGER_ONE = 0.3, 0.6
EXTRA_FINGER_CAP = 0.75


class AnatomyCheck(Check):
    name = "anatomy"
    codes = ("face_distorted", "face_soft", "face_too_small", "hand_malformed",
             "pose_missing_limb", "pose_implausible", "subject_cut_off")
    models = ("yunet-s", "face-landmark", "yolox-nano", "pose-landmark-lite",
              "palm-detection-lite", "hand-landmark-lite")

    def measure(self, image: LoadedImage) -> list[Measurement]:
        """Every code, read on the picture and on its mirror image; each severity is the
        lower of the two (``mirror_severity`` records the mirror's). A malformed hand or
        face is malformed both ways round; a model's read that flips with an imperceptible
        change is not: on ai_human_anatomy + real mmpose photos, +-1 grey level of noise
        moved pose_missing_limb by up to 0.76 and face_distorted by up to 0.59 with one
        reading, by up to 0.32 and 0.40 with two (scripts/anatomy_stability.py, README; the
        held-out hand AUC moved 0.75 -> 0.69, within the +-0.1 of 25 images, the Spearman
        0.23 -> 0.37)."""
        for name in self.models:          # fail fast, before any work, if a model is missing
            detect.models.path(name)
        found = self._once(image)
        mirror = LoadedImage(rgb=np.ascontiguousarray(image.rgb[:, ::-1]))
        twin = {m.code: m.severity for m in self._once(mirror)}
        for m in found:
            other = twin.get(m.code, m.severity)
            m.measurements = {**m.measurements, "mirror_severity": round(other, 4)}
            m.severity = min(m.severity, other)
            m.check = self.name
        return found

    def _once(self, image: LoadedImage) -> list[Measurement]:
        rgb = image.rgb
        people = sorted(detect.persons(rgb), key=lambda p: -p.box[2] * p.box[3])
        return [*self._faces(image, rgb), self._hands(rgb, people), *self._bodies(rgb, people)]

    def _faces(self, image: LoadedImage, rgb: np.ndarray) -> list[Measurement]:
        H, W = rgb.shape[:2]
        faces = sorted(detect.faces(rgb), key=lambda f: -f.box[3])[:MAX_FACES]
        if not faces:
            return [Measurement(c, 0.0, "no face found") for c in
                    ("face_distorted", "face_soft", "face_too_small")]
        gray = views.gray_u8(image)
        sharp_ref = measures.image_fine_energy(gray) + 1e-6
        worst = (0.0, None, {})
        soft = (0.0, None, {})
        for f in faces:
            if f.box[3] < MIN_FACE_PX:
                continue
            detect.face_mesh(rgb, f)
            g = measures.face_geometry(f)
            # real photos (mmpose) reach 0.75 disagreement and 1.34 eye asymmetry (profiles,
            # occlusion), so the ramps start above them; the mesh's own confidence is only
            # reported: it is near 0 on many real, partly hidden faces
            s = max(ramp(g["kps_disagreement"], 0.8, 1.6), ramp(g["eye_asymmetry"], 1.4, 3.0))
            if g["presence"] < UNSURE_MESH:
                # the mesh did not find a face in the box (a crowd face half hidden, a
                # detector false positive): the disagreement then says nothing about the
                # face's shape, so the measure is unsure — at most major (a person looks),
                # never the critical level at which a profile trashes (crowdpose 106848)
                s = min(s, UNSURE_CAP)
            if s >= worst[0] or worst[1] is None:
                worst = (s, f, g)
            ratio = measures.native_face_energy(gray, f.box) / sharp_ref
            s_soft = ramp(ratio, 0.4, 0.12)     # real faces: >= 0.47
            if s_soft >= soft[0] or soft[1] is None:
                soft = (s_soft, f, {"face_energy_ratio": ratio})
        big = faces[0]
        h_ratio = float(big.box[3] / H)
        size_ms = {"faces": len(faces), "largest_face_height_ratio": h_ratio,
                   **_boxes("face", faces)}
        out = [Measurement("face_too_small", ramp(h_ratio, 0.07, 0.015),
                           f"largest face is {h_ratio:.1%} of the frame height",
                           _region(big.box), size_ms)]
        if worst[1] is None:
            out += [Measurement("face_distorted", 0.0, "faces too small to judge their shape"),
                    Measurement("face_soft", 0.0, "faces too small to judge their sharpness")]
            return out
        s, f, g = worst
        out.append(Measurement(
            "face_distorted", s,
            f"face landmarks: models disagree by {g['kps_disagreement']:.2f} eye distances, "
            f"eye asymmetry {g['eye_asymmetry']:.2f}, mesh confidence {g['presence']:.2f}",
            _region(f.box), g))
        s, f, ms = soft
        out.append(Measurement(
            "face_soft", s, f"face detail is {ms['face_energy_ratio']:.2f}x that of the "
            "sharpest parts of the image", _region(f.box), ms))
        return out

    def _hands(self, rgb: np.ndarray, people) -> Measurement:
        hands = detect.hands(rgb, persons=people)
        hands = [h for i, h in enumerate(hands)
                 if all(detect._iou(h.box, hands[j].box[None])[0] < 0.5 for j in range(i))]
        if not hands:
            return Measurement("hand_malformed", 0.0, "no hand found")
        worst = (-1.0, None, {})
        for h in hands:
            g = measures.hand_geometry(h)
            if g["presence"] < 0.5:     # the landmark model does not see a hand here
                s = ramp(g["palm_score"], 0.7, 0.95) * 0.4
            else:
                # continuous from 0 (ties at 0 would hide the ranking), review-level only
                # up to HAND_OUTLIER_MAJOR; hyperextension and tip crowding are reported but
                # not scored: real photos reach 165 degrees and 4 crowded pairs, and neither
                # ranked the graded hands better than chance
                o = g["hand_outlier"]
                s = (HAND_OUTLIER_MAJOR_CAP * ramp(o, 0.0, HAND_OUTLIER_MAJOR)
                     + (1 - HAND_OUTLIER_MAJOR_CAP) * ramp(o, HAND_OUTLIER_MAJOR,
                                                           HAND_OUTLIER_CRITICAL))
                g["unexplained_finger"] = silhouette.hand_silhouette(rgb, h)["unexplained_extent"]
                s = max(s, EXTRA_FINGER_CAP * ramp(g["unexplained_finger"], EXTRA_FINGER_ZERO,
                                                   EXTRA_FINGER_ONE))
            if s > worst[0]:
                worst = (s, h, g)
        s, h, g = worst
        return Measurement(
            "hand_malformed", s,
            f"hand: {g['hand_outlier']:.1f} robust z outside real hands (finger bones off human "
            f"proportions by {g['bone_deviation']:.1f} spreads, fingertips move "
            f"{g['flip_tip_disagreement']:.2f} palm lengths in the mirrored crop), "
            f"backward bend {g['hyperextension']:.0f}°, {g['tip_crowding']:.0f} fused tip pair(s)"
            + (f"; a finger-shaped protrusion {g['unexplained_finger']:.2f} hand scales from "
               f"every landmark finger (an extra finger?)"
               if g.get("unexplained_finger", 0.0) >= EXTRA_FINGER_ZERO else ""),
            _region(h.box), {**g, "hands": len(hands), **_boxes("hand", hands)})

    def _bodies(self, rgb: np.ndarray, people) -> list[Measurement]:
        H, W = rgb.shape[:2]
        people = people[:MAX_PERSONS]
        people = [p for p in people if p.box[3] >= 0.15 * H]
        if not people:
            return [Measurement(c, 0.0, "no person found") for c in
                    ("pose_missing_limb", "pose_implausible", "subject_cut_off")]
        rows = []
        for p in people:
            detect.pose(rgb, p)
            rows.append((p, measures.body_geometry(p, W, H)))
        rows = [(p, g) for p, g in rows if g["pose_flag"] >= 0.5] or rows[:1]
        miss = max(rows, key=lambda r: r[1]["missing_limb"])
        impl = max(rows, key=lambda r: r[1]["limb_asymmetry"])
        cut = max(rows, key=lambda r: r[1]["cut_off"] + r[1]["head_cut"])
        cut_s = max(ramp(cut[1]["cut_off"], 0.15, 0.7), 0.5 * cut[1]["head_cut"])
        return [
            Measurement("pose_missing_limb", ramp(miss[1]["missing_limb"], 0.94, 0.995),
                        f"a limb in frame is {1 - miss[1]['missing_limb']:.0%} visible to the "
                        "pose model", _region(miss[0].box), miss[1]),
            Measurement("pose_implausible", ramp(impl[1]["limb_asymmetry"], 1.0, 1.6),
                        f"left/right limb lengths differ by a factor "
                        f"{np.exp(impl[1]['limb_asymmetry']):.2f}", _region(impl[0].box),
                        impl[1]),
            Measurement("subject_cut_off", cut_s,
                        f"{cut[1]['cut_off']:.0%} of a person's key joints are outside the "
                        f"frame{' (head cut)' if cut[1]['head_cut'] else ''}",
                        _region(cut[0].box),
                        {**cut[1], "persons": len(people), **_boxes("person", people)}),
        ]
