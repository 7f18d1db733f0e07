"""Helpers shared by the check tests: images made in code and real ones read from ../shared."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import numpy as np
import skimage.data

from keyframe.image import LoadedImage

#: ComfyUI example folders that hold clean generations (controlnet/ is a UI screenshot,
#: inpaint/ an RGBA hole and a composite)
CLEAN_GENERATION_DIRS = ("flux", "sdxl", "sd3", "sdturbo", "stable_cascade", "hypernetworks")


def img(rgb: np.ndarray) -> LoadedImage:
    """A LoadedImage around ``rgb`` (first three channels, uint8, read-only)."""
    rgb = np.ascontiguousarray(rgb[..., :3], dtype=np.uint8)
    rgb.setflags(write=False)
    return LoadedImage(rgb=rgb)


def photo(name: str) -> np.ndarray:
    """One of scikit-image's bundled photos by name (astronaut, coffee, chelsea, rocket)."""
    return getattr(skimage.data, name)()


def add_noise(rgb: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(rgb + rng.normal(0, sigma, rgb.shape) + 0.5, 0, 255).astype(np.uint8)


def usm(rgb: np.ndarray, sigma: float, amount: float) -> np.ndarray:
    """Unsharp mask: rgb + amount * (rgb - gaussian(rgb, sigma))."""
    f = rgb.astype(np.float32)
    out = cv2.addWeighted(f, 1 + amount, cv2.GaussianBlur(f, (0, 0), sigma), -amount, 0)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def upscale(rgb: np.ndarray, factor: float, interp: int = cv2.INTER_CUBIC) -> np.ndarray:
    """The image rendered at 1/factor size (area) and blown back up to its size."""
    h, w = rgb.shape[:2]
    small = cv2.resize(rgb, (round(w / factor), round(h / factor)), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=interp)


def scene(n: int) -> np.ndarray:
    """A procedural scene drawn at n x n: anti-aliased discs and bars plus fine texture, so
    the same content is equally sharp at any size."""
    ss = 4
    big = np.full((n * ss, n * ss, 3), 70, np.uint8)
    rng = np.random.default_rng(1)
    for _ in range(14):
        cx, cy = rng.uniform(0.1, 0.9, 2) * n * ss
        r = rng.uniform(0.03, 0.1) * n * ss
        col = tuple(int(v) for v in rng.integers(120, 230, 3))
        cv2.circle(big, (int(cx), int(cy)), int(r), col, -1)
    for k in range(6):
        x = int((0.1 + 0.13 * k) * n * ss)
        cv2.rectangle(big, (x, int(0.05 * n * ss)), (x + int(0.03 * n * ss), int(0.3 * n * ss)),
                      (30, 30, 30), -1)
    small = cv2.resize(big, (n, n), interpolation=cv2.INTER_AREA)
    yy, xx = np.mgrid[0:n, 0:n]
    texture = 6 * np.sin(xx * 2 * np.pi / 23) * np.sin(yy * 2 * np.pi / 17)
    return np.clip(small + texture[..., None], 0, 255).astype(np.uint8)


def read_rgb(path: Path) -> np.ndarray:
    """RGB pixels of a real file (test-side reading; the project reads through keyframe.image)."""
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert bgr is not None, path
    return np.ascontiguousarray(bgr[:, :, ::-1])


def clean_paths(data: Path) -> list[Path]:
    """Every clean image of ../shared/data, sorted within each set: the ComfyUI generations,
    skimage astronaut, LIVE references, blur_dataset ``_S`` shots, p3m portraits and the
    mmpose real photos of people (MANIFEST category ``natural_person``)."""
    out = clean_generations(data)
    out.append(data / "skimage_astronaut" / "astronaut.png")
    out += sorted((data / "live_iqa_cilissa" / "ref_images").glob("*.png"))
    out += sorted((data / "blur_dataset_kwentar" / "samples").glob("*_S.*"))
    out += sorted((data / "p3m_demo" / "demo" / "imgs" / "original").glob("*"))
    with open(data / "MANIFEST.csv", newline="") as fh:
        out += [data / r["path"] for r in csv.DictReader(fh)
                if r["category"] == "natural_person" and r["path"].startswith("mmpose")]
    return [p for p in out if p.exists()]


def clean_generations(data: Path) -> list[Path]:
    root = data / "comfyui_examples"
    return [p for d in CLEAN_GENERATION_DIRS for p in sorted((root / d).glob("*.png"))]


def live_ladders(data: Path, distortion: str) -> dict[str, list[Path]]:
    """LIVE distorted files per scene, from least to most distorted (PSNR falling; the file
    suffixes are not ordered; PSNR null means identical to the reference)."""
    meta = json.loads((data / "live_iqa_cilissa" / "data.json").read_text())
    ladders: dict[str, list] = {}
    for e in meta[distortion]:
        p = data / "live_iqa_cilissa" / distortion / (Path(e["measured"]).stem + ".png")
        if p.exists():
            psnr = e["metrics"]["psnr"]
            ladders.setdefault(p.stem.split("_")[0], []).append(
                (float("inf") if psnr is None else psnr, p))
    return {k: [p for _, p in sorted(v, key=lambda t: -t[0])] for k, v in ladders.items()}


def nondecreasing(xs, tol: float = 1e-6) -> bool:
    return all(b >= a - tol for a, b in zip(xs, xs[1:]))
