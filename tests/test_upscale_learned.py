"""Learned upscaling (FSRCNN / ESPCN): the GraphDef reader and numpy runner in
keyframe/fixes/_srnet.py, and the ``upscale`` fix's ``method="fsrcnn" | "espcn"``.

The model tests use ../shared/models (``shared_models``) and skip without it; the kernel and
wire-format tests need nothing."""
from __future__ import annotations

import struct

import cv2
import numpy as np
import pytest
from skimage import data
from skimage.metrics import peak_signal_noise_ratio as psnr

from keyframe import models
from keyframe.fixes import _srnet
from keyframe.fixes.upscale import model_name, run_network
from keyframe.models import ModelMissing
from keyframe.recipe import RecipeError, from_steps, make_step, parse
from keyframe.registry import fix_classes

LEARNED = ("fsrcnn", "espcn")


def up(rgb: np.ndarray, **params) -> np.ndarray:
    cls = fix_classes()["upscale"]
    return cls().apply(rgb, cls.validate(params))


def graph(shared, name: str) -> _srnet.Graph:
    return _srnet.load(shared / models.spec(name).file)


def chw(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a.transpose(2, 0, 1))


# ----------------------------------------------------------- protobuf writer (test side)

def _varint(v: int) -> bytes:
    v &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def _ld(num: int, payload: bytes) -> bytes:
    return _varint(num << 3 | 2) + _varint(len(payload)) + payload


def _vi(num: int, v: int) -> bytes:
    return _varint(num << 3) + _varint(v)


def _node(name: str, op: str, inputs=(), attrs: dict[str, bytes] | None = None) -> bytes:
    msg = _ld(1, name.encode()) + _ld(2, op.encode())
    msg += b"".join(_ld(3, i.encode()) for i in inputs)
    for k, v in (attrs or {}).items():
        msg += _ld(5, _ld(1, k.encode()) + _ld(2, v))
    return _ld(1, msg)


def _shape(*dims: int) -> bytes:
    return b"".join(_ld(2, _vi(1, d)) for d in dims)


def _float_tensor(dims, values=None, content=None) -> bytes:
    t = _vi(1, 1) + _ld(2, _shape(*dims))
    if content is not None:
        t += _ld(4, content)
    if values is not None:
        t += _ld(5, struct.pack(f"<{len(values)}f", *values))
    return _ld(8, t)          # AttrValue.tensor


# ----------------------------------------------------------------------- wire format

def test_wire_format_reader_on_a_hand_built_graph():
    w = np.arange(9, dtype=np.float32).reshape(3, 3, 1, 1) / 10
    pb = (_node("x", "Placeholder", attrs={"dtype": _vi(6, 1),
                                           "shape": _ld(7, _shape(1, -1, -1, 1))})
          + _node("w", "Const", attrs={"value": _float_tensor((3, 3, 1, 1),
                                                              content=w.tobytes())})
          + _node("b", "Const", attrs={"value": _float_tensor((4,), values=[0.25])})
          + _node("conv", "Conv2D", ["x", "w"],
                  {"strides": _ld(1, _ld(3, b"".join(_varint(1) for _ in range(4)))),
                   "padding": _ld(2, b"SAME"), "data_format": _ld(2, b"NHWC")})
          + _node("y", "Add", ["conv", "^x", "b:0"]))
    nodes = _srnet.parse_graphdef(pb)
    assert [n.op for n in nodes] == ["Placeholder", "Const", "Const", "Conv2D", "Add"]
    assert nodes[0].attrs["shape"] == (1, -1, -1, 1)          # negative int64 dims
    assert np.array_equal(nodes[1].attrs["value"], w)
    assert np.array_equal(nodes[2].attrs["value"], [0.25] * 4)  # a splat fills the shape
    assert nodes[3].attrs["strides"] == [1, 1, 1, 1] and nodes[3].attrs["padding"] == "SAME"
    assert nodes[4].inputs == ("conv", "b")                    # control input dropped
    g = _srnet.build(nodes)
    assert g.output == "y" and g.input == "x"
    with pytest.raises(ValueError, match="single-channel"):
        g.run(np.ones((5, 6), np.float32))       # the (4,) bias makes 4 channels
    nodes[2] = _srnet.Node("b", "Const", (), {"value": np.float32(0.25)})
    out = _srnet.build(nodes).run(np.ones((5, 6), np.float32))
    assert out.shape == (5, 6) and np.isclose(out[2, 2], w.sum() + 0.25)
    assert np.isclose(out[0, 0], w[1:, 1:].sum() + 0.25)     # SAME: zeros outside


def test_unsupported_op_is_one_clear_line():
    pb = (_node("x", "Placeholder", attrs={"dtype": _vi(6, 1)})
          + _node("y", "ResizeBilinear", ["x"]))
    with pytest.raises(ValueError) as err:
        _srnet.build(_srnet.parse_graphdef(pb))
    msg = str(err.value)
    assert "\n" not in msg and "ResizeBilinear" in msg and "'y'" in msg
    with pytest.raises(ValueError, match="not a TensorFlow GraphDef"):
        _srnet.parse_graphdef(b"")


# ------------------------------------------------------------------------- kernels

def _conv_reference(x, w, strides, padding):
    """Plain NHWC convolution (float64) written straight from the TF definition."""
    h, wd, _ = x.shape
    kh, kw, _, cout = w.shape
    sy, sx = strides
    if padding == "SAME":
        (pt, pb), (pl, pr) = _srnet._same_pads(h, kh, sy), _srnet._same_pads(wd, kw, sx)
    else:
        pt = pb = pl = pr = 0
    xp = np.pad(x, ((pt, pb), (pl, pr), (0, 0))).astype(np.float64)
    oh, ow = (xp.shape[0] - kh) // sy + 1, (xp.shape[1] - kw) // sx + 1
    out = np.zeros((oh, ow, cout))
    for i in range(kh):
        for j in range(kw):
            out += xp[i:i + sy * (oh - 1) + 1:sy, j:j + sx * (ow - 1) + 1:sx] @ w[i, j]
    return out


@pytest.mark.parametrize("shape, kernel, strides, padding", [
    ((17, 23, 3), (5, 5, 3, 4), (1, 1), "SAME"),
    ((17, 23, 3), (4, 4, 3, 2), (2, 2), "SAME"),
    ((16, 22, 3), (3, 2, 3, 2), (2, 3), "VALID"),
    ((9, 9, 2), (1, 1, 2, 3), (1, 1), "SAME"),
    ((10, 11, 2), (2, 2, 2, 3), (1, 1), "SAME"),
    ((10, 11, 2), (3, 3, 2, 3), (2, 2), "SAME"),
])
def test_conv2d_matches_the_definition(shape, kernel, strides, padding):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    w = rng.standard_normal(kernel).astype(np.float32)
    got = _srnet.conv2d(chw(x), w, strides, padding)
    want = chw(_conv_reference(x, w, strides, padding))
    assert got.shape == want.shape
    assert np.abs(got - want).max() < 1e-4


@pytest.mark.parametrize("out_hw, kernel, strides, padding", [
    ((16, 20), (5, 5, 3, 2), (2, 2), "SAME"), ((17, 21), (9, 9, 1, 2), (3, 3), "SAME"),
    ((15, 15), (4, 4, 2, 3), (2, 2), "VALID"), ((18, 18), (3, 3, 2, 3), (3, 3), "SAME"),
])
def test_transposed_conv_is_the_adjoint_of_conv(out_hw, kernel, strides, padding):
    """<conv(z), y> == <z, conv_transpose(y)> for every z, y: the definition of
    Conv2DBackpropInput (the gradient of Conv2D with respect to its input)."""
    rng = np.random.default_rng(1)
    w = rng.standard_normal(kernel).astype(np.float32)
    z = rng.standard_normal((*out_hw, kernel[2])).astype(np.float32)
    fz = _conv_reference(z, w, strides, padding)
    y = rng.standard_normal(fz.shape).astype(np.float32)
    tz = _srnet.conv2d_transpose(chw(y), w, out_hw, strides, padding)
    assert tz.shape == (kernel[2], *out_hw)
    assert np.isclose((fz * y).sum(), (chw(z) * tz).sum(), rtol=1e-5)


def test_depth_to_space_is_tf_dcr_order():
    x = np.random.default_rng(2).standard_normal((3, 4, 3 * 3 * 2)).astype(np.float32)
    want = x.reshape(3, 4, 3, 3, 2).transpose(0, 2, 1, 3, 4).reshape(9, 12, 2)
    assert np.array_equal(_srnet.depth_to_space(chw(x), 3), chw(want))


# -------------------------------------------------------------------- the real graphs

def test_graphs_have_the_expected_layers(shared_models):
    fsrcnn = graph(shared_models, "sr-fsrcnn-x2")
    assert fsrcnn.input == "IteratorGetNext" and fsrcnn.output == "NCHW_output"
    shapes = {k: v.shape for k, v in fsrcnn.consts.items() if k[0] == "f"}
    assert shapes == {"f1": (5, 5, 1, 56), "f2": (1, 1, 56, 12), "f3": (3, 3, 12, 12),
                      "f4": (3, 3, 12, 12), "f5": (3, 3, 12, 12), "f6": (3, 3, 12, 12),
                      "f7": (1, 1, 12, 56), "f8": (1, 1, 56, 4)}
    ops = [op for _, op, _ in fsrcnn.ops() if op != "Const"]
    assert ops.count("Conv2D") == 8 and ops.count("PReLU") == 7   # Relu/Abs/Sub/Mul folded
    assert ops[-3:] == ["DepthToSpace", "BiasAdd", "Transpose"]
    assert fsrcnn.nodes["DepthToSpace"].attrs["block_size"] == 2
    assert fsrcnn.radius == 6

    espcn = graph(shared_models, "sr-espcn-x3")
    shapes = {k: v.shape for k, v in espcn.consts.items() if k[0] == "f"}
    assert shapes == {"f1": (5, 5, 1, 64), "f2": (3, 3, 64, 32), "f3": (3, 3, 32, 9)}
    assert [op for _, op, _ in espcn.ops() if op != "Const"] == [
        "Placeholder", "Conv2D", "Add", "Relu", "Conv2D", "Add", "Relu", "Conv2D", "Add",
        "DepthToSpace", "Tanh", "Transpose"]
    small = graph(shared_models, "sr-fsrcnn-small-x4")
    assert small.consts["f1"].shape == (5, 5, 1, 32)
    assert small.run(np.full((6, 7), 0.5, np.float32)).shape == (24, 28)


def test_prelu_folding_changes_nothing(shared_models, monkeypatch):
    """The folded PReLU gives what the file's own Relu/Abs/Sub/Mul ops compute."""
    file = shared_models / models.spec("sr-fsrcnn-x3").file
    y = cv2.cvtColor(data.coffee()[100:164, 200:280], cv2.COLOR_RGB2YCrCb)[..., 0]
    y = y.astype(np.float32) / 255
    folded = _srnet.build(_srnet.parse_graphdef(file.read_bytes()))
    monkeypatch.setattr(_srnet, "_match_prelu", lambda nodes, node: None)
    plain = _srnet.build(_srnet.parse_graphdef(file.read_bytes()))
    assert "PReLU" not in [op for _, op, _ in plain.ops()]
    assert np.abs(folded.run(y) - plain.run(y)).max() < 1e-5


def test_tiling_does_not_change_the_result(shared_models):
    y = cv2.cvtColor(data.astronaut()[:150, :200], cv2.COLOR_RGB2YCrCb)[..., 0]
    y = y.astype(np.float32) / 255
    whole, k = run_network("sr-fsrcnn-x2", y, tile=512)
    tiled, _ = run_network("sr-fsrcnn-x2", y, tile=48)
    assert k == 2 and whole.shape == (300, 400)
    # equal to float rounding: the convolutions' summation order follows the tile's size
    # (OpenCV's SIMD and thread split), which moved one value by 1 ulp in CI; a seam from
    # missing context would be off by 1e-3 or more
    assert np.abs(whole - tiled).max() < 1e-6


# ------------------------------------------------------------------------- the fix

def _photos(shared_data=None) -> dict[str, np.ndarray]:
    out = {"astronaut": data.astronaut(), "coffee": data.coffee()[:, :598]}
    if shared_data is not None:
        f = shared_data / "live_iqa_cilissa" / "ref_images" / "parrots.png"
        if f.is_file():
            out["parrots"] = cv2.cvtColor(cv2.imread(str(f)), cv2.COLOR_BGR2RGB)
    return out


@pytest.fixture(scope="module")
def photos(request) -> dict[str, np.ndarray]:
    try:
        shared = request.getfixturevalue("shared_data")
    except pytest.skip.Exception:
        shared = None
    return _photos(shared)


@pytest.mark.parametrize("method", LEARNED)
def test_learned_x2_beats_lanczos_on_real_photos(shared_models, photos, method):
    """Downscale by 2 (area), enlarge back: the network is closer to the original than
    Lanczos on every photo. Measured (RGB PSNR, Lanczos / FSRCNN / ESPCN): astronaut
    30.82 / 32.28 / 32.40, coffee 29.64 / 30.59 / 30.42, parrots 35.51 / 36.91 / 36.79."""
    for name, img in photos.items():
        h, w = img.shape[:2]
        small = cv2.resize(img, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
        lanczos = psnr(img, up(small, factor=2.0))
        learned = psnr(img, up(small, factor=2.0, method=method))
        assert learned > lanczos + 0.5, (name, method, learned, lanczos)


@pytest.mark.parametrize("method", LEARNED)
def test_exact_output_size(shared_models, method):
    img = data.chelsea()[:101, :77]
    cls = fix_classes()["upscale"]
    for factor in (1.5, 2.0, 3.0, 4.0, 2.5, 5.0):
        params = cls.validate({"factor": factor, "method": method})
        want = cls.output_size(77, 101, params)
        assert up(img, factor=factor, method=method).shape == (want[1], want[0], 3)
    assert up(img, long_side=250, method=method).shape == (250, 191, 3)
    assert np.array_equal(up(img, long_side=90, method=method), img)   # never shrinks


@pytest.mark.parametrize("method", LEARNED)
def test_deterministic_and_input_untouched(shared_models, method):
    img = data.astronaut()[100:228, 150:310].copy()
    img.setflags(write=False)
    a = up(img, factor=3.0, method=method)
    b = up(img.copy(), factor=3.0, method=method)
    assert a.tobytes() == b.tobytes()
    assert a.flags.writeable and a.flags.c_contiguous and a.dtype == np.uint8


@pytest.mark.parametrize("method", LEARNED)
@pytest.mark.parametrize("colour", [(77, 130, 200), (16, 16, 16), (128, 128, 128),
                                    (235, 200, 30), (255, 255, 255), (0, 0, 0)])
def test_constant_image_stays_constant(shared_models, method, colour):
    rgb = np.broadcast_to(np.array(colour, np.uint8), (40, 48, 3))
    for factor in (2.0, 3.0, 1.5):
        out = up(np.ascontiguousarray(rgb), factor=factor, method=method)
        assert np.abs(out.astype(int) - colour).max() <= 1, (factor, colour)


def test_models_for_and_recipe_hashes(shared_models):
    cls = fix_classes()["upscale"]
    v = cls.validate
    assert cls.models_for(v({"factor": 2.0})) == ()
    assert cls.models_for(v({"factor": 1.5, "method": "fsrcnn"})) == ("sr-fsrcnn-x2",)
    assert cls.models_for(v({"factor": 2.5, "method": "espcn"})) == ("sr-espcn-x3",)
    assert cls.models_for(v({"factor": 8.0, "method": "espcn"})) == ("sr-espcn-x4",)
    assert cls.models_for(v({"factor": 1.0, "method": "espcn"})) == ()
    assert cls.models_for(v({"long_side": 900, "method": "fsrcnn"})) == (
        "sr-fsrcnn-x2", "sr-fsrcnn-x3", "sr-fsrcnn-x4")
    assert model_name("fsrcnn", 2.0) == "sr-fsrcnn-x2" and model_name("fsrcnn", 2.01) == \
        "sr-fsrcnn-x3"
    recipe = from_steps([make_step("upscale", {"factor": 3.0, "method": "fsrcnn"})])
    assert recipe.models == {"sr-fsrcnn-x3": models.spec("sr-fsrcnn-x3").sha256}
    again = parse(recipe.to_dict())
    assert again.models == recipe.models
    bad = recipe.to_dict()
    bad["models"]["sr-fsrcnn-x3"] = "0" * 64
    with pytest.raises(RecipeError, match="sha256"):
        parse(bad)


def test_missing_model_says_how_to_get_it(monkeypatch, tmp_path):
    monkeypatch.setenv("KEYFRAME_MODELS", str(tmp_path))
    img = data.astronaut()[:64, :64]
    with pytest.raises(ModelMissing) as err:
        up(img, factor=2.0, method="fsrcnn")
    msg = str(err.value)
    assert "\n" not in msg and "keyframe models pull sr-fsrcnn-x2" in msg
    with pytest.raises(RecipeError) as err:        # a recipe: one error naming the step
        parse({"steps": [{"fix": "upscale", "params": {"factor": 4, "method": "espcn"}}]})
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith("step 1 (upscale)")
    assert "keyframe models pull sr-espcn-x4" in msg
    assert up(img, factor=2.0).shape == (128, 128, 3)        # Lanczos needs no model
