"""The certified keyframe package: atomic writes, manifest contract, verify.

Most tests re-check with a small deterministic check (``FakeArtifact``) so that packaging is
tested independently of the real checks' calibration; one test runs the real checks.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import keyframe.package as package
from keyframe.assess import assess
from keyframe.image import LoadedImage, encode_png, load, sha256_bytes
from keyframe.manifest import manifest_hash, manifest_text
from keyframe.package import PackageError, write_atomic, write_package
from keyframe.verify import verify
from keyframe.profiles import load_profile
from keyframe.registry import Check
from keyframe.report import Measurement
from keyframe.schemas import validation_errors


class FakeArtifact(Check):
    """``blur`` = how much redder than green the image is; ``noise`` = 0. Deterministic."""

    name = "artifact"
    codes = ("blur", "noise")

    def measure(self, image, ctx=None):
        rgb = image.rgb.astype(np.float64)
        red = (rgb[..., 0].mean() - rgb[..., 1].mean()) / 255.0
        return [Measurement("blur", red, f"red excess {red:.3f}", measurements={"edge_width": 1.0}),
                Measurement("noise", 0.0, "no noise", measurements={"sigma": 0.0})]


CHECKS = (FakeArtifact(),)


@pytest.fixture(scope="module")
def profile():
    return load_profile("default")


def smooth(h=96, w=128, *, seed=0) -> np.ndarray:
    """A smooth grey gradient, different per seed."""
    y, x = np.mgrid[0:h, 0:w]
    base = (40 + 150 * x / w + 30 * y / h + seed) % 256
    return np.stack([base, base, base], axis=-1).astype(np.uint8)


def reddish(h=96, w=128) -> np.ndarray:
    """Red excess ~0.63: a major ``blur`` finding for FakeArtifact, which sharpen mends."""
    y, x = np.mgrid[0:h, 0:w]
    ramp = 20 * x / w
    return np.stack([200 + ramp, 40 + ramp, 40 + ramp], axis=-1).astype(np.uint8)


def source_image(tmp_path: Path, name="clean.png", **kw) -> LoadedImage:
    folder = tmp_path / "src"
    folder.mkdir(exist_ok=True)
    path = folder / name
    Image.fromarray(smooth(**kw)).save(path)
    return load(path)


def certified(image: LoadedImage, profile):
    report = assess(image, profile=profile, checks=CHECKS)
    assert report.verdict == "certified", report.reason
    return report


def make_package(tmp_path, profile, **kw) -> Path:
    image = source_image(tmp_path)
    return write_package(tmp_path / "out", image=image, report=certified(image, profile),
                         profile=profile, checks=CHECKS, **kw)


def manifest_of(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


def check(folder: Path, profile):
    return verify(folder, profile=profile, checks=CHECKS)


# --------------------------------------------------------------------------- writing

def test_package_contents(tmp_path, profile):
    image = source_image(tmp_path)
    report = certified(image, profile)
    folder = write_package(tmp_path / "out", image=image, report=report, profile=profile,
                           checks=CHECKS)
    assert folder == tmp_path / "out" / "clean"
    assert sorted(p.name for p in folder.iterdir()) == ["keyframe.png", "manifest.json"]
    png = (folder / "keyframe.png").read_bytes()
    with Image.open(folder / "keyframe.png") as im:
        assert im.mode == "RGB" and im.format == "PNG"
        assert np.array_equal(np.asarray(im), image.rgb)
    assert png == encode_png(image.rgb)

    m = manifest_of(folder)
    assert validation_errors("manifest", m) == []
    assert m["schema"] == "keyframe.manifest/1" and m["name"] == "clean"
    assert m["output"] == {"file": "keyframe.png", "sha256": sha256_bytes(png),
                           "width": 128, "height": 96, "bytes": len(png)}
    assert m["source"]["sha256"] == image.sha256 and m["source"]["format"] == "PNG"
    assert m["source"]["path"] == image.path
    assert (m["verdict"], m["forced"], m["profile"], m["target"]) == \
        ("certified", False, "default", None)
    assert m["report_before"] == report.to_dict()
    assert m["report_after"]["verdict"] == "certified"
    assert m["report_after"]["sha256"] == sha256_bytes(png)
    assert (m["recipe"], m["models"], m["exports"], m["notes"]) == ([], {}, {}, [])
    assert set(m["versions"]) >= {"python", "numpy", "opencv", "pillow", "onnxruntime",
                                  "scikit-image", "platform"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", m["created"])
    assert m["manifest_sha256"] == manifest_hash(m)
    assert (folder / "manifest.json").read_text(encoding="utf-8") == manifest_text(m)


def test_alpha_is_dropped_and_noted(tmp_path, profile):
    rgb = smooth()
    alpha = np.full(rgb.shape[:2], 128, np.uint8)
    image = LoadedImage(rgb=rgb, alpha=alpha, path="cut-out.png", sha256="cd" * 32)
    report = certified(image, profile)
    folder = write_package(tmp_path, image=image, report=report, profile=profile, checks=CHECKS)
    with Image.open(folder / "keyframe.png") as im:
        assert im.mode == "RGB"
    assert any("alpha" in n for n in manifest_of(folder)["notes"])
    assert check(folder, profile).ok


def test_non_certified_is_refused_unless_forced(tmp_path, profile):
    image = LoadedImage(rgb=reddish(), path="red.png", sha256="ef" * 32)
    report = assess(image, profile=profile, checks=CHECKS)
    assert report.verdict == "fix"
    out = tmp_path / "out"
    with pytest.raises(PackageError, match="not certified") as info:
        write_package(out, image=image, report=report, profile=profile, checks=CHECKS)
    assert "\n" not in str(info.value)
    assert not out.exists() or not any(out.iterdir())

    folder = write_package(out, image=image, report=report, profile=profile, forced=True,
                           checks=CHECKS)
    m = manifest_of(folder)
    assert (m["forced"], m["verdict"], m["report_after"]["verdict"]) == (True, "fix", "fix")
    assert any(n.startswith("forced") for n in m["notes"])
    assert validation_errors("manifest", m) == []
    assert check(folder, profile).ok


def test_error_and_mismatched_reports_are_refused(tmp_path, profile):
    image = LoadedImage(rgb=smooth(), path="a.png", sha256="12" * 32)
    report = certified(image, profile)
    errored = report.apply(_error_decision(), profile="default", target=None)
    with pytest.raises(PackageError, match="error report"):
        write_package(tmp_path, image=image, report=errored, profile=profile, forced=True,
                      checks=CHECKS)
    other = LoadedImage(rgb=smooth(), path="a.png", sha256="34" * 32)
    with pytest.raises(PackageError, match="another image"):
        write_package(tmp_path, image=other, report=report, profile=profile, checks=CHECKS)
    for bad in ("../escape", ".hidden", "a/b", ""):
        with pytest.raises(PackageError, match="invalid package name"):
            write_package(tmp_path, image=image, report=report, profile=profile, name=bad,
                          checks=CHECKS)
    assert list(tmp_path.iterdir()) == []


def _error_decision():
    from keyframe.report import Decision
    return Decision(verdict="error", quality=None, findings=[], plan=[], reason="error: x")


def test_rewrite_same_source_replaces(tmp_path, profile):
    first = make_package(tmp_path, profile)
    (first / "stale.txt").write_text("from the first write")
    second = make_package(tmp_path, profile)
    assert second == first
    assert not (second / "stale.txt").exists()
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["clean"]
    assert check(second, profile).ok


def test_same_stem_other_source_gets_its_own_folder(tmp_path, profile):
    a = make_package(tmp_path, profile)
    other = LoadedImage(rgb=smooth(seed=7), path="/elsewhere/clean.png", sha256="56" * 32)
    b = write_package(tmp_path / "out", image=other, report=certified(other, profile),
                      profile=profile, checks=CHECKS)
    assert b.name == "clean-" + "56" * 4
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["clean", b.name]
    assert manifest_of(a)["source"]["sha256"] != manifest_of(b)["source"]["sha256"]
    with pytest.raises(PackageError, match="not a package of this source"):
        write_package(tmp_path / "out", image=other, report=certified(other, profile),
                      profile=profile, name="clean", checks=CHECKS)


@pytest.mark.parametrize("stem, name", [
    ("my photo (1)", "my_photo_1_"), ("..hidden", "hidden"), ("-x", "x"), ("日本", "日本"),
    ("...", "keyframe"), ("a" * 300, "a" * 100), ("Café\u0301 ü", "Café́_ü"),
    ("a\nb/c\\d", "a_b_c_d"), ("写真" * 60, "写真" * 33)])
def test_sanitise_name(stem, name):
    assert package.sanitise_name(stem) == name


def test_default_name_comes_from_the_source_stem(tmp_path, profile):
    image = LoadedImage(rgb=smooth(), path="/gen/My Shot #3.final.png", sha256="78" * 32)
    folder = write_package(tmp_path, image=image, report=certified(image, profile),
                           profile=profile, checks=CHECKS)
    assert folder.name == "My_Shot_3.final"


def test_failure_mid_write_leaves_nothing(tmp_path, profile, monkeypatch):
    image = source_image(tmp_path)
    report = certified(image, profile)
    out = tmp_path / "out"
    real = package._write_synced

    def fail_on_manifest(path, data):
        if path.name == "manifest.json":
            raise OSError(28, "No space left on device")
        real(path, data)

    monkeypatch.setattr(package, "_write_synced", fail_on_manifest)
    with pytest.raises(OSError, match="No space"):
        write_package(out, image=image, report=report, profile=profile, checks=CHECKS)
    assert list(out.iterdir()) == []

    def boom(rgb):
        raise RuntimeError("encoder crashed")

    monkeypatch.setattr(package, "encode_png", boom)
    with pytest.raises(RuntimeError):
        write_package(out, image=image, report=report, profile=profile, checks=CHECKS)
    assert list(out.iterdir()) == []


def test_failed_replacement_keeps_the_old_package(tmp_path, profile, monkeypatch):
    folder = make_package(tmp_path, profile)
    before = (folder / "manifest.json").read_bytes()

    def no_json(*args, **kwargs):
        raise ValueError("cannot serialise")

    monkeypatch.setattr(package, "manifest_text", no_json)
    with pytest.raises(ValueError):
        make_package(tmp_path, profile)
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["clean"]
    assert (folder / "manifest.json").read_bytes() == before
    monkeypatch.undo()
    assert check(folder, profile).ok


def test_source_file_is_untouched(tmp_path, profile):
    image = source_image(tmp_path)
    src = Path(image.path)
    data, mtime = src.read_bytes(), src.stat().st_mtime_ns
    write_package(tmp_path / "out", image=image, report=certified(image, profile),
                  profile=profile, checks=CHECKS)
    assert src.read_bytes() == data and src.stat().st_mtime_ns == mtime
    assert [p.name for p in src.parent.iterdir()] == ["clean.png"]


def test_write_atomic(tmp_path, monkeypatch):
    target = tmp_path / "f.bin"
    write_atomic(target, b"one")
    write_atomic(target, b"two")
    assert target.read_bytes() == b"two"

    def broken(src, dst):
        raise OSError("rename failed")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError):
        write_atomic(target, b"three")
    assert target.read_bytes() == b"two"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]


# --------------------------------------------------------------------------- verifying

def test_verify_fresh_package(tmp_path, profile):
    folder = make_package(tmp_path, profile)
    result = check(folder, profile)
    assert result.ok and result.problems == []
    assert result.report is not None and result.report.verdict == "certified"
    assert verify(folder, profile=profile, recheck=False, checks=CHECKS).report is None


def _flip_png_byte(folder):
    path = folder / "keyframe.png"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def _change_manifest_digit(folder):
    path = folder / "manifest.json"
    text = path.read_text(encoding="utf-8")
    new = re.sub(r'("bytes": )(\d+)', lambda m: m.group(1) + str(int(m.group(2)) + 1), text,
                 count=1)
    assert new != text
    path.write_text(new, encoding="utf-8")


def _add_space(folder):
    path = folder / "manifest.json"
    path.write_text(path.read_text(encoding="utf-8").replace("{", "{ ", 1), encoding="utf-8")


def _delete_png(folder):
    (folder / "keyframe.png").unlink()


def _delete_manifest(folder):
    (folder / "manifest.json").unlink()


def _truncate_manifest(folder):
    path = folder / "manifest.json"
    path.write_bytes(path.read_bytes()[:-40])


@pytest.mark.parametrize("tamper, blamed", [
    (_flip_png_byte, "keyframe.png"), (_change_manifest_digit, "manifest.json"),
    (_add_space, "manifest.json"), (_delete_png, "keyframe.png"),
    (_delete_manifest, "manifest.json"), (_truncate_manifest, "manifest.json")],
    ids=lambda v: getattr(v, "__name__", v))
def test_verify_catches_tampering(tmp_path, profile, tamper, blamed):
    folder = make_package(tmp_path, profile)
    tamper(folder)
    result = check(folder, profile)
    assert not result.ok
    assert any(p.startswith(blamed) for p in result.problems), result.problems
    assert all("\n" not in p for p in result.problems)


def test_verify_catches_a_consistent_forgery_by_rechecking(tmp_path, profile):
    folder = make_package(tmp_path, profile)
    m = manifest_of(folder)
    m["report_after"]["scores"]["blur"] = round(m["report_after"]["scores"]["blur"] + 0.1, 4)
    m["manifest_sha256"] = manifest_hash(m)
    (folder / "manifest.json").write_text(manifest_text(m), encoding="utf-8")
    assert check(folder, profile).ok is False
    problems = check(folder, profile).problems
    assert len(problems) == 1 and "drift" in problems[0] and "blur" in problems[0]
    assert verify(folder, profile=profile, recheck=False, checks=CHECKS).ok


def test_verify_missing_folder(tmp_path):
    result = verify(tmp_path / "nope")
    assert not result.ok and "not a package folder" in result.problems[0]


# --------------------------------------------------------------------------- real checks

def test_real_checks_package_and_verify(tmp_path, profile):
    skimage_data = pytest.importorskip("skimage.data")
    rgb = np.ascontiguousarray(skimage_data.astronaut())
    image = LoadedImage(rgb=rgb, path="astronaut.png", sha256=sha256_bytes(encode_png(rgb)))
    report = assess(image, profile=profile)
    forced = report.verdict != "certified"
    folder = write_package(tmp_path, image=image, report=report, profile=profile, forced=forced)
    m = manifest_of(folder)
    assert validation_errors("manifest", m) == []
    assert m["report_after"]["scores"].keys() == m["report_before"]["scores"].keys()
    result = verify(folder)
    assert result.ok, result.problems


# ------------------------------------------------------------ verify: unlisted, unchecked

def test_verify_flags_files_the_manifest_does_not_list(tmp_path, profile):
    folder = make_package(tmp_path, profile)
    (folder / "notes.txt").write_text("added later")
    (folder / "extra").mkdir()
    (folder / "exports").mkdir()
    (folder / "exports" / "kling.jpg").write_bytes(b"x")
    result = check(folder, profile)
    assert not result.ok
    assert sorted(p.split(":")[0] for p in result.problems) == [
        "exports/kling.jpg", "extra/", "notes.txt"]


class ModelCheck(Check):
    """A check whose model can go missing (``ModelCheck.installed``)."""

    name = "modelled"
    codes = ("modelled_code",)
    installed = True

    def measure(self, image, ctx=None):
        from keyframe.models import ModelMissing
        if not ModelCheck.installed:
            raise ModelMissing("some-model")
        return [Measurement("modelled_code", 0.1, "measured with the model")]


def test_verify_without_a_model_is_unchecked_not_tampered(tmp_path, profile, monkeypatch):
    checks = (*CHECKS, ModelCheck())
    image = source_image(tmp_path)
    report = assess(image, profile=profile, checks=checks)
    folder = write_package(tmp_path / "out", image=image, report=report, profile=profile,
                           checks=checks)
    monkeypatch.setattr(ModelCheck, "installed", False)
    result = verify(folder, profile=profile, checks=checks)
    assert result.ok and result.problems == []
    assert len(result.unchecked) == 1
    assert "modelled_code" in result.unchecked[0]
    assert "`keyframe models pull some-model`" in result.unchecked[0]
    _flip_png_byte(folder)                       # tampered: still a problem without the model
    assert not verify(folder, profile=profile, checks=checks).ok


def test_cli_verify_exit_codes(tmp_path, monkeypatch):
    from click.testing import CliRunner
    import keyframe.verify as kv
    from keyframe.cli import main
    monkeypatch.setattr(kv, "verify", lambda pkg, recheck=True: kv.VerifyResult(
        ok=True, unchecked=["keyframe.png: could not re-check face_soft: anatomy did not run "
                            "here: model 'yunet-s' is not installed: run `keyframe models "
                            "pull yunet-s`"]))
    r = CliRunner().invoke(main, ["verify", str(tmp_path)])
    assert r.exit_code == 3 and "UNCHECKED" in r.output and "models pull" in r.output
    monkeypatch.setattr(kv, "verify", lambda pkg, recheck=True: kv.VerifyResult(
        ok=False, problems=["keyframe.png: sha256 differs"]))
    r = CliRunner().invoke(main, ["verify", str(tmp_path)])
    assert r.exit_code == 1 and "BAD" in r.output
