"""Framing check: distances to the target's limits, monotone, with anatomy regions used."""
from __future__ import annotations

import numpy as np
import pytest

from checks.framing import FramingCheck
from helpers import img, scene
from keyframe.assess import assess
from keyframe.image import LoadedImage
from keyframe.profiles import load_profile
from keyframe.registry import Context
from keyframe.report import Measurement


def sev(image, target=None, prior=None):
    ctx = Context(target=target, prior=prior or {})
    return {m.code: m.severity for m in FramingCheck().measure(image, ctx)}


def test_aspect_mismatch_monotone_and_range():
    base = scene(800)
    s = [sev(img(base[:h]), "veo")["aspect_mismatch"] for h in (450, 500, 600, 800)]
    assert s[0] == 0.0 and s == sorted(s) and s[-1] > 0.5
    assert sev(img(base[:200]), "kling")["aspect_mismatch"] == 1.0   # 4:1 outside 1:2.5..2.5:1


def test_too_small_monotone():
    s = [sev(img(scene(n)), "generic")["too_small"] for n in (400, 300, 220, 150)]
    assert s[0] == s[1] == 0.0 and s[1] < s[2] < s[3] == 1.0


def test_has_alpha_and_file_too_large(tmp_path):
    rgb = scene(400)
    alpha = np.full((400, 400), 255, np.uint8)
    alpha[:40] = 0
    assert sev(LoadedImage(rgb=rgb, alpha=alpha))["has_alpha"] == 1.0
    assert sev(img(rgb))["has_alpha"] == 0.0
    small_cap = tmp_path / "capped.toml"
    small_cap.write_text('name = "capped"\nextends = "default"\n[target]\n'
                         'max_bytes = 200_000\nmin_short_side = 100\n')
    noisy = np.random.default_rng(0).integers(0, 256, (600, 800, 3), dtype=np.uint8)
    assert sev(img(noisy), str(small_cap))["file_too_large"] > 0.5
    assert sev(img(noisy), "hailuo")["file_too_large"] == 0.0         # 20 MB cap
    assert sev(img(scene(600)), str(small_cap))["file_too_large"] < 0.5


def test_subject_near_edge_from_anatomy_regions():
    rgb = img(scene(400))
    near = {"face_soft": Measurement("face_soft", 0.1, "", region=(2, 100, 60, 60))}
    far = {"face_soft": Measurement("face_soft", 0.1, "", region=(170, 170, 60, 60))}
    assert sev(rgb, prior=near)["subject_near_edge"] > 0.8
    assert sev(rgb, prior=far)["subject_near_edge"] == 0.0
    body = {"subject_cut_off": Measurement("subject_cut_off", 0.1, "", region=(150, 100, 100, 300))}
    assert sev(rgb, prior=body)["subject_near_edge"] == 0.0           # bottom edge not counted


def test_assess_routes_framing_with_target_to_reframe():
    rep = assess(img(scene(512)), profile=load_profile("default"), target="svd")
    codes = {f.code: f for f in rep.findings}
    assert codes["aspect_mismatch"].fix == "reframe"
    step = next(s for s in rep.plan if s.fix == "reframe")
    assert (step.params["width"], step.params["height"]) == (1024, 576)
    assert "framing" in {m.check for m in rep.measurements.values()}


def _edge_with(prior_boxes, size=(1024, 768)):
    from checks.framing import FramingCheck
    from keyframe.report import Measurement

    w, h = size
    prior = {code: Measurement(code, 0.0, "", region=box) for code, box in prior_boxes}
    rgb = np.full((h, w, 3), 120, np.uint8)
    found = FramingCheck().measure(img(rgb), Context(prior=prior))
    return next(m for m in found if m.code == "subject_near_edge")


def test_close_ups_and_whole_frame_boxes_are_compositions():
    """Issue 14: a face filling the height, a body box starting above the frame, or a
    "person" box that is the whole frame are not subjects crammed against an edge; a small
    face touching the edge still is."""
    assert _edge_with([("face_soft", (300, -18, 420, 500))]).severity == 0.0
    assert _edge_with([("subject_cut_off", (0, 0, 1024, 768))]).severity == 0.0
    assert _edge_with([("pose_implausible", (200, -30, 500, 700))]).severity == 0.0
    assert _edge_with([("face_soft", (2, 300, 80, 90))]).severity >= 0.5


def test_subject_near_edge_ladder_for_a_face_moving_out():
    """A face of 12 % of the height sliding toward the left edge and past it: the severity
    never falls, is 0 with a 5 % margin and 1 once the face touches or leaves the frame
    (its box is clipped to the frame, so a box starting outside reads as touching)."""
    w, h = 1024, 768
    fh = int(0.12 * h)
    xs = [200, 52, 40, 25, 10, 0, -20, -60]
    s = [_edge_with([("face_soft", (x, 300, fh, fh))], (w, h)).severity for x in xs]
    assert all(b >= a for a, b in zip(s, s[1:])), s
    assert s[0] == 0.0 and s[1] == 0.0 and 0 < s[2] < s[3] < s[4] < 1.0
    assert s[5] == s[6] == s[7] == 1.0


def test_close_up_rule_ladder():
    """A face pressed against the top edge, growing: small faces are crammed (1.0) up to the
    close-up threshold (30 % of the height), beyond which the frame is a close-up (0)."""
    h = 768
    s = {share: _edge_with([("face_soft", (400, 0, int(share * h), int(share * h)))]).severity
         for share in (0.1, 0.2, 0.29, 0.31, 0.5, 0.9)}
    assert s[0.1] == s[0.2] == s[0.29] == 1.0, s
    assert s[0.31] == s[0.5] == s[0.9] == 0.0, s
    # a body reads as a close-up from 60 % of the height
    body = [_edge_with([("pose_implausible", (300, 0, 300, int(r * h)))]).severity
            for r in (0.4, 0.59, 0.61, 0.95)]
    assert body == [1.0, 1.0, 0.0, 0.0], body


def test_a_body_at_the_top_counts_as_surely_as_its_skeleton_was_read():
    """A body box 1.6 % below the top edge: read in full when the anatomy check is sure of
    it (pose_sure 1), and in proportion to that weight when it is a weak detection
    (scikit-image's motorcycle after a degrid: a 79-px "person" at pose_sure 0.11 read
    0.68 and planned a reframe). Monotone in the weight; a face is not weighed."""
    from checks.framing import FramingCheck

    w, h = 740, 500
    rgb = img(np.full((h, w, 3), 120, np.uint8))

    def edge(sure):
        extra = {} if sure is None else {"pose_sure": sure}
        prior = {"subject_cut_off": Measurement("subject_cut_off", 0.0, "",
                                                region=(348, 8, 58, 79), measurements=extra)}
        found = FramingCheck().measure(rgb, Context(prior=prior))
        return next(m for m in found if m.code == "subject_near_edge").severity

    s = [edge(v) for v in (0.0, 0.11, 0.5, 1.0)]
    assert s == sorted(s) and s[0] == 0.0 and s[1] < 0.1, s
    assert abs(s[3] - edge(None)) < 1e-9 and s[3] > 0.6
    assert abs(s[2] - 0.5 * s[3]) < 1e-6


def test_subject_near_edge_is_size_invariant():
    """The same composition at 512-4096 px (boxes scaled with the frame) reads the same:
    gaps and the close-up rule are fractions of the frame."""
    boxes = [("face_soft", (0.03, 0.4, 0.1, 0.13)), ("subject_cut_off", (0.2, 0.02, 0.3, 0.9))]
    for comp in ([boxes[0]], [boxes[1]], boxes,
                 [("face_soft", (0.4, -0.05, 0.35, 0.45))],            # a clipped close-up
                 [("pose_implausible", (-0.02, -0.02, 1.04, 1.04))]):  # fills the frame
        sevs = []
        for w in (512, 1024, 2048, 4096):
            h = w * 3 // 4
            scaled = [(c, (round(x * w), round(y * h), round(bw * w), round(bh * h)))
                      for c, (x, y, bw, bh) in comp]
            sevs.append(_edge_with(scaled, (w, h)).severity)
        assert max(sevs) - min(sevs) <= 0.02, (comp, sevs)


def test_the_file_size_framing_predicts_is_the_exports_own():
    """file_too_large predicts with the export's resize (Lanczos) and encoder at quality 90:
    the prediction is the byte count of that export, not of another JPEG encoder's."""
    from PIL import Image as PILImage
    from checks.framing import _jpeg90_bytes
    from keyframe.image import encode_jpeg
    from helpers import photo

    rgb = photo("astronaut")
    assert _jpeg90_bytes(rgb, (512, 512)) == len(encode_jpeg(rgb, quality=90))
    small = np.asarray(PILImage.fromarray(rgb).resize((320, 200), PILImage.Resampling.LANCZOS))
    assert _jpeg90_bytes(rgb, (320, 200)) == len(encode_jpeg(small, quality=90))


@pytest.mark.parametrize("value", [0, 1, 128, 255])
def test_a_flat_picture_has_no_subject_at_the_edge(value):
    # an all-black picture's spectrum is zero; its spectral residual came back as a spike in
    # the top-left corner and read subject_near_edge 1.0 (the gate then extended the canvas)
    rgb = np.full((200, 300, 3), value, np.uint8)
    assert sev(img(rgb))["subject_near_edge"] == 0.0


def test_face_kept_up_to_the_top_of_its_person_when_the_person_fills_the_frame():
    """A portrait whose person box fills the frame (dropped: it locates nothing) is kept by
    its face box; the face box is raised to the person's top, so the hair above the brow
    is kept: the realishuman walking man's SVD export (16:9 cut from a 9:16 keyframe) was
    cropped around the face box alone and lost 30 rows of hair (rows 82-112 of 1280)."""
    from keyframe.exports import make_export
    from keyframe.targets import load_target

    w, h = 720, 1280
    face, body = (239, 208, 174, 214), (11, 82, 694, 1184)
    persons = {f"person1_{k}": v for k, v in zip("xywh", body)}
    prior = {"face_soft": Measurement("face_soft", 0.0, "", region=face),
             "subject_cut_off": Measurement("subject_cut_off", 0.0, "", region=body,
                                            measurements={"persons": 1, **persons})}
    rgb = np.full((h, w, 3), 120, np.uint8)
    found = {m.code: m for m in FramingCheck().measure(img(rgb), Context(target="svd",
                                                                         prior=prior))}
    v = found["aspect_mismatch"].measurements
    assert (v["subject_x"], v["subject_y"], v["subject_w"], v["subject_h"]) == \
        (239, 82, 174, 340)
    assert v["subject_from_regions"] == 1
    box = [v["subject_x"], v["subject_y"], v["subject_w"], v["subject_h"]]
    crop = make_export(rgb, load_target("svd"), protect=[box]).reframe["crop"]
    assert crop[1] <= body[1] and crop[1] + crop[3] >= face[1] + face[3], crop
    # a face with no person box around it keeps its own box
    alone = {"face_soft": prior["face_soft"]}
    found = {m.code: m for m in FramingCheck().measure(img(rgb), Context(target="svd",
                                                                         prior=alone))}
    assert found["aspect_mismatch"].measurements["subject_y"] == 208


def test_every_person_in_the_action_is_kept_not_only_the_worst_read():
    """The body codes' regions are the worst-read person; the others the anatomy check lists
    (``person{i}_x`` …) are kept too when at least COMPANION_HEIGHT of the tallest, so the
    COCO batter's catcher keeps his shoes in the Veo crop; a small passer-by is not kept."""
    from keyframe.fixes.reframe import Reframe

    w, h = 640, 429
    batter, catcher, passer = (246, 75, 171, 295), (449, 205, 180, 209), (37, 73, 33, 90)
    listed = {f"person{i}_{k}": v for i, b in enumerate((batter, catcher, passer), 1)
              for k, v in zip("xywh", b)}
    prior = {"subject_cut_off": Measurement("subject_cut_off", 0.0, "", region=batter,
                                            measurements={"persons": 3, **listed})}
    rgb = np.full((h, w, 3), 120, np.uint8)
    found = {m.code: m for m in FramingCheck().measure(img(rgb), Context(target="veo",
                                                                         prior=prior))}
    v = found["aspect_mismatch"].measurements
    box = [v["subject_x"], v["subject_y"], v["subject_w"], v["subject_h"]]
    assert box == [246, 75, 449 + 180 - 246, 205 + 209 - 75], box      # batter + catcher
    params = Reframe.validate({"width": 1280, "height": 720, "protect": [box], "trim": True,
                               "headroom": 0.12})
    x, y, cw, ch = Reframe().layout(rgb, params).crop
    assert y <= catcher[1] and y + ch >= catcher[1] + catcher[3], (y, ch)
    assert y <= batter[1]
