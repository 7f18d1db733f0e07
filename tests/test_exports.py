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
    # 640x360, 16:9: ltx-video's 1216x704 needs x1.9 (a 600x338 picture's x2.08 is over the
    # profile's max_enlarge, and that export is refused: test_an_export_over_the_limits_...)
    Image.fromarray(np.ascontiguousarray(data.coffee()[31:369])).resize((640, 360)).save(src)
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


def test_an_export_over_the_profile_limits_is_refused_with_the_figure():
    """An export is a video model's first frame like the keyframe: one that would enlarge
    the picture more than the profile's ``max_enlarge``, or invent more of its frame than
    ``max_invented``, is refused (ExportError, with the figure), never upscaled x2+ or
    padded into a strip; within the limits the same call exports."""
    from skimage import data

    from keyframe.exports import ExportError, make_export

    small = np.ascontiguousarray(data.coffee()[31:369])     # 600x338 -> 1216x704: x2.08
    with pytest.raises(ExportError, match=r"enlarge the picture x2\.08 \(the profile allows x2\)"):
        make_export(small, load_target("ltx-video"), max_enlarge=2.0)
    assert make_export(small, load_target("ltx-video")).height == 704     # no limit given
    tall = np.ascontiguousarray(np.rot90(data.coffee()))               # 400x600, a portrait
    svd = load_target("svd")
    with pytest.raises(ExportError, match=r"\d+% of its frame would be invented"):
        make_export(tall, svd, protect=[[0, 0, 400, 600]], max_invented=0.5)
    done = make_export(tall, svd, protect=[[0, 0, 400, 600]], max_invented=0.75)
    assert (done.width, done.height) == (1024, 576) and "invented" in done.note



def test_a_refused_export_names_each_target_once_in_one_line(tmp_path):
    """A gate for Kling and SVD of a 2:3 portrait: the keyframe is reframed for Kling, and
    its SVD export (16:9 only) would be 55-68 % blurred mirror. The verdict is review with
    one line that says which export cannot be made and why, that Kling's can, and does
    not repeat the file's path (the output line already starts with it); no package."""
    import json
    import re

    from click.testing import CliRunner
    from skimage import data

    from keyframe.cli import main
    from keyframe.image import encode_png

    src = tmp_path / "tall.png"
    src.write_bytes(encode_png(np.ascontiguousarray(np.rot90(data.coffee()))))
    out = tmp_path / "pk"
    r = CliRunner().invoke(main, ["gate", str(src), "-o", str(out), "--target", "kling",
                                  "--target", "svd", "--json"])
    record = json.loads(r.output.splitlines()[0])
    assert record["verdict"] == "review" and record["package"] is None, record
    reason = record["reason"]
    # 68 % without the models, 55 % with u2netp's object box to trim to
    assert re.search(r"^review: cannot export for svd: \d+% of its frame would be invented "
                     r"as a blurred mirror \(the profile allows 50%\)", reason), reason
    assert "the export for kling can be made" in reason and "not packaged" in reason
    assert str(src) not in reason and "\n" not in reason
    assert not (out / "tall").exists()


def test_an_export_keeps_the_salient_object_the_keyframe_needed_no_reframe_for(
        tmp_path, shared_data, shared_models):
    """SD 3.5's bottle, 1:1, certified for Kling (1:1 accepted: no reframe, so the
    keyframe's framing never looked for an object) with an SVD export (16:9 only): the
    export is framed around the bottle framing finds for SVD (u2netp), not the saliency
    box, whose 576-row crop cut off its base (rows 208-784 of a bottle reaching 1024)."""
    import json

    from click.testing import CliRunner

    from keyframe.cli import main

    src = shared_data / "comfyui_examples/sd3/sd3.5_simple_example.png"
    out = tmp_path / "pk"
    r = CliRunner().invoke(main, ["certify", str(src), "-o", str(out), "--target", "kling",
                                  "--target", "svd"])
    assert r.exit_code == 0, r.output
    manifest = json.loads((out / "sd3.5_simple_example" / "manifest.json").read_text())
    svd = manifest["exports"]["svd"]["reframe"]
    x, y, w, h = svd["crop"]
    bottle = (451, 316, 129, 708)                  # the object box framing measures for Veo
    assert y <= bottle[1] and bottle[1] + bottle[3] <= y + h, svd
    assert "invented" in manifest["exports"]["svd"]["note"]


def test_an_export_keeps_the_people_the_keyframe_check_found(shared_data, shared_models):
    """SDXL's hugging couple (1:1, people spanning rows 90-997) exported for SVD (16:9): the
    export keeps the people the keyframe's re-check found (export_subject, what
    write_package passes), where the saliency box's crop kept rows 144-720 and cut them."""
    from keyframe.assess import assess
    from keyframe.exports import export_subject
    from keyframe.image import load
    from keyframe.profiles import load_profile

    image = load(shared_data / "ai_human_anatomy/images/sdXL/couple_hugging/sdXL_hug_02.jpg")
    report = assess(image, profile=load_profile("default"))
    svd = load_target("svd")
    [box] = export_subject(image, report, svd)
    x, y, w, h = make_export(image.rgb, svd, protect=[box]).reframe["crop"]
    assert y <= box[1] and box[1] + box[3] <= y + h, (box, (x, y, w, h))
    assert box[3] > 576                                   # taller than any 16:9 crop of it
    _, sy, _, sh = make_export(image.rgb, svd).reframe["crop"]
    assert sy > box[1] or sy + sh < box[1] + box[3]       # the saliency box's crop cut them
