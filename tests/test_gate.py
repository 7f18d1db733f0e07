"""The closed loop: fixes are kept only when they help and harm nothing; certified -> package."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from keyframe.cli import main
from keyframe.gate import EPSILON, gate, judge
from keyframe.image import encode_png, from_array, load
from keyframe.verify import verify
from keyframe.profiles import load_profile
from keyframe.recipe import from_manifest, load as load_recipe, replay
from keyframe.report import Finding, Measurement, Report

from helpers import photo


def report(scores, fixes=None):
    fixes = fixes or {}
    return Report(path="x", verdict="fix",
                  measurements={c: Measurement(c, s, "") for c, s in scores.items()},
                  findings=[Finding(c, "artifact", "major", scores[c], "", fix=f)
                            for c, f in fixes.items()])


def test_judge_keeps_a_step_that_lowers_its_code_and_harms_nothing():
    keep, why, changes = judge("sharpen", report({"blur": 0.6, "noise": 0.1}, {"blur": "sharpen"}),
                               report({"blur": 0.3, "noise": 0.1 + EPSILON / 2}))
    assert keep and "blur 0.60 -> 0.30" in why and changes["blur"] == (0.6, 0.3)


def test_judge_rolls_back_a_step_that_raises_another_code():
    keep, why, _ = judge("sharpen", report({"blur": 0.6, "noise": 0.1}, {"blur": "sharpen"}),
                         report({"blur": 0.2, "noise": 0.1 + 2 * EPSILON}))
    assert not keep and why.startswith("raised noise from 0.10 to 0.14")


def test_judge_keeps_a_flatten_whatever_the_new_background_moves():
    """A cut-out's transparency read as mid-grey before, the chosen background after: codes
    move with it (here a text read 0 -> 0.2), which is no damage a fix did."""
    before = report({"has_alpha": 1.0, "stray_text": 0.0}, {"has_alpha": "flatten"})
    keep, why, _ = judge("flatten", before, report({"has_alpha": 0.0, "stray_text": 0.2}))
    assert keep and "stray_text 0.00 -> 0.20" in why
    keep, _, _ = judge("flatten", before, report({"has_alpha": 1.0, "stray_text": 0.0}))
    assert not keep                                  # it did not remove the transparency


def test_judge_rolls_back_a_step_that_does_not_lower_its_own_code():
    keep, why, _ = judge("sharpen", report({"blur": 0.6, "noise": 0.1}, {"blur": "sharpen"}),
                         report({"blur": 0.6, "noise": 0.05}))
    assert not keep and why.startswith("did not lower blur")


@pytest.fixture(scope="module")
def profile():
    return load_profile("default")


@pytest.fixture(scope="module")
def blurred():
    return from_array(cv2.GaussianBlur(photo("astronaut"), (0, 0), 2.0), name="soft.png")


def test_gate_certifies_a_mild_blur_and_raises_nothing(profile, blurred):
    res = gate(blurred, profile=profile)
    assert res.before.verdict == "fix"
    assert res.verdict == "certified", res.reason
    assert [s.fix for s in res.recipe.steps] == ["sharpen"]
    b, a = res.before.scores, res.after.scores
    assert a["blur"] < b["blur"]
    assert all(a[c] - b[c] <= EPSILON for c in b if c != "blur")
    assert np.array_equal(replay(res.recipe, blurred.rgb), res.image.rgb)


def test_gate_leaves_a_clean_image_alone(profile):
    clean = from_array(photo("coffee"), name="coffee.png")
    res = gate(clean, profile=profile)
    assert res.verdict == "certified" and not res.recipe.steps and not res.attempts
    assert res.image is clean


def test_a_fix_that_does_not_help_is_rolled_back_and_ends_in_review(tmp_path, blurred):
    wrong = tmp_path / "wrong.toml"
    wrong.write_text('name = "wrong"\nextends = "default"\n[codes.blur]\nfix = "crop_border"\n')
    res = gate(blurred, profile=load_profile(str(wrong)))
    assert res.verdict == "review"
    assert not res.recipe.steps and res.image is blurred
    assert [a.kept for a in res.attempts] == [False]
    assert "crop_border was rolled back" in res.reason and "blur" in res.reason


def test_cli_gate_packages_and_the_recipe_replays_to_identical_bytes(tmp_path, blurred):
    src = tmp_path / "in"
    src.mkdir()
    (src / "soft.png").write_bytes(encode_png(blurred.rgb))
    (src / "clean.png").write_bytes(encode_png(photo("coffee")[::2, ::2].copy()))
    (src / "broken.png").write_bytes(b"GIF89a")
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["gate", str(src), "-o", str(out), "--json"])
    assert r.exit_code == 2, r.output                       # one unreadable input
    recs = {json.loads(l)["path"].rsplit("/", 1)[-1]: json.loads(l)
            for l in r.output.splitlines()}
    assert recs["broken.png"]["verdict"] == "error"
    assert recs["soft.png"]["verdict"] == "certified"
    pkg = out / "soft"
    assert recs["soft.png"]["package"] == str(pkg)
    manifest = json.loads((pkg / "manifest.json").read_text())
    assert manifest["report_before"]["verdict"] == "fix"
    assert manifest["report_after"]["verdict"] == "certified"
    assert manifest["verdict"] == "certified" and not manifest["forced"]
    assert [s["fix"] for s in manifest["recipe"]] == ["sharpen"]
    assert manifest["source"]["sha256"] == load(src / "soft.png").sha256
    assert verify(pkg).ok, verify(pkg).problems
    assert (out / "clean" / "manifest.json").is_file()

    shown = CliRunner().invoke(main, ["recipe", "show", str(pkg)])
    assert shown.exit_code == 0
    saved = tmp_path / "saved.toml"
    saved.write_text(shown.output)
    assert load_recipe(saved) == from_manifest(manifest)
    r = CliRunner().invoke(main, ["fix", str(src / "soft.png"), "--recipe", str(saved),
                                  "-o", str(tmp_path / "again.png")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "again.png").read_bytes() == (pkg / "keyframe.png").read_bytes()


def test_cli_gate_table_reports_review_with_reason(tmp_path, blurred):
    wrong = tmp_path / "wrong.toml"
    wrong.write_text('name = "wrong"\nextends = "default"\n[codes.blur]\nfix = "crop_border"\n')
    (tmp_path / "soft.png").write_bytes(encode_png(blurred.rgb))
    r = CliRunner().invoke(main, ["gate", str(tmp_path / "soft.png"), "-o",
                                  str(tmp_path / "out"), "--profile", str(wrong)])
    assert r.exit_code == 1
    assert "review" in r.output and "rolled back" in r.output
    assert not (tmp_path / "out" / "soft").exists()
