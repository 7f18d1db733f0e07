"""How much each anatomy code moves under an imperceptible change (+-1 grey level of noise),
with one reading and with the check's two (the picture and its mirror image, lower
severity counts): the figures of README.md ("Models and the anatomy check").

    KEYFRAME_MODELS=../shared/models python scripts/anatomy_stability.py [--data ../shared/data]
"""
from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from checks.anatomy import AnatomyCheck  # noqa: E402
from keyframe.image import from_array, load  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    args = ap.parse_args()
    graded = args.data / "ai_human_anatomy"
    paths = [graded / r["path"] for r in csv.DictReader(open(graded / "labels_per_image.csv"))]
    paths = [p for p in paths if p.exists()]
    paths += sorted((args.data / "mmpose_testdata").rglob("*.jpg"))[:16]
    check = AnatomyCheck()
    rng = np.random.default_rng(0)
    moves: dict[str, dict[str, list[float]]] = {"one reading": {}, "two readings": {}}
    for p in paths:
        rgb = load(p).rgb
        noisy = np.clip(rgb.astype(np.int16) + rng.integers(-1, 2, rgb.shape), 0, 255)
        noisy = noisy.astype(np.uint8)
        for label, run in (("one reading", lambda x: check._once(from_array(x))),
                           ("two readings", lambda x: check.measure(from_array(x)))):
            a = {m.code: m.severity for m in run(rgb)}
            b = {m.code: m.severity for m in run(noisy)}
            for code in a:
                moves[label].setdefault(code, []).append(abs(a[code] - b.get(code, 0.0)))
    print(f"{len(paths)} images (ai_human_anatomy + mmpose real photos), +-1 grey level noise")
    for label, per_code in moves.items():
        print(label)
        for code, v in per_code.items():
            v = np.asarray(v)
            print(f"  {code:18s} mean {v.mean():.3f}  p90 {np.percentile(v, 90):.3f}  "
                  f"max {v.max():.3f}  share > 0.1 {np.mean(v > 0.1):.2f}")


if __name__ == "__main__":
    main()
