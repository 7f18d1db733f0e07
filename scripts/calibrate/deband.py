"""Does ``deband`` bring a banded picture closer to the clean one, and take the bands away?

Data: ``eval_gate``'s banding ladder — its clean pictures (``pictures(1024)``: eight ComfyUI
generations and six photos of ../shared/data; ``--held-out``: scikit-image's coffee, chelsea
and rocket, for reporting only) with their smooth areas posterised to 16, 24 and 40 levels
per channel (``smooth_banding``). For each case the banding measure flags (>= 0.25) the fix
runs with the params it plans, once with the quantisation cell (what new plans use) and once
without (``cell = 0``, the self-guided filter of recipes written before it). Printed: PSNR
to the clean picture of the banded input and of each result, and ``banding`` read on each
result (< 0.25: no visible banding). The constants of ``keyframe/fixes/deband.py`` were set
from this table; its figures are on docs/fixes.md#deband.

    python -m scripts.calibrate.deband [--held-out] [--images flux_dev_example,lemur]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from checks.artifact.banding import measure_banding
from keyframe.fixes.deband import Deband
from keyframe.image import from_array
from scripts.calibrate.eval_gate import psnr, smooth_banding
from scripts.calibrate.gate_pictures import pictures

LEVELS = (16, 24, 40)


def banding(rgb: np.ndarray) -> float:
    return float(measure_banding(from_array(rgb, name="x.png")).severity)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--held-out", action="store_true")
    ap.add_argument("--images", help="comma-separated picture stems")
    args = ap.parse_args()
    fix = Deband()
    print("| picture | levels | banding | PSNR banded | guided (cell 0) | cell | "
          "banding after: guided | cell | s (cell) |")
    print("|---|---|---|---|---|---|---|---|---|")
    rows = []
    for stem, clean in pictures(1024, held_out=args.held_out):
        if args.images and stem not in args.images.split(","):
            continue
        for levels in LEVELS:
            banded = smooth_banding(clean, levels)
            m = measure_banding(from_array(banded, name="x.png"))
            if m.severity < 0.25:
                continue
            planned = Deband.plan_params(m)
            old = fix.apply(banded, Deband.validate({**planned, "cell": 0.0}))
            t0 = time.process_time()
            new = fix.apply(banded, Deband.validate(planned))
            secs = time.process_time() - t0
            row = (psnr(banded, clean), psnr(old, clean), psnr(new, clean),
                   banding(old), banding(new))
            rows.append(row)
            print(f"| {stem} | {levels} | {m.severity:.2f} | {row[0]:.1f} | {row[1]:.1f} | "
                  f"{row[2]:.1f} | {row[3]:.2f} | {row[4]:.2f} | {secs:.2f} |", flush=True)
    if rows:
        a = np.array(rows)
        print(f"| **mean of {len(rows)}** | | | {a[:, 0].mean():.1f} | {a[:, 1].mean():.1f} | "
              f"{a[:, 2].mean():.1f} | {(a[:, 3] >= 0.25).sum()} >= 0.25 | "
              f"{(a[:, 4] >= 0.25).sum()} >= 0.25 (max {a[:, 4].max():.2f}) | |")
        print(f"cell below the banded input: {(a[:, 2] < a[:, 0]).sum()} of {len(rows)} "
              f"(worst {np.min(a[:, 2] - a[:, 0]):+.1f} dB); guided below: "
              f"{(a[:, 1] < a[:, 0]).sum()} (worst {np.min(a[:, 1] - a[:, 0]):+.1f} dB)")


if __name__ == "__main__":
    main()
