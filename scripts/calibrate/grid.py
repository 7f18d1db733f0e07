"""Calibration of ``grid_artifact``'s periodic-pattern measure (checks/artifact/grid.py).

Usage: ``python -m scripts.calibrate.grid [--shared ../shared] [--limit N] [--held-out]``

``--held-out`` measures instead the photos of ``scripts/calibrate/clean_certified.py``'s independent
split that the z gate was not set on (shipped in PyPI packages: scikit-image's
motorcycle_left and camera, scikit-learn's china and flower, matplotlib's grace_hopper).

Clean images: every clean set of ``<shared>/data`` (ComfyUI generations, skimage astronaut,
LIVE references, blur_dataset ``_S`` shots, p3m portraits, mmpose real photos) plus
scikit-image's coffee, chelsea and rocket. Positives: the same images with a checkerboard of
period 2, 4, 8, 16, 32 px and 2, 4 or 8 grey levels from dark to light added (nothing is
written). Textures (keyframe_dev/textures.py says where each comes from) must stay below minor.
Prints per image the severity of the clean image and of each period at 2 levels, the
ROC-AUC of severity (clean vs each period, amplitudes 2-8), the textures' severities and the
time per image. The ROC-AUC is given two ways: over every image, and over the images that
can judge the period (the clean picture's ``judged_up_to`` reaches it: a 2-level pattern of
that period would stand out from its content); the others are counted as "cannot judge",
with how many of their 2-level patterns were found anyway.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import skimage.data
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]

from checks.artifact import grid  # noqa: E402
from keyframe.image import LoadedImage  # noqa: E402
from keyframe_dev.data import checker, clean_paths  # noqa: E402
from keyframe_dev.textures import texture_images  # noqa: E402

PERIODS = (2, 4, 8, 16, 32)
LEVELS = (2, 4, 8)


def measure(rgb: np.ndarray):
    rgb = np.ascontiguousarray(rgb)
    rgb.setflags(write=False)
    return grid.measure_grid_artifact(LoadedImage(rgb=rgb))


def sev(rgb: np.ndarray) -> float:
    return measure(rgb).severity


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
        from scripts.calibrate.clean_certified import independent_paths
        images = {p.name: np.asarray(Image.open(p).convert("RGB")) for p in independent_paths()
                  if p.stem not in ("coffee", "chelsea", "rocket")}
    else:
        images = {p.name: np.asarray(Image.open(p).convert("RGB"))
                  for p in clean_paths(Path(args.shared) / "data")}
        for name in ("coffee", "chelsea", "rocket"):
            images[name] = getattr(skimage.data, name)()
    if args.limit:
        images = dict(list(images.items())[:args.limit])
    clean, judged, pos = [], [], {p: [] for p in PERIODS}
    times = []
    print(f"{'image':42s} clean " + " ".join(f"P{p:<4d}" for p in PERIODS)
          + "  (2 levels)  judged up to")
    for name, rgb in images.items():
        t = time.perf_counter()
        m0 = measure(rgb)
        times.append(time.perf_counter() - t)
        clean.append(m0.severity)
        judged.append(m0.measurements["judged_up_to"])
        row = []
        for p in PERIODS:
            got = [sev(checker(rgb, lv, p)) for lv in LEVELS]
            pos[p].append(got)
            row.append(got[0])
        print(f"{name[:42]:42s} {m0.severity:5.2f} " + " ".join(f"{s:5.2f}" for s in row)
              + f"  {judged[-1]:2d} px")
    print(f"\nclean: {len(clean)} images, max {max(clean):.2f}, >= minor: "
          f"{sum(s >= 0.25 for s in clean)}; median time {1000 * np.median(times):.0f} ms")
    print("ROC-AUC clean vs checkerboard (2-8 levels): over every image | over the images "
          "that can judge the period (cannot judge: n, their 2-level patterns found)")
    every, some = [], []
    for p in PERIODS:
        ok = [j >= p for j in judged]
        flat = [s for got in pos[p] for s in got]
        sub = [s for got, k in zip(pos[p], ok) if k for s in got]
        neg = [s for s, k in zip(clean, ok) if k]
        every += flat
        some.append((neg, sub))
        miss = [got[0] >= 0.25 for got, k in zip(pos[p], ok) if not k]
        print(f"  period {p:2d}: {auc(clean, flat):.3f} | {auc(neg, sub):.3f} "
              f"(cannot judge: {len(miss)}, found {sum(miss)})")
    print(f"  all:       {auc(clean, every):.3f} | "
          f"{auc(sum((n for n, _ in some), []), sum((q for _, q in some), [])):.3f}")
    print("\ntextures (must stay < 0.25):")
    for name, rgb in texture_images().items():
        print(f"  {name:14s} {sev(rgb):.3f}")


if __name__ == "__main__":
    main()
