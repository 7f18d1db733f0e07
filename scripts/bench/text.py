"""Time the text check on one core: 1280-px photos with and without text.

    python -m scripts.bench.text

Prints the median over 5 runs (after one warm-up that creates the OCR sessions) of the text
gate alone and the whole TextCheck, per image.
"""
from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[2]

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import skimage.data  # noqa: E402
from PIL import Image, ImageDraw, ImageFont  # noqa: E402

from checks.text import TextCheck, ocr  # noqa: E402
from keyframe_dev.data import img  # noqa: E402

cv2.setNumThreads(1)


def with_text(rgb: np.ndarray) -> np.ndarray:
    im = Image.fromarray(rgb)
    d = ImageDraw.Draw(im)
    d.text((80, 80), "GRAND HOTEL CAFE", font=ImageFont.load_default(48), fill=(255, 255, 255))
    d.text((700, 820), "XQZRT VLKMNA", font=ImageFont.load_default(40), fill=(255, 255, 0))
    d.text((1100, 930), "stockmark", font=ImageFont.load_default(20), fill=(230, 230, 230))
    return np.asarray(im)


def main() -> None:
    check = TextCheck()
    cases = {}
    for name in ("coffee", "chelsea", "astronaut"):
        rgb = cv2.resize(getattr(skimage.data, name)(), (1280, 960), interpolation=cv2.INTER_CUBIC)
        cases[f"{name} (no text)"] = rgb
        cases[f"{name} + 3 text lines"] = with_text(rgb)
    yy, xx = np.mgrid[0:960, 0:1280]
    cases["smooth gradient"] = np.dstack([xx * 0.2, yy * 0.25, 90 + 0 * xx]).astype(np.uint8)
    check.measure(img(cases["coffee + 3 text lines"]))   # warm-up: sessions are created once
    print("| image (1280x960) | gate ms | TextCheck ms | lines |")
    print("|---|---|---|---|")
    for name, rgb in cases.items():
        gate, full = [], []
        for _ in range(5):
            t = time.perf_counter()
            ocr.text_possible(img(rgb))
            gate.append(time.perf_counter() - t)
            t = time.perf_counter()
            ms = check.measure(img(rgb))
            full.append(time.perf_counter() - t)
        print(f"| {name} | {1e3 * statistics.median(gate):.1f} | "
              f"{1e3 * statistics.median(full):.0f} | {ms[0].measurements['lines']} |")


if __name__ == "__main__":
    main()
