"""report.html: a self-contained page, checked in headless Chromium (Debian's `chromium`)."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from conftest import SAMPLES
from keyframe.cli import main
from keyframe.html_report import page_record, write_html
from keyframe.image import encode_jpeg

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium not installed (apt-get install -y chromium)")

THUMB_RGB = (20, 160, 20)
CRITICAL_RGB = (0xE5, 0x39, 0x35)        # --critical in keyframe/html/report.html


def chromium(page: Path, tmp: Path, *, screenshot: Path | None = None,
             fragment: str = "") -> tuple[str, list[str]]:
    """Load ``page`` offline in headless Chromium; return the DOM after scripts ran and the
    console messages it logged."""
    args = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--hide-scrollbars", f"--user-data-dir={tmp / 'profile'}", "--window-size=900,700",
            "--force-device-scale-factor=1", "--virtual-time-budget=4000",
            "--enable-logging=stderr", "--v=0"]
    args += [f"--screenshot={screenshot}"] if screenshot else ["--dump-dom"]
    run = subprocess.run(args + [page.resolve().as_uri() + fragment], capture_output=True,
                         text=True, timeout=60)
    console = [l for l in run.stderr.splitlines() if ":CONSOLE" in l]
    return run.stdout, console


def boxed_report(path: Path, w: int, h: int, region: list[int]) -> dict:
    return {"path": str(path), "sha256": "ab" * 32, "width": w, "height": h,
            "verdict": "trash", "quality": 3.0, "reason": "trash: test",
            "findings": [{"code": "blur", "level": "critical", "severity": 0.9,
                          "message": "a </script><b>message</b>", "fix": None,
                          "region": region}],
            "scores": {"blur": 0.9, "noise": 0.1}, "plan": [], "skipped": [], "notes": [],
            "error": None}


def test_page_embeds_reports_without_breaking_out_of_the_script(tmp_path):
    src = tmp_path / "a.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(src)
    (tmp_path / "out").mkdir()
    page = write_html([boxed_report(src, 8, 8, [0, 0, 4, 4])], tmp_path / "out")
    text = page.read_text(encoding="utf-8")
    assert "</script><b>" not in text and "\\u003c/script>" in text
    assert "http://" not in text.replace("http://www.w3.org/2000/svg", "")   # no CDN
    rec = page_record(boxed_report(src, 8, 8, [0, 0, 4, 4]), tmp_path / "out")
    assert rec["href"] == "../a.png" and rec["full"] == "../a.png" and rec["thumb"] is None


@needs_chromium
def test_regions_are_drawn_over_the_thumbnail_at_scale(tmp_path):
    out = tmp_path / "out"
    (out / "thumbs").mkdir(parents=True)
    w, h, region = 640, 400, [320, 100, 160, 200]
    src = tmp_path / "flat.png"
    Image.fromarray(np.full((h, w, 3), THUMB_RGB, np.uint8)).save(src)
    (out / "thumbs" / f"{'ab' * 32}.jpg").write_bytes(
        encode_jpeg(np.full((200, 320, 3), THUMB_RGB, np.uint8), quality=95))
    write_html([boxed_report(src, w, h, region)], out)
    shot = tmp_path / "shot.png"
    dom, console = chromium(out / "report.html", tmp_path, screenshot=shot)
    assert console == []
    px = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    thumb = np.all(np.abs(px - THUMB_RGB) <= 6, axis=2)
    box = np.all(np.abs(px - CRITICAL_RGB) <= 12, axis=2)
    assert thumb.sum() > 1000 and box.sum() > 100, (thumb.sum(), box.sum())
    ty, tx = np.nonzero(thumb)
    tw, th = tx.max() - tx.min() + 1, ty.max() - ty.min() + 1
    inside = np.zeros_like(box)                 # not the level dot of the findings line
    inside[ty.min() - 2:ty.max() + 3, tx.min() - 2:tx.max() + 3] = True
    by, bx = np.nonzero(box & inside)
    assert abs(tw / th - w / h) < 0.05                      # the thumbnail keeps its aspect
    got = [(bx.min() - tx.min()) / tw, (by.min() - ty.min()) / th,
           (bx.max() - bx.min() + 1) / tw, (by.max() - by.min() + 1) / th]
    want = [region[0] / w, region[1] / h, region[2] / w, region[3] / h]
    assert np.allclose(got, want, atol=0.03), (got, want)


@needs_chromium
def test_triage_page_loads_offline_with_every_card_and_region(tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["triage", str(SAMPLES), "-o", str(out),
                                         "--checks", "artifact"])
    assert result.exit_code == 2 and "report.html" in result.output
    reports = [json.loads(l) for l in (out / "report.jsonl").read_text().splitlines()]
    dom, console = chromium(out / "report.html", tmp_path)
    assert console == [], console
    assert 'data-errors=""' in dom
    assert f'data-ready="{len(reports)}"' in dom
    assert dom.count('class="card"') == len(reports)
    regions = sum(bool(f["region"]) for r in reports for f in r["findings"])
    assert regions > 0 and len(re.findall(r"<rect ", dom)) == regions
    assert len(re.findall(r'<img [^>]*src="thumbs/', dom)) == len(reports) - 1  # not broken.png
    fix = sum(r["verdict"] == "fix" for r in reports)
    filtered, console = chromium(out / "report.html", tmp_path, fragment="#verdict=fix&sort=qd")
    assert console == [] and f'data-ready="{fix}"' in filtered
    q = [r["quality"] for r in reports if r["verdict"] == "fix"]
    shown = [float(x) for x in re.findall(r'<span class="q">([\d.]+)</span>', filtered)]
    assert shown == sorted((round(x, 1) for x in q), reverse=True)
