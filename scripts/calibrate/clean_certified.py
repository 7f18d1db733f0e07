"""How many clean images certify with every check and model on (issue 14: goal >= 95 %).

Usage::

    KEYFRAME_MODELS=/work/shared/models python -m scripts.calibrate.clean_certified \
        [--shared ../shared] [--profile default] [--target T] [--jsonl OUT.jsonl] [--split S]

Clean images, in three splits (``--split`` picks one; all by default):

- ``tune``: the even-numbered entries of ``keyframe_dev.data.clean_paths`` (every clean set of
  ``<shared>/data``: ComfyUI generations, skimage astronaut, LIVE references, blur_dataset
  ``_S`` shots, p3m portraits, mmpose real photos of people) — the images the tonal, noise
  and oversharpened false-alarm rules of issue 14 were tuned on;
- ``held-out``: the odd-numbered entries of the same list, never looked at while tuning —
  except for ``noise``, whose noise floor (checks/artifact/noise.py) was found on three
  held-out FreiHand composites and checked against the tune split;
- ``independent``: photos shipped inside PyPI packages, none of them in ../shared:
  scikit-image's chelsea, coffee, rocket, motorcycle_left and camera, and, when the packages
  are installed, scikit-learn's china and flower and matplotlib's grace_hopper.

Each image is assessed like ``keyframe check`` does (every registered check, the profile,
the target; anatomy runs when ``$KEYFRAME_MODELS`` holds its models — the script says when
a check was skipped). Prints one row per image that does not certify (verdict, the codes at
major or above with their severities), the certified share per split and overall, and how
often each code blocked. ``--jsonl`` writes every report (``keyframe.report/1``) so a run can
be re-routed (``keyframe route OUT.jsonl --profile strict``).
"""
from __future__ import annotations

import argparse
import collections
import importlib.util
import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

from keyframe.assess import assess_path  # noqa: E402
from keyframe.profiles import load_profile  # noqa: E402
from keyframe.report import level_rank  # noqa: E402
from keyframe_dev.data import clean_paths  # noqa: E402

SKIMAGE = ("chelsea.png", "coffee.png", "rocket.jpg", "motorcycle_left.png", "camera.png")


def package_file(module: str, *parts: str) -> Path | None:
    """A data file shipped inside an installed package, or None when it is not installed."""
    try:
        spec = importlib.util.find_spec(module)   # a submodule's lookup imports its parent
    except ModuleNotFoundError:
        return None
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent.joinpath(*parts)
    return path if path.exists() else None


def independent_paths() -> list[Path]:
    """Photos shipped in PyPI packages (scikit-image always; scikit-learn and matplotlib when
    installed)."""
    out = [package_file("skimage.data", name) for name in SKIMAGE]
    out += [package_file("sklearn.datasets", "images", n) for n in ("china.jpg", "flower.jpg")]
    out.append(package_file("matplotlib", "mpl-data", "sample_data", "grace_hopper.jpg"))
    return [p for p in out if p is not None]


def splits(data: Path) -> dict[str, list[Path]]:
    shared = clean_paths(data) if data.is_dir() else []
    return {"tune": shared[0::2], "held-out": shared[1::2], "independent": independent_paths()}


def blocking(report) -> list[str]:
    return [f"{f.code} {f.severity:.2f}" for f in report.findings
            if level_rank(f.level) >= level_rank("major")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", default=str(ROOT.parent / "shared"))
    ap.add_argument("--profile", default="default")
    ap.add_argument("--target", default=None)
    ap.add_argument("--jsonl", default=None)
    ap.add_argument("--split", choices=("tune", "held-out", "independent"), default=None)
    args = ap.parse_args()
    if not os.environ.get("KEYFRAME_MODELS"):
        print("note: KEYFRAME_MODELS is not set; anatomy runs only if the default cache holds "
              "its models")
    profile = load_profile(args.profile)
    sets = splits(Path(args.shared) / "data")
    if args.split:
        sets = {args.split: sets[args.split]}
    out = open(args.jsonl, "w") if args.jsonl else None
    totals: dict[str, list[int]] = {}
    blockers: collections.Counter[str] = collections.Counter()
    skipped: collections.Counter[str] = collections.Counter()
    times = []
    for split, paths in sets.items():
        ok = 0
        for path in paths:
            t = time.perf_counter()
            report, _ = assess_path(path, profile=profile, target=args.target)
            times.append(time.perf_counter() - t)
            if out:
                out.write(report.to_json() + "\n")
            for s in report.skipped:
                skipped[f"{s.check}: {s.reason}"] += 1
            if report.verdict == "certified":
                ok += 1
                continue
            codes = blocking(report)
            blockers.update(c.split()[0] for c in codes)
            print(f"{split:11s} {report.verdict:9s} {path.name[:44]:44s} {', '.join(codes)}")
        totals[split] = [ok, len(paths)]
    if out:
        out.close()
    print()
    for split, (ok, n) in totals.items():
        print(f"{split:11s} certified {ok:3d} of {n:3d} ({100 * ok / max(n, 1):5.1f} %)")
    ok, n = (sum(v[i] for v in totals.values()) for i in (0, 1))
    print(f"{'all':11s} certified {ok:3d} of {n:3d} ({100 * ok / max(n, 1):5.1f} %)")
    print("blocking codes: " + (", ".join(f"{c} {k}" for c, k in blockers.most_common())
                               or "none"))
    for reason, k in skipped.items():
        print(f"skipped on {k} images: {reason}")
    print(f"median time per image {1000 * sorted(times)[len(times) // 2]:.0f} ms")


if __name__ == "__main__":
    main()
