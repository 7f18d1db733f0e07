"""erase: fills a region or mask from its surroundings without a visible seam."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from keyframe.fixes.erase import Erase, erase, hole_mask, parse_regions
from keyframe.image import encode_png, load_mask
from keyframe.registry import fix_classes
from keyframe.report import Measurement

from helpers import photo


def textured(n: int = 256, seed: int = 0) -> np.ndarray:
    """A grassy texture (noise over a gentle gradient) with a red disc 'object' in it."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32)
    base = np.stack([60 + 0.2 * xx, 110 + 0.1 * yy, 50 + 0 * xx], -1)
    grain = cv2.GaussianBlur(rng.normal(0, 18, (n, n, 3)).astype(np.float32), (0, 0), 1.0)
    return np.clip(base + grain, 0, 255).astype(np.uint8)


def seam_stats(out: np.ndarray, hole: np.ndarray) -> tuple[float, float, float]:
    """(|mean diff| of fill vs ring, std ratio fill/ring, gradient energy on the hole border
    / elsewhere) on luma."""
    y = cv2.cvtColor(out, cv2.COLOR_RGB2GRAY).astype(np.float32)
    ring = cv2.dilate(hole.astype(np.uint8), np.ones((25, 25), np.uint8)).astype(bool) & ~hole
    g = cv2.magnitude(cv2.Sobel(y, cv2.CV_32F, 1, 0), cv2.Sobel(y, cv2.CV_32F, 0, 1))
    k = np.ones((3, 3), np.uint8)
    border = cv2.dilate(hole.astype(np.uint8), k).astype(bool) & ~cv2.erode(
        hole.astype(np.uint8), k).astype(bool)
    return (abs(float(y[hole].mean() - y[ring].mean())), float(y[hole].std() / y[ring].std()),
            float((g[border] ** 2).mean() / (g[~border] ** 2).mean()))


@pytest.mark.parametrize("method", ["auto", "grain", "patch", "telea", "biharmonic"])
def test_erase_object_on_texture_leaves_no_seam(method):
    clean = textured()
    obj = clean.copy()
    cv2.circle(obj, (128, 120), 30, (220, 30, 30), -1)
    hole = np.zeros(clean.shape[:2], bool)
    hole[86:156, 94:164] = True
    out = erase(obj, hole, method=method)
    filled = hole_mask(hole.shape, [], cv2.dilate(hole.astype(np.uint8), np.ones((9, 9))) > 0)
    assert out[..., 0][hole].mean() < 120            # the red object is gone
    mean_diff, std_ratio, border_energy = seam_stats(out, filled)
    assert mean_diff < 6.0
    assert border_energy < 2.0                       # no edge along the mask border
    if method in ("patch", "grain", "auto"):
        assert 0.6 < std_ratio < 1.5                 # the fill keeps the grain


def test_erase_never_touches_far_pixels_and_not_input():
    rgb = photo("coffee")
    before = rgb.copy()
    out = Erase().apply(rgb, Erase.validate({"region": "10,10,30,20"}))
    assert np.array_equal(rgb, before)
    far = np.ones(rgb.shape[:2], bool)
    far[0:60, 0:80] = False
    assert np.array_equal(out[far], rgb[far])
    assert not np.array_equal(out[10:30, 10:40], rgb[10:30, 10:40])


def test_validate_rejects_bad_params():
    for bad in ({"region": "1,2,3"}, {"region": "a,b,c,d"}, {"region": "1,1,5,5",
                "method": "magic"}, {"region": "0,0,0,5"}):
        with pytest.raises(ValueError, match="erase"):
            Erase.validate(bad)
    assert Erase.validate({"region": "1,1,5,5", "method": "onnx:lama"}).method == "onnx:lama"
    rgb = photo("coffee")
    assert np.array_equal(Erase().apply(rgb, Erase.validate({})), rgb)   # nothing to erase
    assert parse_regions("1,2,3,4; 5,6,7,8") == [(1, 2, 3, 4), (5, 6, 7, 8)]


def test_plan_params_come_from_the_text_measurement():
    m = Measurement("stray_text", 0.6, "x", region=(5, 5, 50, 10),
                    measurements={"boxes": "5,5,20,10;40,5,15,10"})
    p = Erase.plan_params(m)
    assert p["region"] == "5,5,20,10;40,5,15,10"
    Erase.validate(p)
    m2 = Measurement("watermark", 0.6, "x", region=(1, 2, 3, 4))
    assert Erase.plan_params(m2)["region"] == "1,2,3,4"
    assert "erase" in fix_classes()


def test_mask_file_is_read_through_keyframe_image(tmp_path):
    rgb = textured(128)
    m = np.zeros((128, 128, 3), np.uint8)
    m[40:60, 40:70] = 255
    path = tmp_path / "mask.png"
    path.write_bytes(encode_png(m))
    assert load_mask(path).sum() == 20 * 30
    out = Erase().apply(rgb, Erase.validate({"mask": str(path), "feather": 0, "dilate": 0}))
    assert np.array_equal(out[:30], rgb[:30])
    with pytest.raises(ValueError, match="mask"):
        erase(rgb, hole_mask((64, 64), [], np.ones((32, 32), bool)))


def test_onnx_inpainter_contract(tmp_path, monkeypatch):
    """A tiny graph that paints the hole with the mean colour of the known pixels."""
    onnx = pytest.importorskip("onnx", reason="onnx (test extra) builds the tiny graph")
    import onnxruntime as ort
    from onnx import TensorProto, helper
    nodes = [
        helper.make_node("Sub", ["one", "mask"], ["keep"]),
        helper.make_node("Mul", ["image", "keep"], ["known"]),
        helper.make_node("ReduceSum", ["known", "axes"], ["s"], keepdims=1),
        helper.make_node("ReduceSum", ["keep", "axes"], ["n"], keepdims=1),
        helper.make_node("Div", ["s", "n"], ["mean"]),
        helper.make_node("Mul", ["mean", "mask"], ["paint"]),
        helper.make_node("Add", ["known", "paint"], ["output"]),
    ]
    g = helper.make_graph(
        nodes, "meanfill",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, None, None]),
         helper.make_tensor_value_info("mask", TensorProto.FLOAT, [1, 1, None, None])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 3, None, None])],
        [helper.make_tensor("one", TensorProto.FLOAT, [], [1.0]),
         helper.make_tensor("axes", TensorProto.INT64, [2], [2, 3])])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    path = tmp_path / "meanfill.onnx"
    onnx.save(model, str(path))
    from keyframe import models
    monkeypatch.setattr(models, "session", lambda name: ort.InferenceSession(
        str(path), providers=["CPUExecutionProvider"]))
    rgb = np.full((64, 64, 3), 100, np.uint8)
    rgb[20:40, 20:40] = (255, 0, 0)
    out = Erase().apply(rgb, Erase.validate({"region": "20,20,20,20", "method": "onnx:meanfill",
                                             "feather": 0}))
    assert np.abs(out[25:35, 25:35].astype(int) - 100).max() <= 2

