"""Time the edge-halo suite on a 2048-px RGBA cut-out and on the same picture opaque with
its subject matte (keyframe.matte), against decoding that PNG; one
core: median of 7 runs, derived views recomputed each run.

    python -m scripts.bench.edge_halo [--data ../shared/data]
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
import cv2  # noqa: E402
import numpy as np  # noqa: E402

cv2.setNumThreads(1)
ROOT = Path(__file__).resolve().parents[2]

from checks.edge_halo import EdgeHaloCheck  # noqa: E402
from keyframe.image import LoadedImage  # noqa: E402


def cutout(data: Path) -> tuple[np.ndarray, np.ndarray]:
    """The lemur (photo colour, its alpha) scaled to a 2048-px long side."""
    lem = data / "pymatting" / "data" / "lemur"
    rgb = cv2.imread(str(lem / "lemur.png"), cv2.IMREAD_COLOR)[:, :, ::-1]
    a = cv2.imread(str(lem / "lemur_alpha.png"), cv2.IMREAD_GRAYSCALE)
    s = 2048 / max(a.shape)
    size = (round(a.shape[1] * s), round(a.shape[0] * s))
    return (np.ascontiguousarray(cv2.resize(rgb, size, interpolation=cv2.INTER_CUBIC)),
            cv2.resize(a, size, interpolation=cv2.INTER_CUBIC))


def timed(image_fn, runs: int = 7) -> float:
    check = EdgeHaloCheck()
    out = []
    for _ in range(runs):
        im = image_fn()
        t = time.perf_counter()
        check.measure(im)
        out.append(time.perf_counter() - t)
    return statistics.median(out) * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    args = ap.parse_args()
    rgb, a = cutout(args.data)
    png = cv2.imencode(".png", np.dstack([rgb[:, :, ::-1], a]))[1]
    print(f"RGBA cut-out {rgb.shape[1]}x{rgb.shape[0]}: "
          f"{timed(lambda: LoadedImage(rgb=rgb, alpha=a)):.0f} ms")
    print(f"opaque with its subject matte {rgb.shape[1]}x{rgb.shape[0]}: "
          f"{timed(lambda: LoadedImage(rgb=rgb, matte=a)):.0f} ms")
    t = []
    for _ in range(7):
        s = time.perf_counter()
        cv2.imdecode(png, cv2.IMREAD_UNCHANGED)
        t.append(time.perf_counter() - s)
    print(f"PNG decode of the RGBA cut-out: {statistics.median(t) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
