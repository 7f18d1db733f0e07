"""RGBA cut-outs end to end: transparency goes to review unless the user gives a background;
with one, `certify` flattens a clean cut-out and `gate` defringes a contaminated one first."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image
from skimage import data

from keyframe.cli import main
from keyframe.image import load


def cutout(fringe: bool) -> np.ndarray:
    """The coffee photo as foreground, a soft-edged disc of alpha; with ``fringe`` the colour
    was premultiplied and saved as straight (the dark rim a bad export leaves)."""
    rgb = data.coffee().astype(np.float32)
    h, w = rgb.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    r = np.hypot(yy - h / 2, xx - w / 2)
    alpha = np.clip((150 - r) / 6.0, 0, 1)
    alpha = cv2.GaussianBlur(alpha.astype(np.float32), (0, 0), 1.5)
    colour = rgb * alpha[..., None] if fringe else rgb
    rgba = np.dstack([colour, alpha * 255]).round().clip(0, 255).astype(np.uint8)
    return rgba


@pytest.fixture()
def files(tmp_path):
    paths = {}
    for name, fringe in (("clean", False), ("fringed", True)):
        p = tmp_path / f"{name}.png"
        Image.fromarray(cutout(fringe), "RGBA").save(p)
        paths[name] = p
    return paths


def test_transparency_without_a_background_is_not_certified(files, tmp_path):
    result = CliRunner().invoke(main, ["check", "--json", str(files["clean"])])
    rec = json.loads(result.stdout)
    assert rec["has_alpha"] and rec["verdict"] != "certified"
    assert "has_alpha" in {f["code"] for f in rec["findings"] if f["level"] != "minor"}


def test_certify_flattens_a_clean_cutout_onto_the_background(files, tmp_path):
    out = tmp_path / "pk"
    result = CliRunner().invoke(main, ["certify", str(files["clean"]), "-o", str(out),
                                       "--background", "#336699"])
    assert result.exit_code == 0, result.output
    pkg = out / "clean"
    manifest = json.loads((pkg / "manifest.json").read_text())
    assert [s["fix"] for s in manifest["recipe"]] == ["flatten"]
    flat = load(pkg / "keyframe.png")
    assert flat.alpha is None
    assert tuple(flat.rgb[2, 2]) == (0x33, 0x66, 0x99)       # transparent corner = background
    assert CliRunner().invoke(main, ["verify", str(pkg)]).exit_code == 0


def test_certify_refuses_to_bake_a_fringe_and_the_gate_defringes_first(files, tmp_path):
    out = tmp_path / "pk"
    refused = CliRunner().invoke(main, ["certify", str(files["fringed"]), "-o", str(out),
                                        "--background", "#336699"])
    assert refused.exit_code == 1 and "keyframe gate --background" in refused.output
    assert not (out / "fringed").exists()
    gated = CliRunner().invoke(main, ["gate", str(files["fringed"]), "-o", str(out), "--json",
                                      "--background", "#336699"])
    rec = json.loads(gated.stdout)
    kept = [a["fix"] for a in rec["attempts"] if a["kept"]]
    assert kept[0] == "defringe" and kept[-1] == "flatten", rec["attempts"]
    assert rec["verdict"] == "certified", rec["reason"]
    assert load(out / "fringed" / "keyframe.png").alpha is None


def test_hidden_colours_of_transparent_pixels_are_not_measured(files):
    """The fringed cut-out's transparent 70 % is black underneath: the artifact family sees
    the picture (flattened onto grey), not that black, so it reads no crushed shadows."""
    rec = json.loads(CliRunner().invoke(main, ["check", "--json", str(files["fringed"])]).stdout)
    assert rec["scores"]["clipped_shadows"] < 0.25
    assert rec["scores"]["alpha_fringe"] >= 0.5   # the edge family still sees the alpha


def test_a_background_image_is_recorded_by_hash_and_its_change_refused(files, tmp_path):
    """certify --background PLATE.png: the manifest records the plate's sha256 beside the
    flatten step, and the recipe read back from the manifest refuses the plate once it
    changed (a replay would otherwise composite onto other pixels)."""
    from keyframe.recipe import RecipeError, from_manifest
    from keyframe.fileio import sha256_file
    from keyframe.schemas import validation_errors

    plate = tmp_path / "plate.png"
    Image.fromarray(np.full((400, 600, 3), (40, 90, 160), np.uint8)).save(plate)
    out = tmp_path / "pk"
    result = CliRunner().invoke(main, ["certify", str(files["clean"]), "-o", str(out),
                                       "--background", str(plate)])
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "clean" / "manifest.json").read_text())
    assert manifest["files"] == {str(plate): sha256_file(plate)}
    assert validation_errors("manifest", manifest) == []
    assert from_manifest(manifest).files == manifest["files"]
    Image.fromarray(np.full((400, 600, 3), (41, 90, 160), np.uint8)).save(plate)
    with pytest.raises(RecipeError, match="plate.png has sha256"):
        from_manifest(manifest)
