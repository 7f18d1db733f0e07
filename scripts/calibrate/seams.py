"""Calibrate grid_artifact's tile-offset reading and degrid's offset solve on real pictures.

Data (nothing copied into the project): every clean picture of ../shared/data
(:func:`keyframe_dev.data.clean_paths`: ComfyUI generations, astronaut, LIVE references,
blur_dataset ``_S`` shots, p3m portraits, mmpose real photos), each brought to at most
``--long-side`` px (area). **tune** = the even entries (the anchors in checks/artifact/grid.py
were set on them), **held-out** = the odd entries, **independent** = scikit-image's chelsea,
coffee, rocket and camera. Each picture gets the eval_gate seams
degradation (64-px tiles, each offset by its own +-a grey levels) at every rung.

Per split and rung: the median ``grid_artifact`` severity and tile offset read, the share
at minor / major, and (``--fix``) the residual tile-offset spread against the clean picture
after ``degrid`` planned from the measurement (:func:`keyframe_dev.data.tile_spread`, the
oracle of scripts/calibrate/eval_gate.py).

    python -m scripts.calibrate.seams [--split tune|held-out|independent] [--limit N] [--fix]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]

from checks.artifact.grid import measure_grid_artifact  # noqa: E402
from keyframe.fixes.degrid import Degrid  # noqa: E402
from keyframe_dev.data import clean_paths, img, read_rgb, tile_spread, tiled  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
RUNGS = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0)
INDEPENDENT = ("chelsea", "coffee", "rocket", "camera")


def pictures(split: str, long_side: int):
    if split == "independent":
        import skimage.data
        items = [(n, lambda n=n: getattr(skimage.data, n)()) for n in INDEPENDENT]
    else:
        paths = clean_paths(DATA)[0 if split == "tune" else 1::2]
        items = [(p.stem, lambda p=p: read_rgb(p)) for p in paths]
    for stem, read in items:
        rgb = read()
        if rgb.ndim == 2:
            rgb = np.repeat(rgb[..., None], 3, axis=2)
        rgb = np.ascontiguousarray(rgb[..., :3])
        h, w = rgb.shape[:2]
        f = long_side / max(h, w)
        if f < 1:
            rgb = cv2.resize(rgb, (round(w * f), round(h * f)), interpolation=cv2.INTER_AREA)
        yield stem, rgb


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--split", default="tune", choices=("tune", "held-out", "independent"))
    ap.add_argument("--long-side", type=int, default=1024)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--fix", action="store_true", help="also run degrid and the oracle")
    args = ap.parse_args()
    rows = {a: [] for a in RUNGS}
    t0 = time.perf_counter()
    for i, (stem, clean) in enumerate(pictures(args.split, args.long_side)):
        if args.limit and i >= args.limit:
            break
        line = []
        for amp in RUNGS:
            rgb = tiled(clean, amp) if amp else clean
            m = measure_grid_artifact(img(rgb))
            rec = {"sev": m.severity, "off": m.measurements["tile_offset"]}
            if args.fix and m.severity > 0:
                out = Degrid().apply(rgb, Degrid.validate(Degrid.plan_params(m)))
                rec["after"] = tile_spread(out, clean, rgb)
                rec["sev_after"] = measure_grid_artifact(img(out)).severity
            rows[amp].append(rec)
            line.append(f"{amp:g}:{m.severity:.2f}/{rec['off']:.2f}"
                        + (f">{rec['after']:.2f}" if "after" in rec else ""))
        print(f"{stem[:36]:36s} {' '.join(line)}", file=sys.stderr)
    n = len(rows[RUNGS[0]])
    print(f"split {args.split}: {n} pictures, {time.perf_counter() - t0:.0f} s")
    print("| offset +-a | median severity | max severity | minor+ | major+ | median offset read "
          "| residual after degrid: median / max / share > 1 |")
    print("|---|---|---|---|---|---|---|")
    for amp in RUNGS:
        rs = rows[amp]
        sev = np.array([r["sev"] for r in rs])
        off = np.array([r["off"] for r in rs])
        after = np.array([r["after"] for r in rs if "after" in r])
        fix = (f"{np.median(after):.2f} / {after.max():.2f} / {np.mean(after > 1):.0%}"
               if after.size else "-")
        print(f"| {amp:g} | {np.median(sev):.2f} | {sev.max():.2f} | {np.mean(sev >= 0.25):.0%} "
              f"| {np.mean(sev >= 0.5):.0%} | {np.median(off):.2f} | {fix} |")


if __name__ == "__main__":
    main()
