"""Hostile input: special files, damaged PNGs, odd names, bad options, outputs that would
overwrite an original, and checks that could not run — each one line, never a hang."""
from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from helpers import photo
from hostile import _png, _png_header_only, _rows
from keyframe.batch import iter_images, sort_into, sort_name
from keyframe.cli import main
from keyframe.fileio import ReadError, read_bytes, refuse_overwrite
from keyframe.html_report import write_html
from keyframe.image import ImageError, encode_png, load, scan_suffixes

GOOD = encode_png(photo("astronaut")[::4, ::4].copy())


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


# ----------------------------------------------------------------------- special files

@pytest.fixture()
def specials(tmp_path) -> Path:
    (tmp_path / "good.png").write_bytes(GOOD)
    os.mkfifo(tmp_path / "fifo.png")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tmp_path / "socket.png"))
    sock.close()
    os.symlink("/dev/zero", tmp_path / "device.png")
    os.symlink("loop.png", tmp_path / "loop.png")
    os.symlink("gone.png", tmp_path / "dangling.png")
    (tmp_path / "dir.png").mkdir()
    return tmp_path


@pytest.mark.parametrize("name, kind, words", [
    ("fifo.png", "unreadable", "FIFO"), ("socket.png", "unreadable", "socket"),
    ("device.png", "unreadable", "character device"), ("dir.png", "unreadable", "directory"),
    ("loop.png", "unreadable", "symbolic link loop"),
    ("dangling.png", "not_found", "dangling symbolic link (to gone.png)")])
def test_only_regular_files_are_opened(specials, name, kind, words):
    with pytest.raises(ImageError) as err:
        load(specials / name)                  # a FIFO would block forever in open()
    assert err.value.kind == kind and words in str(err.value)
    assert "\n" not in str(err.value) and str(err.value).startswith(str(specials / name))


def test_a_fifo_swapped_in_after_the_stat_does_not_hang(tmp_path, monkeypatch):
    """The race the stat cannot close: the open itself is non-blocking and re-checked."""
    fifo, regular = tmp_path / "x.png", tmp_path / "r.png"
    os.mkfifo(fifo)
    regular.write_bytes(GOOD)
    real_stat = os.stat
    monkeypatch.setattr(os, "stat", lambda p, *a, **k: real_stat(
        regular if str(p) == str(fifo) else p, *a, **k))     # the stat saw a regular file
    with pytest.raises(ReadError, match="FIFO"):
        read_bytes(fifo)


def test_check_names_each_special_file_in_one_line(specials):
    r = invoke("check", str(specials), "--json")
    assert r.exit_code == 2
    recs = {Path(json.loads(line)["path"]).name: json.loads(line)
            for line in r.output.splitlines()}
    assert sorted(recs) == ["dangling.png", "device.png", "fifo.png", "good.png", "loop.png",
                            "socket.png"]                       # dir.png is a folder: walked
    assert all(recs[n]["verdict"] == "error" for n in recs if n != "good.png")


def test_triage_with_loops_and_dangling_links_writes_html_and_sort_folders(specials, tmp_path):
    out = tmp_path / "out"
    r = invoke("triage", str(specials), "-o", str(out), "--sort-into", "--checks", "artifact")
    assert r.exit_code == 2, r.output
    assert (out / "report.html").stat().st_size > 0
    assert sorted(os.listdir(out / "error")) == ["dangling.png", "device.png", "fifo.png",
                                                 "loop.png", "socket.png"]
    from keyframe.review.queue import Queue
    assert len(Queue(out).entries) == 6           # `keyframe review OUT` opens it too
    r = invoke("triage", str(specials), "-o", str(out), "--sort-into", "copy",
               "--checks", "artifact")
    assert r.exit_code == 2 and "(copies)" in r.output      # not "(copys)"
    assert os.listdir(out / "error") == []                    # nothing regular to copy


# ------------------------------------------------------------------------- damaged PNGs

def test_png_failing_its_idat_crc_is_corrupt():
    with pytest.raises(ImageError, match="IDAT fails its CRC") as err:
        from keyframe.image import load_bytes
        load_bytes(_png(40, 40, _rows(40, 40), bad_crc=b"IDAT"), name="x.png")
    assert err.value.kind == "corrupt"


def test_png_whose_data_ends_early_is_truncated_not_black():
    from keyframe.image import load_bytes
    with pytest.raises(ImageError, match="ends early") as err:
        load_bytes(_png(40, 40, _rows(40, 10)), name="x.png")
    assert err.value.kind == "truncated"


@pytest.mark.parametrize("interlace", [False, True])
def test_png_with_black_rows_at_the_bottom_still_loads(interlace):
    """The trigger of the second inflate (a blank last row) must not flag a real picture."""
    from keyframe.image import load_bytes
    arr = photo("coffee")[::4, ::4].copy()
    arr[-20:] = 0
    import io
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "PNG", interlace=interlace)
    im = load_bytes(buf.getvalue(), name="x.png")
    assert np.array_equal(im.rgb, arr)


def test_bomb_message_names_the_cap_and_max_pixels():
    from keyframe.image import load_bytes
    for w, h in ((30000, 30000), (9000, 9000)):
        with pytest.raises(ImageError) as err:
            load_bytes(_png_header_only(w, h), name="big.png")
        assert err.value.kind == "too_large"
        assert "50,000,000" in str(err.value) and "--max-pixels" in str(err.value)
        assert "Pillow" not in str(err.value)


# ------------------------------------------------------------------------- folder scans

def test_scan_finds_avif_and_skips_earlier_outputs(tmp_path):
    if ".avif" not in scan_suffixes():
        pytest.skip("this Pillow cannot open AVIF")
    arr = photo("astronaut")[::8, ::8].copy()
    Image.fromarray(arr).save(tmp_path / "a.avif")
    old = tmp_path / "old_out"
    (old / ".keyframe").mkdir(parents=True)
    (old / "certified").mkdir()
    (old / "certified" / "copy.png").write_bytes(GOOD)
    (tmp_path / ".keyframe").mkdir()
    (tmp_path / ".keyframe" / "x.png").write_bytes(GOOD)
    assert [p.name for p in iter_images([tmp_path])] == ["a.avif"]


def test_an_empty_or_mistyped_folder_is_exit_2(tmp_path):
    r = invoke("check", str(tmp_path))
    assert r.exit_code == 2 and f"no images found under {tmp_path}" in r.output
    for args in (["triage", str(tmp_path), "-o", str(tmp_path / "o")],
                 ["gate", str(tmp_path), "-o", str(tmp_path / "o")],
                 ["certify", str(tmp_path), "-o", str(tmp_path / "o")]):
        r = invoke(*args)
        assert r.exit_code == 2 and "no images found" in r.output, r.output


# ------------------------------------------------------------------------------- names

def test_a_newline_in_a_file_name_stays_on_one_table_row(tmp_path):
    (tmp_path / "a\nb.png").write_bytes(GOOD)
    r = invoke("check", str(tmp_path))
    lines = r.output.splitlines()
    rows = [line for line in lines if "a\\nb.png" in line]
    # the row and the summary (and, without the anatomy models, the line saying so)
    summary = [line for line in lines if line.startswith("1 image: ")]
    skipped = [line for line in lines if line.startswith("anatomy skipped on ")]
    assert len(rows) == 1 and len(summary) == 1 and len(lines) == 2 + len(skipped), lines
    assert not any(line.startswith("b.png") for line in lines)


def test_sort_name_keeps_a_linked_input_s_own_name(tmp_path):
    (tmp_path / "target.png").write_bytes(GOOD)
    os.symlink("target.png", tmp_path / "hero.png")
    assert sort_name(tmp_path / "hero.png", tmp_path) == "hero.png"
    os.symlink("self.png", tmp_path / "self.png")
    assert sort_name(tmp_path / "self.png", tmp_path) == "self.png"       # no RuntimeError
    sort_into([{"path": str(tmp_path / "self.png"), "verdict": "error"}], tmp_path / "o",
              root=tmp_path)
    assert os.path.islink(tmp_path / "o" / "error" / "self.png")
    write_html([{"path": str(tmp_path / "self.png"), "verdict": "error", "sha256": None,
                 "error": {"type": "unreadable", "message": "loop"}}], tmp_path / "o")


def test_identical_inputs_are_not_called_reused_on_a_fresh_run(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for n in ("a.png", "b.png", "c.png"):
        (src / n).write_bytes(GOOD)
    r = invoke("triage", str(src), "-o", str(tmp_path / "o"), "--checks", "artifact")
    assert "0 reused from earlier runs, 2 identical to another input" in r.output
    r = invoke("triage", str(src), "-o", str(tmp_path / "o"), "--checks", "artifact")
    assert "3 reused from earlier runs" in r.output and "identical to another" not in r.output


# ------------------------------------------------------------------------------ options

@pytest.mark.parametrize("value, hint", [("black", "'#rrggbb'"), ("1e1e1e", "#1e1e1e"),
                                         ("#12345", "six hex digits")])
@pytest.mark.parametrize("command", ["gate", "certify"])
def test_a_bad_background_is_a_usage_error(tmp_path, command, value, hint):
    (tmp_path / "a.png").write_bytes(GOOD)
    r = invoke(command, str(tmp_path / "a.png"), "-o", str(tmp_path / "o"), "--background",
               value)
    assert r.exit_code == 2 and hint in r.output and "Traceback" not in r.output


@pytest.mark.parametrize("command", ["triage", "gate", "certify", "apply"])
def test_o_naming_a_file_is_a_usage_error(tmp_path, command):
    (tmp_path / "a.png").write_bytes(GOOD)
    recipe = tmp_path / "r.json"
    recipe.write_text('{"schema": "keyframe.recipe/1", "steps": []}')
    args = ([command, str(recipe), str(tmp_path)] if command == "apply"
            else [command, str(tmp_path if command == "triage" else tmp_path / "a.png")])
    r = invoke(*args, "-o", str(tmp_path / "a.png"))
    assert r.exit_code == 2 and "is a file" in r.output, r.output
    assert (tmp_path / "a.png").read_bytes() == GOOD


def test_fix_never_overwrites_its_input_and_writes_what_the_ending_says(tmp_path):
    src = tmp_path / "a.png"
    src.write_bytes(GOOD)
    recipe = tmp_path / "r.json"
    recipe.write_text('{"schema": "keyframe.recipe/1", "steps": []}')
    r = invoke("fix", str(src), "--recipe", str(recipe), "-o", str(src), "--overwrite")
    assert r.exit_code == 2 and "is an input" in r.output and src.read_bytes() == GOOD
    os.symlink("a.png", tmp_path / "alias.png")
    r = invoke("fix", str(src), "--recipe", str(recipe), "-o", str(tmp_path / "alias.png"))
    assert r.exit_code == 2 and "is an input" in r.output
    r = invoke("fix", str(src), "--recipe", str(recipe), "-o", str(tmp_path / "o.gif"))
    assert r.exit_code == 2 and ".png, .jpg, .jpeg, .webp" in r.output
    for name, fmt in (("o.jpg", "JPEG"), ("o.webp", "WEBP"), ("o.png", "PNG")):
        r = invoke("fix", str(src), "--recipe", str(recipe), "-o", str(tmp_path / name))
        assert r.exit_code == 0, r.output
        assert Image.open(tmp_path / name).format == fmt
    (tmp_path / "mine.png").write_bytes(b"someone else's file")
    r = invoke("fix", str(src), "--recipe", str(recipe), "-o", str(tmp_path / "mine.png"))
    assert r.exit_code == 2 and "--overwrite" in r.output
    assert (tmp_path / "mine.png").read_bytes() == b"someone else's file"
    r = invoke("fix", str(src), "--recipe", str(recipe), "-o", str(tmp_path / "o.png"))
    assert r.exit_code == 0                       # the same bytes again: nothing to refuse
    r = invoke("fix", str(src), "--recipe", str(recipe), "-o", str(tmp_path / "mine.png"),
               "--overwrite")
    assert r.exit_code == 0 and Image.open(tmp_path / "mine.png").format == "PNG"


def test_apply_refuses_the_input_folder_and_outputs_it_did_not_write(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.png").write_bytes(GOOD)
    recipe = tmp_path / "r.json"
    recipe.write_text('{"schema": "keyframe.recipe/1", "steps": []}')
    r = invoke("apply", str(recipe), str(src), "-o", str(src))
    assert r.exit_code == 2 and "input folder" in r.output
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.png").write_bytes(b"not ours")
    r = invoke("apply", str(recipe), str(src), "-o", str(out))
    assert r.exit_code == 2 and (out / "a.png").read_bytes() == b"not ours"
    r = invoke("apply", str(recipe), str(src), "-o", str(out), "--overwrite")
    assert r.exit_code == 0
    r = invoke("apply", str(recipe), str(src), "-o", str(out))    # now OUT is ours
    assert r.exit_code == 0


def test_triage_refuses_a_folder_holding_someone_else_s_report(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.png").write_bytes(GOOD)
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "report.html").write_text("<p>mine</p>")
    r = invoke("triage", str(tmp_path / "in"), "-o", str(tmp_path / "o"))
    assert r.exit_code == 2 and "--overwrite" in r.output
    assert (tmp_path / "o" / "report.html").read_text() == "<p>mine</p>"
    r = invoke("triage", str(tmp_path / "in"), "-o", str(tmp_path / "in"))
    assert r.exit_code == 2 and "input folder" in r.output


def test_refuse_overwrite_compares_file_identity(tmp_path):
    a = tmp_path / "a.png"
    a.write_bytes(GOOD)
    os.link(a, tmp_path / "hard.png")
    assert "is an input" in refuse_overwrite(tmp_path / "hard.png", inputs=[a], overwrite=True)
    assert refuse_overwrite(tmp_path / "new.png", inputs=[a]) is None
    assert "FIFO" in (os.mkfifo(tmp_path / "f.png") or refuse_overwrite(tmp_path / "f.png"))


# ---------------------------------------------------------- checks that could not run

def test_a_check_that_did_not_run_is_said_in_the_row_and_the_summary(tmp_path, monkeypatch):
    monkeypatch.setenv("KEYFRAME_MODELS", str(tmp_path / "no_models"))
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.png").write_bytes(GOOD)
    r = invoke("check", str(tmp_path / "in"))
    assert "anatomy not run (model '" in r.output
    assert "anatomy skipped on 1 image: run `keyframe models pull --all`" in r.output
    r = invoke("triage", str(tmp_path / "in"), "-o", str(tmp_path / "o"))
    assert "anatomy skipped on 1 image" in r.output
    page = (tmp_path / "o" / "report.html").read_text(encoding="utf-8")
    assert '"not_run": ["anatomy: model' in page and 'id="notrun"' in page


def test_gate_resumes_instead_of_redoing_everything(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.png").write_bytes(GOOD)
    (tmp_path / "in" / "b.png").write_bytes(GOOD)
    r = invoke("gate", str(tmp_path / "in"), "-o", str(tmp_path / "o"))
    assert "identical to another input" in r.output and "earlier run" not in r.output
    first = r.output
    r = invoke("gate", str(tmp_path / "in"), "-o", str(tmp_path / "o"))
    assert r.output.count("(done by an earlier run)") == 2
    assert r.output.splitlines()[0].split()[0] == first.splitlines()[0].split()[0]


def test_a_cut_out_with_a_straight_hard_edge_is_measured(tmp_path):
    from keyframe.registry import check_classes
    base = photo("astronaut")[::4, ::4][:96, :96]
    alpha = np.zeros((96, 96), np.uint8)
    alpha[:, :48] = 255
    Image.fromarray(np.dstack([base, alpha])).save(tmp_path / "cut.png")
    found = check_classes()["edge_halo"]().measure(load(tmp_path / "cut.png"))
    assert {m.code for m in found} >= {"edge_halo", "hard_edge", "alpha_fringe"}


def test_models_list_has_a_header_and_permissions_follow_the_umask(tmp_path):
    r = invoke("models", "list")
    assert r.output.splitlines()[0].split()[:2] == ["name", "runtime"]
    code = ("import os, sys; os.umask(0o027); sys.path.insert(0, %r)\n"
            "from keyframe.fileio import write_atomic, make_temp_dir\n"
            "write_atomic(%r, b'x'); print(oct(make_temp_dir(%r, prefix='.t').stat().st_mode))"
            % (str(Path(__file__).parent.parent), str(tmp_path / "f"), str(tmp_path)))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert stat.S_IMODE((tmp_path / "f").stat().st_mode) == 0o640
    assert out.strip().endswith("750")


@pytest.mark.parametrize("h, w", [(1, 10000), (10000, 1), (3, 4000), (4000, 3), (2, 5000),
                                  (8, 3000), (1, 64), (64, 1), (5, 5)])
def test_the_artifact_check_measures_strips_and_specks(h, w):
    """A 1 x 10000 or 4000 x 3 picture is measured, not a failed check: seams need six
    8-px repetitions across and noise a 3 x 3 neighbourhood, and a plane without them reads
    nothing (before: OpenCV's assertion on an empty box filter or resize, as "artifact not
    run (check failed: …)" in the verdict's sentence)."""
    from checks.artifact import ArtifactCheck
    from keyframe.image import from_array

    rgb = np.random.default_rng(h * w).integers(0, 255, (h, w, 3), dtype=np.uint8)
    found = ArtifactCheck().measure(from_array(rgb, name="strip.png"))
    assert {m.code for m in found} == set(ArtifactCheck.codes)
    assert all(0.0 <= m.severity <= 1.0 for m in found)
