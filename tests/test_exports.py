"""Exports meet every limit of every target, on odd sizes and aspects."""
from __future__ import annotations

import numpy as np
import pytest

from helpers import scene
from keyframe.exports import limit_problems, make_export
from keyframe.image import load_bytes
from keyframe.targets import builtin_target_names, load_target


def odd_images():
    base = scene(1000)
    return {"1000x333": base[:333], "333x1000": base[:, :333],
            "4097x2305": np.ascontiguousarray(np.resize(scene(512), (2305, 4097, 3))),
            "301x301": scene(301)}


@pytest.mark.parametrize("name", builtin_target_names())
def test_every_limit_of_every_target(name):
    t = load_target(name)
    for label, rgb in odd_images().items():
        e = make_export(rgb, t)
        assert limit_problems(e.data, t) == [], (name, label)
        im = load_bytes(e.data)
        assert (im.width, im.height) == (e.width, e.height)
        assert e.format in t.formats and (not t.max_bytes or len(e.data) <= t.max_bytes)


def test_noisy_6000x4000_needs_jpeg_quality_search():
    rgb = np.random.default_rng(0).integers(0, 256, (4000, 6000, 3), dtype=np.uint8)
    t = load_target("kling")
    e = make_export(rgb, t)
    assert e.format == "jpeg" and 40 <= e.quality < 95
    assert len(e.data) <= 10_000_000
    assert limit_problems(e.data, t) == []


def test_limit_problems_catches_breaks():
    from keyframe.image import encode_png
    t = load_target("svd")
    problems = limit_problems(encode_png(scene(300)), t)
    assert any("short side" in p for p in problems)
    assert any("accepted" in p or "outside" in p for p in problems)


def test_certify_with_targets_writes_exports_recorded_in_the_manifest(tmp_path):
    """`keyframe certify --target kling --target ltx-video`: one export per target, each within
    its limits, hashed in the manifest, and the package still verifies."""
    import hashlib
    import json

    from click.testing import CliRunner
    from PIL import Image
    from skimage import data

    from keyframe.cli import main

    src = tmp_path / "in.png"
    Image.fromarray(np.ascontiguousarray(data.coffee()[31:369])).save(src)  # 600x338, 16:9
    out = tmp_path / "pk"
    result = CliRunner().invoke(main, ["certify", str(src), "-o", str(out), "--target", "kling",
                                       "--target", "ltx-video"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "in" / "manifest.json").read_text())
    assert set(manifest["exports"]) == {"kling", "ltx-video"}
    assert manifest["target"] == "kling"
    for name, rec in manifest["exports"].items():
        blob = (out / "in" / rec["file"]).read_bytes()
        assert hashlib.sha256(blob).hexdigest() == rec["sha256"]
        assert limit_problems(blob, load_target(name)) == []
    assert CliRunner().invoke(main, ["verify", str(out / "in")]).exit_code == 0
    export = out / "in" / manifest["exports"]["kling"]["file"]
    export.write_bytes(export.read_bytes()[:-10] + b"0123456789")
    tampered = CliRunner().invoke(main, ["verify", str(out / "in"), "--no-recheck"])
    assert tampered.exit_code == 1 and "kling" in tampered.output
    bad = CliRunner().invoke(main, ["certify", str(src), "-o", str(out), "--target", "nope"])
    assert bad.exit_code == 2 and "nope" in bad.output
