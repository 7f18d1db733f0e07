"""Opaque composites with their subject matte: keyframe.matte, the edge-halo check's matte
path, dehalo's matte mode, the gate and the --mattes option."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from checks.edge_halo import EdgeHaloCheck
from keyframe_dev.edge_halo_data import composite, matting_sets, variants
from keyframe.cli import main
from keyframe.fixes.dehalo import Dehalo
from keyframe.gate import gate
from keyframe.image import ImageError, LoadedImage, from_array
from keyframe.matte import find_matte, read_matte, with_matte
from keyframe.profiles import load_profile
from keyframe.schemas import validation_errors
from keyframe.store import run_id

CHECK = EdgeHaloCheck()
DEHALO = Dehalo()


def measured(rgb, matte) -> dict:
    return {m.code: m for m in CHECK.measure(LoadedImage(rgb=rgb, matte=matte))}


def texture(n: int, seed: int, base, amp=18.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise = cv2.GaussianBlur(rng.normal(0, 1, (n, n)).astype(np.float32), (0, 0), n / 128)
    noise /= noise.std() + 1e-6
    return np.clip(np.asarray(base, np.float32) + amp * noise[..., None], 0, 255)


def disc_composite(n=512, rim=0.0, rim_px=2.0, soft=1.5, hairy=False, binary=False):
    """A textured red subject pasted on a textured blue background; ``rim`` (0..1) of a
    green band ``rim_px`` wide just outside the subject (the old background left by a
    dilated matte). Returns (rgb uint8, matte uint8 = the subject's alpha)."""
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32)
    r = np.hypot(yy - n / 2, xx - n / 2)
    radius = n * 0.3
    if hairy:
        radius = radius + n / 40 * np.sin(np.arctan2(yy - n / 2, xx - n / 2) * 60)
    s = soft * n / 512
    a = (r < radius).astype(np.float32) if binary else np.clip((radius - r) / s + 0.5, 0, 1)
    ring = np.clip((radius + rim_px * n / 512 - r) / s + 0.5, 0, 1) * (1 - a) * rim
    fg, bg = texture(n, 1, (190, 60, 50)), texture(n, 2, (40, 70, 170))
    green = np.array([60, 200, 60], np.float32)
    out = fg * a[..., None] + bg * (1 - a)[..., None]
    out = out * (1 - ring)[..., None] + green * ring[..., None]
    to8 = lambda x: np.clip(x + 0.5, 0, 255).astype(np.uint8)  # noqa: E731
    return to8(out), to8(a * 255)


# ---------------------------------------------------------------- keyframe.matte

def test_find_and_read_matte(tmp_path):
    (tmp_path / "m").mkdir()
    rgb, matte = disc_composite(128)
    cv2.imwrite(str(tmp_path / "m" / "shot.png"), matte)
    assert find_matte(tmp_path / "shot.jpg", tmp_path / "m") == tmp_path / "m" / "shot.png"
    assert find_matte(tmp_path / "other.jpg", tmp_path / "m") is None
    got = read_matte(tmp_path / "m" / "shot.png", shape=(128, 128))
    assert got.dtype == np.uint8 and np.array_equal(got, matte)
    with pytest.raises(ImageError) as err:
        read_matte(tmp_path / "m" / "shot.png", shape=(100, 128))
    assert err.value.kind == "matte_size" and "128x128" in str(err.value)


def test_matte_from_an_alpha_plane_and_ignored_on_rgba(tmp_path):
    rgb, matte = disc_composite(96)
    cv2.imwrite(str(tmp_path / "a.png"), np.dstack([np.zeros_like(rgb), matte]))
    assert np.array_equal(read_matte(tmp_path / "a.png", shape=(96, 96)), matte)
    rgba = from_array(rgb, alpha=matte)
    kept = with_matte(rgba, matte, source="x.png")
    assert kept.matte is None and "ignored" in kept.notes[-1]
    opaque = with_matte(from_array(rgb), matte, source="x.png")
    assert opaque.matte is not None and opaque.matte_source == "x.png"


# ---------------------------------------------------------------- the check's matte path

def test_codes_and_clean_composite_reads_zero():
    rgb, matte = disc_composite()
    ms = measured(rgb, matte)
    assert set(ms) == {"edge_halo", "hard_edge", "alpha_fringe", "alpha_specks"}
    assert ms["edge_halo"].measurements["matte"] == 1.0
    assert ms["edge_halo"].severity < 0.1 and ms["hard_edge"].severity == 0.0


def test_edge_halo_monotone_in_rim_strength_and_width():
    by_strength = [measured(*disc_composite(rim=r))["edge_halo"].severity
                   for r in (0.0, 0.25, 0.5, 1.0)]
    assert by_strength[0] < 0.1 and by_strength[-1] > 0.5
    assert all(b >= a for a, b in zip(by_strength, by_strength[1:]))
    by_width = [measured(*disc_composite(rim=0.6, rim_px=w))["edge_halo"].severity
                for w in (0.5, 1.0, 2.0)]
    assert all(b >= a for a, b in zip(by_width, by_width[1:])) and by_width[-1] > by_width[0]


def test_edge_halo_comparable_across_sizes():
    sev = [measured(*disc_composite(n=n, rim=0.7))["edge_halo"].severity for n in (384, 1024, 2048)]
    assert max(sev) - min(sev) < 0.2 and min(sev) > 0.4


def test_region_on_the_rim_and_mask_at_source_size():
    rgb, matte = disc_composite(rim=1.0)
    rgb[:, 256:] = disc_composite(rim=0.0)[0][:, 256:]     # the rim on the left half only
    m = {x.code: x for x in EdgeHaloCheck(with_mask=True).measure(
        LoadedImage(rgb=rgb, matte=matte))}["edge_halo"]
    x, y, w, h = m.region
    assert x + w <= 300 and m.mask.shape == (512, 512) and m.mask[:, 300:].sum() == 0


def test_hard_edge_binary_hairy_contour_only():
    assert measured(*disc_composite(hairy=True, binary=True))["hard_edge"].severity > 0.5
    assert measured(*disc_composite(hairy=True, soft=6.0))["hard_edge"].severity < 0.1
    assert measured(*disc_composite(binary=True))["hard_edge"].severity < 0.25


@pytest.fixture(scope="module")
def matte_scores(shared_data):
    out = {}
    for s in matting_sets(shared_data):
        for kind, (colour, alpha) in variants(shared_data, s).items():
            if kind != "premultiplied":
                comp = composite(colour, alpha, s.background)
                m8 = np.clip(alpha * 255 + 0.5, 0, 255).astype(np.uint8)
                out[(s.name, kind)] = {c: m.severity for c, m in measured(comp, m8).items()}
    return out


def _auc(pos, neg):
    p, n = np.asarray(pos)[:, None], np.asarray(neg)[None, :]
    return float(((p > n).sum() + 0.5 * (p == n).sum()) / (p.size * n.size))


def test_real_composites_separate_with_the_matte(matte_scores):
    names = sorted({n for n, _ in matte_scores})
    clean = [matte_scores[(n, "clean")] for n in names]
    assert max(c["edge_halo"] for c in clean) < 0.25          # clean composites: no finding
    assert max(c["hard_edge"] for c in clean) < 0.25
    dilated = [matte_scores[(n, "dilated")]["edge_halo"] for n in names]
    assert _auc(dilated, [c["edge_halo"] for c in clean]) >= 0.85
    assert sum(d >= 0.5 for d in dilated) >= 4
    binary = [matte_scores[(n, "binary")]["hard_edge"] for n in names]
    negatives = [matte_scores[(n, k)]["hard_edge"] for n in names for k in ("clean", "photo")]
    assert _auc(binary, negatives) >= 0.9


# ---------------------------------------------------------------- dehalo's matte mode

def test_dehalo_matte_mode_mends_the_rim_and_touches_only_the_band(tmp_path):
    rgb, matte = disc_composite(rim=1.0)
    path = tmp_path / "m.png"
    cv2.imwrite(str(path), matte)
    params = DEHALO.validate({"width": 3, "matte": str(path)})
    out = DEHALO.apply(rgb, params)
    before, after = (measured(x, matte)["edge_halo"].severity for x in (rgb, out))
    assert after < 0.1 < before
    sd = cv2.distanceTransform((matte >= 128).astype(np.uint8), cv2.DIST_L2, 3)
    far = (sd > 4) | (cv2.distanceTransform((matte < 128).astype(np.uint8), cv2.DIST_L2, 3) > 4)
    assert np.array_equal(out[far], rgb[far])
    flat = np.full((64, 64, 3), 120, np.uint8)
    cv2.imwrite(str(tmp_path / "f.png"), cv2.resize(matte, (64, 64)))
    assert np.array_equal(DEHALO.apply(flat, DEHALO.validate(
        {"width": 3, "matte": str(tmp_path / "f.png")})), flat)
    with pytest.raises(ValueError, match="matte is"):
        DEHALO.apply(rgb[:100], params)


def test_dehalo_matte_mode_on_real_composites(shared_data, tmp_path):
    for s in matting_sets(shared_data):
        if s.name not in ("lemur", "dim0", "p3m_p_07141906"):
            continue
        v = variants(shared_data, s)
        for kind in ("clean", "dilated"):
            colour, alpha = v[kind]
            comp = composite(colour, alpha, s.background)
            m8 = np.clip(alpha * 255 + 0.5, 0, 255).astype(np.uint8)
            path = tmp_path / f"{s.name}_{kind}.png"
            cv2.imwrite(str(path), m8)
            out = DEHALO.apply(comp, DEHALO.validate({"width": 3, "matte": str(path)}))
            before, after = (measured(x, m8)["edge_halo"].severity for x in (comp, out))
            assert after <= before + 0.02, (s.name, kind)
            if kind == "dilated":
                assert before >= 0.5 and after < 0.25, (s.name, before, after)


# ---------------------------------------------------------------- gate and command line

def test_gate_carries_the_matte_and_certifies_a_dehaloed_composite(tmp_path):
    rgb, matte = disc_composite(rim=1.0)
    path = tmp_path / "m.png"
    cv2.imwrite(str(path), matte)
    image = with_matte(from_array(rgb, name="c.png"), matte, source=str(path))
    profile = tmp_path / "edges.toml"     # the synthetic picture is no photo: edges only
    profile.write_text('name = "edges"\nextends = "default"\nrequired_checks = []\n')
    result = gate(image, profile=load_profile(str(profile)), checks=[EdgeHaloCheck()])
    assert result.before.scores["edge_halo"] >= 0.5
    assert result.verdict == "certified", result.reason
    (step,) = result.recipe.steps
    assert step.fix == "dehalo" and step.params.matte == str(path)


def test_gate_mends_a_real_haloed_composite(shared_data, tmp_path):
    s = next(m for m in matting_sets(shared_data) if m.name == "lemur")
    colour, alpha = variants(shared_data, s)["dilated"]
    m8 = np.clip(alpha * 255 + 0.5, 0, 255).astype(np.uint8)
    cv2.imwrite(str(tmp_path / "lemur.png"), m8)
    image = with_matte(from_array(composite(colour, alpha, s.background), name="lemur.png"),
                       m8, source=str(tmp_path / "lemur.png"))
    from keyframe.registry import check_classes
    checks = [check_classes()[n]() for n in ("artifact", "edge_halo")]
    result = gate(image, profile=load_profile("default"), checks=checks)
    assert result.before.verdict == "fix" and result.before.scores["edge_halo"] >= 0.8
    assert result.verdict == "certified", result.reason
    assert result.after.scores["edge_halo"] < 0.25
    assert [s.fix for s in result.recipe.steps] == ["dehalo"]


def _write(tmp_path, rim):
    img_dir, mattes = tmp_path / "in", tmp_path / "mattes"
    img_dir.mkdir(exist_ok=True)
    mattes.mkdir(exist_ok=True)
    for name, r in rim.items():
        rgb, matte = disc_composite(rim=r)
        cv2.imwrite(str(img_dir / f"{name}.png"), rgb[:, :, ::-1])
        cv2.imwrite(str(mattes / f"{name}.png"), matte)
    return img_dir, mattes


def test_check_with_mattes_option(tmp_path):
    img_dir, mattes = _write(tmp_path, {"clean": 0.0, "haloed": 1.0})
    cv2.imwrite(str(mattes / "wrong.png"), np.zeros((10, 10), np.uint8))
    cv2.imwrite(str(img_dir / "wrong.png"), disc_composite(rim=0.0)[0])
    runner = CliRunner()
    res = runner.invoke(main, ["check", str(img_dir), "--json", "--mattes", str(mattes)])
    reports = {r["path"].rsplit("/", 1)[-1]: r for r in map(json.loads, res.output.splitlines())}
    assert res.exit_code == 2                                   # the mis-sized matte
    assert reports["haloed.png"]["scores"]["edge_halo"] >= 0.5
    assert validation_errors("report", reports["haloed.png"]) == []
    assert reports["clean.png"]["scores"]["edge_halo"] < 0.25
    assert any("subject matte" in n for n in reports["clean.png"]["notes"])
    assert reports["wrong.png"]["verdict"] == "error"
    assert reports["wrong.png"]["error"]["type"] == "matte_size"
    plain = json.loads(runner.invoke(main, ["check", str(img_dir / "haloed.png"), "--json"]).output)
    assert "edge_halo" not in plain["scores"]                    # no matte: not measured
    assert any(x["check"] == "edge_halo" and "--mattes" in x["reason"] for x in plain["skipped"])


def test_triage_skips_a_mattes_folder_inside_the_input(tmp_path):
    img_dir, _ = _write(tmp_path, {"haloed": 1.0})
    inner = img_dir / "mattes"
    inner.mkdir()
    cv2.imwrite(str(inner / "haloed.png"), disc_composite(rim=1.0)[1])
    res = CliRunner().invoke(main, ["triage", str(img_dir), "-o", str(tmp_path / "out"),
                                    "--no-html", "--checks", "edge_halo",
                                    "--mattes", str(inner)])
    lines = (tmp_path / "out" / "report.jsonl").read_text().splitlines()
    assert len(lines) == 1, res.output
    assert json.loads(lines[0])["scores"]["edge_halo"] >= 0.5


def test_run_id_depends_on_the_mattes_folder():
    raw = load_profile("default").raw
    assert run_id(raw, target=None, max_pixels=10) != run_id(raw, target=None, max_pixels=10,
                                                             mattes="/x")


def test_real_photos_with_their_true_matte_read_clean(shared_data):
    """The original photos of the matting sets are no composites: along their true matte the
    edge is natural, so neither code may fire."""
    for s in matting_sets(shared_data):
        m8 = np.clip(s.alpha * 255 + 0.5, 0, 255).astype(np.uint8)
        ms = measured(s.image, m8)
        assert ms["edge_halo"].severity < 0.25 and ms["hard_edge"].severity < 0.25, s.name


def test_certify_with_mattes_refuses_a_haloed_composite(shared_data, tmp_path):
    s = next(m for m in matting_sets(shared_data) if m.name == "lemur")
    colour, alpha = variants(shared_data, s)["dilated"]
    (tmp_path / "in").mkdir()
    (tmp_path / "mattes").mkdir()
    cv2.imwrite(str(tmp_path / "in" / "lemur.png"),
                composite(colour, alpha, s.background)[:, :, ::-1])
    cv2.imwrite(str(tmp_path / "mattes" / "lemur.png"),
                np.clip(alpha * 255 + 0.5, 0, 255).astype(np.uint8))
    runner = CliRunner()
    refused = runner.invoke(main, ["certify", str(tmp_path / "in"), "-o", str(tmp_path / "a"),
                                   "--mattes", str(tmp_path / "mattes")])
    assert refused.exit_code == 1 and "edge_halo" in refused.output, refused.output
    assert not (tmp_path / "a" / "lemur").exists()
    blind = runner.invoke(main, ["certify", str(tmp_path / "in"), "-o", str(tmp_path / "b")])
    assert blind.exit_code == 0, blind.output        # without the matte the rim goes unseen


def test_the_gate_crops_the_matte_with_a_geometry_step():
    from keyframe.gate import _carry_matte
    from keyframe.recipe import make_step, run_step
    rgb, matte = disc_composite(n=256, rim=1.0)
    current = with_matte(from_array(rgb), matte, source="m.png")
    step = make_step("crop_border", {"top": 10, "bottom": 4, "left": 6, "right": 0})
    candidate = _carry_matte(from_array(run_step(step, rgb)), current, step)
    assert np.array_equal(candidate.matte, matte[10:-4, 6:])
    assert candidate.matte_source == ""              # the file no longer fits the frame
