"""Hand silhouettes: segment a hand from its pixels and count the fingers that stick out.

A measure from the image itself rather than from the landmark model: inside the hand's crop
(rotated so that the fingers point up), GrabCut seeded by the 21 landmarks separates the
hand from the background; the fingertip-like peaks of the outline's distance from the palm
centre are the protrusions; a protrusion that no landmark finger explains (its tip far from
every finger bone) is a candidate extra finger.

Measured on ../shared/data (scripts/calibrate/anatomy.py). Exact on drawn hands
(tests/test_anatomy.py); on real people and real hand photos of mmpose_testdata no
finger-shaped protrusion is unexplained (largest extent 0.17), while HandRefiner's extra
finger reads 0.51. The check scores ``unexplained_extent`` (finger-shaped protrusions only)
as an extra finger, up to review (:mod:`checks.anatomy`). Against the human grades of
ai_human_anatomy it neither helps nor hurts: all protrusions rank the graded images near
chance (ROC-AUC 0.66 calibration / 0.59 held out; GrabCut lets pizza, sleeves and other
hands into the mask), finger-shaped ones leave the held-out AUC of ``hand_malformed`` where
it was. The figures are in docs/anatomy.md.
"""
from __future__ import annotations

import cv2
import numpy as np

from checks.anatomy.detect import Hand, _warp
from keyframe.peaks import find_peaks  # not scipy.signal: its import costs 1.2 s

FINGERS = ((1, 2, 3, 4), (5, 6, 7, 8), (9, 10, 11, 12), (13, 14, 15, 16), (17, 18, 19, 20))
PALM = (0, 5, 9, 13, 17)
#: crop side (px): fingers of a hand filling half of it are ~4-5 px wide. 96 px and two GrabCut
#: iterations (was 128 px, three) take 0.36x the GrabCut time with the same verdict on every
#: picture of scripts/calibrate/anatomy.py's sets; real hands' largest unexplained extent
#: stays 0.07 and HandRefiner's sixth finger 0.51 (tests/test_anatomy.py)
CROP = 96

#: a protrusion is fingertip-like when its outline point lies at least ``PEAK_HEIGHT`` hand
#: scales from the palm centre and stands ``PEAK_PROMINENCE`` above the valleys on both sides
#: (a finger gap); set on the synthetic hands of tests/test_anatomy.py and the real hands of
#: mmpose_testdata (every extended real finger is one peak, a fist none)
PEAK_HEIGHT, PEAK_PROMINENCE = 0.75, 0.25
#: peaks farther than this (hand scales) from every landmark finger bone are "unexplained";
#: real hands of mmpose_testdata reach 0.22 (FreiHAND, OneHand10K) and 0.36 (a real photo of
#: two hands touching, COCO, where the protrusion is 0.78 wide: not a finger)
UNEXPLAINED = 0.35
#: a protrusion is finger-shaped when the mask is at most this wide (hand scales) 0.3 hand
#: scales below its tip: a finger is ~0.2 wide, two fused fingers ~0.4; a pizza slice, a
#: sleeve or the other hand that GrabCut let into the mask is wider. Set from that anatomy,
#: not fitted (when it was set: 0.3-0.5 gave the same AUCs; 0.7 lets wide objects in)
FINGER_WIDTH = 0.5


def hand_crop(rgb: np.ndarray, points: np.ndarray, out: int = CROP):
    """Square crop around the 21 landmarks ``points`` (source px), rotated so that the wrist
    -> middle-finger knuckle line points up; returns the crop, the landmarks in crop px, the
    palm length (wrist -> middle knuckle) and the hand scale (the larger of the palm length
    and half the landmark span), both in crop px."""
    wrist, middle = points[0], points[9]
    angle = float(np.arctan2(middle[1] - wrist[1], middle[0] - wrist[0]) + np.pi / 2)
    palm = float(np.linalg.norm(middle - wrist)) + 1e-6
    size = max(palm * 3.2, float(np.ptp(points, 0).max()) * 1.4)
    crop, inv = _warp(rgb, points.mean(0), size, angle, out)
    fwd = cv2.invertAffineTransform(inv)
    p = points @ fwd[:, :2].T + fwd[:, 2]
    palm_px = palm * out / size
    return crop, p, palm_px, max(palm_px, 0.5 * float(np.ptp(p, 0).max()))


def segment(crop: np.ndarray, p: np.ndarray, palm: float, iters: int = 2) -> np.ndarray:
    """Hand mask (uint8 0/1) of ``crop`` by GrabCut seeded with the landmarks ``p`` (crop px);
    ``palm`` is the palm length in crop px (it sets the stroke widths).

    The finger bones drawn thin and a disc at the palm centre are sure foreground, the bones
    drawn finger-wide probable foreground, the crop border sure background; the component(s)
    touching the sure foreground are kept."""
    mask = np.full(crop.shape[:2], cv2.GC_PR_BGD, np.uint8)
    wide = np.zeros_like(mask)
    sure = np.zeros_like(mask)
    cv2.fillConvexPoly(wide, cv2.convexHull(p[[0, 1, 5, 9, 13, 17]].astype(np.int32)), 1)
    thick, core = max(2, round(0.22 * palm)), max(1, round(0.06 * palm))
    for f in FINGERS:
        chain = p[[0, *f]]
        for a, b in zip(chain[:-1], chain[1:]):
            a, b = tuple(int(v) for v in a), tuple(int(v) for v in b)
            cv2.line(wide, a, b, 1, thick)
            cv2.line(sure, a, b, 1, core)
    centre = p[list(PALM)].mean(0)
    cv2.circle(sure, tuple(int(v) for v in centre), max(1, int(0.25 * palm)), 1, -1)
    mask[wide > 0] = cv2.GC_PR_FGD
    mask[sure > 0] = cv2.GC_FGD
    mask[:2], mask[-2:], mask[:, :2], mask[:, -2:] = (cv2.GC_BGD,) * 4
    bgd, fgd = np.zeros((1, 65)), np.zeros((1, 65))
    # GrabCut seeds its colour models with k-means on OpenCV's global random generator, so
    # its outline depended on every OpenCV call made before it (a test order, the images a
    # batch saw earlier): a fixed seed makes one hand read the same everywhere
    cv2.setRNGSeed(0)
    cv2.grabCut(np.ascontiguousarray(crop[:, :, ::-1]), mask, None, bgd, fgd, iters,
                cv2.GC_INIT_WITH_MASK)
    fg = ((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)).astype(np.uint8)
    _, lab = cv2.connectedComponents(fg)
    keep = np.unique(lab[sure > 0])
    fg = np.isin(lab, keep[keep > 0]).astype(np.uint8)
    return cv2.morphologyEx(fg, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))


def protrusions(mask: np.ndarray, centre, scale: float) -> list[tuple[np.ndarray, float]]:
    """Fingertip-like peaks of the outline of ``mask`` (fingers up, wrist down).

    The outer contour is walked starting from its point most towards the wrist; its distance
    from ``centre`` (in units of ``scale``) is smoothed and its peaks of height
    ``PEAK_HEIGHT`` and prominence ``PEAK_PROMINENCE`` are kept, except those on the crop
    border or pointing back towards the wrist (the forearm). Returns (point, height) pairs.
    """
    cnts, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not cnts:
        return []
    c = max(cnts, key=cv2.contourArea)[:, 0, :].astype(np.float64)
    v = c - np.asarray(centre, np.float64)
    ang = np.degrees(np.arctan2(v[:, 0], -v[:, 1]))        # 0 = up (fingers), 180 = wrist
    start = int(np.argmax(np.abs(ang)))
    c, ang = np.roll(c, -start, 0), np.roll(ang, -start)
    d = np.linalg.norm(c - centre, axis=1) / scale
    k = max(1, len(d) // 120)
    padded = np.r_[np.full(k, d[0]), d, np.full(k, d[-1])]
    ds = np.convolve(padded, np.ones(2 * k + 1) / (2 * k + 1), "valid")
    idx, _ = find_peaks(ds, height=PEAK_HEIGHT, prominence=PEAK_PROMINENCE,
                        distance=max(2, len(d) // 40))
    h, w = mask.shape
    out = []
    for i in idx:
        x, y = c[i]
        if x <= 3 or y <= 3 or x >= w - 4 or y >= h - 4 or abs(ang[i]) >= 125:
            continue
        out.append((c[i], float(ds[i])))
    return out


def protrusion_width(mask: np.ndarray, tip: np.ndarray, centre, scale: float,
                     back: float = 0.3) -> float:
    """Width of ``mask`` (hand scales) across the protrusion ending at ``tip``, measured on
    the line perpendicular to centre -> tip, ``back`` hand scales below the tip; 0 when
    that point is outside the mask."""
    d = tip - np.asarray(centre, np.float64)
    d = d / (np.linalg.norm(d) + 1e-9)
    o = tip - back * scale * d
    perp = np.array([-d[1], d[0]])
    h, w = mask.shape

    def run(sign: int) -> int:
        n = 0
        for t in range(int(2 * scale)):
            x, y = (o + sign * t * perp).astype(int)
            if not (0 <= x < w and 0 <= y < h) or not mask[y, x]:
                break
            n += 1
        return n

    x, y = int(o[0]), int(o[1])
    if not (0 <= x < w and 0 <= y < h) or not mask[y, x]:
        return 0.0
    return (run(1) + run(-1)) / scale


def _bone_distance(q: np.ndarray, p: np.ndarray) -> float:
    best = np.inf
    for f in FINGERS:
        chain = p[[0, *f]]
        for a, b in zip(chain[:-1], chain[1:]):
            ab = b - a
            t = float(np.clip(np.dot(q - a, ab) / (ab @ ab + 1e-9), 0.0, 1.0))
            best = min(best, float(np.linalg.norm(q - a - t * ab)))
    return best


def hand_silhouette(rgb: np.ndarray, hand: Hand) -> dict[str, float]:
    """:func:`silhouette_of` the hand seeded by each landmark reading of it (the model's own,
    the same model's on the mirrored crop, and the second model's when it saw a hand); each
    number is the largest of them. GrabCut's outline follows its seeds: HandRefiner's
    six-fingered hand (test/5.jpg) shows its extra finger with the mirrored-crop landmarks
    (0.60) and not with the others (0.0) on the picture, with the own ones (0.57) on its
    mirror image."""
    seeds = [hand.points[:, :2]]
    if hand.points_flip is not None:
        seeds.append(hand.points_flip[:, :2])
    if hand.second_points is not None and (hand.second_presence or 0.0) >= 0.5:
        seeds.append(hand.second_points[:, :2])
    reads = [silhouette_of(rgb, pts) for pts in seeds]
    return {k: max(r[k] for r in reads) for k in reads[0]}


def silhouette_of(rgb: np.ndarray, points: np.ndarray) -> dict[str, float]:
    """Protrusions of one hand's silhouette against its landmark skeleton.

    ``protrusions``: fingertip-like peaks of the segmented outline. ``unexplained_extent``:
    the largest distance (hand scales) from a finger-shaped peak (``FINGER_WIDTH``) to the
    nearest landmark finger bone — a finger the landmark model did not place.
    ``unexplained_extent_any``: the same over all peaks, finger-shaped or not.
    ``unexplained_protrusions``: finger-shaped peaks beyond ``UNEXPLAINED``. ``hand_fill``:
    share of the crop segmented as hand."""
    crop, p, palm, scale = hand_crop(rgb, points)
    mask = segment(crop, p, palm)
    centre = p[list(PALM)].mean(0)
    peaks = protrusions(mask, centre, scale)
    ext = [_bone_distance(q, p) / scale for q, _ in peaks]
    finger = [e for e, (q, _) in zip(ext, peaks)
              if protrusion_width(mask, q, centre, scale) <= FINGER_WIDTH]
    return {"protrusions": float(len(peaks)),
            "unexplained_extent": float(max(finger, default=0.0)),
            "unexplained_extent_any": float(max(ext, default=0.0)),
            "unexplained_protrusions": float(sum(e > UNEXPLAINED for e in finger)),
            "hand_fill": float(mask.mean())}
