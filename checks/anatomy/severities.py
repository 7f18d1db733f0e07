"""Anatomy numbers -> severities and sentences, one function per group of codes.

:mod:`checks.anatomy.measures` and :mod:`checks.anatomy.people` produce raw numbers (distances
in eye, palm or body scales, counts, model confidences); this module maps them onto the shared
severity scale (< 0.25 nothing to notice, 0.5 visible and harmful to a video's first frame,
0.8 severe) with two calibrated anchors each, and words them. No level, no verdict, no cap:
how far a code may go is the profile's decision (``max_level``).

Anchors were set on the even rows of ../shared/data/ai_human_anatomy/labels_per_image.csv and
the real photos of people in ../shared/data (mmpose_testdata, p3m_demo, skimage astronaut);
the odd rows are held out. ``scripts/calibrate/anatomy.py`` prints every figure quoted here.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from checks.anatomy import confidence, geometry, measures, people
from checks.anatomy.detect import Face, Hand, Person
from keyframe.report import Measurement
from keyframe.severity import ramp

#: face-mesh confidence below which the mesh did not find a face in the detector's box (a
#: crowd face half hidden, a detector false positive): its shape is not judged, the face is
#: counted as something the detectors cannot verify
UNSURE_MESH = 0.2
#: ``kps_disagreement`` / ``eye_asymmetry`` anchors: real photos (mmpose) reach 0.75 and 1.34
#: (profiles, occlusion), so the ramps start above them
FACE_DISAGREE = (0.8, 1.6)
FACE_ASYM = (1.4, 3.0)
#: face detail over the sharpest parts of the image: real faces >= 0.47
FACE_SOFT = (0.4, 0.12)
#: largest face over the frame height
FACE_SMALL = (0.07, 0.015)
#: ``hand_outlier`` (robust z of finger-bone proportions + mirror disagreement of the
#: fingertips, against real hands): real photos of mmpose_testdata reach 10 (an acrobat's
#: foreshortened hand), hands graded severe on ai_human_anatomy 17+. Linear from 0 so that
#: the ranking survives (ties at 0 hide it); 0.5 at 20, 0.8 at 32.
HAND_OUTLIER = (0.0, 40.0)
#: ``hand_outlier`` beyond which a hand's shape lies outside what real hands show, so the
#: landmark model's read of it cannot vouch for its fingers: an ``anatomy_uncertain`` item
#: whose weight rises from 0 at the first anchor to a whole item (major on its own) at the
#: second. Set on the real photos alone (the false-alarm budget): of the 26 real photos of
#: ../shared/data with a hand read (mmpose_testdata people and hands, p3m, astronaut) the
#: worst hand's z is <= 4.5 on 22 and 7.0, 9.7, 15.4, 16.9 on the other four.
HAND_UNSURE = (4.5, 10.0)
#: ``unexplained_finger`` (hand scales from the nearest landmark finger bone to the tip of a
#: finger-shaped protrusion of the hand's silhouette): real people and real hand photos of
#: mmpose_testdata reach 0.15 and 0.07, HandRefiner's six-fingered hand (test/5.jpg) 0.51
EXTRA_FINGER = (0.3, 0.6)
#: ``hand_wrong_side`` (people.wrong_hand: both landmark models' certainty that the hand is
#: the mirror of the arm's own) ramps from 0.5 to 1.0 and is a code of its own, which the
#: profiles cap at ``major`` (review): in 2D a mirrored hand seen from the palm is a hand
#: seen from the back. As ``hand_malformed`` evidence (until 2 December 2026) it trashed
#: OneHand10K 33.jpg (the back of a hand at the lips, 0.96) under a faint checkerboard,
#: 32-level banding or a 1 % window-box, and read 0.97-0.99 on three real mmpose photos on
#: one of the two readings; on ai_human_anatomy it is what sent sdXL_jogging_03 (graded
#: severe for its legs and feet) and a realishuman picture to trash, and one image graded
#: not severe (0.96)
WRONG_HAND = (0.5, 1.0)
#: the sum of the weights of what the detectors cannot account for (people.UNSURE_WEIGHT per
#: item, people.OVERLAP_WEIGHT per overlapping pair): one item is minor, two are major
UNCERTAIN = (0.0, 2.0)
#: pose anchors (unchanged from the first calibration)
MISSING_LIMB = (0.94, 0.995)
LIMB_ASYM = (1.0, 1.6)
CUT_OFF = (0.15, 0.7)


def boxes(prefix: str, items, limit: int = 4) -> dict[str, float]:
    """``{prefix}1_x`` … of the first ``limit`` items' boxes, for a reframing step."""
    out = {}
    for i, it in enumerate(items[:limit], 1):
        for k, v in zip("xywh", it.box):
            out[f"{prefix}{i}_{k}"] = round(float(v))
    return out


def region(box) -> tuple[int, int, int, int]:
    return tuple(int(round(float(v))) for v in box)


def faces(found: list[Face], gray: np.ndarray, height: int, *, min_px: int,
          sharp_ref: Callable[[], float]) -> tuple[list[Measurement], list[people.Issue]]:
    """``face_distorted``, ``face_soft``, ``face_too_small``, and an uncertainty issue per
    face the mesh cannot read. ``found`` have their mesh filled in (largest first);
    ``sharp_ref()`` gives :func:`measures.image_fine_energy` of the picture (asked only
    when a face is judged)."""
    unsure: list[people.Issue] = []
    if not found:
        return [Measurement(c, 0.0, "no face found") for c in
                ("face_distorted", "face_soft", "face_too_small")], unsure
    worst, soft = (0.0, None, {}), (0.0, None, {})
    for f in found:
        if f.box[3] < min_px:
            continue
        g = measures.face_geometry(f)
        if g["presence"] < UNSURE_MESH:
            unsure.append(people.Issue(
                "uncertain",
                people.UNSURE_WEIGHT * ramp(g["presence"], UNSURE_MESH, 0.05) * confidence.face_sure(f),
                region(f.box),
                f"the face mesh cannot read the face at {f.box[0]:.0f},{f.box[1]:.0f}",
                {"mesh_presence": round(g["presence"], 3)}))
            s = 0.0
        else:
            s = max(ramp(g["kps_disagreement"], *FACE_DISAGREE),
                    ramp(g["eye_asymmetry"], *FACE_ASYM))
        if s >= worst[0] or worst[1] is None:
            worst = (s, f, g)
        ratio = measures.native_face_energy(gray, f.box) / (sharp_ref() + 1e-6)
        s_soft = ramp(ratio, *FACE_SOFT)
        if s_soft >= soft[0] or soft[1] is None:
            soft = (s_soft, f, {"face_energy_ratio": ratio})
    big = found[0]
    h_ratio = float(big.box[3] / height)
    out = [Measurement("face_too_small", ramp(h_ratio, *FACE_SMALL),
                       f"largest face is {h_ratio:.1%} of the frame height", region(big.box),
                       {"faces": len(found), "largest_face_height_ratio": h_ratio,
                        **boxes("face", found)})]
    if worst[1] is None:
        return out + [Measurement("face_distorted", 0.0, "faces too small to judge their shape"),
                      Measurement("face_soft", 0.0, "faces too small to judge their sharpness")
                      ], unsure
    s, f, g = worst
    out.append(Measurement(
        "face_distorted", s,
        f"face landmarks: models disagree by {g['kps_disagreement']:.2f} eye distances, "
        f"eye asymmetry {g['eye_asymmetry']:.2f}, mesh confidence {g['presence']:.2f}",
        region(f.box), g))
    s, f, ms = soft
    out.append(Measurement("face_soft", s, f"face detail is {ms['face_energy_ratio']:.2f}x that "
                           "of the sharpest parts of the image", region(f.box), ms))
    return out, unsure


def hand(found: list[tuple[Hand, dict[str, float]]]) -> Measurement:
    """``hand_malformed``: the worst hand by its geometry and its silhouette (an extra
    finger). Its handedness against the arm it is on is :func:`hand_side`'s."""
    if not found:
        return Measurement("hand_malformed", 0.0, "no hand found")
    scored = []
    for h, g in found:
        g = {**g, "hand_sure": confidence.hand_sure(h)}
        # each kind of evidence weighed by how surely the hand was read (a hand the palm
        # detector barely finds, a few px large, reads noise as geometry)
        parts = {"outlier_severity": ramp(g["hand_outlier"], *HAND_OUTLIER) * g["hand_sure"],
                 "extra_finger_severity": ramp(g.get("unexplained_finger", 0.0), *EXTRA_FINGER)
                 * g["hand_sure"]}
        scored.append((max(parts.values()), h, g, parts))
    s, h, g, _ = max(scored, key=lambda r: r[0])
    g.update({k: round(max(r[3][k] for r in scored), 4) for k in scored[0][3]})
    extra = g.get("unexplained_finger", 0.0)
    return Measurement(
        "hand_malformed", s,
        f"hand: {g['hand_outlier']:.1f} robust z outside real hands (finger bones off human "
        f"proportions by {g['bone_deviation']:.1f} spreads, fingertips move "
        f"{g['flip_tip_disagreement']:.2f} palm lengths in the mirrored crop)"
        + (f"; a finger-shaped protrusion {extra:.2f} hand scales from every landmark finger "
           "(an extra finger?)" if extra >= EXTRA_FINGER[0] else ""),
        region(h.box), {**g, "hands": len(found), **boxes("hand", [h for h, _ in found])})


def hand_side(found: list[tuple[Hand, dict[str, float]]], acc: people.Accounting
              ) -> Measurement:
    """``hand_wrong_side``: the hand both landmark models read as the other hand than the
    arm it is at the end of (``people.wrong_hand``), weighed by how surely it was read — a
    thumb on the wrong side, or a hand seen from the back, which a 2D picture cannot tell
    apart (so the profiles let it reach ``major``, review, and no further)."""
    read = [(people.wrong_hand(h), confidence.hand_sure(h), h) for h, _ in found]
    scored = [(ramp(wrong, *WRONG_HAND) * sure, wrong, sure, h) for wrong, sure, h in read]
    if not scored or max(r[0] for r in scored) <= 0:
        return Measurement("hand_wrong_side", 0.0, "every hand read sits on its own arm's side"
                           if found else "no hand found")
    s, wrong, sure, h = max(scored, key=lambda r: r[0])
    owner = dict(zip(map(id, acc.hands), acc.hand_owner))
    whose = f"person {owner[id(h)]}'s" if owner.get(id(h)) else "the"
    mirror = "right" if h.side == "left" else "left"
    return Measurement(
        "hand_wrong_side", s,
        f"the hand at the end of {whose} {h.side} arm reads as a {mirror} hand ({wrong:.2f}): "
        "its thumb is on the wrong side, or it is seen from the back",
        region(h.box), {"wrong_hand": round(wrong, 4), "hand_sure": round(sure, 4)})


def hand_unsure(found: list[tuple[Hand, dict[str, float]]], acc: people.Accounting,
                width: int, height: int) -> list[people.Issue]:
    """An uncertainty item per hand whose finger geometry lies beyond real hands'
    (``HAND_UNSURE``): the defect anchors (``HAND_OUTLIER``) keep their meaning, but a hand
    this far out is not one the gate can vouch for."""
    owner = dict(zip(map(id, acc.hands), acc.hand_owner))
    out = []
    for h, g in found:
        weight = (2 * people.UNSURE_WEIGHT * ramp(g["hand_outlier"], *HAND_UNSURE)
                  * confidence.hand_sure(h))
        if weight <= 0:
            continue
        whose = f"person {owner[id(h)]}'s" if owner.get(id(h)) else "a"
        r = region(h.box)
        out.append(people.Issue(
            "uncertain", weight, r,
            f"{whose} hand at {geometry.where(r, width, height)} is shaped unlike real hands "
            f"({g['hand_outlier']:.1f} robust z): its fingers cannot be verified",
            {"hand_outlier": round(g["hand_outlier"], 2)}))
    return out


def bodies(rows: list[tuple[Person, dict[str, float]]], n_people: int,
           all_people: list[Person], *, height: int) -> list[Measurement]:
    """``pose_missing_limb``, ``pose_implausible``, ``subject_cut_off`` from each valid
    skeleton's geometry (:func:`measures.body_geometry`), each weighed by how surely the
    skeleton's joints were read (``confidence.joints_sure``: YOLOX score, box height and
    pose flag on ramps from the gates that drop them), so a skeleton that crosses a gate
    with a pixel moves them by little."""
    if not rows:
        why = ("no person found" if not n_people
               else "no skeleton the pose model can read (a close-up or a lost pose)")
        return [Measurement(c, 0.0, why) for c in
                ("pose_missing_limb", "pose_implausible", "subject_cut_off")]
    rows = [(p, {**g, "pose_sure": confidence.joints_sure(p, height)}) for p, g in rows]

    def worst(severity):
        s, p, g = max(((severity(g) * g["pose_sure"], p, g) for p, g in rows),
                      key=lambda r: r[0])
        return s, (p, g)

    miss_s, miss = worst(lambda g: ramp(g["missing_limb"], *MISSING_LIMB))
    impl_s, impl = worst(lambda g: ramp(g["limb_asymmetry"], *LIMB_ASYM))
    cut_s, cut = worst(lambda g: max(ramp(g["cut_off"], *CUT_OFF), 0.5 * g["head_cut"]))
    return [
        Measurement("pose_missing_limb", miss_s,
                    f"a limb in frame is {1 - miss[1]['missing_limb']:.0%} visible to the pose "
                    "model", region(miss[0].box), miss[1]),
        Measurement("pose_implausible", impl_s,
                    f"left/right limb lengths differ by a factor "
                    f"{np.exp(impl[1]['limb_asymmetry']):.2f}", region(impl[0].box), impl[1]),
        Measurement("subject_cut_off", cut_s,
                    f"{cut[1]['cut_off']:.0%} of a person's key joints are outside the frame"
                    f"{' (head cut)' if cut[1]['head_cut'] else ''}", region(cut[0].box),
                    {**cut[1], "persons": n_people, **boxes("person", all_people)}),
    ]


ACCOUNTING_CODES = ("extra_limb", "detached_part", "merged_bodies")
_NONE = {"extra_limb": "no body shows more than two arms, legs or hands",
         "detached_part": "every hand and face found belongs to a body",
         "merged_bodies": "no two bodies share a head or a limb"}


def accounting(issues: list[people.Issue]) -> list[Measurement]:
    """``extra_limb``, ``detached_part``, ``merged_bodies`` (the strongest issue of each kind:
    its evidence is the severity, so a part two detectors agree on reads higher than one only
    one of them sees) and ``anatomy_uncertain`` (the summed weight of what the detectors
    cannot account for)."""
    out = []
    for code in ACCOUNTING_CODES:
        mine = sorted((i for i in issues if i.kind == code), key=lambda i: -i.strength)
        if not mine:
            out.append(Measurement(code, 0.0, _NONE[code], None, {"count": 0.0}))
            continue
        top = mine[0]
        more = f" (and {len(mine) - 1} more)" if len(mine) > 1 else ""
        out.append(Measurement(code, float(top.strength), top.sentence + more, top.region,
                               {**top.values, "count": float(len(mine)),
                                "evidence": float(top.strength)}))
    unsure = sorted((i for i in issues if i.kind == "uncertain"), key=lambda i: -i.strength)
    total = float(sum(i.strength for i in unsure))
    if not unsure:
        out.append(Measurement("anatomy_uncertain", 0.0,
                               "the detectors account for every person, face and hand found",
                               None, {"unaccounted": 0.0, "items": 0.0}))
        return out
    more = f"; {len(unsure) - 1} more thing(s) the detectors cannot verify" if len(unsure) > 1 else ""
    out.append(Measurement(
        "anatomy_uncertain", ramp(total, *UNCERTAIN),
        f"cannot verify the anatomy: {unsure[0].sentence}{more}", unsure[0].region,
        {"unaccounted": round(total, 3), "items": float(len(unsure))}))
    return out
