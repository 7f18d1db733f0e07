"""How much each anatomy code moves under changes nobody can see: the figures of
docs/anatomy.md ("Stability").

    KEYFRAME_MODELS=../shared/models python -m scripts.calibrate.anatomy_stability [--n 40] [--show]
        [--offset 0] [--seed 0] [--dump readings.jsonl]

Perturbations: +-1 grey level of uniform noise, a 1-px shift (crop one column and one row),
and both. For every code: the largest change of severity while both readings stay below the
default profile's ``minor`` threshold, and how many pictures change level (none / minor /
major / critical) at or above it. Pictures: ai_human_anatomy (every other row) and the real
photos of people of ../shared/data (scripts/calibrate/anatomy.py's sets). ``--offset K``
starts both lists K pictures later (graded: the other half's rows with an odd K), and
``--seed`` draws other noise, so a change can be confirmed on pictures it was not tuned on;
``--dump`` writes every reading (severities and measurements) as JSON Lines, for finding
which detector value moved.
"""
from __future__ import annotations

import argparse
import json
from collections import defaultdict

import numpy as np

from scripts.calibrate.anatomy import sets
from checks.anatomy import AnatomyCheck
from keyframe.image import from_array, load
from keyframe.profiles import load_profile


def perturbations(rgb: np.ndarray, rng) -> dict[str, np.ndarray]:
    noisy = np.clip(rgb.astype(np.int16) + rng.integers(-1, 2, rgb.shape), 0, 255).astype(np.uint8)
    return {"noise": noisy, "shift": np.ascontiguousarray(rgb[1:, 1:]),
            "both": np.ascontiguousarray(noisy[1:, 1:])}


def _read(check: AnatomyCheck, rgb: np.ndarray, dump: str | None, path: str, kind: str
          ) -> dict[str, float]:
    """{code: severity} of one reading, appended to ``dump`` in full when given."""
    found = check.measure(from_array(rgb))
    if dump:
        with open(dump, "a") as fh:
            fh.write(json.dumps({"path": path, "kind": kind, "codes": {
                m.code: {"severity": m.severity, "message": m.message,
                         "measurements": m.measurements} for m in found}}, default=float) + "\n")
    return {m.code: m.severity for m in found}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=40, help="pictures (half graded, half real)")
    ap.add_argument("--show", action="store_true", help="every level change, not the first 3")
    ap.add_argument("--offset", type=int, default=0, help="skip this many pictures of each set")
    ap.add_argument("--seed", type=int, default=0, help="the noise's random seed")
    ap.add_argument("--dump", help="JSON Lines file of every reading")
    args = ap.parse_args()
    items = sets()
    graded = [i for i in items if i["set"] == "ai graded"][args.offset::2][:args.n // 2]
    real = [i for i in items if i["set"] == "real people"][args.offset:][:args.n - len(graded)]
    profile = load_profile("default")
    minor = profile.levels["minor"]
    check = AnatomyCheck()
    rng = np.random.default_rng(args.seed)
    below: dict[str, float] = defaultdict(float)
    below_at: dict[str, str] = {}
    flips: dict[str, list[str]] = defaultdict(list)
    past: dict[str, int] = defaultdict(int)
    margin = profile.gate.level_margin
    for it in graded + real:
        rgb = load(it["path"]).rgb
        base = _read(check, rgb, args.dump, it["path"], "base")
        for kind, moved in perturbations(rgb, rng).items():
            new = _read(check, moved, args.dump, it["path"], kind)
            for code, a in base.items():
                b = new[code]
                rule = profile.rule(code)
                if max(a, b) < minor:
                    if abs(a - b) > below[code]:
                        below[code] = abs(a - b)
                        below_at[code] = f"{it['path'].split('/')[-1][:20]} {kind} {a:.2f}->{b:.2f}"
                elif rule.level(a) != rule.level(b):
                    # the gate reads a crossing by less than its level_margin as wobble
                    past[code] += rule.level(min(a, b) + margin) != rule.level(max(a, b))
                    flips[code].append(f"{it['path'].split('/')[-1][:20]} {kind} "
                                       f"{a:.2f}->{b:.2f}")
        print(".", end="", flush=True)
    print(f"\n{len(graded) + len(real)} pictures x 3 perturbations; default profile "
          f"(minor {minor})")
    print(f"{'code':20s} {'max change below minor':>24s} {'level changes':>14s} "
          f"{'past the margin':>16s}")
    for code in AnatomyCheck.codes:
        print(f"{code:20s} {below[code]:24.3f} {len(flips[code]):14d} {past[code]:16d}  "
              + "; ".join(flips[code] if args.show else flips[code][:3])
              + (f" | below minor: {below_at[code]}" if args.show and code in below_at else ""))


if __name__ == "__main__":
    main()
