"""Recipes: validated whole before any step runs, local steps stay local, replay is exact."""
from __future__ import annotations

import json
import sys
import tomllib

import numpy as np
import pytest
from click.testing import CliRunner

from keyframe.cli import main
from keyframe.fixes._common import apply_in_region, feather_mask
from keyframe.image import encode_png, load, sha256_bytes
from keyframe.recipe import RecipeError, load as load_recipe, parse, replay

from helpers import add_noise, photo

STEPS = [{"fix": "crop_border", "params": {"top": 4, "bottom": 4}},
         {"fix": "denoise", "params": {"strength": 6.0}},
         {"fix": "sharpen", "params": {"amount": 0.8}, "region": [20, 30, 60, 50],
          "feather": 6}]


def small(name="astronaut", seed=0):
    return add_noise(np.ascontiguousarray(photo(name)[::4, ::4]), 4, seed)


def test_whole_recipe_is_validated_before_any_step_runs(tmp_path):
    marker = tmp_path / "ran"
    touch = {"fix": "external", "params": {"command": [
        sys.executable, "-c", f"open({str(marker)!r}, 'w')", "{input}", "{output}"]}}
    with pytest.raises(RecipeError, match=r"^step 2: unknown fix 'sharpn'"):
        parse([touch, {"fix": "sharpn"}])
    with pytest.raises(RecipeError, match=r"step 3 \(sharpen\): .*amount=9.0 is outside"):
        parse([touch, STEPS[1], {"fix": "sharpen", "params": {"amount": 9.0}}])
    with pytest.raises(RecipeError, match=r"step 2 \(deband\): .*unknown parameter.*strenght"):
        parse([touch, {"fix": "deband", "params": {"strenght": 1}}])
    assert not marker.exists()


@pytest.mark.parametrize("region, match", [
    ([1, 2, 3], "region must be"), ([-1, 0, 4, 4], "region must be"),
    ([0, 0, 0, 4], "region must be"), ([0, 0, 4.5, 4], "region must be"),
    ("0,0,4,4", "region must be")])
def test_bad_regions_name_the_step(region, match):
    with pytest.raises(RecipeError, match=rf"step 2 \(sharpen\): {match}"):
        parse([STEPS[0], {"fix": "sharpen", "region": region}])


def test_region_on_a_geometry_step_and_bad_feather_are_refused():
    with pytest.raises(RecipeError, match=r"step 1 \(crop_border\): .*geometry"):
        parse([{"fix": "crop_border", "params": {"top": 2}, "region": [0, 0, 8, 8]}])
    with pytest.raises(RecipeError, match="feather"):
        parse([{"fix": "sharpen", "region": [0, 0, 8, 8], "feather": -1}])
    with pytest.raises(RecipeError, match="unknown recipe key"):
        parse({"steps": [], "stpes": []})


def test_replay_is_byte_identical_and_survives_toml_and_json(tmp_path):
    rgb = small()
    recipe = parse(STEPS)
    a, b = replay(recipe, rgb), replay(recipe, rgb)
    assert encode_png(a) == encode_png(b)
    assert a.shape == (rgb.shape[0] - 8, rgb.shape[1], 3)
    (tmp_path / "r.toml").write_text(recipe.to_toml())
    (tmp_path / "r.json").write_text(recipe.to_json())
    for name in ("r.toml", "r.json"):
        again = load_recipe(tmp_path / name)
        assert again == recipe
        assert encode_png(replay(again, rgb)) == encode_png(a)
    assert tomllib.loads(recipe.to_toml())["steps"][2]["params"]["radius"] == 1.0  # defaults pinned
    assert np.array_equal(rgb, small())                                         # input untouched


def test_local_fix_touches_only_its_region_plus_feather():
    rgb = small("chelsea")
    x, y, w, h, feather = 40, 30, 50, 40, 6
    out = replay(parse([{"fix": "denoise", "params": {"strength": 20.0},
                         "region": [x, y, w, h], "feather": feather}]), rgb)
    outside = np.ones(rgb.shape[:2], bool)
    outside[y - feather:y + h + feather, x - feather:x + w + feather] = False
    assert np.array_equal(out[outside], rgb[outside])                 # bytes identical
    inside = out[y:y + h, x:x + w].astype(float) - rgb[y:y + h, x:x + w]
    assert np.abs(inside).mean() > 1.0                                # the region was mended
    # the whole-image fix would have moved pixels out there: the mask is what kept them
    whole = replay(parse([{"fix": "denoise", "params": {"strength": 20.0}}]), rgb)
    assert not np.array_equal(whole[outside], rgb[outside])


def test_feather_mask_ramps_and_blend_keeps_region_values():
    m = feather_mask(20, 30, (10, 5, 6, 4), 3)
    assert m[5:9, 10:16].min() == 1.0 and m[0, 0] == 0.0
    assert 0 < m[7, 8] < m[7, 9] < 1.0                                # linear ramp outside
    assert m[7, 6] == 0.0                                             # beyond the feather
    rgb = small()
    out = apply_in_region(lambda c: 255 - c, rgb, (10, 5, 6, 4), feather=3)
    assert np.array_equal(out[5:9, 10:16], 255 - rgb[5:9, 10:16])


def test_region_outside_the_image_fails_at_replay_with_step_number():
    recipe = parse([STEPS[1], {"fix": "sharpen", "region": [100, 100, 500, 500]}])
    with pytest.raises(RecipeError, match=r"step 2 \(sharpen\): region .* not inside"):
        replay(recipe, small())


def _png(path, rgb):
    path.write_bytes(encode_png(rgb))
    return path


def test_cli_fix_and_apply_over_a_folder(tmp_path):
    recipe = tmp_path / "r.toml"
    recipe.write_text(parse(STEPS).to_toml())
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    _png(src / "a.png", small("astronaut"))
    _png(src / "sub" / "b.png", small("coffee"))
    (src / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (src / "tiny.png").write_bytes(encode_png(np.zeros((40, 40, 3), np.uint8)))  # region misses
    r = CliRunner().invoke(main, ["fix", str(src / "a.png"), "--recipe", str(recipe),
                                  "-o", str(tmp_path / "one.png")])
    assert r.exit_code == 0, r.output
    expected = encode_png(replay(parse(STEPS), load(src / "a.png").rgb))
    assert (tmp_path / "one.png").read_bytes() == expected
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["apply", str(recipe), str(src), "-o", str(out)])
    assert r.exit_code == 2
    assert (out / "a.png").read_bytes() == expected
    assert (out / "sub" / "b.png").is_file()
    log = [json.loads(l) for l in (out / "apply.jsonl").read_text().splitlines()]
    errors = {rec["path"].rsplit("/", 1)[-1]: rec["error"] for rec in log if rec["error"]}
    assert set(errors) == {"broken.png", "tiny.png"}
    assert "step 3 (sharpen)" in errors["tiny.png"]
    assert not (out / "broken.png").exists() and not (out / "tiny.png").exists()
    ok = [rec for rec in log if not rec["error"]]
    assert all(sha256_bytes((out / rec["output"].split(str(out) + "/")[1]).read_bytes())
               == rec["sha256"] for rec in ok)


def test_cli_bad_recipe_is_a_usage_error(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"steps": [{"fix": "sharpen"}, {"fix": "nope"}]}))
    _png(tmp_path / "a.png", small())
    r = CliRunner().invoke(main, ["fix", str(tmp_path / "a.png"), "--recipe", str(bad),
                                  "-o", str(tmp_path / "o.png")])
    assert r.exit_code == 2 and "step 2: unknown fix 'nope'" in r.output
    assert not (tmp_path / "o.png").exists()
    r = CliRunner().invoke(main, ["recipe", "check", str(bad)])
    assert r.exit_code == 2 and "step 2" in r.output
    good = tmp_path / "good.toml"
    good.write_text(parse(STEPS).to_toml())
    r = CliRunner().invoke(main, ["recipe", "check", str(good)])
    assert r.exit_code == 0 and "3 step(s)" in r.output


@pytest.mark.parametrize("args", [["gate"], ["fix"], ["apply"], ["recipe"], ["recipe", "show"],
                                  ["recipe", "check"]])
def test_help(args):
    r = CliRunner().invoke(main, args + ["--help"])
    assert r.exit_code == 0 and "Usage" in r.output


def test_a_recipe_step_erases_a_given_region(tmp_path):
    """The object eraser from a recipe file: a red square painted on the wooden table is gone
    after replay (the fill's colour matches the table around it), and nothing outside the
    region plus its dilation and feather moves."""
    rgb = np.ascontiguousarray(photo("coffee")[::2, ::2]).copy()     # 200 x 300
    clean = rgb.copy()
    rgb[150:180, 20:50] = (255, 0, 0)
    recipe_file = tmp_path / "erase.toml"
    recipe_file.write_text('schema = "keyframe.recipe/1"\n\n[[steps]]\nfix = "erase"\n'
                           'params = { region = "20,150,30,30", method = "telea" }\n')
    out = replay(load_recipe(recipe_file), rgb)
    hole = out[150:180, 20:50].reshape(-1, 3).astype(float)
    table = clean[150:180, 20:50].reshape(-1, 3).astype(float)
    red = lambda px: (px[:, 0] - px[:, 1]).mean()            # noqa: E731 - red excess
    assert abs(red(hole) - red(table)) < 20                  # the painted red is gone
    assert np.abs(hole.mean(axis=0) - table.mean(axis=0)).max() < 30   # wood-coloured again
    outside = np.ones(rgb.shape[:2], bool)
    outside[130:200, 0:70] = False                           # region + dilation + feather
    assert np.array_equal(out[outside], rgb[outside])


# ------------------------------------------------------- absolute geometry on another size

def sized(steps, **extra):
    return parse({"size": [200, 100], "steps": steps, **extra})


def test_replay_refuses_absolute_geometry_made_for_another_size():
    crop = [{"fix": "crop_border", "params": {"top": 10, "bottom": 10}}]
    rgb = photo("coffee")[:100, :200].copy()
    assert replay(sized(crop), rgb).shape == (80, 200, 3)         # the size it was made on
    with pytest.raises(RecipeError, match=r"step 1 \(crop_border\): its top, bottom are in "
                                          r"pixels of the 200x100 picture.*refused"):
        replay(sized(crop), photo("coffee")[:150, :300].copy())
    reframe = [{"fix": "reframe", "params": {"width": 100, "height": 100,
                                             "protect": [[50, 10, 60, 60]]}}]
    with pytest.raises(RecipeError, match=r"its protect is in pixels"):
        replay(sized(reframe), photo("coffee")[:150, :300].copy())
    local = [{"fix": "sharpen", "params": {}, "region": [10, 10, 50, 50]}]
    with pytest.raises(RecipeError, match=r"its region is in pixels"):
        replay(sized(local), photo("coffee")[:150, :300].copy())


def test_replay_scales_absolute_geometry_when_the_recipe_allows_it():
    crop = [{"fix": "crop_border", "params": {"top": 10, "bottom": 10}}]
    out = replay(sized(crop, scale_geometry=True), photo("coffee")[:200, :400].copy())
    assert out.shape == (160, 400, 3)                             # 20 px each side at x2


def test_size_free_steps_and_size_free_recipes_replay_anywhere():
    rgb = photo("coffee")[:150, :300].copy()
    assert replay(sized([{"fix": "sharpen", "params": {}}]), rgb).shape == rgb.shape
    free = parse({"steps": [{"fix": "crop_border", "params": {"top": 10}}]})
    assert replay(free, rgb).shape == (140, 300, 3)               # hand-written: as given


def test_recipe_size_round_trips_through_toml_and_is_validated(tmp_path):
    rec = sized([{"fix": "crop_border", "params": {"top": 10}}], scale_geometry=True)
    path = tmp_path / "r.toml"
    path.write_text(rec.to_toml())
    assert load_recipe(path) == rec
    with pytest.raises(RecipeError, match="size"):
        parse({"size": [0, 10], "steps": []})
    with pytest.raises(RecipeError, match="scale_geometry"):
        parse({"scale_geometry": "yes", "steps": []})


def test_cli_apply_refuses_the_file_of_another_size_and_goes_on(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "same.png").write_bytes(encode_png(photo("coffee")[:100, :200].copy()))
    (src / "other.png").write_bytes(encode_png(photo("coffee")[:150, :300].copy()))
    recipe = tmp_path / "r.json"
    recipe.write_text(json.dumps({"size": [200, 100], "steps": [
        {"fix": "crop_border", "params": {"top": 10, "bottom": 10}}]}))
    r = CliRunner().invoke(main, ["apply", str(recipe), str(src), "-o", str(tmp_path / "o")])
    assert r.exit_code == 2
    records = {json.loads(line)["path"].rsplit("/", 1)[-1]: json.loads(line)
               for line in (tmp_path / "o" / "apply.jsonl").read_text().splitlines()}
    assert records["same.png"]["output"] and records["same.png"]["error"] is None
    assert "refused" in records["other.png"]["error"]
    assert len(records["other.png"]["error"].splitlines()) == 1


@pytest.mark.parametrize("suffix", [".toml", ".json"])
def test_a_step_reading_a_file_records_its_hash_and_a_replay_refuses_a_change(tmp_path, suffix):
    """dehalo's matte, flatten's background image and erase's mask are files: the recipe
    records each one's sha256 (written to TOML/JSON and read back), and loading it after the
    file changed is one line naming the step and the file; a hand-written recipe without
    [files] is not checked."""
    from PIL import Image
    from keyframe.recipe import Recipe, from_steps, load, make_step

    matte, plate, mask = tmp_path / "matte.png", tmp_path / "plate.png", tmp_path / "mask.png"
    for p, v in ((matte, 255), (plate, 90), (mask, 0)):
        Image.fromarray(np.full((32, 32), v, np.uint8)).save(p)
    steps = [make_step("dehalo", {"matte": str(matte)}),
             make_step("flatten", {"background": str(plate)}),
             make_step("erase", {"mask": str(mask)}),
             make_step("flatten", {"background": "#102030"})]
    recipe = from_steps(steps)
    assert set(recipe.files) == {str(matte), str(plate), str(mask)}
    path = tmp_path / f"r{suffix}"
    path.write_text(recipe.to_json() if suffix == ".json" else recipe.to_toml())
    assert load(path).files == recipe.files
    Image.fromarray(np.full((32, 32), 254, np.uint8)).save(matte)       # the matte changed
    with pytest.raises(RecipeError) as err:
        load(path)
    assert "step 1 (dehalo)" in str(err.value) and str(matte) in str(err.value)
    assert "\n" not in str(err.value)
    bare = Recipe(steps=tuple(steps))                                      # no [files]
    path.write_text(bare.to_json() if suffix == ".json" else bare.to_toml())
    assert load(path).files == {}
