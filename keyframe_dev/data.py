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


#: tile side of the seams degradation (a tiled decoder's tiles)
SEAM_TILE = 64


def tiled(rgb: np.ndarray, amp: float, seed: int = 5) -> np.ndarray:
    """64-px tiles, each offset by its own +-amp grey levels (eval_gate's seams ladder)."""
    h, w = rgb.shape[:2]
    n = SEAM_TILE
    offs = np.random.default_rng(seed).choice([-1.0, 1.0], size=(h // n + 1, w // n + 1))
    tile = offs[np.arange(h)[:, None] // n, np.arange(w)[None, :] // n] * amp
    return np.clip(np.rint(rgb + tile[..., None]), 0, 255).astype(np.uint8)


def _tile_medians(out: np.ndarray, clean: np.ndarray, degraded: np.ndarray | None,
                  tile: int) -> np.ndarray:
    """Each whole tile's median luma change from ``clean`` to ``out`` (rows x columns of
    tiles; NaN where under a quarter of the tile is usable: pixels clipped at 0 or 255 in
    ``degraded``, any channel, carry no offset and none can be restored)."""
    lum = np.array([0.299, 0.587, 0.114])
    d = out.astype(np.float64) @ lum - clean.astype(np.float64) @ lum
    ok = np.ones(d.shape, bool)
    if degraded is not None:
        ok = ((degraded > 0) & (degraded < 255)).all(axis=2)
    h, w = d.shape
    meds = np.full((h // tile, w // tile), np.nan)
    for i, y in enumerate(range(0, h - tile + 1, tile)):
        for j, x in enumerate(range(0, w - tile + 1, tile)):
            m = ok[y:y + tile, x:x + tile]
            if m.mean() >= 0.25:
                meds[i, j] = float(np.median(d[y:y + tile, x:x + tile][m]))
    return meds


def tile_spread(out: np.ndarray, clean: np.ndarray, degraded: np.ndarray | None = None,
                tile: int = SEAM_TILE) -> float:
    """Spread (std over whole tiles) of each tile's median luma change from ``clean`` to
    ``out``: the tiles' offsets left, in grey levels, a slow drift across the frame
    included. Pixels clipped at 0 or 255 in ``degraded`` (any channel) are left out: no
    offset survives there and none can be restored."""
    meds = _tile_medians(out, clean, degraded, tile)
    meds = meds[np.isfinite(meds)]
    return float(np.std(meds)) if len(meds) >= 4 else 0.0


def tile_step(out: np.ndarray, clean: np.ndarray, degraded: np.ndarray | None = None,
              tile: int = SEAM_TILE) -> float:
    """How far tiles sit off their neighbours, in grey levels: the RMS of the difference
    between the median luma changes (``clean`` to ``out``) of every two side-by-side tiles,
    over sqrt(2) — for tiles offset independently by a spread s it reads s, as
    :func:`tile_spread` does, but a slow drift across the frame (what a tile-offset solve
    leaves when its errors add up over many tiles: +2.5 grey levels at one corner of
    H36M's 1000-px WalkDog frame, -3 at its middle) reads near 0, as nobody sees it."""
    meds = _tile_medians(out, clean, degraded, tile)
    steps = np.concatenate([(meds[:, 1:] - meds[:, :-1]).ravel(),
                            (meds[1:] - meds[:-1]).ravel()])
    steps = steps[np.isfinite(steps)]
    return float(np.sqrt(np.mean(steps ** 2) / 2)) if len(steps) >= 4 else 0.0
