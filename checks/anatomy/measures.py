"""Geometry measurements on decoded faces, hands and bodies (no model runs here).

Every function returns raw numbers in documented units; :mod:`checks.anatomy` maps them to
severities. References for "human ranges" come from the real photos in
../shared/data/mmpose_testdata (COCO, FreiHAND, OneHand10K, RHD, H36M): see
scripts/bench/anatomy.py, which prints these statistics.
"""
from __future__ import annotations

import cv2
import numpy as np

from checks.anatomy.detect import Face, Hand, Person

# mesh indices (MediaPipe canonical face): eye corners, lids, nose tip, mouth corners
_EYE_R = (33, 133, 159, 145)      # outer, inner, upper lid, lower lid (subject's right)
_EYE_L = (263, 362, 386, 374)
_MESH_FOR_KPS = ((33, 133), (263, 362), (1,), (61,), (291,))

# hand: finger chains from the MCP joint, and bone lengths as a share of the palm length
# (wrist -> middle MCP) in world landmarks. Reference medians and spreads measured on the
# real hands of mmpose_testdata (scripts/bench/anatomy.py)
FINGERS = ((1, 2, 3, 4), (5, 6, 7, 8), (9, 10, 11, 12), (13, 14, 15, 16), (17, 18, 19, 20))
# (11 hands with presence > 0.9 in freihand/onehand10k/rhd/coco; the largest per-hand
# deviation there ranged 0.25-0.53 in log units, hence the spread 0.5).
HAND_BONE_REF = np.array([0.32, 0.38, 0.32, 0.28, 0.24, 0.32, 0.34, 0.32, 0.27,
                          0.32, 0.28, 0.29, 0.29, 0.26, 0.22])
HAND_BONE_SPREAD = 0.5            # largest |log ratio| deviation seen on real hands

#: Robust reference (median, 1.4826 x MAD) of ``bone_deviation`` and ``flip_tip_disagreement``
#: over the 25 hands with landmark presence >= 0.5 that the detector (whole image + person
#: crops) finds in the real photos of ../shared/data/mmpose_testdata (freihand, onehand10k,
#: rhd, coco, mpii, crowdpose, ochuman, h36m, humanart real_human, posetrack18); derived
#: numbers only. ``hand_outlier`` adds the two positive robust z-scores.
HAND_REAL_BONE_DEV = (0.857, 0.308)
HAND_REAL_FLIP_TIP = (0.123, 0.0746)

# body: (name, joints) of limbs and left/right bone pairs (MediaPipe pose indices)
LIMBS = {"left arm": (11, 13, 15), "right arm": (12, 14, 16),
         "left leg": (23, 25, 27), "right leg": (24, 26, 28)}
BONE_PAIRS = (((11, 13), (12, 14)), ((13, 15), (14, 16)), ((23, 25), (24, 26)),
              ((25, 27), (26, 28)))
HEAD = (0, 2, 5, 7, 8)
KEY_JOINTS = (0, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28)


def face_geometry(face: Face) -> dict[str, float]:
    """Disagreement between two face models and eye asymmetry, in interocular distances.

    ``kps_disagreement``: mean distance between YuNet's 5 landmarks and the same points of
    the 468-point mesh (which fits a face prior): on a real face the two agree to a few
    percent of the eye distance; on a melted face they disagree. ``eye_asymmetry``:
    |log(width ratio)| of the two eyes plus |log(openness ratio)| / 2.
    """
    mesh = face.mesh[:, :2]
    iod = float(np.linalg.norm(face.kps[1] - face.kps[0])) + 1e-6
    ref = np.array([mesh[list(ix)].mean(0) for ix in _MESH_FOR_KPS])
    disagreement = float(np.linalg.norm(ref - face.kps, axis=1).mean() / iod)

    def eye(ix):
        o, i, u, lo = (mesh[k] for k in ix)
        width = np.linalg.norm(o - i) + 1e-6
        return width, np.linalg.norm(u - lo) / width

    wr, opr = eye(_EYE_R)
    wl, opl = eye(_EYE_L)
    asym = abs(np.log(wr / wl)) + 0.5 * abs(np.log((opr + 0.02) / (opl + 0.02)))
    return {"kps_disagreement": disagreement, "eye_asymmetry": float(asym),
            "presence": face.presence, "yunet_score": face.score}


def image_fine_energy(gray: np.ndarray) -> float:
    """80th percentile of the fine-band energy over 64-px tiles at source scale: how sharp
    the sharp parts of the image are. The tiles are centred in the frame (the remainder split
    between both sides), so the picture and its mirror image give the same value and the
    anatomy check computes it once for both readings."""
    g = gray.astype(np.float32)
    band = np.abs(g - cv2.GaussianBlur(g, (0, 0), 1.0))
    H, W = band.shape
    t = 64
    if H < t or W < t:
        return float(band.mean())
    y0, x0 = (H % t) // 2, (W % t) // 2
    tiles = band[y0:y0 + H // t * t, x0:x0 + W // t * t].reshape(H // t, t, W // t, t).mean((1, 3))
    return float(np.percentile(tiles, 80))


def native_face_energy(gray: np.ndarray, box: np.ndarray) -> float:
    """Fine-band energy inside ``box`` at source scale (comparable with image_fine_energy)."""
    x, y, w, h = (int(round(v)) for v in box)
    H, W = gray.shape
    crop = gray[max(0, y):min(H, y + h), max(0, x):min(W, x + w)].astype(np.float32)
    if crop.size < 64:
        return 0.0
    return float(np.abs(crop - cv2.GaussianBlur(crop, (0, 0), 1.0)).mean())


def hand_geometry(hand: Hand) -> dict[str, float]:
    """Finger bone lengths against human proportions and joint angles, from world landmarks.

    ``bone_deviation``: largest |log(bone / palm) - reference| over the 15 finger bones, in
    units of the spread seen on real hands. ``hyperextension``: largest backwards bend at a
    finger's middle joints (degrees beyond straight, measured against the palm's normal).
    ``flip_tip_disagreement``: largest fingertip distance between the landmarks of the hand
    crop and those of its mirror image (mapped back), in palm lengths (wrist -> middle MCP,
    2D): the landmark model is unsure where the fingers of a malformed hand are.
    ``hand_outlier``: robust z-score of ``bone_deviation`` plus that of
    ``flip_tip_disagreement`` against real hands (each counted only above the real median).
    ``tip_crowding``: how many fingertip pairs (excluding thumb) lie closer than 0.15 palm
    lengths while their knuckles are apart (fused or duplicated fingers).
    """
    wd = hand.world
    palm = float(np.linalg.norm(wd[9] - wd[0])) + 1e-6
    bones = np.array([np.linalg.norm(wd[f[k + 1]] - wd[f[k]]) / palm
                      for f in FINGERS for k in range(3)])
    dev = np.abs(np.log(bones + 1e-6) - np.log(HAND_BONE_REF)) / HAND_BONE_SPREAD
    normal = np.cross(wd[5] - wd[0], wd[17] - wd[0])
    if hand.world[17, 0] < hand.world[5, 0]:
        normal = -normal
    normal /= np.linalg.norm(normal) + 1e-9
    back = 0.0
    for f in FINGERS[1:]:
        for k in range(1, 3):
            a, b = wd[f[k]] - wd[f[k - 1]], wd[f[k + 1]] - wd[f[k]]
            cross = np.cross(a, b)
            ang = np.degrees(np.arccos(np.clip(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-9), -1, 1)))
            side = np.dot(cross, np.cross(normal, a))
            if side < 0:
                back = max(back, float(ang))
    tips = [f[3] for f in FINGERS[1:]]
    mcps = [f[0] for f in FINGERS[1:]]
    crowd = 0
    for i in range(4):
        for j in range(i + 1, 4):
            if (np.linalg.norm(wd[tips[i]] - wd[tips[j]]) < 0.15 * palm
                    and np.linalg.norm(wd[mcps[i]] - wd[mcps[j]]) > 0.15 * palm * (j - i)):
                crowd += 1
    bone_dev = float(dev.max())
    flip_tip = 0.0
    if hand.points_flip is not None:
        palm2d = float(np.linalg.norm(hand.points[9] - hand.points[0])) + 1e-6
        tips_all = [f[3] for f in FINGERS]
        flip_tip = float(np.linalg.norm(hand.points_flip[tips_all] - hand.points[tips_all, :2],
                                        axis=1).max() / palm2d)
    outlier = (max(0.0, (bone_dev - HAND_REAL_BONE_DEV[0]) / HAND_REAL_BONE_DEV[1])
               + max(0.0, (flip_tip - HAND_REAL_FLIP_TIP[0]) / HAND_REAL_FLIP_TIP[1]))
    return {"bone_deviation": bone_dev, "flip_tip_disagreement": flip_tip,
            "hand_outlier": float(outlier), "hyperextension": back,
            "tip_crowding": float(crowd), "presence": hand.presence, "palm_score": hand.score}


def body_geometry(person: Person, width: int, height: int) -> dict[str, float]:
    """Limb visibility, left/right bone asymmetry and cut-off, for one person.

    ``limb_asymmetry``: largest |log(left bone / right bone)| over upper arm, forearm, thigh
    and shin in world landmarks (metres), for pairs whose joints are all visible (> 0.5).
    ``missing_limb``: 1 - the lowest visibility among the joints of a limb whose predicted
    joints lie inside the frame (a limb the model expects in view but cannot see).
    ``cut_off``: share of key joints the model places outside the frame, with the head
    counted double (a cut head is the edit a camera move would reveal first).
    """
    pts, vis, wd = person.points, person.visibility, person.world
    inside = ((pts[:, 0] >= 0) & (pts[:, 0] < width) & (pts[:, 1] >= 0) & (pts[:, 1] < height))
    asym = 0.0
    for (a0, a1), (b0, b1) in BONE_PAIRS:
        if min(vis[[a0, a1, b0, b1]]) > 0.5:
            la = np.linalg.norm(wd[a1] - wd[a0]) + 1e-6
            lb = np.linalg.norm(wd[b1] - wd[b0]) + 1e-6
            asym = max(asym, abs(float(np.log(la / lb))))
    missing = 0.0
    for joints in LIMBS.values():
        if inside[list(joints)].all():
            missing = max(missing, 1.0 - float(min(vis[list(joints)])))
    weights = np.array([2.0 if j == 0 else 1.0 for j in KEY_JOINTS])
    out = ~inside[list(KEY_JOINTS)]
    cut = float((weights * out).sum() / weights.sum())
    return {"limb_asymmetry": asym, "missing_limb": missing, "cut_off": cut,
            "head_cut": float(not inside[list(HEAD)].all()), "pose_flag": person.flag}
