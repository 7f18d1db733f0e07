"""Kill a large triage with SIGKILL, resume it, and compare with an uninterrupted run.

The test suite does this with ~150 images; this script does it at scale (default 1,000) and
also reports the peak memory of each run, to show that memory stays flat.

Usage: python -m scripts.bench.resume_check [--n 1000] [--kill-after 20] [--jobs 2] [--checks artifact]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image
from skimage import data


def make_images(folder: Path, n: int) -> None:
    """``n`` distinct 256-px images: random crops of scikit-image photos with seeded noise."""
    photos = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket()]
    rng = np.random.default_rng(0)
    for i in range(n):
        src = photos[i % len(photos)]
        y = int(rng.integers(0, src.shape[0] - 256))
        x = int(rng.integers(0, src.shape[1] - 256))
        crop = src[y:y + 256, x:x + 256].astype(np.float32)
        crop += rng.normal(0, float(rng.uniform(0, 12)), crop.shape)
        Image.fromarray(np.clip(crop, 0, 255).astype(np.uint8)).save(folder / f"img_{i:05d}.png")


def triage(folder: Path, out: Path, args, *, kill_after: float | None) -> tuple[int, float]:
    """Run `keyframe triage`; kill its whole process group after ``kill_after`` s if given.
    Returns (exit code or -9, seconds)."""
    cmd = [shutil.which("keyframe") or "keyframe", "triage", str(folder), "-o", str(out),
           "--jobs", str(args.jobs), "--checks", args.checks, "--no-html"]
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    if kill_after is not None:
        try:
            proc.wait(timeout=kill_after)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return -9, time.perf_counter() - t
    return proc.wait(), time.perf_counter() - t


def reports(out: Path) -> list[str]:
    lines = (out / "report.jsonl").read_text().splitlines()
    return sorted(json.dumps(json.loads(x), sort_keys=True) for x in lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--kill-after", type=float, default=20.0)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--checks", default="artifact")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        folder = root / "in"
        folder.mkdir()
        make_images(folder, args.n)
        code, secs = triage(folder, root / "whole", args, kill_after=None)
        rss_whole = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"uninterrupted: exit {code}, {secs:.1f} s, peak RSS of a child {rss_whole:.0f} MB")
        code, secs = triage(folder, root / "resumed", args, kill_after=args.kill_after)
        done = len((root / "resumed" / ".keyframe" / "results.jsonl").read_text().splitlines())
        print(f"killed with SIGKILL after {secs:.1f} s (exit {code}): {done} results journaled")
        code, secs = triage(folder, root / "resumed", args, kill_after=None)
        journal = (root / "resumed" / ".keyframe" / "results.jsonl").read_text().splitlines()
        keys = [json.loads(x)["key"] for x in journal if x.strip()]
        print(f"resumed: exit {code}, {secs:.1f} s; journal {len(keys)} entries, "
              f"{len(set(keys))} unique")
        same = reports(root / "whole") == reports(root / "resumed")
        print(f"report.jsonl identical to the uninterrupted run (order aside): {same}")
        sys.exit(0 if same and len(keys) == len(set(keys)) == args.n else 1)


if __name__ == "__main__":
    main()
