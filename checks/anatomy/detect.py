"""Run the anatomy models and decode their outputs into source-pixel geometry.

Each function takes an RGB uint8 image and returns plain arrays in **source pixels**; none
of them judges anything. Decoding follows ../shared/models/NOTES.md (YuNet from OpenCV's
FaceDetectorYN, YOLOX from its demo, MediaPipe SSD anchors and ROI rules from the
MediaPipe v0.8.10 graphs) and was checked on real photos: YuNet and the face mesh land on the
astronaut's face, YOLOX and the pose landmarks on the mmpose COCO people, palm + hand
landmarks on the FreiHAND hands (tests/test_anatomy.py).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from keyframe import models


@dataclass
class Face:
    box: np.ndarray            # x, y, w, h (source px)
    score: float               # YuNet score
    kps: np.ndarray            # 5x2: right eye, left eye, nose, right mouth, left mouth
    mesh: np.ndarray | None = None      # 468x3 (x, y in source px; z in source px)
    presence: float = 0.0


@dataclass
class Person:
    box: np.ndarray            # x, y, w, h (source px)
    score: float               # YOLOX person score
    points: np.ndarray | None = None    # 33x2 source px
    visibility: np.ndarray | None = None  # 33
    world: np.ndarray | None = None     # 33x3 metres
    flag: float = 0.0
    presence: np.ndarray | None = None    # 33: is the landmark inside the crop at all
    mask: np.ndarray | None = None        # 256x256 person segmentation of the pose crop
    crop_inv: np.ndarray | None = None    # 2x3: pose crop px -> source px


@dataclass
class Hand:
    box: np.ndarray            # x, y, w, h of the hand ROI (source px)
    score: float               # palm detector score
    points: np.ndarray | None = None    # 21x2 source px
    world: np.ndarray | None = None     # 21x3 metres
    presence: float = 0.0
    points_flip: np.ndarray | None = None   # 21x2 source px, from the mirrored crop
    handedness: float = 0.5                 # the landmark model's "right hand" score
    angle: float = 0.0                      # rotation of the landmark crop (radians)
    source: str = "palm"                    # "palm": palm detector; "pose": a pose wrist
    second_presence: float | None = None    # the other landmark model's presence on the crop
    second_handedness: float | None = None  # and its "right hand" score
    second_points: np.ndarray | None = None  # and its 21 landmarks (source px)
    side: str | None = None                 # "left"/"right": the pose wrist it was read at


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60, 60)))


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of box a (x,y,w,h) against boxes b (n x 4)."""
    x1 = np.maximum(a[0], b[:, 0])
    y1 = np.maximum(a[1], b[:, 1])
    x2 = np.minimum(a[0] + a[2], b[:, 0] + b[:, 2])
    y2 = np.minimum(a[1] + a[3], b[:, 1] + b[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    return inter / (a[2] * a[3] + b[:, 2] * b[:, 3] - inter + 1e-9)


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> list[int]:
    """Greedy non-maximum suppression; indices of the kept boxes, best first."""
    order = list(np.argsort(-scores))
    keep = []
    while order:
        i = order.pop(0)
        keep.append(i)
        if order:
            rest = np.array(order)
            order = list(rest[_iou(boxes[i], boxes[rest]) <= iou])
    return keep


def faces(rgb: np.ndarray, *, long_side: int = 640, min_score: float = 0.7) -> list[Face]:
    """YuNet-s faces at ``long_side`` px (the model sees faces of ~10-300 px)."""
    h, w = rgb.shape[:2]
    scale = min(1.0, long_side / max(h, w))
    small = cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))),
                       interpolation=cv2.INTER_AREA) if scale < 1 else rgb
    sh, sw = small.shape[:2]
    ph, pw = -(-sh // 32) * 32, -(-sw // 32) * 32
    blob = np.zeros((1, 3, ph, pw), np.float32)
    blob[0, :, :sh, :sw] = small[:, :, ::-1].transpose(2, 0, 1)
    sess = models.session("yunet-s")
    out = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, {"input": blob})))
    boxes, scores, kps = [], [], []
    for s in (8, 16, 32):
        cols = pw // s
        score = np.sqrt(np.clip(out[f"cls_{s}"][0, :, 0], 0, 1) * np.clip(out[f"obj_{s}"][0, :, 0], 0, 1))
        idx = np.nonzero(score >= min_score)[0]
        if not len(idx):
            continue
        r, c = idx // cols, idx % cols
        bb = out[f"bbox_{s}"][0, idx]
        cx, cy = (c + bb[:, 0]) * s, (r + bb[:, 1]) * s
        bw, bh = np.exp(bb[:, 2]) * s, np.exp(bb[:, 3]) * s
        boxes.append(np.stack([cx - bw / 2, cy - bh / 2, bw, bh], 1))
        kp = out[f"kps_{s}"][0, idx].reshape(-1, 5, 2)
        kps.append((kp + np.stack([c, r], 1)[:, None, :]) * s)
        scores.append(score[idx])
    if not boxes:
        return []
    boxes, scores, kps = (np.concatenate(boxes) / scale, np.concatenate(scores),
                          np.concatenate(kps) / scale)
    return [Face(boxes[i], float(scores[i]), kps[i]) for i in nms(boxes, scores, 0.3)]


def _warp(rgb: np.ndarray, center, size: float, angle: float, out: int):
    """Crop a square of side ``size`` centred at ``center`` rotated by ``angle`` (radians),
    resized to ``out`` px; returns the crop and the 2x3 affine mapping crop px -> source px."""
    c, s = np.cos(angle), np.sin(angle)
    k = size / out
    # crop (u, v) -> source: center + R @ ((u - out/2) * k, (v - out/2) * k)
    inv = np.array([[c * k, -s * k, 0.0], [s * k, c * k, 0.0]])
    inv[:, 2] = np.asarray(center) - inv[:, :2] @ np.array([out / 2, out / 2])
    fwd = cv2.invertAffineTransform(inv)
    crop = cv2.warpAffine(rgb, fwd, (out, out), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT)
    return crop, inv


def _to_source(pts: np.ndarray, inv: np.ndarray) -> np.ndarray:
    return pts[:, :2] @ inv[:, :2].T + inv[:, 2]


def face_mesh(rgb: np.ndarray, face: Face) -> None:
    """Fill ``face.mesh`` and ``face.presence`` from the 468-point face landmark model on a
    crop 1.5x the YuNet box, rotated so the eye line is horizontal."""
    re, le = face.kps[0], face.kps[1]
    angle = float(np.arctan2(le[1] - re[1], le[0] - re[0]))
    center = face.box[:2] + face.box[2:] / 2
    size = float(max(face.box[2], face.box[3]) * 1.5)
    crop, inv = _warp(rgb, center, size, angle, 192)
    sess = models.session("face-landmark")
    pts, flag = sess.run(None, {"input_1": crop[None].astype(np.float32) / 255.0})
    pts = pts.reshape(468, 3)
    mesh = np.empty((468, 3), np.float32)
    mesh[:, :2] = _to_source(pts, inv)
    mesh[:, 2] = pts[:, 2] * size / 192
    face.mesh = mesh
    face.presence = float(_sigmoid(flag.reshape(-1)[0]))


#: YOLOX score from which a box is a person whose skeleton is read
PERSON_SCORE = 0.4


def persons(rgb: np.ndarray, *, min_score: float = PERSON_SCORE) -> list[Person]:
    """YOLOX-nano person boxes (COCO class 0), score = objectness x class."""
    h, w = rgb.shape[:2]
    r = min(416 / h, 416 / w)
    small = cv2.resize(rgb, (max(1, round(w * r)), max(1, round(h * r))), interpolation=cv2.INTER_AREA)
    pad = np.full((416, 416, 3), 114, np.uint8)
    pad[:small.shape[0], :small.shape[1]] = small[:, :, ::-1]
    blob = pad.transpose(2, 0, 1)[None].astype(np.float32)
    out = models.session("yolox-nano").run(None, {"images": blob})[0][0]
    grids, strides = [], []
    for s in (8, 16, 32):
        n = 416 // s
        yy, xx = np.mgrid[0:n, 0:n]
        grids.append(np.stack([xx.ravel(), yy.ravel()], 1))
        strides.append(np.full((n * n, 1), s))
    grid, stride = np.concatenate(grids), np.concatenate(strides)
    score = out[:, 4] * out[:, 5]
    keep = score >= min_score
    if not keep.any():
        return []
    xy = (out[keep, :2] + grid[keep]) * stride[keep]
    wh = np.exp(out[keep, 2:4]) * stride[keep]
    boxes = np.concatenate([xy - wh / 2, wh], 1) / r
    score = score[keep]
    return [Person(boxes[i], float(score[i])) for i in nms(boxes, score, 0.45)]


def pose(rgb: np.ndarray, person: Person, *, model: str = "pose-landmark-full") -> None:
    """Fill the 33 body landmarks of ``person`` (MediaPipe pose landmarks, lite or full, on
    a square crop 1.25x its box, upright); visibility = sigmoid of the model's visibility
    logit; ``person.mask`` is the model's own person segmentation (crop px, 0-1) and
    ``person.crop_inv`` maps crop px to source px."""
    box = person.box
    center = box[:2] + box[2:] / 2
    size = float(max(box[2], box[3]) * 1.25)
    crop, inv = _warp(rgb, center, size, 0.0, 256)
    outs = models.infer(model, crop[None].astype(np.float32) / 255.0)
    lm = outs["Identity"].reshape(39, 5)[:33]
    person.points = _to_source(lm, inv)
    person.visibility = _sigmoid(lm[:, 3])
    person.presence = _sigmoid(lm[:, 4])
    person.world = outs["Identity_4"].reshape(39, 3)[:33]
    person.flag = float(outs["Identity_1"].reshape(-1)[0])
    person.mask = _sigmoid(outs["Identity_2"].reshape(256, 256))
    person.crop_inv = inv


def _palm_anchors() -> np.ndarray:
    out = []
    for stride, n in ((8, 2), (16, 6)):
        fm = 192 // stride
        yy, xx = np.mgrid[0:fm, 0:fm]
        centers = np.stack([(xx.ravel() + 0.5) / fm, (yy.ravel() + 0.5) / fm], 1)
        out.append(np.repeat(centers, n, axis=0))
    return np.concatenate(out)


_PALM_ANCHORS = _palm_anchors()


def _palms(rgb: np.ndarray, x0: int, y0: int, side: int, min_score: float, model: str):
    """Palm detections in the square (x0, y0, side) of ``rgb`` (zero padded outside the
    image): scores, centres, sizes and 7 keypoints, in source px."""
    h, w = rgb.shape[:2]
    sq = np.zeros((side, side, 3), np.uint8)
    xa, ya, xb, yb = max(0, x0), max(0, y0), min(w, x0 + side), min(h, y0 + side)
    if xb > xa and yb > ya:
        sq[ya - y0:yb - y0, xa - x0:xb - x0] = rgb[ya:yb, xa:xb]
    inp = cv2.resize(sq, (192, 192), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    outs = models.infer(model, inp[None])
    reg, cls = outs["Identity"], outs["Identity_1"]
    score = _sigmoid(cls[0, :, 0])
    idx = np.nonzero(score >= min_score)[0]
    raw = reg[0, idx] / 192.0
    a = _PALM_ANCHORS[idx]
    off = np.array([x0, y0], np.float64)
    cxy = (raw[:, :2] + a) * side + off
    wh = raw[:, 2:4] * side
    kps = (raw[:, 4:].reshape(-1, 7, 2) + a[:, None, :]) * side + off
    return score[idx], cxy, wh, kps


def _hand_landmarks(crop: np.ndarray, model: str):
    outs = models.infer(model, crop[None].astype(np.float32) / 255.0)
    return (outs["Identity"].reshape(21, 3), float(outs["Identity_1"].reshape(-1)[0]),
            outs["Identity_3"].reshape(21, 3), float(outs["Identity_2"].reshape(-1)[0]))


#: person boxes whose square crop is below this share of the image side get their own palm
#: pass: on the whole image at 192 px the palm detector misses the hands of small people
#: (on ai_human_anatomy it found hands in 36 of 51 images, with person crops in 43)
PERSON_CROP_MAX = 0.8


def hands(rgb: np.ndarray, *, min_score: float = 0.5, max_hands: int = 6,
          persons: list[Person] | None = None, palm_model: str = "palm-detection-lite",
          hand_model: str = "hand-landmark-lite", mirror_from: float = 0.0) -> list[Hand]:
    """Palm detections turned into MediaPipe hand ROIs (rotated by wrist -> middle-finger
    base, scaled 2.6x, shifted 0.5 towards the fingers) and the 21 hand landmarks in each.

    Palms are searched on the whole (square-padded) image and again inside the square crop
    (1.1x) of each of the given ``persons`` that is small in the frame; duplicates are merged
    by NMS, and a palm whose ROI overlaps an earlier one's by ``ROI_SAME`` (IoU) is not read.
    Each ROI is also run mirrored: ``points_flip`` holds those landmarks mapped back
    (a model that is unsure of the fingers puts them in different places); only for a hand
    read with presence >= ``mirror_from`` (:func:`read_hand`)."""
    h, w = rgb.shape[:2]
    side = max(h, w)
    parts = [_palms(rgb, -((side - w) // 2), -((side - h) // 2), side, min_score, palm_model)]
    for p in (persons or [])[:4]:
        bx, by, bw, bh = p.box
        s2 = int(max(bw, bh) * 1.1)
        if 32 <= s2 <= PERSON_CROP_MAX * side:
            parts.append(_palms(rgb, int(bx + bw / 2 - s2 / 2), int(by + bh / 2 - s2 / 2), s2,
                                min_score, palm_model))
    score = np.concatenate([q[0] for q in parts])
    if not len(score):
        return []
    cxy, wh, kps = (np.concatenate([q[k] for q in parts]) for k in (1, 2, 3))
    boxes = np.concatenate([cxy - wh / 2, wh], 1)
    found, rois = [], []
    for i in nms(boxes, score, 0.3)[:max_hands]:
        wrist, middle = kps[i, 0], kps[i, 2]
        angle = float(np.arctan2(middle[1] - wrist[1], middle[0] - wrist[0]) + np.pi / 2)
        bsize = float(max(wh[i]))
        # shift 0.5 box heights towards the fingers (up in the rotated frame)
        c = cxy[i] + 0.5 * bsize * np.array([np.sin(angle), -np.cos(angle)])
        roi = _roi_box(c, bsize * 2.6)
        duplicate = any(_iou(roi, r[None])[0] >= ROI_SAME for r in rois)
        rois.append(roi)
        if not duplicate:
            found.append(read_hand(rgb, c, bsize * 2.6, angle, score=float(score[i]),
                                   model=hand_model, mirror_from=mirror_from))
    return found


#: a palm whose landmark ROI overlaps an earlier (better-scored) palm's ROI by this IoU is the
#: same hand: it is not read (palm boxes NMS'd at 0.3 still give ROIs this close, 2.6x their
#: size; on 89 pictures of ../shared/data and the speed bench 12 of 260 palms, 20 landmark
#: inferences, were read only to be dropped as such afterwards)
ROI_SAME = 0.5


def _roi_box(centre, size: float) -> np.ndarray:
    """The x, y, w, h box of a square landmark ROI of side ``size`` centred at ``centre``."""
    return np.array([centre[0] - size / 2, centre[1] - size / 2, size, size])


def read_hand(rgb: np.ndarray, centre, size: float, angle: float, *, score: float,
              model: str, mirror_from: float = 0.0) -> Hand:
    """The 21 hand landmarks on the square ROI (``centre``, side ``size``, rotated by
    ``angle`` so the fingers point up), read on the crop and on its mirror image
    (``points_flip``, mapped back: a model that is unsure of the fingers puts them in
    different places).

    The mirror read is made only when the crop's read has presence >= ``mirror_from``
    (``points_flip`` stays None below it): a caller that discards hands below some presence
    saves a landmark inference on each (on the busy pictures of scripts/bench/anatomy.py
    half the hands read are such), and what it keeps is read exactly as before."""
    crop, inv = _warp(rgb, centre, size, angle, 224)
    pts, presence, world, right = _hand_landmarks(crop, model)
    hand = Hand(_roi_box(centre, size), score)
    hand.points = _to_source(pts, inv)
    if presence >= mirror_from:
        flip, _, _, _ = _hand_landmarks(cv2.flip(crop, 1), model)
        flip[:, 0] = 224 - flip[:, 0]
        hand.points_flip = _to_source(flip, inv)
    hand.world = world
    hand.presence = presence
    hand.handedness = right
    hand.angle = angle
    return hand


#: pose joints of each hand: wrist, pinky knuckle, index knuckle (MediaPipe pose indices)
POSE_HAND = {"left": (15, 17, 19), "right": (16, 18, 20)}
POSE_ELBOW = {"left": 13, "right": 14}


def hand_at_wrist(rgb: np.ndarray, person: Person, side: str, *,
                  model: str = "hand-landmark-full", mirror_from: float = 0.0) -> Hand:
    """The hand the pose model puts at ``person``'s ``side`` wrist, read by the hand landmark
    model on a ROI made from the pose joints (as MediaPipe Holistic does, no palm detector):
    centred one palm length from the wrist towards the knuckles, 2.6 palm lengths wide,
    rotated so the fingers point up. The palm length is the wrist -> knuckles distance, at
    least 0.38 x the forearm (a hand is ~0.38 forearm lengths from wrist to knuckles).
    ``presence`` says whether the landmark model sees a hand there at all; ``mirror_from`` as
    in :func:`read_hand`."""
    w, pinky, index = (person.points[j] for j in POSE_HAND[side])
    knuckles = (pinky + index) / 2
    forearm = float(np.linalg.norm(w - person.points[POSE_ELBOW[side]]))
    axis = knuckles - w
    palm = max(float(np.linalg.norm(axis)), 0.38 * forearm, 4.0)
    if np.linalg.norm(axis) < 1e-3:
        axis = w - person.points[POSE_ELBOW[side]]
    axis = axis / (np.linalg.norm(axis) + 1e-9)
    angle = float(np.arctan2(axis[1], axis[0]) + np.pi / 2)
    hand = read_hand(rgb, w + axis * palm, 2.6 * palm, angle,
                     score=float(person.visibility[POSE_HAND[side][0]]), model=model,
                     mirror_from=mirror_from)
    hand.source = "pose"
    hand.side = side
    return hand


def second_opinion(rgb: np.ndarray, hand: Hand, model: str) -> float:
    """Presence of a hand on ``hand``'s own landmark crop by another landmark model
    (``hand.second_presence`` and ``hand.second_handedness`` are set too): a hand two
    models see is a hand, and a hand both call a right hand is a right hand."""
    x, y, size, _ = hand.box
    crop, inv = _warp(rgb, (x + size / 2, y + size / 2), size, hand.angle, 224)
    pts, presence, _, right = _hand_landmarks(crop, model)
    hand.second_presence = presence
    hand.second_handedness = right
    hand.second_points = _to_source(pts, inv)
    return presence
