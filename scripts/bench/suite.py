"""Benchmark: ms per image for decode, each artifact measurement, each check family, all.

Not a test: timings depend on the machine. Runs in one process on one thread (OpenCV's pool
set to 1) so the numbers read as "per image on one core". Inputs are real photos from
scikit-image (and ../shared/data's 2048-px camera shots when present) resized to each long
side and encoded as PNG and JPEG, so decode cost is the real one.

Families that need models (anatomy) are skipped quickly unless KEYFRAME_MODELS points at
them. Usage: python -m scripts.bench.suite [--sizes 1024 1280 2048] [--repeat 5]
"""
from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from skimage import data

from checks.artifact import banding, blur, compression, grid, noise, sharpness, tonal
from keyframe.assess import assess, default_checks, measure
from keyframe.image import encode_png, load_bytes
from keyframe.profiles import load_profile
from keyframe_dev.timing import median_ms

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"

MEASURES = {
    "blur": blur.measure_blur,
    "oversharpened": sharpness.measure_oversharpened,
    "noise": noise.measure_noise,
    "jpeg_blocking": compression.measure_jpeg_blocking,
    "grid_artifact": grid.measure_grid_artifact,
    "banding": banding.measure_banding,
    "clipping": tonal.measure_clipping,
    "border": tonal.measure_border,
}


def sources() -> list[np.ndarray]:
    imgs = [data.astronaut(), data.coffee(), data.rocket()]
    cams = sorted((SHARED / "blur_dataset_kwentar" / "samples").glob("*_S.*"))
    for p in cams:
        imgs.append(np.asarray(Image.open(p).convert("RGB")))
    return imgs


def encode(rgb: np.ndarray, fmt: str) -> bytes:
    if fmt == "PNG":
        return encode_png(rgb)
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, 92])
    return buf.tobytes()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1024, 1280, 2048])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    cv2.setNumThreads(1)
    profile = load_profile("default")
    srcs = sources()
    print(f"{len(srcs)} source photos, median of {args.repeat} runs, one thread")
    for size in args.sizes:
        families = {f"family {c.name}": c for c in default_checks()}
        rows: dict[str, list[float]] = {k: [] for k in
                                        ["decode PNG", "decode JPEG", *MEASURES, *families,
                                         "all checks"]}
        for src in srcs:
            h, w = src.shape[:2]
            f = size / max(h, w)
            rgb = cv2.resize(src, (round(w * f), round(h * f)), interpolation=cv2.INTER_AREA
                             if f < 1 else cv2.INTER_CUBIC)
            for fmt in ("PNG", "JPEG"):
                blob = encode(rgb, fmt)
                rows[f"decode {fmt}"].append(median_ms(lambda: load_bytes(blob), args.repeat))
            for name, fn in MEASURES.items():
                rows[name].append(median_ms(lambda: fn(_fresh(rgb)), args.repeat))
            for name, check in families.items():
                rows[name].append(median_ms(lambda: measure(_fresh(rgb), checks=[check]), args.repeat))
            rows["all checks"].append(median_ms(lambda: assess(_fresh(rgb), profile=profile),
                                                args.repeat))
        dec = statistics.mean(rows["decode PNG"])
        print(f"\n== long side {size} px ==")
        for k, v in rows.items():
            mean = statistics.mean(v)
            print(f"  {k:<15} {mean:8.1f} ms   ({mean / dec:5.2f}x PNG decode)")


def _fresh(rgb: np.ndarray):
    """A LoadedImage with an empty view cache, as a real load would give."""
    from keyframe.image import LoadedImage
    return LoadedImage(rgb=rgb)


if __name__ == "__main__":
    main()
