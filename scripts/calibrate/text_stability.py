"""How far the text codes move under edits nobody would see (the OCR stability rule).

Usage: ``python -m scripts.calibrate.text_stability [--shared ../shared]``

Pictures: the six tiles of ``<shared>/data/compvis_sd_assets/fire.png``, a p3m tour poster,
a crowdpose street photo with signs and a photographer's mark, the Stable Cascade text
generation, and six real words rendered on scikit-image photos
(``scripts/calibrate/text.py``'s ``render``). Edits: 1-px crops (left, top), JPEG quality 92,
a 98 % area resize, two draws of +-2 grey levels of noise. Prints per picture the mean and
the swing (max - min over the edits) of garbled_text, stray_text and watermark, and the mean
and max over pictures of the widest swing.
"""
from __future__ import annotations

import argparse
import csv
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]

from scripts.calibrate.text import PHOTOS, WORDS, render  # noqa: E402
from checks.text import TextCheck  # noqa: E402
from keyframe_dev.data import img  # noqa: E402
from keyframe.image import load  # noqa: E402

PICTURES = ("p3m_demo/demo/imgs/original/p_07141906.jpg",
            "mmpose_testdata/tests/data/crowdpose/103319.jpg",
            "comfyui_examples/stable_cascade/stable_cascade__text_to_image.png")


def edits(rgb: np.ndarray) -> list[np.ndarray]:
    ok, buf = cv2.imencode(".jpg", rgb[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 92])
    small = cv2.resize(rgb, (int(rgb.shape[1] * 0.98), int(rgb.shape[0] * 0.98)),
                       interpolation=cv2.INTER_AREA)
    out = [rgb, rgb[:, 1:], rgb[1:], cv2.imdecode(buf, cv2.IMREAD_COLOR)[:, :, ::-1], small]
    for seed in (5, 6):
        rng = np.random.default_rng(seed)
        out.append(np.clip(rgb.astype(np.int16) + rng.integers(-2, 3, rgb.shape), 0, 255))
    return [np.ascontiguousarray(x, dtype=np.uint8) for x in out]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=str(ROOT.parent / "shared"))
    data = Path(ap.parse_args().shared) / "data"
    pictures = {}
    for name in PICTURES:
        if (data / name).exists():
            pictures[Path(name).name] = load(data / name).rgb
    labels = data / "compvis_sd_assets" / "tile_labels.csv"
    if labels.exists():
        grid = load(data / "compvis_sd_assets" / "fire.png").rgb
        for row in csv.DictReader(labels.open()):
            x0, y0, x1, y1 = (int(row[k]) for k in ("x0", "y0", "x1", "y1"))
            pictures[f"fire tile {row['tile_index_0based']}"] = grid[y0:y1, x0:x1]
    for i, word in enumerate(WORDS[:6]):
        pictures[f"rendered {word}"] = render(PHOTOS[i % len(PHOTOS)], word, 28 + 4 * (i % 4))
    check = TextCheck()
    widest = []
    print(f"{'picture':30s} mean (garbled stray watermark)  swing")
    for name, rgb in pictures.items():
        sev = np.array([[m.severity for m in check.measure(img(x))] for x in edits(rgb)])
        swing = sev.max(axis=0) - sev.min(axis=0)
        widest.append(float(swing.max()))
        print(f"{name[:30]:30s} {np.round(sev.mean(axis=0), 2)}  {np.round(swing, 2)}")
    print(f"\nwidest swing per picture: mean {np.mean(widest):.3f}, max {np.max(widest):.2f} "
          f"({len(widest)} pictures x {len(edits(np.zeros((8, 8, 3), np.uint8)))} versions)")


if __name__ == "__main__":
    main()
