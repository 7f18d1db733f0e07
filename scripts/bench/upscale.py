"""How close does each `upscale` method get to the original after a downscale?

Every clean photo (scikit-image's astronaut, coffee, chelsea, and from ../shared/data when
present: the LIVE monarch and parrots references and the sharp `_S` shots of the kwentar blur
set, those resized to a 1024-px long side with INTER_AREA) is cropped to a multiple of 12,
reduced by 2 and by 4 (INTER_AREA, or PIL's antialiased bicubic with ``--degrade bicubic``,
the degradation the networks were trained on), then enlarged back with the `upscale` fix.
The table gives, per method and factor, the mean PSNR against the original (RGB, and luma
with a 2k-px border left out as in the SR literature) and the median time per image (one
warm-up run, then ``--repeat`` timed runs on one core of what OpenCV uses).

    python -m scripts.bench.upscale [--degrade area|bicubic] [--repeat 3]

The learned methods need the models (KEYFRAME_MODELS, defaulting here to ../shared/models
when that folder exists).
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import cv2
import numpy as np
import skimage.data
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
if "KEYFRAME_MODELS" not in os.environ and (SHARED / "models").is_dir():
    os.environ["KEYFRAME_MODELS"] = str(SHARED / "models")

from keyframe.registry import CheckSkipped, fix_classes  # noqa: E402

METHODS = ("lanczos", "cubic", "fsrcnn", "espcn")
FACTORS = (2, 4)


def photos() -> dict[str, np.ndarray]:
    out = {"astronaut": skimage.data.astronaut(), "coffee": skimage.data.coffee(),
           "chelsea": skimage.data.chelsea()}
    live = SHARED / "data" / "live_iqa_cilissa" / "ref_images"
    for name in ("monarch", "parrots"):
        if (live / f"{name}.png").is_file():
            out[name] = cv2.cvtColor(cv2.imread(str(live / f"{name}.png")), cv2.COLOR_BGR2RGB)
    blur = SHARED / "data" / "blur_dataset_kwentar" / "samples"
    for f in sorted(blur.glob("*_S.*")) if blur.is_dir() else ():
        bgr = cv2.imread(str(f))
        if bgr is None:
            continue
        s = 1024 / max(bgr.shape[:2])
        bgr = cv2.resize(bgr, (round(bgr.shape[1] * s), round(bgr.shape[0] * s)),
                         interpolation=cv2.INTER_AREA)
        out[f.stem] = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    return {n: a[:a.shape[0] // 12 * 12, :a.shape[1] // 12 * 12] for n, a in out.items()}


def reduce(rgb: np.ndarray, k: int, how: str) -> np.ndarray:
    h, w = rgb.shape[:2]
    if how == "area":
        return cv2.resize(rgb, (w // k, h // k), interpolation=cv2.INTER_AREA)
    return np.asarray(Image.fromarray(rgb).resize((w // k, h // k), Image.BICUBIC))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0 ** 2 / max(mse, 1e-12)))


def luma(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)[:, :, 0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--degrade", choices=("area", "bicubic"), default="area")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    fix = fix_classes()["upscale"]
    imgs = photos()
    print(f"{len(imgs)} photos: " + ", ".join(f"{n} {a.shape[1]}x{a.shape[0]}"
                                            for n, a in imgs.items()))
    print(f"degradation: {args.degrade}\n")
    print("| factor | method | PSNR RGB (dB) | PSNR Y, border cut (dB) | vs lanczos (Y) "
          "| ms / image (median) |")
    print("|---|---|---|---|---|---|")
    for k in FACTORS:
        base = None
        for method in METHODS:
            params = fix.validate({"factor": float(k), "method": method})
            rgb_p, y_p, ms = [], [], []
            try:
                for img in imgs.values():
                    small = reduce(img, k, args.degrade)
                    out = fix().apply(small, params)                    # warm-up (loads)
                    times = []
                    for _ in range(max(1, args.repeat)):
                        t = time.perf_counter()
                        out = fix().apply(small, params)
                        times.append(time.perf_counter() - t)
                    ms.append(1000 * float(np.median(times)))
                    rgb_p.append(psnr(img, out))
                    c = 2 * k
                    y_p.append(psnr(luma(img)[c:-c, c:-c], luma(out)[c:-c, c:-c]))
            except CheckSkipped as exc:  # a missing model: say so and go on
                print(f"| x{k} | {method} | – | – | – | {exc} |")
                continue
            y_mean = float(np.mean(y_p))
            base = y_mean if method == "lanczos" else base
            delta = "" if base is None or method == "lanczos" else f"{y_mean - base:+.2f}"
            print(f"| x{k} | {method} | {np.mean(rgb_p):.2f} | {y_mean:.2f} | {delta} "
                  f"| {np.median(ms):.0f} |")


if __name__ == "__main__":
    main()
