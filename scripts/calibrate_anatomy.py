"""Anatomy check against human grades, and the candidate signals tried for issue #4.

Usage: KEYFRAME_MODELS=../shared/models python scripts/calibrate_anatomy.py

Prints the figures of README.md ("Models and the anatomy check"):

1. the check as shipped, on ../shared/data/ai_human_anatomy (even rows of
   labels_per_image.csv calibrate, odd rows are held out): ROC-AUC of ``hand_malformed`` vs
   ``hands_severe_any``, of max(``pose_*``) vs ``limbs_severe_any``, of ``face_distorted`` vs
   ``face_severe_any``, and Spearman of the worst anatomy severity vs ``total_score_mean``;
   the share of real mmpose photos of people with any anatomy code >= 0.5 and >= 0.8; the
   HandRefiner hands; the worst anatomy code on the clean ComfyUI generations;
2. the candidate signals (raw numbers, higher = worse), each with its calibration and
   held-out ROC-AUC against the label it is meant for and the largest value on real people:
   hand silhouettes (checks.anatomy.silhouette), hands detached from every pose wrist, hands
   per person, mirror disagreement of the pose and face models, the share of the pose model's
   person mask its skeleton does not explain, the face detector's score at
   the head the pose model places, iris roundness and gaze agreement (MediaPipe iris), and
   the 2D/3D consistency of the hand landmarks.

A candidate earns a place in a severity only if it raises the held-out AUC and leaves real
people below 0.5; none did (README.md). One exception is scored: finger-shaped silhouette
protrusions no landmark finger explains (an extra finger) leave the AUC unchanged but catch
HandRefiner's six-fingered hand and never fire on a real hand.
"""
from __future__ import annotations

import csv
import glob
from pathlib import Path

import cv2
import numpy as np
from scipy.stats import spearmanr

from bench_anatomy import auc  # scripts/ is on sys.path when this file is run
from checks.anatomy import AnatomyCheck, detect, silhouette
from checks.anatomy.detect import _sigmoid, _to_source, _warp
from keyframe import models
from keyframe.image import load
from keyframe.severity import ramp

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
MM = DATA / "mmpose_testdata/tests/data"
REAL = ("coco/*.jpg", "h36m/*/*/*.jpg", "humanart/real_human/*/*.jpg", "mpii/*.jpg",
        "ochuman/*.jpg", "crowdpose/*.jpg")
REAL_HANDS = ("onehand10k/*.jpg", "freihand/*.jpg")
POSE_SWAP = np.arange(33)
for _a, _b in ((1, 4), (2, 5), (3, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16), (17, 18),
               (19, 20), (21, 22), (23, 24), (25, 26), (27, 28), (29, 30), (31, 32)):
    POSE_SWAP[_a], POSE_SWAP[_b] = _b, _a
LIMB_JOINTS = [13, 14, 15, 16, 25, 26, 27, 28]
#: mesh points and their mirror partners (eye corners, lids, brows, mouth corners, midline)
FACE_PAIRS = ((33, 263), (133, 362), (159, 386), (145, 374), (61, 291), (70, 300), (105, 334),
              (234, 454), (1, 1), (13, 13), (14, 14), (152, 152), (10, 10))


def _pose_run(crop: np.ndarray, seg: bool = False):
    interp = models.interpreter("pose-landmark-lite")
    interp.set_tensor(interp.get_input_details()[0]["index"],
                      crop[None].astype(np.float32) / 255.0)
    interp.invoke()
    outs = {d["name"]: interp.get_tensor(d["index"]) for d in interp.get_output_details()}
    lm = outs["Identity"].reshape(39, 5)[:33]
    return (lm, _sigmoid(outs["Identity_2"].reshape(256, 256))) if seg else lm


#: pose connections drawn to explain a person's mask (limbs, torso sides, hands, feet, neck)
BONES = ((11, 12), (11, 13), (13, 15), (12, 14), (14, 16), (11, 23), (12, 24), (23, 24),
         (23, 25), (25, 27), (24, 26), (26, 28), (27, 31), (28, 32), (27, 29), (28, 30),
         (15, 19), (16, 20), (15, 17), (16, 18), (0, 11), (0, 12))


def body_unexplained(rgb: np.ndarray, person) -> float:
    """Share of the pose model's own person mask farther than a limb's width from its
    skeleton (bones 0.35 torso lengths wide, torso quad, head disc): a limb no pose chain
    explains."""
    center = person.box[:2] + person.box[2:] / 2
    crop, _ = _warp(rgb, center, float(max(person.box[2:]) * 1.25), 0.0, 256)
    lm, seg = _pose_run(crop, seg=True)
    p = lm[:, :2]
    torso = np.linalg.norm((p[11] + p[12]) / 2 - (p[23] + p[24]) / 2) + 1e-6
    sk = np.zeros((256, 256), np.uint8)
    for a, b in BONES:
        cv2.line(sk, tuple(int(v) for v in p[a]), tuple(int(v) for v in p[b]), 1,
                 max(2, int(0.35 * torso)))
    cv2.fillConvexPoly(sk, p[[11, 12, 24, 23]].astype(np.int32), 1)
    r = int(max(0.6 * np.linalg.norm(p[11] - p[12]), 0.3 * torso))
    cv2.circle(sk, tuple(int(v) for v in p[0]), r, 1, -1)
    mask = seg > 0.5
    return float((mask & (sk == 0)).sum() / (mask.sum() + 1))


def pose_mirror(rgb: np.ndarray, person) -> float:
    """Largest move of a visible elbow/wrist/knee/ankle between the pose crop and its mirror
    (left/right swapped back), in torso lengths."""
    center = person.box[:2] + person.box[2:] / 2
    crop, inv = _warp(rgb, center, float(max(person.box[2:]) * 1.25), 0.0, 256)
    lm, lmf = _pose_run(crop), _pose_run(np.ascontiguousarray(crop[:, ::-1]))[POSE_SWAP]
    lmf[:, 0] = 256 - lmf[:, 0]
    pts, ptf = _to_source(lm, inv), _to_source(lmf, inv)
    vis = np.minimum(_sigmoid(lm[:, 3]), _sigmoid(lmf[:, 3]))
    torso = np.linalg.norm((pts[11] + pts[12]) / 2 - (pts[23] + pts[24]) / 2) + 1e-6
    ok = [j for j in LIMB_JOINTS if vis[j] >= 0.5]
    return float(np.linalg.norm(pts[ok] - ptf[ok], axis=1).max() / torso) if ok else 0.0


def face_mirror(rgb: np.ndarray, face) -> float:
    """Mean move of mirrored face-mesh point pairs between the face crop and its mirror, in
    eye distances."""
    re, le = face.kps[0], face.kps[1]
    angle = float(np.arctan2(le[1] - re[1], le[0] - re[0]))
    size = float(max(face.box[2], face.box[3]) * 1.5)
    crop, inv = _warp(rgb, face.box[:2] + face.box[2:] / 2, size, angle, 192)
    pts, _ = models.session("face-landmark").run(
        None, {"input_1": np.ascontiguousarray(crop[:, ::-1])[None].astype(np.float32) / 255.0})
    pts = pts.reshape(468, 3).copy()
    pts[:, 0] = 192 - pts[:, 0]
    mirrored = _to_source(pts, inv)
    a = [p[0] for p in FACE_PAIRS] + [p[1] for p in FACE_PAIRS]
    b = [p[1] for p in FACE_PAIRS] + [p[0] for p in FACE_PAIRS]
    iod = np.linalg.norm(face.kps[1] - face.kps[0]) + 1e-6
    return float(np.linalg.norm(face.mesh[a, :2] - mirrored[b], axis=1).mean() / iod)


def head_unread(rgb: np.ndarray, person) -> float:
    """1 - the best YuNet score (threshold 0.02) on a crop around the head the pose model
    places; 0 when the head is tiny (eye distance < 5 px), unseen or outside the frame."""
    h, w = rgb.shape[:2]
    p, vis = person.points, person.visibility
    nose = p[0]
    if not (0 <= nose[0] < w and 0 <= nose[1] < h) or min(vis[[0, 2, 5]]) < 0.8:
        return 0.0
    if np.linalg.norm(p[2] - p[5]) < 5:
        return 0.0
    head = p[[0, 2, 5, 7, 8]]
    size = max(np.ptp(head, 0).max() * 2.5, np.linalg.norm(p[11] - p[12]) * 1.2)
    crop, inv = _warp(rgb, head.mean(0), float(size), 0.0, 160)
    fwd = cv2.invertAffineTransform(inv)
    n = fwd[:, :2] @ nose + fwd[:, 2]
    best = 0.0
    for f in detect.faces(crop, long_side=160, min_score=0.02):
        x, y, bw, bh = f.box
        if x - 5 <= n[0] <= x + bw + 5 and y - 5 <= n[1] <= y + bh + 5:
            best = max(best, f.score)
    return 1.0 - best


def iris_measures(rgb: np.ndarray, face) -> tuple[float, float]:
    """Iris roundness (largest |log(width / height)| of the two irises) and gaze disagreement
    (distance between the two iris centres' offsets inside their eyes, in eye widths) from
    the MediaPipe iris model on a 64-px crop of each eye (right eye mirrored, as trained)."""
    u = face.mesh[263, :2] - face.mesh[33, :2]
    u = u / (np.linalg.norm(u) + 1e-9)
    v = np.array([-u[1], u[0]])
    sess = models.session("iris-landmark")
    rounds, offsets = [], []
    for outer, inner, mirror in ((33, 133, True), (263, 362, False)):
        a, b = face.mesh[outer, :2], face.mesh[inner, :2]
        width = float(np.linalg.norm(b - a)) + 1e-6
        crop, inv = _warp(rgb, (a + b) / 2, width * 2.3, float(np.arctan2(u[1], u[0])), 64)
        if mirror:
            crop = np.ascontiguousarray(crop[:, ::-1])
        outs = dict(zip([o.name for o in sess.get_outputs()],
                        sess.run(None, {sess.get_inputs()[0].name:
                                        crop[None].astype(np.float32) / 255.0})))
        ir = outs["output_iris"].reshape(5, 3)[:, :2].copy()
        if mirror:
            ir[:, 0] = 64 - ir[:, 0]
        ir = _to_source(ir, inv)
        rounds.append(abs(np.log((np.linalg.norm(ir[1] - ir[3]) + 1e-6)
                                 / (np.linalg.norm(ir[2] - ir[4]) + 1e-6))))
        off = ir[0] - (a + b) / 2
        offsets.append(np.array([off @ u, off @ v]) / width)
    return float(max(rounds)), float(np.linalg.norm(offsets[0] - offsets[1]))


def affine_residual(points: np.ndarray, world: np.ndarray) -> float:
    """Mean residual of the best affine camera from the 3D world landmarks to the 2D ones,
    in RMS spreads of the 2D points (the two output heads of one model disagree)."""
    pc, wc = points - points.mean(0), world - world.mean(0)
    m, *_ = np.linalg.lstsq(wc, pc, rcond=None)
    spread = np.sqrt((pc ** 2).sum(1).mean()) + 1e-6
    return float(np.linalg.norm(pc - wc @ m, axis=1).mean() / spread)


def candidates(rgb: np.ndarray) -> dict[str, float]:
    """Every candidate signal of one image (worst instance; 0 when nothing was found)."""
    h = rgb.shape[0]
    people = sorted(detect.persons(rgb), key=lambda p: -p.box[2] * p.box[3])
    big = [p for p in people[:3] if p.box[3] >= 0.15 * h]
    for p in people[:6]:
        detect.pose(rgb, p)
    hands = [x for x in detect.hands(rgb, persons=people) if x.presence >= 0.5]
    faces = [f for f in sorted(detect.faces(rgb), key=lambda f: -f.box[3])[:4] if f.box[3] >= 24]
    sil = [silhouette.hand_silhouette(rgb, x) for x in hands]
    wrists = [p.points[j] for p in people[:6] for j in range(15, 23)]
    detached = 0.0
    for x in hands:
        palm = np.linalg.norm(x.points[9] - x.points[0]) + 1e-6
        c = x.points[list(silhouette.PALM)].mean(0)
        d = min((np.linalg.norm(c - q) for q in wrists), default=10 * palm) / palm
        detached = max(detached, min(10.0, d))
    per_person = 0
    for p in people[:4]:
        centres = [(q.box[:2] + q.box[2:] / 2, q.box[2:]) for q in people[:4]]
        mine = 0
        for x in hands:
            c = x.points.mean(0)
            near = int(np.argmin([np.linalg.norm((c - cc) / wh) for cc, wh in centres]))
            mine += people[near] is p
        per_person = max(per_person, mine)
    for f in faces:
        detect.face_mesh(rgb, f)
    irises = [iris_measures(rgb, f) for f in faces
              if np.linalg.norm(f.kps[1] - f.kps[0]) >= 10]
    return {
        "silhouette_unexplained": max((s["unexplained_extent_any"] for s in sil), default=0.0),
        "silhouette_finger": max((s["unexplained_extent"] for s in sil), default=0.0),
        "silhouette_protrusions": max((s["protrusions"] for s in sil), default=0.0),
        "detached_hand": detached,
        "hands_per_person": float(per_person),
        "pose_mirror": max((pose_mirror(rgb, p) for p in big), default=0.0),
        "body_unexplained": max((body_unexplained(rgb, p) for p in big), default=0.0),
        "face_mirror": max((face_mirror(rgb, f) for f in faces), default=0.0),
        "head_unread": max((head_unread(rgb, p) for p in big), default=0.0),
        "iris_roundness": max((r for r, _ in irises), default=0.0),
        "iris_gaze": max((g for _, g in irises), default=0.0),
        "hand_2d3d": max((affine_residual(x.points, x.world) for x in hands), default=0.0),
    }


#: candidate -> the label it is meant to predict
TARGET = {"silhouette_unexplained": "hands", "silhouette_finger": "hands",
          "silhouette_protrusions": "hands", "silhouette_unexplained+outlier": "hands",
          "silhouette_finger+outlier": "hands", "detached_hand": "hands", "hands_per_person": "limbs",
          "pose_mirror": "limbs", "body_unexplained": "limbs", "face_mirror": "face", "head_unread": "face",
          "iris_roundness": "face", "iris_gaze": "face",
          "hand_2d3d": "hands"}


def main() -> None:
    check = AnatomyCheck()
    rows = list(csv.DictReader(open(DATA / "ai_human_anatomy/labels_per_image.csv")))
    items = []
    for i, r in enumerate(rows):
        items.append({"set": "calib" if i % 2 == 0 else "heldout",
                      "path": DATA / "ai_human_anatomy" / r["path"],
                      "hands": r["hands_severe_any"] == "True",
                      "limbs": r["limbs_severe_any"] == "True",
                      "face": r["face_severe_any"] == "True",
                      "total": float(r["total_score_mean"])})
    for group, pats in (("real", REAL), ("real_hands", REAL_HANDS)):
        items += [{"set": group, "path": Path(p)}
                  for pat in pats for p in sorted(glob.glob(str(MM / pat)))]
    items += [{"set": "handrefiner", "path": Path(p)}
              for p in sorted(glob.glob(str(DATA / "handrefiner/test/*.jpg")))]
    items += [{"set": "comfy", "path": Path(p)}
              for p in sorted(glob.glob(str(DATA / "comfyui_examples/*/*.png")))]
    for it in items:
        img = load(it["path"])
        it["sev"] = {m.code: m.severity for m in check.measure(img)}
        it["cand"] = candidates(img.rgb)
        for name in ("silhouette_unexplained", "silhouette_finger"):
            # the severity it would get: review at most, beside hand_outlier's
            it["cand"][name + "+outlier"] = max(it["sev"]["hand_malformed"],
                                                0.75 * ramp(it["cand"][name], 0.3, 0.6))

    def by(s):
        return [x for x in items if x["set"] == s]

    print("1. the check as shipped (calibration / held out / all)")
    cols = {"calib": by("calib"), "heldout": by("heldout"), "all": by("calib") + by("heldout")}
    measures = (
        ("AUC hand_malformed vs hands_severe_any", "hands", lambda x: x["sev"]["hand_malformed"]),
        ("AUC max pose_* vs limbs_severe_any", "limbs",
         lambda x: max(x["sev"]["pose_missing_limb"], x["sev"]["pose_implausible"])),
        ("AUC face_distorted vs face_severe_any", "face", lambda x: x["sev"]["face_distorted"]))
    for name, lab, f in measures:
        print(f"  {name}: " + " / ".join(
            f"{auc([f(x) for x in d], [x[lab] for x in d]):.2f}" for d in cols.values()))
    print("  Spearman worst anatomy severity vs total_score_mean: " + " / ".join(
        f"{spearmanr([max(x['sev'].values()) for x in d], [x['total'] for x in d]).statistic:.2f}"
        for d in cols.values()))
    for group in ("real", "real_hands", "comfy"):
        d = by(group)
        worst = [max(x["sev"].items(), key=lambda kv: kv[1]) for x in d]
        flagged = [f"{x['path'].name}:{c}={s:.2f}" for x, (c, s) in zip(d, worst) if s >= 0.5]
        print(f"  {group} (n={len(d)}): any code >= 0.5: {len(flagged)}, >= 0.8: "
              f"{sum(s >= 0.8 for _, s in worst)} {flagged}")
    print("  handrefiner hand_malformed: " + " ".join(
        f"{x['path'].name}={x['sev']['hand_malformed']:.2f}" for x in by("handrefiner")))

    print("2. candidate signals: AUC calibration / held out vs their label; largest value on "
          "real people, real hands; HandRefiner values")
    for name, lab in TARGET.items():
        a = [auc([x["cand"][name] for x in cols[h]], [x[lab] for x in cols[h]])
             for h in ("calib", "heldout")]
        real = max(x["cand"][name] for x in by("real"))
        hands = max(x["cand"][name] for x in by("real_hands"))
        hr = " ".join(f"{x['cand'][name]:.2f}" for x in by("handrefiner"))
        print(f"  {name:30s} vs {lab:5s}: {a[0]:.2f} / {a[1]:.2f}; real max {real:.2f}, "
              f"real hands max {hands:.2f}; handrefiner {hr}")
        if name.endswith("+outlier"):
            rho = [spearmanr([max(*x["sev"].values(), x["cand"][name]) for x in cols[h]],
                             [x["total"] for x in cols[h]]).statistic
                   for h in ("calib", "heldout")]
            print(f"  {'':30s}    Spearman worst severity {rho[0]:.2f} / {rho[1]:.2f}")


if __name__ == "__main__":
    main()
