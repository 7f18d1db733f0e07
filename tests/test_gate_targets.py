"""The target travels through the gate: gate --target, gate -> certify keeps name and
provenance, exports say how they were reframed, drift compares with the matching export."""
from __future__ import annotations

import json

import cv2
import pytest
from click.testing import CliRunner
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from helpers import photo
from keyframe.cli import main
from keyframe.image import load
from keyframe.verify import read_manifest, verify
from keyframe.video import encode_frames, push_in_frames

PARAMETERS = ("a portrait of an astronaut\nSteps: 20, Sampler: Euler, CFG scale: 7, "
              "Seed: 4242, Size: 1024x1024, Model: sdxl")
SQUARE = ('name = "square"\nextends = "default"\n[target]\nlabel = "square"\n'
          'formats = ["png"]\nmax_bytes = 0\nmin_short_side = 256\nmax_side = 4096\n'
          'aspect_range = [0.5, 2.0]\naspects = ["1:1"]\nsize = [512, 512]\nmultiple_of = 2\n'
          'verified = false\n')


@pytest.fixture(scope="module", autouse=True)
def no_models(tmp_path_factory):
    """Every test here runs as CI does, without the anatomy models (KEYFRAME_MODELS set or
    not): with them, the astronaut's person box changes the plans these tests follow (a tall
    box takes 9:16; tests/test_orientation.py covers that)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KEYFRAME_MODELS", str(tmp_path_factory.mktemp("no-models")))
        yield


@pytest.fixture(scope="module")
def gated(tmp_path_factory, no_models):
    """``keyframe gate hero.png --target veo``: a 1:1 generation with A1111 metadata."""
    root = tmp_path_factory.mktemp("targets")
    info = PngInfo()
    info.add_text("parameters", PARAMETERS)
    Image.fromarray(cv2.resize(photo("astronaut"), (1024, 1024))).save(root / "hero.png",
                                                                       pnginfo=info)
    r = CliRunner().invoke(main, ["gate", str(root / "hero.png"), "--target", "veo",
                                  "-o", str(root / "pk")])
    return root, r


def test_a_veo_package_for_a_square_picture_is_one_command(gated):
    root, r = gated
    assert r.exit_code == 0, r.output
    pkg = root / "pk" / "hero"
    manifest = read_manifest(pkg)
    assert manifest["target"] == "veo" and manifest["verdict"] == "certified"
    # no anatomy models (no_models): no person box, so the square takes Veo's first aspect
    # (with them, the astronaut's tall person box takes 9:16: tests/test_orientation.py)
    assert (manifest["output"]["width"], manifest["output"]["height"]) == (1280, 720)
    assert [s["fix"] for s in manifest["recipe"]][0] == "reframe"
    assert manifest["exports"]["veo"]["file"].startswith("exports/veo.")
    assert manifest["provenance"]["seed"] == 4242
    # the kept reframe says what it did, in the command's output
    assert "kept        reframe" in r.output
    assert "cropped" in r.output or "canvas extended" in r.output
    assert "export exports/veo." in r.output
    # ... and so does the manifest, for whoever opens the package later
    kept = [n for n in manifest["notes"] if n.startswith("gate kept reframe in round 1:")]
    assert len(kept) == 1 and ("cropped" in kept[0] or "canvas extended" in kept[0])
    assert verify(pkg).ok, verify(pkg).problems


def test_certify_of_a_package_keyframe_keeps_name_and_provenance(gated, tmp_path):
    root, _ = gated
    square = tmp_path / "square.toml"
    square.write_text(SQUARE)
    key = root / "pk" / "hero" / "keyframe.png"
    r = CliRunner().invoke(main, ["certify", str(key), "--target", "veo", "--target",
                                  str(square), "-o", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    pkg = tmp_path / "out" / "hero"                    # not "keyframe"
    manifest = read_manifest(pkg)
    assert manifest["name"] == "hero"
    assert manifest["provenance"]["seed"] == 4242
    assert manifest["provenance"]["prompt"] == "a portrait of an astronaut"
    assert any("keyframe.png of package" in n for n in manifest["notes"])
    # the square export had to be reframed from 16:9: the manifest and the output say so
    sq = manifest["exports"]["square"]
    assert sq["reframe"] is not None and sq["note"]
    assert f"export {sq['file']} 512x512: {sq['note']}" in r.output
    assert manifest["exports"]["veo"]["reframe"] is None   # already at Veo's geometry


def test_drift_compares_a_clip_with_the_export_it_was_made_from(gated, tmp_path):
    root, _ = gated
    square = tmp_path / "square.toml"
    square.write_text(SQUARE)
    r = CliRunner().invoke(main, ["certify", str(root / "pk" / "hero" / "keyframe.png"),
                                  "--target", "veo", "--target", str(square),
                                  "-o", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    pkg = tmp_path / "out" / "hero"
    manifest = read_manifest(pkg)
    export = load(pkg / manifest["exports"]["square"]["file"]).rgb
    clip = tmp_path / "square.mp4"
    clip.write_bytes(encode_frames(push_in_frames(export, width=256, height=256, count=8),
                                   width=256, height=256, fps=8))
    r = CliRunner().invoke(main, ["drift", str(clip), "--keyframe", str(pkg), "--json"])
    result = json.loads(r.output)
    assert result["reference"] == manifest["exports"]["square"]["file"]
    assert (r.exit_code, result["verdict"]) == (0, "kept"), result["reason"]
