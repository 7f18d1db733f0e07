"""``--jobs`` on gate and certify: worker processes give what one process gives (verdicts,
package names, manifests, journal and log order), and pictures named alike in different
folders never race for one package folder."""
from __future__ import annotations

import json

import cv2
import pytest
from click.testing import CliRunner

from helpers import photo
from keyframe.cli import main
from keyframe.image import encode_png
from keyframe.workflows import package_group


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """Three different pictures named x.png in three folders (the same-stem case), one of
    them soft (the gate mends it), an identical copy of one, another name, a broken file."""
    src = tmp_path_factory.mktemp("in")
    coffee = photo("coffee")
    pictures = {"a/x.png": coffee, "b/x.png": coffee[:, ::-1].copy(),
                "c/x.png": cv2.GaussianBlur(photo("astronaut"), (0, 0), 2.0),
                "d/y.png": photo("chelsea"), "e/x-copy.png": coffee}
    for name, rgb in pictures.items():
        (src / name).parent.mkdir(exist_ok=True)
        (src / name).write_bytes(encode_png(rgb))
    (src / "e" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    return src


def _run(command, src, out, jobs):
    res = CliRunner().invoke(main, [command, str(src) if command == "gate" else "--json",
                                    *([] if command == "gate" else sorted(
                                        str(p) for p in src.rglob("*.png"))),
                                    "-o", str(out), "--jobs", str(jobs),
                                    *(["--json"] if command == "gate" else [])])
    assert res.exit_code == 2, res.output          # the broken file
    return [json.loads(line) for line in res.stdout.splitlines()]


def _packages(out):
    """Every package folder's manifest, without the time it was written (and the hash over
    it)."""
    found = {}
    for m in sorted(out.glob("*/manifest.json")):
        manifest = json.loads(m.read_text())
        found[m.parent.name] = {k: v for k, v in manifest.items()
                                if k not in ("created", "manifest_sha256")}
    return found


@pytest.mark.parametrize("command", ["gate", "certify"])
def test_jobs_2_gives_what_one_process_gives(command, inputs, tmp_path):
    rows, packages = {}, {}
    for jobs in (1, 2):
        out = tmp_path / f"out{jobs}"
        rows[jobs] = _run(command, inputs, out, jobs)
        packages[jobs] = _packages(out)
    strip = lambda r: {k: (v.replace("out2", "out1") if isinstance(v, str) else v)
                       for k, v in r.items()}
    assert [strip(r) for r in rows[2]] == [strip(r) for r in rows[1]]
    assert packages[2] == packages[1]
    names = sorted(packages[1])
    # the three x.png: x for the first in input order, x-<sha8> for the others
    xs = [r for r in rows[1] if r["path"].endswith("/x.png")]
    made = [r["package"].rsplit("/", 1)[-1] for r in xs if r["package"]]
    assert made and made[0] == "x" and all(n.startswith("x-") for n in made[1:]), names
    assert len(set(made)) == len(made)
    verified = {}
    for jobs in (1, 2):                          # verify --jobs: the same lines, in order
        res = CliRunner().invoke(main, ["verify", "--json", "--no-recheck", "--jobs", str(jobs),
                                        *sorted(str(p) for p in (tmp_path / "out2").iterdir()
                                                if (p / "manifest.json").is_file())])
        assert res.exit_code == 0, res.output
        verified[jobs] = res.stdout
    assert verified[2] == verified[1] and verified[1].count('"ok": true') == len(names)
    if command == "gate":                        # the identical copy reuses a/x.png's result
        copy = next(r for r in rows[1] if r["path"].endswith("x-copy.png"))
        assert copy["reused"] == "identical to another input"
        log = [json.loads(line)["path"] for line in
               (tmp_path / "out2" / "gate.jsonl").read_text().splitlines()]
        assert log == [r["path"].replace("out1", "out2") for r in rows[1]]


def test_package_groups_name_the_pictures_that_compete_for_a_folder(tmp_path):
    """x.png anywhere, X.png and x-1a2b3c4d.png (a suffixed name) share a group; a
    package's keyframe.png groups by its package's name."""
    assert package_group("a/x.png") == package_group("b/X.png") == \
        package_group("c/x-1a2b3c4d.png") == "x"
    assert package_group("a/y.png") != package_group("a/x.png")
    assert package_group(tmp_path / "pkg" / "keyframe.png") == "keyframe"   # no manifest
