"""Build samples/: a small embedded set of clean and flawed images, one flaw per artifact code.

Every image is made from photos that ship inside scikit-image (``skimage.data``), so anyone
with the project's dependencies can rebuild the set and run the README's main command.
Degradations are seeded and deterministic. The expected verdict of each file is the table in
samples/README.md; tests/test_samples.py holds ``keyframe triage samples/`` to it.

Usage: python -m scripts.dev.make_samples [OUT_DIR]   (default: samples/)
"""
from __future__ import annotations

import io
import sys
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from skimage import data

from keyframe.image import encode_png
from keyframe.package import write_atomic


def _resize(rgb: np.ndarray, long_side: int, interp: int = cv2.INTER_CUBIC) -> np.ndarray:
    h, w = rgb.shape[:2]
    f = long_side / max(h, w)
    return cv2.resize(rgb, (round(w * f), round(h * f)), interpolation=interp)


def _u8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def clean_astronaut() -> np.ndarray:
    return data.astronaut()


def clean_coffee() -> np.ndarray:
    return data.coffee()


def clean_rocket() -> np.ndarray:
    return data.rocket()


def soft_upscaled() -> np.ndarray:
    """A 128-px render blown up 4x to 512 px (bicubic): soft everywhere, sharpenable."""
    small = _resize(data.astronaut(), 128, cv2.INTER_AREA)
    return _resize(small, 512, cv2.INTER_CUBIC)


def defocused() -> np.ndarray:
    """Heavy defocus (Gaussian sigma 5 px): no sharpening brings this back."""
    return cv2.GaussianBlur(data.coffee(), (0, 0), 5.0)


def noisy() -> np.ndarray:
    """Gaussian sensor-like noise, sigma 14 grey levels, seeded."""
    rng = np.random.default_rng(7)
    rgb = data.astronaut().astype(np.float32)
    return _u8(rgb + rng.normal(0, 14, rgb.shape))


def jpeg_blocky() -> bytes:
    """JPEG at quality 8: 8x8 blocks everywhere. Returned as file bytes (a real JPEG)."""
    buf = io.BytesIO()
    Image.fromarray(data.rocket()).save(buf, format="JPEG", quality=8, optimize=False)
    return buf.getvalue()


def banded() -> np.ndarray:
    """The rocket's smooth sky posterised to 10 levels per channel: contour bands."""
    rgb = data.rocket().astype(np.float32)
    levels = 10
    step = 255.0 / (levels - 1)
    return _u8(np.round(rgb / step) * step)


def blown_highlights() -> np.ndarray:
    """Overexposed by 1.5 stops (linear light x2.8): the face and the suit burn out to white."""
    lin = (data.astronaut().astype(np.float32) / 255.0) ** 2.2
    return _u8(np.clip(lin * 2.0 ** 1.5, 0, 1) ** (1 / 2.2) * 255)


def crushed_shadows() -> np.ndarray:
    """Black point raised to 75 (a heavy levels/contrast push): the night sky and the tower's
    shadows go flat black."""
    rgb = data.rocket().astype(np.float32)
    return _u8((rgb - 75.0) / (255.0 - 75.0) * 255.0)


def letterboxed() -> np.ndarray:
    """Black bars top and bottom (12 % each): padding a generator added to reach an aspect."""
    rgb = data.astronaut().copy()
    bar = int(0.12 * rgb.shape[0])
    rgb[:bar] = 0
    rgb[-bar:] = 0
    return rgb


def checkerboard() -> np.ndarray:
    """A period-2 checkerboard of +-3 grey levels: the transposed-convolution artefact."""
    rgb = data.coffee().astype(np.float32)
    yy, xx = np.indices(rgb.shape[:2])
    pattern = np.where((xx + yy) % 2 == 0, 3.0, -3.0)[..., None]
    return _u8(rgb + pattern)


def oversharpened() -> np.ndarray:
    """Unsharp mask with amount 4 at sigma 1.5 px: bright and dark halos along every edge."""
    rgb = data.coffee().astype(np.float32)
    blur = cv2.GaussianBlur(rgb, (0, 0), 1.5)
    return _u8(rgb + 4.0 * (rgb - blur))


def broken() -> bytes:
    """A PNG cut in half, as a failed download leaves it."""
    png = encode_png(data.coffee())
    return png[: len(png) // 2]


SAMPLES = {
    "clean_astronaut.png": clean_astronaut,
    "clean_coffee.png": clean_coffee,
    "clean_rocket.png": clean_rocket,
    "soft_upscaled.png": soft_upscaled,
    "defocused.png": defocused,
    "noisy.png": noisy,
    "jpeg_blocky.jpg": jpeg_blocky,
    "banded.png": banded,
    "blown_highlights.png": blown_highlights,
    "crushed_shadows.png": crushed_shadows,
    "letterboxed.png": letterboxed,
    "checkerboard.png": checkerboard,
    "oversharpened.png": oversharpened,
    "broken.png": broken,
}


def build(out: Path) -> list[Path]:
    """Write every sample into ``out``; returns the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, make in SAMPLES.items():
        result = make()
        payload = result if isinstance(result, bytes) else encode_png(result)
        write_atomic(out / name, payload)
        written.append(out / name)
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "samples"
    for p in build(target):
        sys.stdout.write(f"{p}\n")
