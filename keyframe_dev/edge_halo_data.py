"""Cut-outs and composites built from ../shared/data matting sets, for the edge-halo tests,
calibration and benchmark (data/README.md: clean = decontaminated F·a + B·(1-a); haloed =
the original photo as F, or a dilated alpha; binary = alpha > 0.5)."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from keyframe.image import LoadedImage

#: long side the large p3m portraits are brought to (keeps foreground estimation quick)
P3M_SIDE = 800


@dataclass(frozen=True)
class MattingSet:
    name: str
    image: np.ndarray      # H x W x 3 uint8, the original photo
    alpha: np.ndarray      # H x W float32 in [0, 1], ground truth (lemur, p3m: computed)
    background: np.ndarray  # H x W x 3 uint8, a new background
    trimap: np.ndarray | None = None


def _rgb(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert bgr is not None, path
    return np.ascontiguousarray(bgr[:, :, ::-1])


def _gray(path: Path) -> np.ndarray:
    g = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    assert g is not None, path
    return g


def _cover(bg: np.ndarray, h: int, w: int) -> np.ndarray:
    bh, bw = bg.shape[:2]
    s = max(h / bh, w / bw)
    big = cv2.resize(bg, (max(w, round(bw * s)), max(h, round(bh * s))),
                     interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC)
    y0, x0 = (big.shape[0] - h) // 2, (big.shape[1] - w) // 2
    return np.ascontiguousarray(big[y0:y0 + h, x0:x0 + w])


@lru_cache(maxsize=4)
def matting_sets(data: Path) -> tuple[MattingSet, ...]:
    out = []
    dim = data / "dim_foamliu" / "images"
    for i in range(5):
        out.append(MattingSet(f"dim{i}", _rgb(dim / f"{i}_image.png"),
                              _gray(dim / f"{i}_alpha.png").astype(np.float32) / 255,
                              _rgb(dim / f"{i}_new_bg.png"), _gray(dim / f"{i}_trimap.png")))
    lem = data / "pymatting" / "data" / "lemur"
    img = _rgb(lem / "lemur.png")
    out.append(MattingSet("lemur", img, _gray(lem / "lemur_alpha.png").astype(np.float32) / 255,
                          _cover(_rgb(lem / "beach.png"), *img.shape[:2]),
                          _gray(lem / "lemur_trimap.png")))
    p3m = data / "p3m_demo" / "demo" / "imgs"
    for k, p in enumerate(sorted((p3m / "original").glob("*.jpg"))):
        img = _rgb(p)
        a = _gray(p3m / "alpha" / (p.stem + ".png"))
        s = P3M_SIDE / max(img.shape[:2])
        size = (round(img.shape[1] * s), round(img.shape[0] * s))
        img = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
        a = cv2.resize(a, size, interpolation=cv2.INTER_AREA).astype(np.float32) / 255
        bg = _cover(_rgb(dim / f"{k % 5}_new_bg.png"), *img.shape[:2])
        out.append(MattingSet(f"p3m_{p.stem}", img, a, bg))
    return tuple(out)


@lru_cache(maxsize=32)
def clean_foreground(data: Path, name: str) -> np.ndarray:
    """Decontaminated foreground (pymatting estimate_foreground_ml), uint8."""
    from pymatting import estimate_foreground_ml
    s = next(m for m in matting_sets(data) if m.name == name)
    f = estimate_foreground_ml(s.image / 255.0, s.alpha.astype(np.float64))
    return np.clip(f * 255 + 0.5, 0, 255).astype(np.uint8)


def dilate_alpha(alpha: np.ndarray, px: int) -> np.ndarray:
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * px + 1, 2 * px + 1))
    return cv2.dilate(alpha, k)


def composite(fg: np.ndarray, alpha: np.ndarray, bg: np.ndarray) -> np.ndarray:
    a = alpha[..., None].astype(np.float32)
    return np.clip(fg * a + bg * (1 - a) + 0.5, 0, 255).astype(np.uint8)


def variants(data: Path, s: MattingSet) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(colour, alpha in [0, 1]) cut-outs: clean, photo colour (halo), premultiplied colour,
    alpha dilated 2 px over photo colour, binary alpha over clean colour."""
    f = clean_foreground(data, s.name)
    a = s.alpha
    pre = np.clip(f * a[..., None] + 0.5, 0, 255).astype(np.uint8)
    return {"clean": (f, a), "photo": (s.image, a), "premultiplied": (pre, a),
            "dilated": (s.image, dilate_alpha(a, 2)),
            "binary": (f, (a > 0.5).astype(np.float32))}


def rgba_image(colour: np.ndarray, alpha: np.ndarray) -> LoadedImage:
    rgb = np.ascontiguousarray(colour, dtype=np.uint8)
    a8 = np.clip(alpha * 255 + 0.5, 0, 255).astype(np.uint8)
    rgb.setflags(write=False)
    a8.setflags(write=False)
    return LoadedImage(rgb=rgb, alpha=a8)
