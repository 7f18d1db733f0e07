"""Shared by the review tests: synthetic triage outputs and a real `keyframe review` server."""
from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def flat_report(path: Path, sha: str, *, w: int, h: int, verdict: str = "review",
                region: list[int] | None = None, level: str = "major") -> dict:
    """A keyframe.report/1 dict with one finding (at ``region``) and its evidence."""
    findings = [] if region is None else [
        {"code": "clipped_highlights", "check": "artifact", "level": level, "severity": 0.7,
         "message": "blown highlights (test)", "region": region, "fix": None,
         "measurements": {}}]
    return {"schema": "keyframe.report/1", "keyframe_version": "0.1.0", "path": str(path),
            "sha256": sha, "width": w, "height": h, "has_alpha": False, "profile": "default",
            "target": None, "verdict": verdict, "reason": f"{verdict}: test picture",
            "quality": 50.0, "scores": {"clipped_highlights": 0.7}, "findings": findings,
            "plan": [], "skipped": [],
            "evidence": {"clipped_highlights": {"check": "artifact", "severity": 0.7,
                                                "message": "blown highlights (test)",
                                                "region": region, "measurements": {}}},
            "provenance": {}, "notes": [], "error": None}


def synthetic_output(root: Path, n: int, *, size: tuple[int, int] = (960, 640),
                     verdicts: tuple[str, ...] = ("review", "fix", "trash", "certified")
                     ) -> Path:
    """A triage-like output of ``n`` distinct JPEG pictures and their report.jsonl lines
    (picture i has a region; verdicts cycle), built without running the checks."""
    src, out = root / "in", root / "out"
    src.mkdir(parents=True)
    out.mkdir()
    w, h = size
    rng = np.random.default_rng(7)
    base = np.dstack([*np.meshgrid(np.linspace(40, 200, w), np.linspace(30, 220, h)),
                      np.full((h, w), 90.0)]).astype(np.uint8)
    lines = []
    for i in range(n):
        img = base.copy()
        x, y = int(rng.integers(0, w // 2)), int(rng.integers(0, h // 2))
        img[y:y + h // 4, x:x + w // 4] = rng.integers(0, 255, 3)
        cv2.putText(img, str(i), (20, h - 30), cv2.FONT_HERSHEY_SIMPLEX, 2, (255, 255, 255), 3)
        path = src / f"img{i:05d}.jpg"
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(img, cv2.COLOR_RGB2BGR),
                               [cv2.IMWRITE_JPEG_QUALITY, 90])
        data = buf.tobytes()
        path.write_bytes(data)
        lines.append(json.dumps(flat_report(path, hashlib.sha256(data).hexdigest(), w=w, h=h,
                                            verdict=verdicts[i % len(verdicts)],
                                            region=[x, y, w // 4, h // 4])))
    (out / "report.jsonl").write_text("\n".join(lines) + "\n")
    return out


class Server:
    """`keyframe review OUT --no-browser` in a subprocess; ``url`` is the page's URL."""

    def __init__(self, out: Path, *extra: str, reviewer: str = "tester"):
        env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get(
            "PYTHONPATH", "")}
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from keyframe.cli import main; main()", "review", str(out),
             "--no-browser",
             "--reviewer", reviewer, *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        found: list[str] = []

        def read() -> None:
            for line in self.proc.stdout:            # type: ignore[union-attr]
                m = re.search(r"review: (http://\S+)", line)
                if m:
                    found.append(m.group(1))
                    return
        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(60)
        if not found:
            self.proc.kill()
            raise RuntimeError(f"no URL printed: {self.proc.stderr.read()}")  # type: ignore
        self.url = found[0]
        self.base, self.token = self.url.split("/?t=")

    def post(self, path: str, body: dict) -> dict:
        req = urllib.request.Request(self.base + path, data=json.dumps(body).encode(),
                                     headers={"X-Keyframe-Token": self.token,
                                              "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())

    def get(self, path: str) -> dict:
        sep = "&" if "?" in path else "?"
        with urllib.request.urlopen(f"{self.base}{path}{sep}t={self.token}", timeout=30) as r:
            return json.loads(r.read())

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
