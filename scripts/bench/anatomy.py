"""Time the anatomy check per 1280-px image on one core (benchmark, not a test).

Usage: KEYFRAME_MODELS=../shared/models python -m scripts.bench.anatomy [--n 12]

Every image is resized to 1280 px on its long side and measured with models warm. The time
is the measuring thread's CPU time (``time.thread_time``: ONNX Runtime and LiteRT run
single-threaded in the calling thread), so other processes on the machine do not inflate it;
wall time is printed beside it. Groups: pictures without people (ComfyUI landscapes), one
person (joggers, portraits), several people (ai_human_anatomy hugs, pizza, volleyball). The
PNG decode of the same picture is timed the same way, for the ratio.
"""
from __future__ import annotations

import argparse
import glob
import io
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from checks.anatomy import AnatomyCheck
from keyframe.image import LoadedImage, load

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
GROUPS = {
    "no person": ("comfyui_examples/flux/flux_schnell_example.png",
                  "comfyui_examples/sdxl/sdxl_simple_example.png",
                  "comfyui_examples/stable_cascade/*.png"),
    "one person": ("ai_human_anatomy/images/*/person_jogging/*",
                   "p3m_demo/demo/imgs/original/*.jpg", "skimage_astronaut/*.png"),
    "several": ("ai_human_anatomy/images/*/couple_hugging/*",
                "ai_human_anatomy/images/*/people_eating_pizza/*",
                "ai_human_anatomy/images/*/five_people_playing_volleyball/*"),
}


def at_1280(path: str) -> np.ndarray:
    rgb = load(path).rgb
    s = 1280 / max(rgb.shape[:2])
    return cv2.resize(rgb, (round(rgb.shape[1] * s), round(rgb.shape[0] * s)),
                      interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC)


def timed(fn) -> tuple[float, float]:
    c, w = time.thread_time(), time.perf_counter()
    fn()
    return (time.thread_time() - c) * 1000, (time.perf_counter() - w) * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=12, help="images per group")
    args = ap.parse_args()
    check = AnatomyCheck()
    check.measure(LoadedImage(rgb=at_1280(str(DATA / "skimage_astronaut/astronaut.png"))))
    for group, patterns in GROUPS.items():
        paths = sorted(p for pat in patterns for p in glob.glob(str(DATA / pat)))[::2][:args.n]
        cpu, wall, dec = [], [], []
        for p in paths:
            rgb = at_1280(p)
            buf = io.BytesIO()
            Image.fromarray(rgb).save(buf, "PNG")
            data = buf.getvalue()
            dec.append(timed(lambda: np.asarray(Image.open(io.BytesIO(data)).convert("RGB")))[0])
            c, w = timed(lambda: check.measure(LoadedImage(rgb=rgb)))
            cpu.append(c)
            wall.append(w)
        print(f"{group:10s} n={len(paths):2d}: anatomy median {np.median(cpu):.0f} ms CPU "
              f"(p90 {np.percentile(cpu, 90):.0f}, max {max(cpu):.0f}; wall median "
              f"{np.median(wall):.0f}), PNG decode {np.median(dec):.0f} ms -> "
              f"{np.median(cpu) / np.median(dec):.1f}x decode")


if __name__ == "__main__":
    main()
