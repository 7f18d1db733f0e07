"""CPU per model-free measure, in the artifact check's pipeline order (issue 18).

    python -m scripts.bench.artifact_stages [--n 16] [--rounds 3] [--folder DIR]

Times, on the speed bench's pictures (``scripts/bench/speed.py``'s ``build``: ``--n`` PNGs at
1024 px, or the PNGs of ``--folder``), the decode and each measure of the artifact check in
the order :class:`checks.artifact.ArtifactCheck` runs them, then framing, each picture with a
fresh view cache (a measure pays the shared views it is the first to read, as in a triage),
one OpenCV thread and the triage worker's allocator settings (:mod:`keyframe.allocator`).
Prints the least CPU ms per picture over ``--rounds`` rounds, per stage and summed. Run it
in two trees, alternated, to compare: one run cannot separate a few per cent on a shared
machine.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))           # this checkout's keyframe, not an installed one


def stages() -> list[tuple[str, object]]:
    """(name, measure) in the artifact check's order, then framing."""
    from checks.artifact import banding, blur, compression, grid, noise, sharpness, tonal
    from checks.framing import FramingCheck

    framing = FramingCheck()
    return [("blur", lambda im: blur.measure_blur(im, target=None)),
            ("noise", noise.measure_noise), ("jpeg_blocking", compression.measure_jpeg_blocking),
            ("banding", banding.measure_banding), ("clipping", tonal.measure_clipping),
            ("border", tonal.measure_border), ("grid_artifact", grid.measure_grid_artifact),
            ("oversharpened", sharpness.measure_oversharpened), ("framing", framing.measure)]


def run(paths: list[Path], rounds: int) -> dict[str, float]:
    """Least CPU ms per picture of every stage over ``rounds`` rounds."""
    import cv2

    from keyframe.allocator import keep_freed_memory
    from keyframe.image import load

    cv2.setNumThreads(1)
    keep_freed_memory()
    steps = stages()
    for name, measure in steps:                      # imports and lazy tables, once
        measure(load(paths[0]))
    best: dict[str, float] = {}
    for _ in range(rounds):
        total = dict.fromkeys(["decode"] + [name for name, _ in steps], 0.0)
        for path in paths:
            t = time.process_time()
            image = dataclasses.replace(load(path), cache={})
            total["decode"] += time.process_time() - t
            for name, measure in steps:
                t = time.process_time()
                measure(image)
                total[name] += time.process_time() - t
        best = {k: min(v, best.get(k, v)) for k, v in total.items()}
    return {k: v / len(paths) * 1000 for k, v in best.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=16, help="bench pictures to build")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--folder", type=Path, help="time these PNGs instead of building")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.folder:
            paths = sorted(args.folder.glob("*.png"))
        else:
            from scripts.bench.speed import DATA, build
            paths = build(Path(tmp), args.n, 1024, DATA)
        ms = run(paths, args.rounds)
    for name, v in ms.items():
        print(f"{name:>14}  {v:7.2f} ms")
    print(f"{'sum':>14}  {sum(ms.values()):7.2f} ms  ({len(paths)} pictures, least of "
          f"{args.rounds} rounds)")
    if args.json:
        args.json.write_text(json.dumps(ms, indent=1))


if __name__ == "__main__":
    main()
