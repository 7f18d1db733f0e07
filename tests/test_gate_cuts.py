"""A geometry step may not lower a finding it does not mend by cutting through its region."""
from __future__ import annotations


from keyframe.fixes.reframe import Layout
from keyframe.recipe import make_step
from keyframe.report import Finding

TITLE = (177, 52, 663, 305)       # the tour poster's title, read as garbled text


def _finding(code: str, level: str, region) -> Finding:
    return Finding(code=code, check="text", level=level, severity=0.61, message="",
                   region=region)


def _crop(y0: int, h: int) -> Layout:
    return Layout(crop=(0, y0, 1080, h), pad=(0, 0, 270, 270), size=(1280, 720),
                  source=(1080, 1080))


def test_a_crop_through_a_major_finding_is_refused_whole_or_none_is_not():
    from keyframe.step_geometry import cuts_finding

    step = make_step("reframe", {"width": 1280, "height": 720})
    garbled = _finding("garbled_text", "major", TITLE)
    why = cuts_finding(step, _crop(169, 911), [garbled])      # the trim the gate planned
    assert "garbled_text" in why and "62%" in why, why
    assert cuts_finding(step, _crop(0, 1080), [garbled]) == ""           # kept whole
    assert cuts_finding(step, _crop(400, 680), [garbled]) == ""          # dropped whole
    assert cuts_finding(step, _crop(169, 911),
                        [_finding("garbled_text", "minor", TITLE)]) == ""  # not a verdict
    assert cuts_finding(step, _crop(169, 911),                             # what it mends
                        [_finding("subject_near_edge", "major", TITLE)]) == ""
    assert cuts_finding(step, _crop(169, 911), [_finding("watermark", "major", None)]) == ""
    # an anatomy box (points and a margin) or an artifact's area is not an outline
    hand = Finding(code="anatomy_uncertain", check="anatomy", level="major", severity=0.6,
                   message="", region=TITLE)
    assert cuts_finding(step, _crop(169, 911), [hand]) == ""
    # the region is clipped to the frame: a line box running past the bottom edge, kept
    # whole inside the frame, is not cut
    past = _finding("garbled_text", "major", (177, 900, 300, 400))
    assert cuts_finding(step, _crop(169, 911), [past]) == ""


def test_the_tour_poster_title_is_not_cut_to_certify_it(shared_data, shared_models):
    """P3M's p_07141906 (1:1 tour poster; its stylised title reads as garbled text, major):
    the Veo reframe trimmed rows 0-168 through the title, which then read 0.00, and the
    keyframe was certified with half a title (seen by eye). Now the crop is refused and the
    picture goes to review for the text."""
    from keyframe.gate import gate
    from keyframe.image import load
    from keyframe.targets import load_target

    image = load(shared_data / "p3m_demo/demo/imgs/original/p_07141906.jpg")
    result = gate(image, profile=load_target("veo").profile, target="veo")
    assert result.verdict != "certified", result.reason
    assert any(not a.kept and "would cut through the garbled_text" in a.reason
               for a in result.attempts), [a.reason for a in result.attempts]
