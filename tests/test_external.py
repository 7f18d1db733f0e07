"""The `external` step: a user's command on temp PNGs, never a shell, bounded, checked."""
from __future__ import annotations

import shlex
import sys
import tempfile
import time

import numpy as np
import pytest

from keyframe.fixes.external import External, ExternalError
from keyframe.recipe import RecipeError, parse, replay

from helpers import photo

# a tiny "user tool": reads {input}, writes {output} = 255 - input (or a scaled copy)
TOOL = ("import sys; from PIL import Image, ImageOps; im = Image.open(sys.argv[1]);"
        " s = float(sys.argv[3]) if len(sys.argv) > 3 else 1.0;"
        " im = im.resize((int(im.width * s), int(im.height * s))) if s != 1.0 else im;"
        " ImageOps.invert(im.convert('RGB')).save(sys.argv[2])")


@pytest.fixture(autouse=True)
def private_tmp(tmp_path, monkeypatch):
    """Temp folders of this test go to its own folder, so leftovers can be counted."""
    work = tmp_path / "tmp"
    work.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(work))
    return work


def small():
    return np.ascontiguousarray(photo("coffee")[::4, ::4])


def run(params):
    fix = External()
    return fix.apply(small(), External.validate(params))


def test_argv_list_runs_and_result_is_read_back(private_tmp):
    out = run({"command": [sys.executable, "-c", TOOL, "{input}", "{output}"]})
    assert np.array_equal(out, 255 - small())
    assert list(private_tmp.iterdir()) == []          # temp files removed


def test_string_command_is_split_with_shlex_not_a_shell(tmp_path):
    marker = tmp_path / "marker"
    cmd = " ".join(shlex.quote(a) for a in [sys.executable, "-c", TOOL, "{input}", "{output}"])
    out = run({"command": cmd + f" 1.0 ; touch {shlex.quote(str(marker))}"})
    assert np.array_equal(out, 255 - small())
    assert not marker.exists()                        # ';' reached the tool as an argument


def test_placeholders_and_command_are_validated():
    with pytest.raises(ValueError, match=r"\{output\} placeholder"):
        External.validate({"command": ["convert", "{input}", "out.png"]})
    with pytest.raises(ValueError, match="empty"):
        External.validate({})
    with pytest.raises(ValueError, match="string or a list"):
        External.validate({"command": [1, 2]})


def test_failing_command_gives_one_line_and_no_output(private_tmp):
    cmd = [sys.executable, "-c", "import sys; sys.stderr.write('boom\\n'); sys.exit(3)",
           "{input}", "{output}"]
    with pytest.raises(ExternalError, match="exit code 3: boom") as exc:
        run({"command": cmd})
    assert "\n" not in str(exc.value)
    assert list(private_tmp.iterdir()) == []


def test_timeout_kills_the_command_and_leaves_nothing(private_tmp):
    cmd = [sys.executable, "-c", "import time; time.sleep(30)", "{input}", "{output}"]
    t0 = time.monotonic()
    with pytest.raises(ExternalError, match="timed out after 0.5 s"):
        run({"command": cmd, "timeout": 0.5})
    assert time.monotonic() - t0 < 10
    assert list(private_tmp.iterdir()) == []


def test_output_must_exist_decode_and_keep_size():
    with pytest.raises(ExternalError, match="wrote no output"):
        run({"command": [sys.executable, "-c", "pass", "{input}", "{output}"]})
    garbage = "import sys; open(sys.argv[2], 'wb').write(b'not a png')"
    with pytest.raises(ExternalError, match="not a usable image"):
        run({"command": [sys.executable, "-c", garbage, "{input}", "{output}"]})
    scaled = [sys.executable, "-c", TOOL, "{input}", "{output}", "2.0"]
    with pytest.raises(ExternalError, match="set geometry = true"):
        run({"command": scaled})
    out = run({"command": scaled, "geometry": True})
    assert out.shape[:2] == (2 * small().shape[0], 2 * small().shape[1])
    huge = [sys.executable, "-c", TOOL, "{input}", "{output}", "10.0"]
    with pytest.raises(ExternalError, match="area ratio"):
        run({"command": huge, "geometry": True})


def test_failed_external_step_in_a_recipe_names_the_step():
    recipe = parse({"steps": [
        {"fix": "sharpen", "params": {"amount": 0.5}},
        {"fix": "external", "params": {"command": [sys.executable, "-c", "raise SystemExit(1)",
                                                   "{input}", "{output}"]}}]})
    with pytest.raises(RecipeError, match=r"step 2 \(external\): .*exit code 1"):
        replay(recipe, small())


def test_external_with_geometry_cannot_be_local():
    with pytest.raises(RecipeError, match="step 1 .*geometry"):
        parse({"steps": [{"fix": "external", "region": [0, 0, 8, 8], "params": {
            "command": ["t", "{input}", "{output}"], "geometry": True}}]})
