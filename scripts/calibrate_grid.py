"""Calibration of ``grid_artifact``'s periodic-pattern measure (checks/artifact/grid.py).

Usage: ``python scripts/calibrate_grid.py [--shared ../shared] [--limit N] [--held-out]``

``--held-out`` measures instead the photos of ``scripts/clean_certified.py``'s independent
split that the z gate was not set on (shipped in PyPI packages: scikit-image's
motorcycle_left and camera, scikit-learn's china and flower, matplotlib's grace_hopper).

Clean images: every clean set of ``<shared>/data`` (ComfyUI generations, skimage astronaut,
LIVE references, blur_dataset ``_S`` shots, p3m portraits, mmpose real photos) plus
scikit-image's coffee, chelsea and rocket. Positives: the same images with a checkerboard of
period 2, 4, 8, 16, 32 px and 2, 4 or 8 grey levels from dark to light added (nothing is
written). Textures (tests/textures.py says where each comes from) must stay below minor.
Prints per image the severity of the clean image and of each period at 2 levels, the
ROC-AUC of severity (clean vs each period, amplitudes 2-8), the textures' severities and the
time per image.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import skimage.data
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

from checks.artifact import grid  # noqa: E402
from keyframe.image import LoadedImage  # noqa: E402
from tests.helpers import clean_paths  # noqa: E402
from tests.textures import texture_images  # noqa: E402

PERIODS = (2, 4, 8, 16, 32)
LEVELS = (2, 4, 8)


def checker(rgb: np.ndarray, levels: float, period: int) -> np.ndarray:
    """``rgb`` plus a checkerboard of ``period`` px, 0 / ``levels`` grey levels."""
    h, w = rgb.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    pat = ((xx // (period // 2) + yy // (period // 2)) % 2) * levels
    return np.clip(rgb.astype(np.int16) + pat[..., None], 0, 255).astype(np.uint8)


def sev(rgb: np.ndarray) -> float:
    rgb = np.ascontiguousarray(rgb)
    rgb.setflags(write=False)
    return grid.measure_grid_artifact(LoadedImage(rgb=rgb)).severity


def auc(neg: list[float], pos: list[float]) -> float:
    """ROC-AUC, ties counted half."""
    n, p = np.asarray(neg)[:, None], np.asarray(pos)[None, :]
    return float(np.mean((p > n) + 0.5 * (p == n)))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=str(ROOT.parent / "shared"))
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--held-out", action="store_true")
    args = ap.parse_args()
    if args.held_out:
        from clean_certified import independent_paths
        images = {p.name: np.asarray(Image.open(p).convert("RGB")) for p in independent_paths()
                  if p.stem not in ("coffee", "chelsea", "rocket")}
    else:
        images = {p.name: np.asarray(Image.open(p).convert("RGB"))
                  for p in clean_paths(Path(args.shared) / "data")}
        for name in ("coffee", "chelsea", "rocket"):
            images[name] = getattr(skimage.data, name)()
    if args.limit:
        images = dict(list(images.items())[:args.limit])
    clean, pos = [], {p: [] for p in PERIODS}
    times = []
    print(f"{'image':42s} clean " + " ".join(f"P{p:<4d}" for p in PERIODS) + "  (2 levels)")
    for name, rgb in images.items():
        t = time.perf_counter()
        s0 = sev(rgb)
        times.append(time.perf_counter() - t)
        clean.append(s0)
        row = []
        for p in PERIODS:
            for lv in LEVELS:
                s = sev(checker(rgb, lv, p))
                pos[p].append(s)
                if lv == 2:
                    row.append(s)
        print(f"{name[:42]:42s} {s0:5.2f} " + " ".join(f"{s:5.2f}" for s in row))
    print(f"\nclean: {len(clean)} images, max {max(clean):.2f}, >= minor: "
          f"{sum(s >= 0.25 for s in clean)}; median time {1000 * np.median(times):.0f} ms")
    for p in PERIODS:
        print(f"ROC-AUC clean vs period {p:2d} (2-8 levels): {auc(clean, pos[p]):.3f}")
    print(f"ROC-AUC clean vs all: {auc(clean, sum(pos.values(), [])):.3f}")
    print("\ntextures (must stay < 0.25):")
    for name, rgb in texture_images().items():
        print(f"  {name:14s} {sev(rgb):.3f}")


if __name__ == "__main__":
    main()
