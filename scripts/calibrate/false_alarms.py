"""Degraded-vs-clean ROC-AUC of the codes whose false alarms on clean pictures issue 14 fixed:
``clipped_highlights``, ``clipped_shadows`` (checks/artifact/tonal.py), ``noise``
(checks/artifact/noise.py) and ``oversharpened`` (checks/artifact/sharpness.py).

Usage: ``python -m scripts.calibrate.false_alarms [--shared ../shared] [--split S]
[--code C] [--grey] [--verbose]``

Clean images: the three splits of ``scripts/calibrate/clean_certified.py`` (``tune``: even entries of
the clean sets of ``<shared>/data``, the only ones the rules were tuned on; ``held-out``: odd
entries; ``independent``: photos shipped in PyPI packages). Positives, made from each clean
image (nothing is written), three strengths per code:

- clipped_highlights: +1, +2, +3 stops of linear-light gain;
- clipped_shadows: -1, -2, -3 stops with a small black-level pull (``lin * 2**-s - 0.002 s``),
  and the black point raised to 25, 50, 75 (a levels push: ``samples/crushed_shadows.png``);
- noise: Gaussian noise of std 4, 8, 16 grey levels per channel at the 1024-px scale (the
  std added at native size grows with the long side, as tests/test_artifact_noise.py does);
- oversharpened: unsharp mask of radius 1.5 px (at the 1024-px scale), amount 1, 2, 4.

Prints per split and code: ROC-AUC of severity (clean vs each strength and vs all, ties
half) and how many clean images reach minor / major; ``--verbose`` adds every image's row.
``--grey`` measures grey copies (BT.601 luma in all three channels) of every clean picture
instead, degraded the same way: the pictures the monochrome (texture) rule of
``clipped_highlights`` is judged on (tuned on the grey ``tune`` split).
To get another checkout's figures (before/after), run it as a module from that checkout's root
(``python -m`` puts the current folder first on ``sys.path``).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]

from scripts.calibrate.grid import auc  # noqa: E402
from checks.artifact import noise, sharpness, tonal  # noqa: E402
from scripts.calibrate.clean_certified import splits  # noqa: E402
from keyframe.image import load  # noqa: E402
from keyframe_dev.data import add_noise, img, usm  # noqa: E402


def exposed(rgb: np.ndarray, stops: int) -> np.ndarray:
    """``rgb`` with ``stops`` of linear-light gain (negative: darker, black level pulled)."""
    lin = (rgb / 255.0) ** 2.2
    lin = lin * 2.0 ** stops if stops > 0 else lin * 2.0 ** stops - 0.002 * -stops
    return (np.clip(lin, 0, 1) ** (1 / 2.2) * 255).round().astype(np.uint8)


def black_point(rgb: np.ndarray, level: int) -> np.ndarray:
    """Levels with the black point raised to ``level``: everything below it crushed."""
    out = (rgb.astype(np.float64) - level) / (255.0 - level) * 255.0
    return np.clip(out.round(), 0, 255).astype(np.uint8)


def _scale(rgb: np.ndarray) -> float:
    return max(1.0, max(rgb.shape[:2]) / 1024)


DEGRADE = {
    "clipped_highlights": (("+1", lambda x: exposed(x, 1)), ("+2", lambda x: exposed(x, 2)),
                           ("+3", lambda x: exposed(x, 3))),
    "clipped_shadows": (("-1", lambda x: exposed(x, -1)), ("-2", lambda x: exposed(x, -2)),
                        ("-3", lambda x: exposed(x, -3)))
    + tuple((f"bp{b}", lambda x, b=b: black_point(x, b)) for b in (25, 50, 75)),
    "noise": tuple((f"s{s}", lambda x, s=s: add_noise(x, s * _scale(x))) for s in (4, 8, 16)),
    "oversharpened": tuple((f"a{a}", lambda x, a=a: usm(x, 1.5 * _scale(x), a))
                           for a in (1, 2, 4)),
}


def severity(code: str, rgb: np.ndarray) -> float:
    im = img(rgb)
    if code == "noise":
        return noise.measure_noise(im).severity
    if code == "oversharpened":
        return sharpness.measure_oversharpened(im).severity
    hi, lo = tonal.measure_clipping(im)
    return hi.severity if code == "clipped_highlights" else lo.severity


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=str(ROOT.parent / "shared"))
    ap.add_argument("--split", choices=("tune", "held-out", "independent"), default=None)
    ap.add_argument("--code", choices=tuple(DEGRADE), action="append", default=None)
    ap.add_argument("--grey", action="store_true", help="grey copies of the clean pictures")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    sets = splits(Path(args.shared) / "data")
    if args.split:
        sets = {args.split: sets[args.split]}
    codes = args.code or list(DEGRADE)
    for split, paths in sets.items():
        clean = {c: [] for c in codes}
        pos = {(c, name): [] for c in codes for name, _ in DEGRADE[c]}
        for path in paths:
            rgb = load(path).rgb
            if args.grey:
                rgb = np.repeat(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)
            row = []
            for c in codes:
                s0 = severity(c, rgb)
                clean[c].append(s0)
                got = []
                for name, fn in DEGRADE[c]:
                    s = severity(c, fn(rgb))
                    pos[(c, name)].append(s)
                    got.append(f"{s:.2f}")
                row.append(f"{c[:10]} {s0:.2f} ({' '.join(got)})")
            if args.verbose:
                print(f"{split:11s} {path.name[:30]:30s} " + " | ".join(row))
        print(f"== {split}: {len(paths)} clean images")
        for c in codes:
            aucs = " ".join(f"{name}: {auc(clean[c], pos[(c, name)]):.3f}"
                            for name, _ in DEGRADE[c])
            every = auc(clean[c], sum((pos[(c, name)] for name, _ in DEGRADE[c]), []))
            print(f"  {c:18s} ROC-AUC {aucs} all: {every:.3f}; clean >= minor "
                  f"{sum(v >= 0.25 for v in clean[c])}, >= major "
                  f"{sum(v >= 0.5 for v in clean[c])}")


if __name__ == "__main__":
    main()
