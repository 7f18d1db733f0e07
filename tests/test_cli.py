"""The click CLI: every command's --help, exit codes, JSON output, a batch that survives bad files."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image
from skimage import data

from keyframe.cli import main

COMMANDS = sorted(main.commands)


@pytest.fixture()
def runner():
    return CliRunner()


@pytest.fixture()
def folder(tmp_path):
    """A clean photo, a heavily defocused one, and two files that are not images."""
    import cv2

    d = tmp_path / "in"
    d.mkdir()
    Image.fromarray(data.astronaut()).save(d / "clean.png")
    Image.fromarray(cv2.GaussianBlur(data.coffee(), (0, 0), 6)).save(d / "soft.png")
    (d / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)
    (d / "notes.txt").write_text("not an image")  # not picked up by a folder walk
    return d


def test_every_command_has_help(runner):
    assert {"check", "triage", "route", "certify", "verify"} <= set(COMMANDS)
    for name in [None, *COMMANDS]:
        args = ([name] if name else []) + ["--help"]
        result = runner.invoke(main, args)
        assert result.exit_code == 0, (name, result.output)
        assert "Usage:" in result.output


def test_version(runner):
    result = runner.invoke(main, ["--version"])
    assert result.exit_code == 0 and "keyframe" in result.output


def test_check_clean_image_exits_zero(runner, folder):
    result = runner.invoke(main, ["check", str(folder / "clean.png")])
    assert result.exit_code == 0, result.output
    assert "certified" in result.output


def test_check_json_lines_one_per_image_and_bad_input_exit_2(runner, folder):
    result = runner.invoke(main, ["check", str(folder), "--json"])
    lines = [json.loads(x) for x in result.stdout.splitlines()]
    assert [l["path"].rsplit("/", 1)[-1] for l in lines] == ["broken.png", "clean.png", "soft.png"]
    by = {l["path"].rsplit("/", 1)[-1]: l for l in lines}
    assert by["broken.png"]["verdict"] == "error"
    assert by["broken.png"]["error"]["message"].count("\n") == 0
    assert by["soft.png"]["verdict"] in ("fix", "trash")
    assert result.exit_code == 2


def test_check_unknown_profile_is_a_usage_error(runner, folder):
    result = runner.invoke(main, ["check", str(folder / "clean.png"), "--profile", "nope"])
    assert result.exit_code == 2 and "unknown profile" in result.output


def test_triage_writes_report_and_route_redecides(runner, folder, tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(main, ["triage", str(folder), "-o", str(out)])
    assert result.exit_code == 2, result.output  # broken.png is an input error
    lines = (out / "report.jsonl").read_text().splitlines()
    assert len(lines) == 3
    assert "1 certified" in result.output and "1 error" in result.output
    routed = runner.invoke(main, ["route", str(out / "report.jsonl"), "--profile", "lenient",
                                  "-o", str(tmp_path / "lenient.jsonl")])
    assert routed.exit_code == 2
    relines = [json.loads(x) for x in (tmp_path / "lenient.jsonl").read_text().splitlines()]
    assert {r["profile"] for r in relines} == {"lenient"}
    before = [json.loads(x)["scores"] for x in lines]
    assert [r["scores"] for r in relines] == before  # nothing re-measured


def test_route_rejects_garbage(runner, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"hello": 1}\n')
    result = runner.invoke(main, ["route", str(bad)])
    assert result.exit_code == 2 and "bad.jsonl:1" in result.output


def test_certify_then_verify_then_tamper(runner, folder, tmp_path):
    out = tmp_path / "pk"
    result = runner.invoke(main, ["certify", str(folder / "clean.png"), str(folder / "soft.png"),
                                  "-o", str(out)])
    assert result.exit_code == 1, result.output  # soft.png is not certified
    assert (out / "clean" / "keyframe.png").is_file()
    assert not (out / "soft").exists()
    ok = runner.invoke(main, ["verify", str(out / "clean")])
    assert ok.exit_code == 0, ok.output
    png = out / "clean" / "keyframe.png"
    raw = bytearray(png.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    png.write_bytes(bytes(raw))
    bad = runner.invoke(main, ["verify", str(out / "clean"), "--json"])
    assert bad.exit_code == 1
    assert json.loads(bad.output)["ok"] is False


def test_certify_force_packages_uncertified(runner, folder, tmp_path):
    out = tmp_path / "pk"
    result = runner.invoke(main, ["certify", str(folder / "soft.png"), "-o", str(out), "--force"])
    manifest = json.loads((out / "soft" / "manifest.json").read_text())
    assert manifest["forced"] is True
    assert result.exit_code == 1


def test_originals_never_modified(runner, folder, tmp_path):
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.iterdir()}
    runner.invoke(main, ["triage", str(folder), "-o", str(tmp_path / "o")])
    runner.invoke(main, ["certify", str(folder), "-o", str(tmp_path / "p"), "--force"])
    after = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.iterdir()}
    assert before == after


def test_check_runs_only_the_checks_named(tmp_path):
    """`check --checks artifact` measures the artifact family alone; an unknown name is a
    usage error naming the registered checks."""
    from PIL import Image
    from helpers import photo
    path = tmp_path / "a.png"
    Image.fromarray(photo("astronaut")).save(path)
    out = CliRunner().invoke(main, ["check", str(path), "--json", "--checks", "artifact"])
    report = json.loads(out.output.splitlines()[0])
    assert {m["check"] for m in report["evidence"].values()} == {"artifact"}
    bad = CliRunner().invoke(main, ["check", str(path), "--checks", "artifact,nope"])
    assert bad.exit_code == 2 and "unknown check 'nope'" in bad.output


def test_triage_json_prints_every_report_on_stdout(tmp_path):
    """`triage --json`: one keyframe.report/1 line per picture on stdout (report.jsonl's
    lines, in its order), the summary on stderr, so a pipeline can read stdout alone."""
    from PIL import Image
    from helpers import photo
    src = tmp_path / "in"
    src.mkdir()
    for name in ("astronaut", "coffee"):
        Image.fromarray(photo(name)).save(src / f"{name}.png")
    res = CliRunner().invoke(main, ["triage", str(src), "-o", str(tmp_path / "o"), "--json",
                                    "--no-html", "--checks", "artifact,framing"])
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    saved = [json.loads(line) for line in
             (tmp_path / "o" / "report.jsonl").read_text().splitlines()]
    assert [r["path"] for r in rows] == [r["path"] for r in saved] and len(rows) == 2
    assert all(r["schema"] == "keyframe.report/1" for r in rows)
    assert "2 images" in res.stderr


def test_certify_and_apply_print_json_for_pipelines(tmp_path):
    """certify --json: one object per image with its package (or null and why not); apply
    --json: apply.jsonl's records on stdout; stdout holds nothing else."""
    import cv2
    from PIL import Image
    from helpers import photo
    src = tmp_path / "in"
    src.mkdir()
    Image.fromarray(photo("astronaut")).save(src / "sharp.png")
    Image.fromarray(cv2.GaussianBlur(photo("astronaut"), (0, 0), 2.0)).save(src / "soft.png")
    res = CliRunner().invoke(main, ["certify", str(src / "sharp.png"), str(src / "soft.png"),
                                    "-o", str(tmp_path / "pk"), "--json"])
    rows = {Path(r["path"]).name: r for r in map(json.loads, res.stdout.splitlines())}
    assert rows["sharp.png"]["verdict"] == "certified"
    assert Path(rows["sharp.png"]["package"], "keyframe.png").is_file()
    assert rows["soft.png"]["package"] is None and "--force" in rows["soft.png"]["message"]
    recipe = tmp_path / "r.toml"
    recipe.write_text('[[steps]]\nfix = "sharpen"\n')
    res = CliRunner().invoke(main, ["apply", str(recipe), str(src), "-o", str(tmp_path / "a"),
                                    "--json"])
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert len(rows) == 2 and all(r["error"] is None and r["sha256"] for r in rows)


def test_apply_with_jobs_writes_the_same_bytes_in_input_order(tmp_path):
    """apply --jobs 2 replays in worker processes: the same PNG bytes as one process, the
    log in input order, a bad file one record while the rest are written."""
    from PIL import Image
    from helpers import photo
    src = tmp_path / "in"
    src.mkdir()
    for name in ("astronaut", "coffee", "chelsea"):
        Image.fromarray(photo(name)).save(src / f"{name}.png")
    (src / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    recipe = tmp_path / "r.toml"
    recipe.write_text('[[steps]]\nfix = "denoise"\n')
    logs = {}
    for jobs in ("1", "2"):
        res = CliRunner().invoke(main, ["apply", str(recipe), str(src), "-o",
                                        str(tmp_path / f"o{jobs}"), "--jobs", jobs])
        assert res.exit_code == 2, res.output
        logs[jobs] = [json.loads(line) for line in
                      (tmp_path / f"o{jobs}" / "apply.jsonl").read_text().splitlines()]
    assert [r["path"] for r in logs["2"]] == [r["path"] for r in logs["1"]]
    assert [r["sha256"] for r in logs["2"]] == [r["sha256"] for r in logs["1"]]
    assert sum(r["error"] is not None for r in logs["2"]) == 1


def test_check_with_jobs_gives_the_same_reports_in_input_order(tmp_path):
    """check --jobs 2 runs on the executors' pool (the runner triage uses): the same reports
    as one process, printed in input order."""
    from PIL import Image
    from helpers import add_noise, photo
    src = tmp_path / "in"
    src.mkdir()
    for i, name in enumerate(("astronaut", "coffee", "chelsea", "rocket")):
        Image.fromarray(add_noise(photo(name), 12.0) if i % 2 else photo(name)).save(
            src / f"{i}_{name}.png")
    rows = {}
    for jobs in ("1", "2"):
        res = CliRunner().invoke(main, ["check", str(src), "--json", "--jobs", jobs,
                                        "--checks", "artifact,framing"])
        rows[jobs] = [json.loads(line) for line in res.stdout.splitlines()]
    assert [r["path"] for r in rows["2"]] == sorted(r["path"] for r in rows["1"])
    assert [(r["verdict"], r["scores"]) for r in rows["2"]] == \
        [(r["verdict"], r["scores"]) for r in rows["1"]]
