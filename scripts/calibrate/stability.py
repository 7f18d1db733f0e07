"""Do the scores stay put under changes nobody can see?

A gate whose verdict flips on invisible noise cannot be trusted. For every picture of the dev
sets in ../shared/data (MANIFEST.csv: the generations, photos and composites — not the
alpha mattes, trimaps or plates — brought to at most ``--long-side`` px; RGBA cut-outs keep
their alpha, composites with a ground-truth alpha get it as their subject matte, so the
edge-halo codes are read too) every check runs on the picture and on four copies nobody
could tell apart:

* ``noise``: +-1 grey level of uniform noise on every channel;
* ``shift``: the picture moved by one pixel right and down, same size (the first row and
  column repeated; alpha and matte moved with it);
* ``png``: a PNG encode and decode (the loader's own path; must change nothing);
* ``edit``: a 24-px square far from every finding region softened (a 1-px Gaussian).

Per code: the largest change while both readings stay below ``minor`` (bound: 0.05), and
the number of level changes where a reading is at or above ``minor`` (bound: 0) — the
profile's levels, ``default`` unless ``--profile`` — with, beside it, how many of those
cross the threshold by more than the profile's ``[gate] level_margin`` (the gate reads a
smaller crossing as wobble, not damage).

    python -m scripts.calibrate.stability [--limit N] [--only TEXT] [--check NAME]
                                          [--long-side 1024] [--json out.jsonl]
    KEYFRAME_MODELS=/work/shared/models python -m scripts.calibrate.stability   # anatomy codes too

docs/stability.md quotes its table.
"""
from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import sys
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]

from keyframe.assess import default_checks, measure  # noqa: E402
from keyframe.image import ImageError, encode_png, from_array, load, load_bytes  # noqa: E402
from keyframe.profiles import load_profile  # noqa: E402
from keyframe.report import level_rank  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
#: MANIFEST labels of files that are not pictures to judge (mattes, trimaps, plates)
NOT_PICTURES = ("ground-truth alpha", "alpha by", "predicted alpha", "trimap",
                "background plate", "estimated")
BELOW_MINOR_BOUND = 0.05


def pictures(long_side: int, limit: int | None, only: str | None = None):
    """(path, rgb, alpha or None, matte or None): RGBA cut-outs keep their alpha (the
    edge-halo check reads it), composites with a ground-truth alpha get it as their subject
    matte (as with ``--mattes``); all brought to at most ``long_side`` px."""
    with (DATA / "MANIFEST.csv").open(newline="") as fh:
        rows = [r for r in csv.DictReader(fh)
                if not r["label"].lower().startswith(NOT_PICTURES)
                and (only is None or only in r["path"])]
    for row in rows[:limit]:
        try:
            image = load(DATA / row["path"])
        except ImageError as exc:
            print(f"skipped {row['path']}: {exc}", file=sys.stderr)
            continue
        matte = None
        gt = row["ground_truth"].strip()
        if image.alpha is None and gt.endswith(".png") and "composite" in row["label"] \
                or "portrait photo" in row["label"]:
            try:
                matte = load_mask_plane(DATA / gt, image.rgb.shape[:2])
            except (ImageError, ValueError):
                matte = None
        planes = [image.rgb, image.alpha, matte]
        h, w = image.rgb.shape[:2]
        f = long_side / max(h, w)
        if f < 1:
            size = (round(w * f), round(h * f))
            planes = [None if p is None else cv2.resize(p, size, interpolation=cv2.INTER_AREA)
                      for p in planes]
        yield row["path"], *[None if p is None else np.ascontiguousarray(p) for p in planes]


def load_mask_plane(path: Path, shape: tuple[int, int]) -> np.ndarray:
    """A grey matte of ``shape`` (the luma of the file)."""
    grey = load(path).rgb[..., 0]
    if grey.shape != shape:
        raise ValueError(f"{path}: matte size {grey.shape} is not the picture's {shape}")
    return grey


def scores(planes, checks=None) -> tuple[dict[str, float], list]:
    """Severity per code of ``planes`` under ``checks`` (None: every registered check), and
    the finding regions."""
    rgb, alpha, matte = planes
    image = from_array(rgb, alpha=alpha, name="x.png")
    if matte is not None:
        image = dataclasses.replace(image, matte=matte, cache={})
    found, _ = measure(image, checks=checks)
    return {c: m.severity for c, m in found.items()}, [m.region for m in found.values()
                                                         if m.region]


def far_square(shape, regions, size=24) -> tuple[int, int]:
    """Top-left of a ``size`` square in one of the four corner areas, the farthest from
    every finding region's centre."""
    h, w = shape[:2]
    spots = [(int(0.08 * w), int(0.08 * h)), (int(0.92 * w) - size, int(0.08 * h)),
             (int(0.08 * w), int(0.92 * h) - size), (int(0.92 * w) - size, int(0.92 * h) - size)]
    centres = [(x + rw / 2, y + rh / 2) for x, y, rw, rh in regions] or [(w / 2, h / 2)]
    return max(spots, key=lambda s: min(np.hypot(s[0] - cx, s[1] - cy) for cx, cy in centres))


def _shifted(p: np.ndarray | None) -> np.ndarray | None:
    """``p`` moved one pixel right and down, same size (first row and column repeated)."""
    if p is None:
        return None
    pad = ((1, 0), (1, 0)) + ((0, 0),) * (p.ndim - 2)
    return np.ascontiguousarray(np.pad(p, pad, mode="edge")[:-1, :-1])


def perturbations(planes, regions):
    """(name, perturbed planes): copies nobody could tell from ``planes``."""
    rgb, alpha, matte = planes
    rng = np.random.default_rng(0)
    noisy = np.clip(rgb.astype(np.int16) + rng.integers(-1, 2, rgb.shape), 0, 255)
    yield "noise", (noisy.astype(np.uint8), alpha, matte)
    yield "shift", tuple(_shifted(p) for p in planes)
    yield "png", (load_bytes(encode_png(rgb), name="x.png").rgb, alpha, matte)
    x, y = far_square(rgb.shape, regions)
    edited = rgb.copy()
    if min(rgb.shape[:2]) > 64:
        edited[y:y + 24, x:x + 24] = cv2.GaussianBlur(rgb, (0, 0), 1.0)[y:y + 24, x:x + 24]
    yield "edit", (edited, alpha, matte)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--limit", type=int, help="only the first N pictures")
    ap.add_argument("--only", metavar="TEXT", help="only the pictures whose path holds TEXT")
    ap.add_argument("--long-side", type=int, default=1024)
    ap.add_argument("--profile", default="default")
    ap.add_argument("--json", type=Path, help="write one JSON line per picture here")
    ap.add_argument("--check", action="append", metavar="NAME",
                    help="run only this check (artifact, text, edge_halo, ...; repeatable): "
                         "the far edit's square then avoids only that check's findings")
    args = ap.parse_args()
    checks = None
    if args.check:
        checks = [c for c in default_checks() if c.name in args.check]
        unknown = set(args.check) - {c.name for c in checks}
        if unknown:
            ap.error(f"unknown check(s): {', '.join(sorted(unknown))}")
    profile = load_profile(args.profile)
    below = defaultdict(lambda: (0.0, ""))          # code: (largest change, where)
    flips = defaultdict(list)                       # code: [(where, a, b)]
    wide = defaultdict(int)                         # code: level changes past the margin
    seen = defaultdict(int)
    out = args.json.open("w") if args.json else None
    n = 0
    for path, *planes in pictures(args.long_side, args.limit, args.only):
        n += 1
        base, regions = scores(planes, checks)
        record = {"path": path, "scores": {c: round(v, 4) for c, v in base.items()},
                  "changes": {}}
        for name, pert in perturbations(planes, regions):
            a, b = base, scores(pert, checks)[0]
            for code in a.keys() & b.keys():
                rule = profile.rule(code)
                seen[code] += 1
                d = abs(b[code] - a[code])
                record["changes"].setdefault(code, {})[name] = round(b[code] - a[code], 4)
                la, lb = rule.level(a[code]), rule.level(b[code])
                if la is None and lb is None:
                    if d > below[code][0]:
                        below[code] = (d, f"{name} on {path} ({a[code]:.2f} -> {b[code]:.2f})")
                elif level_rank(la) != level_rank(lb):
                    flips[code].append(f"{name} on {path} ({a[code]:.2f} {la or '-'} -> "
                                       f"{b[code]:.2f} {lb or '-'})")
                    m = profile.gate.level_margin
                    hi, lo = max(a[code], b[code]), min(a[code], b[code])
                    if level_rank(rule.level(hi - m)) > level_rank(rule.level(lo)):
                        wide[code] += 1
        if out:
            out.write(json.dumps(record) + "\n")
            out.flush()
        print(f"{n:4d} {path}", file=sys.stderr)
    if out:
        out.close()
    print(f"{n} pictures, perturbations: noise +-1, 1-px shift, PNG round-trip, far edit; "
          f"profile {profile.name}")
    print("| code | readings | largest change below minor (bound 0.05) | level changes at or "
          f"above minor (bound 0) | of which past the {profile.gate.level_margin:g} margin | "
          "within bounds | worst case |")
    print("|---|---|---|---|---|---|---|")
    for code in sorted(seen):
        d, where = below[code]
        ok = d <= BELOW_MINOR_BOUND and not flips[code]
        worst = flips[code][0] if flips[code] else where
        print(f"| `{code}` | {seen[code]} | {d:.3f} | {len(flips[code])} | {wide[code]} | "
              f"{'yes' if ok else '**no**'} | {worst or '-'} |")


if __name__ == "__main__":
    main()
