"""Edge fixes: defringe, refine_alpha, dehalo, flatten."""
from __future__ import annotations

import numpy as np
import pytest

from checks.edge_halo import EdgeHaloCheck
from keyframe_dev.edge_halo_data import composite, matting_sets, rgba_image, variants
from helpers import img, photo
from keyframe.assess import assess
from keyframe.profiles import load_profile
from keyframe.registry import fix_classes
from keyframe.router import route

CHECK = EdgeHaloCheck()


def fringe(colour, alpha8):
    return {m.code: m for m in CHECK.measure(rgba_image(colour, alpha8 / 255.0))}["alpha_fringe"]


def run(name, rgb, alpha, **params):
    cls = fix_classes()[name]
    return cls().apply_rgba(rgb, alpha, cls.validate(params))


def test_registered_with_alpha_flag():
    fixes = fix_classes()
    for name in ("defringe", "refine_alpha", "flatten", "despeck", "dehalo"):
        assert fixes[name].uses_alpha
    dehalo = fixes["dehalo"]()          # opaque: the colour fix, alpha stays absent
    rgb = np.random.default_rng(0).integers(0, 255, (32, 32, 3), dtype=np.uint8)
    out, alpha = dehalo.apply_rgba(rgb, None, dehalo.validate({}))
    assert alpha is None and np.array_equal(out, dehalo.apply(rgb, dehalo.validate({})))
    assert fixes["sharpen"]().apply_rgba.__func__ is fixes["sharpen"].apply_rgba


def test_opaque_apply_is_a_copy():
    rgb = photo("astronaut")[:64, :64]
    for name in ("defringe", "refine_alpha", "flatten"):
        cls = fix_classes()[name]
        out = cls().apply(rgb, cls.validate({}))
        assert out is not rgb and np.array_equal(out, rgb)
        out2, a = cls().apply_rgba(rgb, None, cls.validate({}))
        assert a is None and np.array_equal(out2, rgb)


def test_unmultiply_recovers_foreground():
    a = np.tile(np.linspace(0, 255, 64).astype(np.uint8), (8, 1))
    f, b = np.array([200, 40, 40], np.float32), np.array([30, 220, 30], np.float32)
    af = a[..., None] / 255.0
    c = np.clip(f * af + b * (1 - af) + 0.5, 0, 255).astype(np.uint8)
    out, a2 = run("defringe", c, a, method="unmultiply", background="#1edc1e")
    band = (a > 40) & (a < 255)
    assert np.abs(out[band].astype(float) - f).max() <= 8
    assert np.array_equal(a2, a)
    out, _ = run("defringe", np.clip(f * af + 0.5, 0, 255).astype(np.uint8), a,
                 method="unpremultiply")
    assert np.abs(out[band].astype(float) - f).max() <= 8


def test_choke_and_validation():
    a = np.zeros((32, 32), np.uint8)
    a[8:24, 8:24] = 255
    _, a2 = run("defringe", np.zeros((32, 32, 3), np.uint8), a, method="unpremultiply", choke=2)
    assert a2.sum() < a.sum() and a2[16, 16] == 255
    with pytest.raises(ValueError):
        fix_classes()["defringe"].validate({"method": "magic"})
    with pytest.raises(ValueError):
        fix_classes()["flatten"].validate({"background": "#12"})


@pytest.mark.slow  # defringe (pymatting's foreground estimate) on every matting set: ~20 s
def test_defringe_lowers_fringe_not_raises_clean(shared_data):
    pytest.importorskip("pymatting")
    for s in matting_sets(shared_data):
        v = variants(shared_data, s)
        for kind in ("photo", "premultiplied", "clean"):
            colour, a = v[kind]
            a8 = np.clip(a * 255 + 0.5, 0, 255).astype(np.uint8)
            before = fringe(colour, a8)
            params = fix_classes()["defringe"].plan_params(before)
            out, a2 = run("defringe", colour, a8, **params)
            after = fringe(out, a2)
            if kind == "clean":
                assert after.severity <= before.severity + 0.05, (s.name, kind)
            else:
                assert after.severity < before.severity or before.severity == 0, (s.name, kind)
                assert after.severity < 0.5, (s.name, kind, after.severity)


def test_refine_alpha_restores_binarised_matte(shared_data):
    """SAD (sum |a - gt| / 1000) and MSE of the refined matte against ground truth on the
    five DIM sets, binarised at 0.5 then refined with the photo as guide."""
    for s in matting_sets(shared_data)[:5]:
        gt = s.alpha
        binary = ((gt > 0.5) * 255).astype(np.uint8)
        _, refined = run("refine_alpha", s.image, binary, method="guided", radius=4, eps=1e-3)
        sad_b = np.abs(binary / 255.0 - gt).sum() / 1000
        sad_r = np.abs(refined / 255.0 - gt).sum() / 1000
        mse_b = ((binary / 255.0 - gt) ** 2).mean()
        mse_r = ((refined / 255.0 - gt) ** 2).mean()
        assert sad_r < sad_b and mse_r < mse_b, (s.name, sad_b, sad_r, mse_b, mse_r)


def test_refine_alpha_removes_specks():
    a = np.zeros((64, 64), np.uint8)
    a[10:50, 10:50] = 255
    a[60, 60] = 90
    _, out = run("refine_alpha", np.zeros((64, 64, 3), np.uint8), a, min_area=4)
    assert out[60, 60] == 0 and out[30, 30] == 255


def test_dehalo_clamps_a_rim_and_keeps_clean_edges():
    rgb = np.full((64, 64, 3), 60, np.uint8)
    rgb[:, 32:] = 160
    clean = fix_classes()["dehalo"]().apply(rgb, fix_classes()["dehalo"].validate({}))
    assert np.array_equal(clean, rgb)
    haloed = rgb.copy()
    haloed[:, 32:34] = 240                      # a light rim on the bright side
    out = fix_classes()["dehalo"]().apply(haloed, fix_classes()["dehalo"].validate({}))
    assert np.abs(out[:, 32:34].astype(int) - 160).max() < np.abs(haloed[:, 32:34].astype(int)
                                                                  - 160).max()


def test_flatten_colour_and_image(tmp_path):
    from PIL import Image
    rgb = np.full((16, 16, 3), 200, np.uint8)
    a = np.zeros((16, 16), np.uint8)
    a[:, 8:] = 255
    out, alpha = run("flatten", rgb, a, background="#000080")
    assert alpha is None and out.shape == (16, 16, 3)
    assert tuple(out[0, 0]) == (0, 0, 128) and tuple(out[0, 15]) == (200, 200, 200)
    p = tmp_path / "bg.png"
    Image.fromarray(np.full((40, 20, 3), 50, np.uint8)).save(p)
    out, _ = run("flatten", rgb, a, background=str(p))
    assert tuple(out[0, 0]) == (50, 50, 50)


def test_defringed_cutout_flattened_certifies(shared_data):
    """The output path for video: defringe, flatten onto the set's new background, assess —
    no edge-halo or artifact finding at major or above."""
    pytest.importorskip("pymatting")
    profile = load_profile("default")
    for s in matting_sets(shared_data)[:6]:
        colour, a = variants(shared_data, s)["photo"]
        a8 = np.clip(a * 255 + 0.5, 0, 255).astype(np.uint8)
        out, a2 = run("defringe", colour, a8)
        flat = composite(out, a2 / 255.0, s.background)
        blocking = _blocking(assess(img(flat), profile=profile))
        plate = _blocking(assess(img(s.background), profile=profile))
        assert not blocking - plate, (s.name, blocking, plate)   # only what the plate brings


def _blocking(report) -> set[str]:
    return {f.code for f in report.findings if f.level in ("major", "critical")
            and f.check in ("edge_halo", "artifact")}


def test_hard_edge_routes_to_review():
    from checks.edge_halo.rgba import measure_rgba  # noqa: F401 - family import check
    from keyframe.report import Measurement, Report
    m = Measurement("hard_edge", 0.7, "binary alpha on a hair-like contour", check="edge_halo")
    report = Report(path="x", measurements={"hard_edge": m})
    d = route(report, load_profile("default"))
    assert d.verdict == "review" and "hard_edge" in d.reason
    m = Measurement("alpha_fringe", 0.7, "fringe", check="edge_halo")
    ok = Measurement("blur", 0.0, "sharp", check="artifact")    # the required check ran
    d = route(Report(path="x", measurements={"alpha_fringe": m, "blur": ok}),
              load_profile("default"))
    assert d.verdict == "fix" and d.plan[0].fix == "defringe"


def test_dehalo_chokes_a_loose_matte_of_a_cutout(shared_data):
    """A 2-px dilated matte keeps the old background in an opaque ring: the cut-out's
    edge_halo (worst of black/grey/white backgrounds) reads major; dehalo, planned from that
    measurement, chokes the matte and decontaminates the new band: below minor."""
    from keyframe_dev.edge_halo_data import matting_sets, rgba_image, variants
    from checks.edge_halo import EdgeHaloCheck
    from keyframe.image import LoadedImage
    check, fix = EdgeHaloCheck(), fix_classes()["dehalo"]()
    for s in matting_sets(shared_data):
        if s.name not in ("lemur", "dim0", "p3m_p_07141906"):
            continue
        colour, a = variants(shared_data, s)["dilated"]
        before = {m.code: m for m in check.measure(rgba_image(colour, a))}["edge_halo"]
        assert before.severity >= 0.5, s.name
        image = rgba_image(colour, a)
        rgb, alpha = fix.apply_rgba(image.rgb, image.alpha,
                                    fix.validate(fix.plan_params(before)))
        after = {m.code: m for m in check.measure(LoadedImage(rgb=rgb, alpha=alpha))}
        assert after["edge_halo"].severity < 0.25 and alpha.sum() < image.alpha.sum(), s.name
