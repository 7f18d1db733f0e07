"""Throughput of `keyframe triage` (images/second, --jobs 1 and 2) next to cleanvision, on
the same folder of 1280-px images, in the same run.

The folder is built in a temp dir from ../shared/data's ComfyUI generations and
scikit-image's photos, each resized (area) so its long side is 1280 px and saved as PNG.
keyframe runs through the library (`keyframe.batch.triage`, fresh output folder each time,
thumbnails on) with the model-free suite (artifact + framing) and the full registered suite.
cleanvision (pip install cleanvision; NOT a keyframe dependency) runs `Imagelab.find_issues()`
with its default issue types. Peak RSS of this process is printed after each keyframe run.

    python scripts/bench_triage.py [--n 60] [--data ../shared/data]
"""
from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import skimage.data
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from keyframe.batch import BatchOptions, iter_images, triage  # noqa: E402
from keyframe.executors import LocalExecutor  # noqa: E402

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry")


def sources(data: Path) -> list[np.ndarray]:
    out = []
    for d in ("flux", "sdxl", "sd3", "sdturbo", "stable_cascade", "hypernetworks"):
        for p in sorted((data / "comfyui_examples" / d).glob("*.png")):
            out.append(np.asarray(Image.open(p).convert("RGB")))
    for name in PHOTOS:
        out.append(np.asarray(getattr(skimage.data, name)())[..., :3])
    return out


def build(folder: Path, n: int, data: Path) -> None:
    srcs = sources(data)
    for i in range(n):
        rgb = srcs[i % len(srcs)]
        if i >= len(srcs):                       # vary repeats so no two files are equal
            rgb = np.clip(rgb.astype(np.int16) + (i // len(srcs)), 0, 255).astype(np.uint8)
        h, w = rgb.shape[:2]
        f = 1280 / max(h, w)
        interp = cv2.INTER_AREA if f < 1 else cv2.INTER_CUBIC
        rgb = cv2.resize(rgb, (round(w * f), round(h * f)), interpolation=interp)
        Image.fromarray(rgb).save(folder / f"gen_{i:04d}.png", compress_level=1)


def time_keyframe(folder: Path, jobs: int, checks: tuple[str, ...] | None) -> float:
    paths = list(iter_images([folder]))
    with tempfile.TemporaryDirectory() as out, LocalExecutor(jobs=jobs) as ex:
        if jobs > 1:                              # start the pool's workers outside the clock
            list(ex.imap_unordered(abs, range(jobs)))
        t = time.perf_counter()
        summary = triage(paths, out, options=BatchOptions(checks=checks), executor=ex)
        dt = time.perf_counter() - t
    assert summary.assessed == len(paths)
    return len(paths) / dt


def time_cleanvision(folder: Path) -> float:
    from cleanvision import Imagelab

    n = len(list(folder.glob("*.png")))
    t = time.perf_counter()
    lab = Imagelab(data_path=str(folder))
    lab.find_issues(verbose=False)
    return n / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=60)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        build(folder, args.n, args.data)
        print(f"{args.n} PNGs, long side 1280 px, in {folder}")
        cv = time_cleanvision(folder)
        print(f"cleanvision find_issues (1 process)        {cv:6.2f} img/s")
        rows = []
        for label, checks in (("model-free (artifact+framing)", ("artifact", "framing")),
                              ("full suite", None)):
            for jobs in (1, 2):
                ips = time_keyframe(folder, jobs, checks)
                rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                rows.append((label, jobs, ips))
                print(f"keyframe {label:<30} --jobs {jobs}  {ips:6.2f} img/s  "
                      f"({ips / cv:4.2f}x cleanvision; peak RSS {rss:.0f} MB)")
        for label in dict.fromkeys(r[0] for r in rows):
            one, two = (r[2] for r in rows if r[0] == label)
            print(f"{label}: --jobs 2 / --jobs 1 = {two / one:.2f}")


if __name__ == "__main__":
    main()
