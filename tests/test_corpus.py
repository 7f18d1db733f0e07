"""The hostile corpus (tests/hostile.py) through every batch command, as a user runs them.

Each command runs in its own process under a timeout (a hang fails the test instead of
stalling CI) with no models installed (anatomy skipped: fast, and the path most users hit
first). Asserted for check, triage, gate, certify and apply: no traceback, exit 2 (the corpus
holds unreadable files), exactly one record per file the scan finds, and every original —
bytes, mode, mtime, link target — unchanged.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hostile import fingerprint, make_corpus

TIMEOUT = 240          # seconds per command; a hang (FIFO, /dev/zero) would never end
CLI = "import sys; from keyframe.cli import main; sys.exit(main())"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, list[str], Path]:
    root = tmp_path_factory.mktemp("hostile")
    folder, expected = make_corpus(root)
    recipe = root / "recipe.json"
    recipe.write_text(json.dumps({"schema": "keyframe.recipe/1", "steps": [
        {"fix": "denoise", "params": {"strength": 3.0}}]}))
    (root / "no_models").mkdir()
    return folder, expected, root


def run(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "KEYFRAME_MODELS": str(root / "no_models")}
    env.pop("KEYFRAME_DEBUG", None)
    try:
        return subprocess.run([sys.executable, "-c", CLI, *args], cwd=root, env=env,
                              capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"keyframe {' '.join(args[:1])} hung on the hostile corpus "
                    f"(no exit within {TIMEOUT} s)")


def rel(paths, folder: Path) -> list[str]:
    return sorted(str(Path(p).relative_to(folder)) for p in paths)


def records(command: str, proc, folder: Path, out: Path) -> list[str]:
    """The input path of every record the command wrote, relative to the corpus."""
    if command == "check":
        return rel((json.loads(line)["path"] for line in proc.stdout.splitlines()), folder)
    if command == "triage":
        lines = (out / "report.jsonl").read_text(encoding="utf-8").splitlines()
        return rel((json.loads(line)["path"] for line in lines), folder)
    if command == "gate":
        return rel((json.loads(line)["path"] for line in proc.stdout.splitlines()), folder)
    if command == "apply":
        lines = (out / "apply.jsonl").read_text(encoding="utf-8").splitlines()
        return rel((json.loads(line)["path"] for line in lines), folder)
    # certify prints one table row per input (control characters escaped)
    return sorted(proc.stdout.splitlines())


ARGS = {
    "check": lambda f, o, r: ["check", str(f), "--json"],
    "triage": lambda f, o, r: ["triage", str(f), "-o", str(o), "--sort-into"],
    "gate": lambda f, o, r: ["gate", str(f), "-o", str(o), "--json"],
    "certify": lambda f, o, r: ["certify", str(f), "-o", str(o)],
    "apply": lambda f, o, r: ["apply", str(r / "recipe.json"), str(f), "-o", str(o)],
}


@pytest.mark.parametrize("command", [
    "check", "triage", "apply",
    pytest.param("gate", marks=pytest.mark.slow), pytest.param("certify", marks=pytest.mark.slow)])
def test_hostile_corpus_one_record_per_file_no_traceback_originals_untouched(corpus, command):
    folder, expected, root = corpus
    before = fingerprint(folder)
    out = root / f"out_{command}"
    proc = run(root, *ARGS[command](folder, out, root))
    text = proc.stdout + proc.stderr
    assert "Traceback" not in text and "internal error" not in text, text[-3000:]
    assert proc.returncode == 2, text[-3000:]
    got = records(command, proc, folder, out)
    if command == "certify":
        assert len(got) == len(expected), got
        from keyframe.cli._base import printable
        for name in expected:               # the table shows a long path's tail
            assert any(printable(str(folder / name))[-40:] in line for line in got), name
    else:
        assert got == expected
    assert fingerprint(folder) == before, "an original was changed"
    if command == "triage":
        sorted_entries = [e for v in ("certified", "fix", "review", "trash", "error")
                          if (out / v).is_dir() for e in os.listdir(out / v)]
        assert len(sorted_entries) == len(expected)
        assert (out / "report.html").stat().st_size > 0
