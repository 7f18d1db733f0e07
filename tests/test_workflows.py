"""The library API (keyframe.workflows): the four jobs as functions returning results."""
from __future__ import annotations

import cv2
from PIL import Image

from helpers import photo
from keyframe.image import from_array
from keyframe.workflows import certify, check, gate, verify


def test_check_gate_certify_verify_as_library_calls(tmp_path):
    """A blurred photo: check says fix, gate mends it, certify packages the clean one for a
    target given by its alias, verify accepts the package; nothing is printed."""
    clean, soft = tmp_path / "clean.png", tmp_path / "soft.png"
    rgb = photo("astronaut")
    Image.fromarray(rgb).save(clean)
    Image.fromarray(cv2.GaussianBlur(rgb, (0, 0), 2.0)).save(soft)
    assert check(clean).verdict == "certified"
    report = check(soft, target="runway")
    assert report.verdict == "fix" and report.target == "runway-gen4"
    assert check(from_array(rgb, name="mem.png")).verdict == "certified"
    mended = gate(soft)
    assert mended.verdict == "certified" and [s.fix for s in mended.recipe.steps] == ["sharpen"]
    done = certify(clean, tmp_path / "pk", targets=["kling"])
    assert done.package is not None and (done.package / "exports").is_dir()
    assert verify(done.package).ok
    refused = certify(soft, tmp_path / "pk")
    assert refused.package is None and "use --force" in refused.message


def test_an_unreadable_file_is_a_report_not_a_raise(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a png")
    assert check(bad).verdict == "error"
    done = certify(bad, tmp_path / "pk")
    assert done.report.verdict == "error" and done.package is None


def test_gate_and_package_is_the_gate_command_for_one_file(tmp_path):
    """The library call behind `keyframe gate`: the mended picture packaged with its recipe;
    an unreadable file an error record, no package."""
    from keyframe.profiles import load_profile
    from keyframe.workflows import gate_and_package

    soft = tmp_path / "soft.png"
    Image.fromarray(cv2.GaussianBlur(photo("astronaut"), (0, 0), 2.0)).save(soft)
    gated = gate_and_package(soft, tmp_path / "pk", profile=load_profile("default"))
    assert gated.final.verdict == "certified" and gated.record["package"]
    assert [a.step.fix for a in gated.attempts if a.kept] == ["sharpen"]
    assert verify(gated.record["package"]).ok
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"nope")
    gated = gate_and_package(bad, tmp_path / "pk", profile=load_profile("default"))
    assert gated.record["verdict"] == "error" and "package" not in gated.record


class _Journal:
    """A stand-in for keyframe.store.Resumable: keyed by the file's bytes."""

    def __init__(self):
        self.done = {}

    def lookup(self, path):
        key = path.read_bytes()
        return key, self.done.get(key)

    def add(self, key, path, line):
        self.done[key] = line


def test_gate_batch_yields_every_input_in_order_and_reuses_identical_ones(tmp_path):
    """The gate command's batch as a library call: a soft picture, a copy of it and a clean
    one give three lines in input order; the copy is the first one's result, not gated again;
    a second run over the same journal gates nothing."""
    from keyframe.profiles import load_profile
    from keyframe.workflows import gate_batch

    rgb = photo("astronaut")
    paths = [tmp_path / "a.png", tmp_path / "b.png", tmp_path / "c.png"]
    Image.fromarray(cv2.GaussianBlur(rgb, (0, 0), 2.0)).save(paths[0])
    paths[1].write_bytes(paths[0].read_bytes())
    Image.fromarray(rgb).save(paths[2])
    journal, profile = _Journal(), load_profile("default")
    first = list(gate_batch(paths, tmp_path / "out", journal=journal, jobs=1, profile=profile))
    assert [d.path for d in first] == paths
    assert [d.reused for d in first] == [None, "identical to another input", None]
    assert [d.final.verdict for d in first] == ["certified"] * 3
    assert first[0].attempts and first[1].line["verdict"] == first[0].line["verdict"]
    again = list(gate_batch(paths, tmp_path / "out", journal=journal, jobs=1, profile=profile))
    assert [d.reused for d in again] == ["done by an earlier run"] * 3
