"""ffmpeg bridge: exact frames, previews that decode as H.264, drift that separates clips."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from helpers import photo
from keyframe.cli import main
from keyframe.image import load
from keyframe.video import VideoError, encode_frames, extract, probe, psnr, push_in_frames


def known_frames(n=12, w=96, h=64):
    rng = np.random.default_rng(3)
    return [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for _ in range(n)]


@pytest.fixture(scope="module")
def lossless_clip(tmp_path_factory):
    fr = known_frames()
    data = encode_frames(iter(fr), width=96, height=64, fps=12, codec="libx264rgb",
                         crf=0, pix_fmt="rgb24", container="mkv")
    path = tmp_path_factory.mktemp("clip") / "clip.mkv"
    path.write_bytes(data)
    return path, fr


def test_extract_exact_frames(lossless_clip):
    path, fr = lossless_clip
    assert psnr(extract(path, "last"), fr[-1]) >= 40
    assert psnr(extract(path, "first"), fr[0]) >= 40
    assert psnr(extract(path, "5"), fr[5]) >= 40
    assert psnr(extract(path, "t=0.5"), fr[6]) >= 40
    with pytest.raises(VideoError, match="past the end"):
        extract(path, "12")


def test_extract_cli_last_frame(lossless_clip, tmp_path):
    path, fr = lossless_clip
    out = tmp_path / "last.png"
    r = CliRunner().invoke(main, ["extract", str(path), "--frame", "last", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert psnr(load(out).rgb, fr[-1]) >= 40


def test_bad_clips_get_one_line_errors(lossless_clip, tmp_path):
    path, _ = lossless_clip
    notvideo = tmp_path / "x.mp4"
    notvideo.write_text("hello")
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(path.read_bytes()[:4000])
    for p in (notvideo, cut, tmp_path / "missing.mp4"):
        r = CliRunner().invoke(main, ["extract", str(p), "--frame", "last", "-o",
                                      str(tmp_path / "o.png")])
        assert r.exit_code == 2
        assert len(r.output.strip().splitlines()) == 1, r.output


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    from PIL import Image
    out = tmp_path_factory.mktemp("pkg")
    src = out / "astro.png"
    Image.fromarray(photo("astronaut")[::2, ::2][:180, :240]).resize((320, 180)).save(src)
    r = CliRunner().invoke(main, ["certify", str(src), "-o", str(out / "p"), "--force"])
    assert r.exit_code in (0, 1), r.output
    # OUT also holds the hidden .keyframe/ (the lock one writer holds)
    return next(p for p in (out / "p").iterdir() if not p.name.startswith("."))


def test_preview_is_h264_of_expected_size_and_duration(package, tmp_path):
    out = tmp_path / "prev.mp4"
    r = CliRunner().invoke(main, ["preview", str(package), "-o", str(out), "--seconds", "1"])
    assert r.exit_code == 0, r.output
    info = probe(out)
    assert (info.codec, info.pix_fmt) == ("h264", "yuv420p")
    assert (info.width, info.height) == (320, 180)
    assert abs(info.duration - 1.0) < 0.1


def test_drift_separates_keyframe_clip_from_other_image(package, tmp_path):
    key = load(package / "keyframe.png").rgb
    other = photo("coffee")[:180, :320].copy()
    for name, rgb in (("same", key), ("other", other)):
        data = encode_frames(push_in_frames(rgb, width=160, height=90, count=12),
                             width=160, height=90, fps=12)
        (tmp_path / f"{name}.mp4").write_bytes(data)
    runner = CliRunner()
    same = runner.invoke(main, ["drift", str(tmp_path / "same.mp4"), "--keyframe",
                                str(package), "--json"])
    other = runner.invoke(main, ["drift", str(tmp_path / "other.mp4"), "--keyframe",
                                 str(package), "--json"])
    a, b = json.loads(same.output), json.loads(other.output)
    assert (same.exit_code, a["verdict"]) == (0, "kept")
    assert (other.exit_code, b["verdict"]) == (1, "drifted")
    assert a["first_ssim"] > 0.8 > 0.5 > b["first_ssim"]


@pytest.mark.parametrize("cmd", ["extract", "preview", "drift", "targets"])
def test_help(cmd):
    assert CliRunner().invoke(main, [cmd, "--help"]).exit_code == 0
