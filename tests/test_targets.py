"""Targets: every built-in loads, extends the default profile, and gives sizes inside its limits."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from keyframe.cli import main
from keyframe.targets import TargetError, builtin_target_names, load_target

NAMES = ["generic", "kling", "veo", "runway-gen4", "luma-ray2", "hailuo", "wan", "ltx-video",
         "svd"]


def test_every_issue_target_is_built_in():
    assert set(NAMES) <= set(builtin_target_names())


@pytest.mark.parametrize("name", NAMES)
def test_target_extends_default_and_sizes_meet_limits(name):
    t = load_target(name)
    assert t.profile.rule("blur").fix == "sharpen"          # inherited from default
    for w, h in [(1000, 333), (333, 1000), (4097, 2305), (301, 301), (64, 40)]:
        W, H = t.output_size(w, h)
        assert W % t.multiple_of == 0 and H % t.multiple_of == 0
        assert min(W, H) >= t.min_short_side and max(W, H) <= t.max_side
        assert t.range_distance(W, H) <= 0.01
        assert t.aspect_distance(W, H)[0] <= 0.01


def test_published_numbers():
    assert load_target("svd").output_size(640, 480) == (1024, 576)
    assert load_target("veo").output_size(1080, 1920) == (720, 1280)
    assert load_target("runway-gen4").output_size(1000, 333) == (1280, 720)  # 1584:672 is out of range
    assert all(v % 32 == 0 for v in load_target("ltx-video").output_size(1000, 700))
    assert load_target("kling").max_bytes == 10_000_000


def test_unknown_target_is_one_line_error(tmp_path):
    with pytest.raises(TargetError, match="unknown target"):
        load_target("sora")
    bad = tmp_path / "bad.toml"
    bad.write_text('extends = "default"\n[target]\nformats = ["gif"]\n')
    with pytest.raises(TargetError, match="formats"):
        load_target(bad)


def test_targets_command_lists_limits():
    r = CliRunner().invoke(main, ["targets", "--json"])
    assert r.exit_code == 0
    rows = [json.loads(l) for l in r.output.splitlines()]
    assert {row["name"] for row in rows} >= set(NAMES)
    assert CliRunner().invoke(main, ["targets", "--help"]).exit_code == 0


def _square_png(tmp_path):
    from PIL import Image
    from helpers import photo
    path = tmp_path / "square.png"
    Image.fromarray(photo("astronaut")).save(path)
    return path


def test_check_measures_framing_against_the_target_given(tmp_path):
    """`keyframe check --target veo` measures a 1:1 picture against Veo's 16:9 (and its
    720-px short side), where the generic target accepts it; the report names the target."""
    path = _square_png(tmp_path)
    runner = CliRunner()
    generic = json.loads(runner.invoke(main, ["check", str(path), "--json"]
                                       ).output.splitlines()[0])
    veo = json.loads(runner.invoke(main, ["check", str(path), "--json", "--target", "veo"]
                                   ).output.splitlines()[0])
    assert generic["target"] is None and veo["target"] == "veo"
    assert generic["scores"]["aspect_mismatch"] == 0.0
    assert veo["scores"]["aspect_mismatch"] > 0.25
    assert veo["scores"]["too_small"] > generic["scores"]["too_small"]


def test_an_alias_names_the_current_model_everywhere(tmp_path):
    """`runway` is Runway's current model: accepted by --target, written into reports under
    the model's own name, listed by `keyframe targets` (text and JSON)."""
    assert load_target("runway").name == "runway-gen4"
    runner = CliRunner()
    out = runner.invoke(main, ["check", str(_square_png(tmp_path)), "--json", "--target",
                               "runway"])
    assert json.loads(out.output.splitlines()[0])["target"] == "runway-gen4"
    listing = runner.invoke(main, ["targets"]).output
    assert "also --target runway" in next(l for l in listing.splitlines()
                                          if l.startswith("runway-gen4"))
    rows = [json.loads(l) for l in runner.invoke(main, ["targets", "--json"]).output.splitlines()]
    assert {r["name"]: r["aliases"] for r in rows}["runway-gen4"] == ["runway"]
    bad = runner.invoke(main, ["check", str(tmp_path), "--target", "nope"])
    assert bad.exit_code == 2 and "aliases: ltx, luma, runway" in bad.output


def test_triage_measures_against_the_target_and_reruns_for_another(tmp_path):
    """triage --target puts the target into every report and into the journal's run id: the
    same folder triaged for another target is measured again, not reused."""
    src = tmp_path / "in"
    src.mkdir()
    _square_png(src)
    runner = CliRunner()
    first = runner.invoke(main, ["triage", str(src), "-o", str(tmp_path / "o"), "--no-html",
                                 "--target", "kling"])
    lines = (tmp_path / "o" / "report.jsonl").read_text().splitlines()
    assert json.loads(lines[0])["target"] == "kling", first.output
    again = runner.invoke(main, ["triage", str(src), "-o", str(tmp_path / "o"), "--no-html",
                                 "--target", "veo"])
    assert "1 assessed, 0 reused" in again.output, again.output
    lines = (tmp_path / "o" / "report.jsonl").read_text().splitlines()
    assert json.loads(lines[-1])["target"] == "veo"
