"""Pictures for tests and scripts: real ones read from ../shared/data (the clean sets, the
LIVE ladders), scikit-image's bundled photos, and the synthetic degradations the calibration
scripts and tests share. Development only: not installed with keyframe."""
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


def checker(rgb: np.ndarray, levels: float, period: int) -> np.ndarray:
    """``rgb`` plus a checkerboard of ``period`` px, 0 / ``levels`` grey levels (a decoder's
    grid at its stride)."""
    h, w = rgb.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    pat = ((xx // (period // 2) + yy // (period // 2)) % 2) * levels
    return np.clip(rgb.astype(np.int16) + pat[..., None], 0, 255).astype(np.uint8)


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
