"""The salient object (u2netp) as the reframe's subject when no person is in the picture."""
from __future__ import annotations

import numpy as np
import pytest
from skimage import data

from checks.framing import FramingCheck
from checks.framing.subject import SalientObject
from keyframe.fixes.reframe import Reframe
from keyframe.image import from_array
from keyframe.registry import Context


def rocket_portrait() -> np.ndarray:
    """skimage's rocket (a tall object, rows ~128-407) cut to a 300 x 427 portrait."""
    return np.ascontiguousarray(data.rocket()[:, 170:470])


def rocket_square() -> np.ndarray:
    """The rocket in a 427 x 427 square: Veo's 16:9 is 240 rows, and the rocket is ~280 rows
    tall (and ~60 columns wide: its box says portrait, where a 240-column crop holds it)."""
    return np.ascontiguousarray(data.rocket()[:, 110:537])


def framing(rgb, target, orientations=()):
    found = FramingCheck().measure(from_array(rgb, name="x.png"),
                                   Context(target=target, orientations=orientations))
    return {m.code: m for m in found}


def test_the_object_box_holds_the_object(shared_models):
    x, y, w, h = SalientObject().box(rocket_portrait())
    assert x <= 134 and 166 <= x + w and w < 100            # the rocket's body, cols 134-166
    assert y <= 135 and 400 <= y + h                        # top to launch pad


@pytest.mark.parametrize("rgb", [
    np.full((300, 400, 3), 128, np.uint8),
    np.dstack([np.tile(np.linspace(0, 255, 512), (384, 1))] * 3).astype(np.uint8),
    np.random.default_rng(0).integers(0, 256, (384, 512, 3)).astype(np.uint8),
])
def test_no_object_in_flat_gradient_or_noise(shared_models, rgb):
    assert SalientObject().box(rgb) is None


def test_a_square_picture_of_a_tall_object_is_cropped_to_portrait_for_veo(shared_models):
    rgb = rocket_square()
    m = framing(rgb, "veo")["aspect_mismatch"]
    assert m.measurements["subject_source"] == "object"
    assert (m.measurements["target_width"], m.measurements["target_height"]) == (720, 1280)
    lay = Reframe().layout(rgb, Reframe.validate(Reframe.plan_params(m)))
    x, y, w, h = SalientObject().box(rgb)
    cx, cy, cw, ch = lay.crop
    assert cy <= y and y + h <= cy + ch and cx <= x and x + w <= cx + cw
    assert lay.invented == 0.0                                  # a crop, nothing invented


def test_a_veo_reframe_keeps_the_whole_object(shared_models):
    rgb = rocket_square()
    # with SVD also requested the keyframe is landscape: the rocket does not fit 240 rows
    m = framing(rgb, "veo", orientations=("landscape",))["aspect_mismatch"]
    assert (m.measurements["target_width"], m.measurements["target_height"]) == (1280, 720)
    assert m.measurements["subject_source"] == "object"
    params = Reframe.validate(Reframe.plan_params(m))
    lay = Reframe().layout(rgb, params)
    x, y, w, h = SalientObject().box(rgb)
    cx, cy, cw, ch = lay.crop
    assert cy <= y and y + h <= cy + ch and cx <= x and x + w <= cx + cw
    assert 0 < sum(lay.pad) and ch < rgb.shape[0]              # trimmed, then extended
    # the saliency box alone cropped 240 rows: through the rocket
    old = Reframe().layout(rgb, Reframe.validate({**vars(params), "protect": (), "trim": False}))
    assert old.crop[3] < h


def test_no_object_is_sought_without_a_reframe(shared_models):
    m = framing(rocket_portrait(), None)["aspect_mismatch"]     # generic: any aspect
    assert m.severity == 0 and m.measurements["subject_source"] == "saliency"


def test_without_the_model_the_saliency_box_is_the_subject(tmp_path, monkeypatch):
    monkeypatch.setenv("KEYFRAME_MODELS", str(tmp_path))    # no model files here
    m = framing(rocket_portrait(), "veo")["aspect_mismatch"]
    assert m.severity > 0.5 and m.measurements["subject_source"] == "saliency"
    assert m.measurements["subject_from_regions"] == 0
