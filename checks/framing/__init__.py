"""Framing family: does the image fit the video target it is certified for?

Codes: ``aspect_mismatch``, ``too_small``, ``file_too_large``, ``has_alpha``,
``subject_near_edge``. The target (``keyframe/targets/*.toml``; ``generic`` when the
assessment names none) supplies the limits; the check only measures distances to them, so
``keyframe route`` re-decides with the profile's thresholds. Every measurement carries the
target's export size (``target_width``, ``target_height``, ``multiple_of``) and the subject
box (``subject_x/y/w/h``, ``subject_from_regions``, ``subject_source``) that the ``reframe``
fix plans from: the anatomy check's face and person boxes (each face raised to the top of
the person holding it, :func:`headed`; every person it lists of at least COMPANION_HEIGHT
of the tallest, :func:`companions`); without people, when a reframe will be planned, the
salient object of ``u2netp``'s matte (:mod:`checks.framing.subject`); else the
spectral-residual saliency box. A near-square picture's export size takes its orientation
from that box (not the saliency box) or from the orientations every requested target
shares, ``ctx.orientations`` (:meth:`keyframe.targets.Target.chosen_aspect`).

Anchors (severity 0 → 1), on the shared scale (0.5 = visible harm to the first frame):

* ``aspect_mismatch`` — |log| distance of width/height to the nearest accepted aspect:
  0 at 0.01 (1 %, rounding), 1 at 0.3 (16:9 vs 4:3 is 0.288); outside the target's input
  range it is 1 (the service refuses or crops blindly).
* ``too_small`` — log2 of (needed short side / short side): 0 at the target's minimum,
  1 when the image has half of it (a 2x upscale invents every other pixel). The need is
  never under ``MIN_JUDGED_SIDE`` (64 px), whatever the target: below that the checks'
  blocks (32-px text blocks, 64-px banding tiles, 8-px JPEG grid) hold too few samples to
  judge the picture, so a 1 x 10000 strip reads 1 even for a target without a minimum.
* ``file_too_large`` — log2 of (JPEG bytes at quality 90 at the export size / the cap),
  0 at the cap, 1 at twice it; 0 when the source file already fits. Quality 90 is where JPEG
  stops being visible; needing less means the export loses detail to fit.
* ``has_alpha`` — share of transparency, mean(1 - alpha), 0 at 0, 1 at 2 %: a video model
  sees whatever colour the transparent pixels hold.
* ``subject_near_edge`` — with face/person regions from the anatomy check in the same
  assessment: the smallest gap between a face and any frame edge, or between a body and the
  top edge (bodies are routinely cut at the sides and bottom of a portrait), as a fraction of
  the frame, 0 at 5 %. Boxes are clipped to the frame, a box filling 90 % of both sides is
  dropped (it locates nothing) and a close-up — a face ≥ 30 % or a body ≥ 60 % of the
  frame's height — is a composition, not a defect: it is not measured (issue 14)
  (what a 10 % push-in crops from each side), 1 when touching. Without regions, the
  spectral-residual saliency (:func:`keyframe.fixes.reframe.saliency`): the share of its mass
  in the outer 5 % band over the band's share of the frame, 0 at 2.0 (above every clean photo
  and generation measured by ``scripts/calibrate/framing.py``: median 0.84, max 1.89), 1 at
  4.0. The fallback separates poorly (the same images cropped so that the salient box sits
  2 % from an edge: median 1.17), so it only flags extreme edge concentration.
"""
from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import numpy as np
from PIL import Image

from checks.framing.subject import object_box
from keyframe.fixes.reframe import salient_box, saliency, union
from keyframe import views
from keyframe.image import LoadedImage, encode_jpeg
from keyframe.models import ModelMissing
from keyframe.registry import LATE_STAGE, NO_CONTEXT, Check, Context
from keyframe.report import Measurement
from keyframe.severity import ramp
from keyframe.targets import Target, load_target

#: the smallest short side (px) the checks can judge (see ``too_small`` above)
MIN_JUDGED_SIDE = 64
#: aspect distance (|log| of the ratio) read as rounding, not a mismatch
ASPECT_ZERO = 0.01
#: outer band (fraction of each side) where a subject is lost to a 10 % push-in
EDGE_BAND = 0.05
SALIENCY_EDGE_ZERO, SALIENCY_EDGE_ONE = 2.0, 4.0
#: anatomy codes whose region is a face (all four edges count) or a body (bottom edge not)
FACE_CODES = ("face_distorted", "face_soft", "face_too_small")
BODY_CODES = ("pose_missing_limb", "pose_implausible", "subject_cut_off")


@lru_cache(maxsize=32)
def _target(name: str) -> Target:
    return load_target(name)


#: a face at least this share of the frame's height, or a body at least ``CLOSE_UP_BODY``,
#: is a close-up: a composition, not a subject crammed against an edge (issue 14: 8 of 33
#: good generations went to "reframe" for it)
CLOSE_UP_FACE, CLOSE_UP_BODY = 0.3, 0.6
#: a "subject" box covering this share of both sides fills the frame: it locates nothing
FILLS_FRAME = 0.9


def clip_box(box: tuple[int, int, int, int], width: int, height: int
             ) -> tuple[int, int, int, int] | None:
    """``box`` clipped to the frame (None when nothing of it is inside)."""
    x, y, w, h = box
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(width, x + w), min(height, y + h)
    return (x0, y0, x1 - x0, y1 - y0) if x1 > x0 and y1 > y0 else None


def _subject(image: LoadedImage, prior: dict[str, Measurement]
             ) -> tuple[list, list, dict]:
    """Face and body boxes from the anatomy check, clipped to the frame; boxes that fill the
    frame (a detector's whole-picture "person") are dropped. Also how surely each body box
    is a person whose skeleton was read (the anatomy check's ``pose_sure``, 1 when not
    given), the largest over the codes that name it."""
    W, H = image.width, image.height
    sure: dict[tuple, float] = {}

    def boxes(codes: tuple[str, ...]) -> list:
        out = []
        for c, m in prior.items():
            b = clip_box(m.region, W, H) if c in codes and m.region else None
            if b and not (b[2] >= FILLS_FRAME * W and b[3] >= FILLS_FRAME * H):
                out.append(b)
                weight = float(m.measurements.get("pose_sure", 1.0))
                sure[b] = max(sure.get(b, 0.0), weight)
        return out
    return boxes(FACE_CODES), boxes(BODY_CODES), sure


#: the anatomy check's measurement that lists every person box it found (``person1_x`` …)
PERSONS_CODE = "subject_cut_off"


def _people(image: LoadedImage, prior: dict[str, Measurement]) -> list:
    """Every person box the anatomy check found (the body codes' worst regions and the
    ``person{i}_x`` … boxes it lists), clipped to the frame, those filling it included."""
    W, H = image.width, image.height
    found = [m.region for c, m in prior.items() if c in BODY_CODES and m.region]
    m = prior.get(PERSONS_CODE)
    v = m.measurements if m is not None else {}
    i = 1
    while f"person{i}_x" in v:
        found.append(tuple(int(v[f"person{i}_{k}"]) for k in "xywh"))
        i += 1
    return [b for b in (clip_box(r, W, H) for r in found) if b]


#: a person listed by the anatomy check is kept whole by a reframe (beside the worst-read
#: person its codes' regions hold) when its box is at least this share of the tallest
#: person's height; smaller ones are the background. On the 18 pictures with two or more
#: people among 57 gated by eye (ComfyUI, ai_human_anatomy, mmpose, realishuman, p3m;
#: 2 December 2026), the people in the action measured 0.46-1.0 of the tallest (a crouching
#: catcher 0.71, a volleyball player 0.46), passers-by and people cut by the frame's edge
#: 0.25-0.36, a baseball umpire 0.43
COMPANION_HEIGHT = 0.4


def companions(people: list, width: int, height: int) -> list:
    """The person boxes of ``people`` a reframe keeps whole: at least COMPANION_HEIGHT of
    the tallest's height, and not filling the frame (a box that does locates nothing).
    The body codes' regions are the worst-read person only; without the others, the COCO
    batter (000000196141) was kept and the catcher beside him lost his shoes to the Veo
    crop (rows 42-402 of 429; seen by eye)."""
    if not people:
        return []
    tallest = max(b[3] for b in people)
    return [b for b in people if b[3] >= COMPANION_HEIGHT * tallest
            and not (b[2] >= FILLS_FRAME * width and b[3] >= FILLS_FRAME * height)]


def headed(faces: list, people: list) -> list:
    """Each face box raised to the top of the smallest person box holding its centre, when
    that top is above it: a face detector's box ends at the brow, and the hair or a hat
    above it belongs to the subject a crop must keep. Matters when the person box itself is
    not kept (it fills the frame): on a 720x1280 walking man (realishuman 5c1bf7bf) the SVD
    export, cropped around the face box alone, cut 30 rows of his hair (seen by eye)."""
    out = []
    for x, y, w, h in faces:
        cx, cy = x + w / 2, y + h / 2
        holding = [p for p in people
                   if p[0] <= cx <= p[0] + p[2] and p[1] <= cy <= p[1] + p[3]]
        top = min(holding, key=lambda p: p[2] * p[3])[1] if holding else y
        out.append((x, top, w, h + y - top) if top < y else (x, y, w, h))
    return out


def _reframed(t: Target, w: int, h: int) -> bool:
    """Whether a ``reframe`` will be planned for this aspect (``aspect_mismatch`` above 0)."""
    return t.aspect_distance(w, h)[0] > ASPECT_ZERO or t.range_distance(w, h) > ASPECT_ZERO


def _object(image: LoadedImage) -> tuple[tuple[int, int, int, int] | None, str]:
    """The salient object's box (:mod:`checks.framing.subject`) and where the box came from:
    "object", or "saliency" when the matte shows no single object or when the ``u2netp``
    model is not installed (then the model-free saliency box is the subject, as before)."""
    try:
        box = object_box(image)
    except ModelMissing:
        return None, "saliency"
    return box, "object" if box else "saliency"


def edge_gap(box: tuple[int, int, int, int], width: int, height: int, *,
             bottom: bool = True) -> float:
    """Smallest distance from ``box`` to a frame edge, as a fraction of that dimension."""
    x, y, w, h = box
    gaps = [x / width, (width - x - w) / width, y / height]
    if bottom:
        gaps.append((height - y - h) / height)
    return max(0.0, min(gaps))


def saliency_edge_ratio(rgb: np.ndarray, *, sal: np.ndarray | None = None) -> float:
    """Saliency mass in the outer :data:`EDGE_BAND` over that band's share of the frame;
    ``sal``: ``saliency(rgb, full_size=False)`` when the caller already has it."""
    sal = (saliency(rgb, full_size=False) if sal is None else sal).astype(np.float64)
    h, w = sal.shape
    by, bx = max(1, round(h * EDGE_BAND)), max(1, round(w * EDGE_BAND))
    inner = sal[by:h - by, bx:w - bx].sum()
    band_share = 1 - (h - 2 * by) * (w - 2 * bx) / (h * w)
    return float((sal.sum() - inner) / (sal.sum() + 1e-12) / band_share)


def _saliency(image: LoadedImage) -> np.ndarray:
    """The 64-px saliency of ``image``, made once per image (the subject box and the edge
    ratio both read it; a package's re-check of the same pixels reads it again)."""
    return views.cached(image, "saliency@64", lambda: saliency(image.rgb, full_size=False))


def _jpeg90_bytes(rgb: np.ndarray, size: tuple[int, int]) -> int:
    """Bytes of ``rgb`` as the export would write it at quality 90: resized to ``size`` as
    the reframe renders (Lanczos), encoded by the exports' own encoder
    (:func:`keyframe.image.encode_jpeg`)."""
    out = np.ascontiguousarray(rgb)
    if (out.shape[1], out.shape[0]) != tuple(size):
        out = np.asarray(Image.fromarray(out, "RGB").resize(tuple(size),
                                                            Image.Resampling.LANCZOS))
    return len(encode_jpeg(out, quality=90))


class FramingCheck(Check):
    """Measure the image against its video target's limits (see the module docstring)."""

    reads_alpha = True
    name = "framing"
    codes = ("aspect_mismatch", "too_small", "file_too_large", "has_alpha",
             "subject_near_edge")
    stage = LATE_STAGE           # ctx.prior: the faces and persons the other checks found
    geometric_codes = ("aspect_mismatch", "too_small", "subject_near_edge")

    def measure(self, image: LoadedImage, ctx: Context = NO_CONTEXT) -> list[Measurement]:
        target, prior = ctx.target, dict(ctx.prior)
        t = _target(target or "generic")
        w, h = image.width, image.height
        faces, bodies, sure = _subject(image, prior or {})
        people = _people(image, prior or {})
        box = union(headed(faces, people) + bodies + companions(people, w, h))
        found = "people" if box else "saliency"
        if box is None and _reframed(t, w, h):
            box, found = _object(image)
        # a near-square picture's orientation is the subject's (the saliency box is not one)
        # or the one every requested target shares (Target.chosen_aspect)
        out_w, out_h = t.output_size(w, h, subject=box if found != "saliency" else None,
                                     orientations=ctx.orientations)
        box = box or salient_box(image.rgb, sal=_saliency(image))
        common: dict[str, Any] = {
            "target_width": out_w, "target_height": out_h, "multiple_of": t.multiple_of,
            "subject_x": box[0], "subject_y": box[1], "subject_w": box[2], "subject_h": box[3],
            "subject_from_regions": int(found != "saliency"), "subject_source": found}
        return [self._aspect(t, w, h, common), self._small(t, w, h, out_w, out_h, common),
                self._bytes(image, t, out_w, out_h, common), self._alpha(image, common),
                self._edge(image, faces, bodies, common, sure=sure)]

    @staticmethod
    def _aspect(t: Target, w: int, h: int, common: dict) -> Measurement:
        d, nearest = t.aspect_distance(w, h)
        rd = t.range_distance(w, h)
        sev = max(ramp(d, ASPECT_ZERO, 0.3), 1.0 if rd > ASPECT_ZERO else 0.0)
        where = "outside the accepted range" if rd > ASPECT_ZERO else f"nearest accepted {nearest:.3f}"
        planned = common["target_width"] / common["target_height"]
        if abs(math.log(planned / nearest)) > 0.05:     # a near-square picture's orientation
            where += f"; framed {planned:.3f}, the subject's or the targets' orientation"
        return Measurement("aspect_mismatch", sev,
                           f"aspect {w / h:.3f} for {t.label} ({where})",
                           measurements={**common, "aspect": w / h, "nearest_aspect": nearest,
                                         "log_distance": d, "range_distance": rd})

    @staticmethod
    def _small(t: Target, w: int, h: int, out_w: int, out_h: int, common: dict) -> Measurement:
        short = min(w, h)
        fixed = bool(t.size or t.sizes or t.area)
        need = max(t.min_short_side, min(out_w, out_h)) if fixed else t.min_short_side
        who = t.label if need >= MIN_JUDGED_SIDE else "the checks"
        need = max(need, MIN_JUDGED_SIDE)
        ratio = need / short
        sev = ramp(math.log2(max(ratio, 1e-9)), 0.0, 1.0)
        extra = f": it would have to be enlarged x{ratio:.3g}" if ratio >= 2 else ""
        return Measurement("too_small", sev,
                           f"short side {short} px, {who} needs {need} px{extra}",
                           measurements={**common, "short_side": short, "needed": need,
                                         "upscale": ratio})

    @staticmethod
    def _bytes(image: LoadedImage, t: Target, out_w: int, out_h: int,
               common: dict) -> Measurement:
        cap = t.max_bytes
        if not cap or 0 < image.file_size <= cap:
            return Measurement("file_too_large", 0.0,
                               f"file fits {t.label}'s cap" if cap else "no size cap",
                               measurements={**common, "bytes": image.file_size, "cap": cap})
        est = _jpeg90_bytes(image.rgb, (out_w, out_h))
        sev = ramp(math.log2(est / cap), 0.0, 1.0)
        return Measurement("file_too_large", sev,
                           f"a quality-90 JPEG at {out_w}x{out_h} is {est:,} bytes, the cap "
                           f"is {cap:,}", measurements={**common, "bytes": image.file_size,
                                                        "jpeg90_bytes": est, "cap": cap})

    @staticmethod
    def _alpha(image: LoadedImage, common: dict) -> Measurement:
        if image.alpha is None:
            return Measurement("has_alpha", 0.0, "no transparency",
                               measurements={**common, "transparency": 0.0})
        share = float(1.0 - image.alpha.mean() / 255.0)
        return Measurement("has_alpha", ramp(share, 0.0, 0.02),
                           f"{100 * share:.1f} % transparency: a video model sees the hidden "
                           f"colours; flatten it with --background '#rrggbb' (or an image)",
                           measurements={**common, "transparency": share})

    @staticmethod
    def _edge(image: LoadedImage, faces: list, bodies: list, common: dict, *,
              sure: dict) -> Measurement:
        w, h = image.width, image.height
        wanted = {"margin_wanted": EDGE_BAND}
        close = [b for b in faces if b[3] >= CLOSE_UP_FACE * h] + \
            [b for b in bodies if b[3] >= CLOSE_UP_BODY * h]
        faces = [b for b in faces if b[3] < CLOSE_UP_FACE * h]
        bodies = [b for b in bodies if b[3] < CLOSE_UP_BODY * h]
        if close and not (faces or bodies):
            return Measurement("subject_near_edge", 0.0,
                               "a close-up: the subject fills the frame by composition",
                               measurements={**common, **wanted, "edge_gap": 0.0,
                                             "close_up": 1})
        if faces or bodies:
            # a face counts at every edge; a body only at the top (head room): shoulders and
            # arms run off the sides and bottom of any portrait (skimage astronaut: 2 %). A
            # body counts as surely as the anatomy check read it: a 79-px "person" at YOLOX
            # score 0.41 (pose_sure 0.11) that a degrid let the detector find at the top of
            # scikit-image's motorcycle read 0.68 and planned a reframe (eval_gate
            # --independent); a skeleton read surely (pose_sure 1) counts in full
            reads = ([(edge_gap(b, w, h), 1.0) for b in faces]
                     + [(max(0.0, b[1] / h), sure.get(b, 1.0)) for b in bodies])
            sev, gap = max((ramp(g, EDGE_BAND, 0.0) * s, g) for g, s in reads)
            if sev == 0.0:
                gap = min(g for g, _ in reads)
            return Measurement("subject_near_edge", sev,
                               f"subject {100 * gap:.1f} % from the frame edge",
                               measurements={**common, **wanted, "edge_gap": gap})
        ratio = saliency_edge_ratio(image.rgb, sal=_saliency(image))
        return Measurement("subject_near_edge", ramp(ratio, SALIENCY_EDGE_ZERO,
                                                     SALIENCY_EDGE_ONE),
                           f"{ratio:.2f}x the even share of saliency lies in the outer "
                           f"{100 * EDGE_BAND:.0f} % band",
                           measurements={**common, **wanted, "edge_ratio": ratio})
