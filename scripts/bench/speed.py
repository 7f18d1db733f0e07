"""keyframe's speed next to cleanvision's, in one run, one core each (issue 18).

Builds a temp folder of PNGs (long side ``--side`` px, 1024 by default) from
``../shared/data``'s ComfyUI generations and AI-anatomy pictures, then times, each in its
own child process with one thread (``OMP/OPENBLAS/MKL_NUM_THREADS=1``, OpenCV's pool at 1,
the ONNX sessions are single-threaded already; ``--pin`` adds ``taskset -c 0``):

* ``decode``    — :func:`keyframe.image.load` of every file (the floor of any check);
* ``cleanvision`` — ``Imagelab.find_issues(n_jobs=1)``, its default issue types
  (``pip install 'keyframe[bench]'``; the row says so when it is not installed);
* ``model-free`` — ``keyframe.batch.triage`` with ``--checks artifact,framing``;
* ``full``      — the same with every check, ``KEYFRAME_MODELS`` set to ``--models``;
* ``full --jobs 2`` — the full suite on a pool of two workers (wall-clock scaling; the
  workers' peak RSS);
* ``cold check`` — ``keyframe check one.png`` as a new process, every model installed;
* ``gate vs check`` — one image that needs one fix (a certified picture blurred until its
  plan is one ``sharpen`` that the gate keeps and certifies): the time of ``assess`` against ``gate`` + ``write_package`` of
  the certified result (both warm: sessions made, imports done; the least CPU and wall of
  :data:`GATE_ROUNDS` alternated rounds of each), and ``keyframe gate -o``
  against ``keyframe check`` of it, each as a new process (what a pipeline calling
  keyframe once per picture pays).

Every row gives wall seconds and **process CPU seconds** (user + system, children
included) per image: the machine is shared, so CPU time is the figure to compare; wall
time is only meaningful on a quiet machine. Ratios are printed at the end; quote them from
one run.

    python -m scripts.bench.speed [--n 24] [--side 1024] [--pin] [--json out.json]
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))           # this checkout's keyframe, not an installed one
DATA = ROOT.parent / "shared" / "data"
MODELS = ROOT.parent / "shared" / "models"
#: rounds of the warm gate-vs-check row: on a shared machine one round's ratio moved by
#: +-0.1x (2.2-2.5x on one picture), the least of five of each is steadier
GATE_ROUNDS = 5
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
              "NUMEXPR_NUM_THREADS": "1"}


def _cpu() -> float:
    """CPU seconds (user + system) of this process and its waited-for children."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def build(folder: Path, n: int, side: int, data: Path) -> list[Path]:
    """``n`` PNGs with the long side at ``side`` px (area or cubic resize), cycling through
    the ComfyUI and anatomy pictures; repeats are shifted by one grey level so no two files
    are equal (the store would assess equal files once)."""
    import cv2
    import numpy as np
    from PIL import Image

    srcs = sorted((data / "comfyui_examples").glob("*/*.png"))
    srcs += sorted(p for p in (data / "ai_human_anatomy" / "images").glob("*/*/*")
                   if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".webp"))
    if not srcs:
        raise SystemExit(f"no pictures under {data}")
    out = []
    step = max(1, len(srcs) // n)
    picks = (srcs[::step] * (n // max(1, len(srcs[::step])) + 1))[:n]
    for i, p in enumerate(picks):
        rgb = np.asarray(Image.open(p).convert("RGB"))
        if i >= len(srcs[::step]):
            rgb = np.clip(rgb.astype(np.int16) + i // len(srcs[::step]), 0, 255).astype(np.uint8)
        h, w = rgb.shape[:2]
        f = side / max(h, w)
        rgb = cv2.resize(rgb, (round(w * f), round(h * f)),
                         interpolation=cv2.INTER_AREA if f < 1 else cv2.INTER_CUBIC)
        dest = folder / f"b{i:03d}.png"
        Image.fromarray(rgb).save(dest)
        out.append(dest)
    return out


# ------------------------------------------------------------------ child-process rows

def _one_thread() -> None:
    import cv2

    cv2.setNumThreads(1)


def row_decode(folder: Path) -> dict:
    import keyframe
    from keyframe.image import load

    assert Path(keyframe.__file__).resolve().parent == ROOT / "keyframe", keyframe.__file__
    paths = sorted(folder.glob("*.png"))
    t, c = time.perf_counter(), _cpu()
    for p in paths:
        load(p)
    return {"n": len(paths), "wall": time.perf_counter() - t, "cpu": _cpu() - c}


def row_cleanvision(folder: Path) -> dict:
    try:
        from cleanvision import Imagelab
    except ImportError:
        return {"missing": "cleanvision is not installed: pip install 'keyframe[bench]'"}
    n = len(list(folder.glob("*.png")))
    t, c = time.perf_counter(), _cpu()
    lab = Imagelab(data_path=str(folder), verbose=False)
    lab.find_issues(n_jobs=1, verbose=False)
    return {"n": n, "wall": time.perf_counter() - t, "cpu": _cpu() - c}


def row_triage(folder: Path, checks: str, jobs: int) -> dict:
    from keyframe.batch import BatchOptions, iter_images, triage
    from keyframe.executors import LocalExecutor

    paths = list(iter_images([folder]))
    options = BatchOptions(checks=tuple(checks.split(",")) if checks else None)
    with tempfile.TemporaryDirectory() as warm, LocalExecutor(jobs=1) as ex:
        # sessions, OCR engine and imports: once per process, outside the clock (jobs=1);
        # a pool's workers pay them inside it, as a real run does
        triage(paths[:1], warm, options=options, executor=ex, thumbs=False)
    with tempfile.TemporaryDirectory() as out, LocalExecutor(jobs=jobs) as ex:
        t, c = time.perf_counter(), _cpu()
        summary = triage(paths, out, options=options, executor=ex)
        wall = time.perf_counter() - t
    cpu = _cpu() - c                     # after the pool is shut down: workers counted
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"n": summary.assessed, "wall": wall, "cpu": cpu,
            "rss_mb": kids if jobs > 1 else me}


def reuse(res) -> dict:
    """``assessed=`` for :func:`write_package` when it takes it (an older checkout, timed
    for comparison, re-checks the written file instead)."""
    import inspect

    from keyframe.package import write_package

    if "assessed" in inspect.signature(write_package).parameters:
        return {"assessed": res.after}
    return {}


def row_gate(folder: Path) -> dict:
    """check vs gate (+ package) of one image that needs one step: the first certified
    picture blurred (the mildest sigma of 1.0-4.0 that does it) until its plan is exactly
    ``sharpen`` and the gate certifies it after that one step."""
    import cv2

    from keyframe.assess import assess
    from keyframe.gate import gate
    from keyframe.image import from_array, load
    from keyframe.package import write_package
    from keyframe.profiles import load_profile

    profile = load_profile("default")
    soft = None
    for path in sorted(folder.glob("*.png")):        # a certified picture, blurred until
        src = load(path)                             # its plan is one sharpen step
        if assess(src, profile=profile).verdict != "certified":  # (also warms the sessions)
            continue
        for sigma in (1.0, 1.2, 1.5, 2.0, 3.0, 4.0):
            soft = from_array(cv2.GaussianBlur(src.rgb, (0, 0), sigma), name=path.name)
            plan = [s.fix for s in assess(soft, profile=profile).plan]
            if plan == ["sharpen"]:
                done = gate(dataclasses.replace(soft, cache={}), profile=profile)
                if done.verdict == "certified" and len(done.recipe.steps) == 1:
                    break                              # one step, and the gate ends there
            soft = None
        if soft is not None:
            break
    if soft is None:
        return {"missing": "no picture whose blurred copy plans exactly one sharpen"}
    from keyframe.image import encode_png

    soft_file = folder.parent / "soft.png"            # for the cold gate vs check rows
    soft_file.write_bytes(encode_png(soft.rgb))
    rows: dict = {}
    for _ in range(GATE_ROUNDS):     # check and gate alternated; the least of each is kept
        fresh = dataclasses.replace(soft, cache={})                # no view measured yet
        t, c = time.perf_counter(), _cpu()
        report = assess(fresh, profile=profile)
        check = (time.perf_counter() - t, _cpu() - c)
        fresh = dataclasses.replace(soft, cache={})
        with tempfile.TemporaryDirectory() as out:
            t, c = time.perf_counter(), _cpu()
            res = gate(fresh, profile=profile)
            if res.verdict == "certified":
                write_package(out, image=res.image, report=res.before, profile=profile,
                              source=fresh, recipe=[s.to_dict() for s in res.recipe.steps],
                              **reuse(res))
            full = (time.perf_counter() - t, _cpu() - c)
        least = {"check_wall": check[0], "check_cpu": check[1], "gate_wall": full[0],
                 "gate_cpu": full[1]}
        rows = {**{k: min(v, rows.get(k, v)) for k, v in least.items()},
                "verdict_before": report.verdict, "verdict": res.verdict,
                "steps": [s.fix for s in res.recipe.steps], "attempts": len(res.attempts),
                "file": str(soft_file)}
    return rows


def child(args: argparse.Namespace) -> None:
    _one_thread()
    folder = Path(args.folder)
    row = args.child
    if row == "decode":
        out = row_decode(folder)
    elif row == "cleanvision":
        out = row_cleanvision(folder)
    elif row == "gate":
        out = row_gate(folder)
    else:
        out = row_triage(folder, args.checks, args.jobs)
    print(json.dumps(out))


# ------------------------------------------------------------------ the parent

def run_child(row: str, folder: Path, *, models: Path | None, pin: bool, checks: str = "",
              jobs: int = 1) -> dict:
    env = {**os.environ, **ONE_THREAD}
    env.pop("KEYFRAME_MODELS", None)
    if models is not None:
        env["KEYFRAME_MODELS"] = str(models)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", row,
           "--folder", str(folder), "--checks", checks, "--jobs", str(jobs)]
    if pin and jobs == 1 and shutil.which("taskset"):
        cmd = ["taskset", "-c", "0", *cmd]
    done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{row} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def cold_check(image: Path, *, models: Path, pin: bool, repeat: int,
               command: tuple[str, ...] = ("check",)) -> dict:
    """``keyframe check IMAGE`` (or ``command``; ``{n}`` in it becomes the repetition, so
    each gate writes a new output folder and journal) as a new process: best wall and its
    CPU (each the least over ``repeat``)."""
    env = {**os.environ, **ONE_THREAD, "KEYFRAME_MODELS": str(models)}
    best = None
    for n in range(repeat):
        # cwd=ROOT: `python -c` puts the current folder first on sys.path
        cmd = [sys.executable, "-c", "from keyframe.cli import main; main()",
               *(c.format(n=n) for c in command), str(image)]
        if pin and shutil.which("taskset"):
            cmd = ["taskset", "-c", "0", *cmd]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, check=False)
        wall = time.perf_counter() - t
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        if best is None:
            best = {"wall": wall, "cpu": cpu}
        best = {"wall": min(wall, best["wall"]), "cpu": min(cpu, best["cpu"]),
                "rss_mb": after.ru_maxrss / 1024}
    return best


def per_image(row: dict, key: str = "cpu") -> float:
    return row[key] / row["n"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=24, help="pictures in the folder")
    ap.add_argument("--side", type=int, default=1024, help="long side in px")
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--models", type=Path, default=MODELS)
    ap.add_argument("--pin", action="store_true", help="taskset -c 0 for one-core rows")
    ap.add_argument("--repeat", type=int, default=3, help="cold checks (best wall kept)")
    ap.add_argument("--json", type=Path, help="also write every row here")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--folder", help=argparse.SUPPRESS)
    ap.add_argument("--checks", default="", help=argparse.SUPPRESS)
    ap.add_argument("--jobs", type=int, default=1, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args)
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "in"
        folder.mkdir()
        paths = build(folder, args.n, args.side, args.data)
        print(f"{len(paths)} PNGs, long side {args.side} px; load average "
              f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
        rows: dict[str, dict] = {}
        plan = [("decode", "decode", None, "", 1),
                ("cleanvision", "cleanvision", None, "", 1),
                ("model-free", "triage", None, "artifact,framing", 1),
                ("full", "triage", args.models, "", 1),
                ("full --jobs 2", "triage", args.models, "", 2),
                ("gate vs check", "gate", args.models, "", 1)]
        for label, row, models, checks, jobs in plan:
            rows[label] = run_child(row, folder, models=models, pin=args.pin, checks=checks,
                                    jobs=jobs)
            print(f"{label:<15} {json.dumps(rows[label])}  (load "
                  f"{os.getloadavg()[0]:.1f})", flush=True)
        rows["cold check"] = cold_check(paths[0], models=args.models, pin=args.pin,
                                        repeat=args.repeat)
        print(f"{'cold check':<15} {json.dumps(rows['cold check'])}", flush=True)
        soft = rows["gate vs check"].get("file")
        if soft:                          # the one-step picture, each command a new process
            out = Path(tmp) / "gated"
            rows["cold check soft"] = cold_check(Path(soft), models=args.models,
                                                 pin=args.pin, repeat=args.repeat)
            rows["cold gate soft"] = cold_check(Path(soft), models=args.models, pin=args.pin,
                                                repeat=args.repeat,
                                                command=("gate", "-o", f"{out}-{{n}}"))
            print(f"{'cold gate':<15} {json.dumps(rows['cold gate soft'])}", flush=True)
    report(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")


def report(rows: dict[str, dict]) -> None:
    dec = per_image(rows["decode"])
    print("\nper image, one core (CPU s = user + system of the process and its workers)")
    for label in ("decode", "cleanvision", "model-free", "full", "full --jobs 2"):
        r = rows[label]
        if "missing" in r:
            print(f"  {label:<15} {r['missing']}")
            continue
        print(f"  {label:<15} CPU {per_image(r):6.3f} s   wall {per_image(r, 'wall'):6.3f} s"
              f"   = {per_image(r) / dec:5.1f}x decode")
    cv = rows["cleanvision"]
    if "missing" not in cv:
        for label, goal in (("model-free", 1.0), ("full", 2.0)):
            ratio = per_image(rows[label]) / per_image(cv)
            wall = per_image(rows[label], "wall") / per_image(cv, "wall")
            print(f"  {label} / cleanvision: CPU {ratio:.2f}x, wall {wall:.2f}x "
                  f"(goal <= {goal:.1f}x: {'met' if ratio <= goal else 'not met'})")
    one, two = rows["full"], rows["full --jobs 2"]
    scale = (one["wall"] / one["n"]) / (two["wall"] / two["n"])
    print(f"  --jobs 2 / --jobs 1 (wall, images per second): {scale:.2f}x (goal >= 1.8x; "
          f"only meaningful when two cores are free)")
    print(f"  peak RSS per worker (--jobs 2): {two['rss_mb']:.0f} MB (goal <= 500 MB); "
          f"one process, --jobs 1: {one['rss_mb']:.0f} MB")
    cold = rows["cold check"]
    print(f"  cold `keyframe check` of one image, every model: wall {cold['wall']:.2f} s, "
          f"CPU {cold['cpu']:.2f} s (goal <= 2 s wall), peak RSS {cold['rss_mb']:.0f} MB")
    g = rows["gate vs check"]
    if "missing" in g:
        print(f"  gate vs check: {g['missing']}")
        return
    print(f"  gate + package / check, one-step fix ({' '.join(g['steps']) or 'no step'}, "
          f"{g['verdict']}): CPU {g['gate_cpu'] / g['check_cpu']:.2f}x, wall "
          f"{g['gate_wall'] / g['check_wall']:.2f}x (goal <= 2x)")
    if "cold gate soft" in rows:
        c, k = rows["cold check soft"], rows["cold gate soft"]
        print(f"  the same as new processes: `keyframe gate -o` {k['wall']:.2f} s wall / "
              f"`keyframe check` {c['wall']:.2f} s = {k['wall'] / c['wall']:.2f}x wall, "
              f"{k['cpu'] / c['cpu']:.2f}x CPU")


if __name__ == "__main__":
    main()
