"""Dump, then compare, every measurement of the model-backed checks on a set of pictures.

Usage::

    KEYFRAME_MODELS=../shared/models python -m scripts.bench.models_equal dump before.pkl
    ... change the code ...
    KEYFRAME_MODELS=../shared/models python -m scripts.bench.models_equal dump after.pkl
    python -m scripts.bench.models_equal compare before.pkl after.pkl

The set is every picture of ``../shared/data`` plus ``--bench N`` pictures built as
``scripts/bench/speed.py`` builds them (1024 px). Each check's measurements (code, severity,
message, region and every measurement value) are stored per picture with the check's CPU
time (``time.process_time``, one OpenCV thread); ``compare`` prints every difference, the
number of pictures whose severity at >= ``--minor`` is lower after (findings lost) and the
CPU ratio per check. A speed change meant to keep readings identical must print no
difference at all.
"""
from __future__ import annotations

import argparse
import pickle
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"
EXTS = (".png", ".jpg", ".jpeg", ".webp")


def pictures(bench: int) -> list[Path]:
    """Every picture of ../shared/data, then ``bench`` speed-bench pictures."""
    paths = sorted(p for p in DATA.rglob("*") if p.suffix.lower() in EXTS)
    if bench:
        from scripts.bench.speed import build
        paths += build(Path(tempfile.mkdtemp()), bench, 1024, DATA)
    return paths


def dump(out: Path, *, bench: int, checks: tuple[str, ...]) -> None:
    import cv2

    from keyframe.assess import default_checks
    from keyframe.image import ImageError, load

    cv2.setNumThreads(1)
    run = [c for c in default_checks() if c.name in checks]
    rows = {}
    for p in pictures(bench):
        try:
            image = load(p)
        except ImageError:
            continue
        row = {}
        for c in run:
            t = time.process_time()
            try:
                ms = c.measure(image)
            except Exception as exc:  # noqa: BLE001 - recorded as the reading (skips)
                ms = f"{type(exc).__name__}: {exc}"
            cpu = time.process_time() - t
            if not isinstance(ms, str):
                ms = [(m.code, m.severity, m.message, m.region,
                       {k: v for k, v in sorted(m.measurements.items())}) for m in ms]
            row[c.name] = (ms, cpu)
        key = str(p.relative_to(DATA)) if p.is_relative_to(DATA) else p.name
        rows[key] = row
    out.write_bytes(pickle.dumps(rows))
    print(f"{len(rows)} pictures -> {out}")


def compare(a: Path, b: Path, *, minor: float) -> int:
    ra, rb = pickle.loads(a.read_bytes()), pickle.loads(b.read_bytes())
    diffs = lost = 0
    cpu: dict[str, list[float]] = {}
    for key in sorted(set(ra) & set(rb)):
        for check in sorted(set(ra[key]) & set(rb[key])):
            (ma, ta), (mb, tb) = ra[key][check], rb[key][check]
            cpu.setdefault(check, [0.0, 0.0])
            cpu[check][0] += ta
            cpu[check][1] += tb
            if ma == mb:
                continue
            diffs += 1
            if isinstance(ma, str) or isinstance(mb, str):
                print(f"{key} {check}: {ma!r:.80} -> {mb!r:.80}")
                continue
            for x, y in zip(ma, mb):
                if x != y:
                    print(f"{key} {check} {x[0]}: {x[1]:.4f} -> {y[1]:.4f}"
                          + ("" if x[2] == y[2] else f" | {x[2]!r:.60} -> {y[2]!r:.60}"))
                    for k in sorted(set(x[4]) | set(y[4])):
                        if x[4].get(k) != y[4].get(k):
                            print(f"    {k}: {x[4].get(k)} -> {y[4].get(k)}")
                if x[1] >= minor and y[1] < minor:
                    lost += 1
    print(f"{len(set(ra) & set(rb))} pictures; {diffs} check readings differ; "
          f"{lost} findings at >= {minor} lost")
    for check, (ta, tb) in cpu.items():
        print(f"  {check}: CPU {ta:.2f} s -> {tb:.2f} s ({tb / max(ta, 1e-9):.3f}x)")
    return diffs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("dump")
    d.add_argument("out", type=Path)
    d.add_argument("--bench", type=int, default=16)
    d.add_argument("--checks", default="anatomy,text,edge_halo")
    c = sub.add_parser("compare")
    c.add_argument("a", type=Path)
    c.add_argument("b", type=Path)
    c.add_argument("--minor", type=float, default=0.25)
    args = ap.parse_args()
    if args.cmd == "dump":
        dump(args.out, bench=args.bench, checks=tuple(args.checks.split(",")))
    else:
        sys.exit(1 if compare(args.a, args.b, minor=args.minor) else 0)


if __name__ == "__main__":
    main()
