"""samples/: `keyframe triage samples/` sorts each file as samples/README.md says, and the
embedded set is what scripts/dev/make_samples.py builds from scikit-image's photos."""
from __future__ import annotations

import importlib.util
import json
import re

import numpy as np
from click.testing import CliRunner
from PIL import Image

from conftest import ROOT, SAMPLES
from keyframe.cli import main


def expected() -> dict[str, tuple[str, set[str]]]:
    """file -> (verdict, codes that must be flagged at major or above) from the README table."""
    rows = {}
    for line in (SAMPLES / "README.md").read_text(encoding="utf-8").splitlines():
        m = re.match(r"\|\s*`([^`]+)`\s*\|\s*\*\*(\w+)\*\*\s*\|\s*([^|]*)\|", line)
        if m:
            codes = set(re.findall(r"`(\w+)`", m.group(3)))
            rows[m.group(1)] = (m.group(2), codes)
    return rows


def test_table_covers_every_sample_file():
    files = {p.name for p in SAMPLES.iterdir() if p.name != "README.md"}
    assert files == set(expected())


def test_triage_sorts_samples_as_the_readme_says(tmp_path):
    result = CliRunner().invoke(main, ["triage", str(SAMPLES), "-o", str(tmp_path)])
    reports = {json.loads(l)["path"].rsplit("/", 1)[-1]: json.loads(l)
               for l in (tmp_path / "report.jsonl").read_text().splitlines()}
    table = expected()
    got = {name: r["verdict"] for name, r in reports.items()}
    assert got == {name: v for name, (v, _) in table.items()}
    for name, (_, codes) in table.items():
        flagged = {f["code"] for f in reports[name]["findings"] if f["level"] != "minor"}
        assert codes <= flagged, (name, flagged)
    assert result.exit_code == 2  # broken.png is an input error


def test_samples_are_what_the_script_builds(tmp_path):
    spec = importlib.util.spec_from_file_location("make_samples", ROOT / "scripts" / "dev" / "make_samples.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.build(tmp_path)
    for p in sorted(tmp_path.iterdir()):
        committed = SAMPLES / p.name
        if p.suffix == ".png" and p.name != "broken.png":
            a = np.asarray(Image.open(p))
            b = np.asarray(Image.open(committed))
            assert np.array_equal(a, b), p.name
        elif p.suffix == ".jpg":  # JPEG encoders may differ by a level between libjpeg builds
            a = np.asarray(Image.open(p)).astype(int)
            b = np.asarray(Image.open(committed)).astype(int)
            assert np.abs(a - b).mean() < 1.0, p.name
        else:
            assert p.stat().st_size == committed.stat().st_size, p.name
