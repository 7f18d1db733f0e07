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
