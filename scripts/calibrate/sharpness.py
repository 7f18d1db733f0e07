"""Print the table the blur, oversharpened and noise anchors were set from.

Rows: clean photos (scikit-image), clean generations (../shared/data/comfyui_examples), real
camera shots sharp / defocused / motion-blurred (blur_dataset_kwentar), LIVE references and
their Gaussian-blur and white-noise ladders (sorted by PSNR), and synthetic degradations of
the clean photos: bicubic upscales, Gaussian blur, horizontal motion blur, unsharp masking,
added noise. Columns: the raw measurement of each code and its severity.

Usage: python -m scripts.calibrate.sharpness [--shared ../shared/data]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np
from skimage import data

from checks.artifact.blur import measure_blur
from checks.artifact.noise import measure_noise
from checks.artifact.sharpness import measure_oversharpened
from keyframe.image import LoadedImage, load

CLEAN_DIRS = ("flux", "sdxl", "sd3", "sdturbo", "stable_cascade", "hypernetworks")


def _u8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def upscale(rgb: np.ndarray, f: float) -> np.ndarray:
    h, w = rgb.shape[:2]
    small = cv2.resize(rgb, (round(w / f), round(h / f)), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def usm(rgb: np.ndarray, amount: float) -> np.ndarray:
    f = rgb.astype(np.float32)
    return _u8(f + amount * (f - cv2.GaussianBlur(f, (0, 0), 1.5)))


def motion(rgb: np.ndarray, n: int) -> np.ndarray:
    return cv2.filter2D(rgb, -1, np.full((1, n), 1.0 / n, np.float32))


def noisy(rgb: np.ndarray, sigma: float) -> np.ndarray:
    return _u8(rgb + np.random.default_rng(0).normal(0, sigma, rgb.shape))


def row(group: str, name: str, image: LoadedImage) -> None:
    b, o, n = measure_blur(image)[0], measure_oversharpened(image), measure_noise(image)
    print(f"{group:<10} {name:<34} blur {b.measurements['sigma']:5.2f}px {b.severity:4.2f}  "
          f"halo {o.measurements['halo']:5.3f} {o.severity:4.2f}  "
          f"noise {n.measurements['sigma_effective']:5.1f} {n.severity:4.2f}")


def live(shared: Path, distortion: str) -> list[tuple[str, Path]]:
    meta = json.loads((shared / "live_iqa_cilissa" / "data.json").read_text())
    out = []
    for e in meta[distortion]:
        p = shared / "live_iqa_cilissa" / distortion / (Path(e["measured"]).stem + ".png")
        if p.exists():
            psnr = e["metrics"]["psnr"]
            out.append((float("inf") if psnr is None else psnr, p))
    return [(f"{p.stem} psnr {q:.1f}", p) for q, p in sorted(out, key=lambda t: (t[1].stem[:4], -t[0]))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path,
                    default=Path(__file__).resolve().parents[3] / "shared" / "data")
    args = ap.parse_args()
    photos = {n: getattr(data, n)() for n in ("astronaut", "coffee", "chelsea", "rocket")}
    for name, rgb in photos.items():
        row("clean", name, LoadedImage(rgb=rgb))
    shared = args.shared
    if shared.is_dir():
        for d in CLEAN_DIRS:
            for p in sorted((shared / "comfyui_examples" / d).glob("*.png")):
                row("generated", p.name, load(p))
        for p in sorted((shared / "blur_dataset_kwentar" / "samples").glob("*.*")):
            row("camera", p.name, load(p))
        for p in sorted((shared / "live_iqa_cilissa" / "ref_images").glob("*.png")):
            row("live ref", p.name, load(p))
        for dist in ("gblur", "wnoise"):
            for name, p in live(shared, dist):
                row(f"live {dist}", name, load(p))
    for name, rgb in photos.items():
        for f in (1.5, 2, 3, 4):
            row("upscale", f"{name} x{f}", LoadedImage(rgb=upscale(rgb, f)))
        for s in (0.5, 1, 2, 4):
            row("gaussian", f"{name} sigma {s}", LoadedImage(rgb=cv2.GaussianBlur(rgb, (0, 0), s)))
        for n in (3, 7, 15, 31):
            row("motion", f"{name} length {n}", LoadedImage(rgb=motion(rgb, n)))
        for a in (0.5, 1, 2, 4):
            row("unsharp", f"{name} amount {a}", LoadedImage(rgb=usm(rgb, a)))
        for s in (2, 5, 10, 20, 40):
            row("noise", f"{name} sigma {s}", LoadedImage(rgb=noisy(rgb, s)))


if __name__ == "__main__":
    main()
