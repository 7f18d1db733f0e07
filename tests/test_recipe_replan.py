"""A recipe replayed on another picture re-measures what locates THAT picture's content.

The gate's reframe of the ComfyUI SD 3.5 bottle (1024 x 1024, target veo) protects the
bottle's box [451, 316, 129, 708]; laid over ``girl_in_field.png`` (also 1024 x 1024) that
box crops 1024 x 759 from y = 265 and cuts the girl's head. Issue 13 item 5.
"""
from __future__ import annotations

import json
import tomllib

import numpy as np
import pytest
from click.testing import CliRunner

from keyframe.cli import main
from keyframe.fileio import sha256_file
from keyframe.fixes.reframe import Reframe
from keyframe.image import encode_png, load
from keyframe.recipe import RecipeError, parse, replay, replay_noted
from keyframe.recipe_replan import relocate
from keyframe.recipe_steps import make_step, run_step

from helpers import photo

BOTTLE = "comfyui_examples/sd3/sd3.5_simple_example.png"
GIRL = "comfyui_examples/flux/girl_in_field.png"
#: the step `keyframe gate --target veo` keeps for the bottle (`keyframe recipe show`)
STEP = {"fix": "reframe", "params": {"width": 1280, "height": 720, "mode": "auto",
                                     "margin": 0.0, "multiple": 2,
                                     "protect": [[451, 316, 129, 708]], "trim": True}}
#: the same step as the gate plans it since reframe's ``headroom`` (2 December 2026)
STEP_NOW = {"fix": "reframe", "params": {**STEP["params"], "headroom": 0.12}}
FACE_CODES = ("face_distorted", "face_soft", "face_too_small")


def _recipe(tmp_path, *, sha: str | None, target: str = "veo", steps=(STEP,)):
    data = {"size": [1024, 1024], "steps": list(steps)}
    if sha:
        data.update(source_sha256=sha, target=target)
    path = tmp_path / "r.toml"
    path.write_text(parse(data).to_toml())
    return path


def _folder(tmp_path, name: str, source):
    folder = tmp_path / name
    folder.mkdir()
    (folder / source.name).symlink_to(source)
    return folder


def _inside(box, crop) -> bool:
    x, y, w, h = box
    cx, cy, cw, ch = crop
    return cx <= x and cy <= y and x + w <= cx + cw and y + h <= cy + ch


def _face(image):
    from keyframe.assess import default_checks, measure

    found, _ = measure(image, checks=[c for c in default_checks() if c.name == "anatomy"])
    faces = [found[c].region for c in FACE_CODES if c in found and found[c].region]
    assert faces, "anatomy found no face on girl_in_field.png"
    return faces[0]


def test_bottle_recipe_on_a_same_size_people_picture_protects_the_people(
        tmp_path, shared_data, shared_models):
    bottle, girl = shared_data / BOTTLE, shared_data / GIRL
    recipe = _recipe(tmp_path, sha=sha256_file(bottle))
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["apply", str(recipe), str(_folder(tmp_path, "in", girl)),
                                  "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "reframe: protected box re-measured on this picture: [" in r.output
    [record] = [json.loads(line) for line in (out / "apply.jsonl").read_text().splitlines()]
    [note] = record["notes"]
    assert note.startswith("reframe: protected box re-measured on this picture:")
    assert "subject: people" in note
    image = load(girl)
    face = _face(image)
    old = make_step("reframe", STEP["params"])
    assert not _inside(face, Reframe().layout(image.rgb, old.params).crop)  # as before: cut
    new, line = relocate(old, image.rgb, target="veo", number=1)
    assert line == note
    assert _inside(face, Reframe().layout(image.rgb, new.params).crop)      # now: kept whole
    assert (out / "girl_in_field.png").read_bytes() == encode_png(run_step(new, image.rgb))


def test_the_re_planned_step_is_the_one_the_gate_plans_for_that_picture(
        tmp_path, shared_data, shared_models):
    from keyframe.workflows import gate

    girl = shared_data / GIRL
    result = gate(girl, target="veo")
    assert (result.recipe.source_sha256, result.recipe.target) == (sha256_file(girl), "veo")
    done = replay_noted(parse({"size": [1024, 1024], "steps": [STEP_NOW], "target": "veo",
                               "source_sha256": sha256_file(shared_data / BOTTLE)}),
                        load(girl).rgb, sha256=sha256_file(girl))
    new, note = relocate(make_step("reframe", STEP_NOW["params"]), load(girl).rgb,
                         target="veo", number=1)
    assert done.notes == (note,)
    # the gate frames her standing box 9:16 (a near-square picture takes its subject's
    # orientation, keyframe.targets.Target.chosen_aspect); a replay keeps the recipe's own
    # size (16:9) and re-measures only the content params: the same protected box
    (gated,) = [s.to_dict() for s in result.recipe.steps]
    assert (gated["params"]["width"], gated["params"]["height"]) == (720, 1280)
    assert {**gated["params"], "width": 1280, "height": 720} == new.to_dict()["params"]
    assert np.array_equal(done.rgb, run_step(new, load(girl).rgb))


def test_the_same_picture_replays_byte_for_byte(tmp_path, shared_data, shared_models):
    bottle = shared_data / BOTTLE
    folder = _folder(tmp_path, "in", bottle)
    outs = {}
    for sha in (sha256_file(bottle), None):
        recipe = _recipe(tmp_path, sha=sha)
        outs[sha] = tmp_path / f"out-{bool(sha)}"
        r = CliRunner().invoke(main, ["apply", str(recipe), str(folder), "-o", str(outs[sha])])
        assert r.exit_code == 0, r.output
        assert "re-measured" not in r.output
    a, b = (o / bottle.name for o in outs.values())
    assert a.read_bytes() == b.read_bytes()
    done = replay_noted(parse({"size": [1024, 1024], "steps": [STEP],
                               "source_sha256": sha256_file(bottle)}),
                        load(bottle).rgb, sha256=sha256_file(bottle))
    assert done.notes == ()


def test_a_recipe_without_sha256_replays_its_boxes_as_before(tmp_path, shared_data):
    girl = shared_data / GIRL
    recipe = _recipe(tmp_path, sha=None)
    assert "source_sha256" not in tomllib.loads(recipe.read_text())
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["apply", str(recipe), str(_folder(tmp_path, "in", girl)),
                                  "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "re-measured" not in r.output
    rgb = load(girl).rgb
    assert (out / "girl_in_field.png").read_bytes() == encode_png(
        run_step(make_step("reframe", STEP["params"]), rgb))


def test_content_that_cannot_be_re_measured_is_refused_with_one_line():
    rgb = np.ascontiguousarray(photo("astronaut")[::2, ::2])
    face = {"fix": "face_detail", "params": {"x": 10, "y": 10, "w": 40, "h": 40}}
    other = {"size": [rgb.shape[1], rgb.shape[0]], "source_sha256": "0" * 64}
    with pytest.raises(RecipeError, match=r"^step 1 \(face_detail\): its face box locates "
                                          r"the content .* cannot re-measure it; refused$"):
        replay(parse({**other, "steps": [face]}), rgb)
    assert replay(parse({**other, "steps": [face], "source_sha256": ""}), rgb).shape == rgb.shape
    bad_target = parse({**other, "target": "no-such-target",
                        "steps": [{**STEP, "params": {**STEP["params"],
                                                      "protect": [[10, 10, 50, 50]]}}]})
    with pytest.raises(RecipeError, match=r"^step 1 \(reframe\): the framing check did not "
                                          r"measure this picture .*; refused$"):
        replay(bad_target, rgb)


def test_another_size_re_measures_content_instead_of_refusing_it():
    rgb = np.ascontiguousarray(photo("astronaut")[::2, ::2])
    step = {**STEP, "params": {**STEP["params"], "protect": [[451, 316, 129, 708]]}}
    with pytest.raises(RecipeError, match="refused"):          # no sha256: as before
        replay(parse({"size": [1024, 1024], "steps": [step]}), rgb)
    done = replay_noted(parse({"size": [1024, 1024], "source_sha256": "0" * 64,
                               "target": "veo", "steps": [step]}), rgb)
    assert done.rgb.shape == (720, 1280, 3)
    [note] = done.notes
    assert note.startswith("reframe: protected box re-measured on this picture: ")


def test_source_sha256_and_target_round_trip_and_are_checked():
    rec = parse({"size": [8, 8], "source_sha256": "ab" * 32, "target": "veo", "steps": []})
    again = parse(tomllib.loads(rec.to_toml()))
    assert (again.source_sha256, again.target) == ("ab" * 32, "veo")
    assert json.loads(rec.to_json())["source_sha256"] == "ab" * 32
    with pytest.raises(RecipeError, match="source_sha256"):
        parse({"source_sha256": 12, "steps": []})


def test_a_manifest_gives_its_source_sha256_and_target_unless_keyframe_png_stood_in():
    from keyframe.recipe import from_manifest

    manifest = {"recipe": [], "source": {"sha256": "cd" * 32, "width": 4, "height": 4},
                "target": "veo", "notes": []}
    rec = from_manifest(manifest)
    assert (rec.source_sha256, rec.target, rec.size) == ("cd" * 32, "veo", (4, 4))
    manifest["notes"] = ["source had no file bytes: source.sha256 is that of keyframe.png"]
    assert from_manifest(manifest).source_sha256 is None
