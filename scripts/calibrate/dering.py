"""Calibrate deblock's dering: the ``oversharpened`` halo and PSNR of JPEG copies before and
after ``deblock`` (plan params from the JPEG's own ``jpeg_blocking`` reading), with the
dering amount overridden by each value given.

Data: FreiHAND hand photos (224 px) at q=40/30/25/8 and COCO 000000040083 at q=50/8 (the
cases the gate sent to review for ``oversharpened`` after deblocking), skimage astronaut and
LIVE parrots at q=30 (tune set).

    python -m scripts.calibrate.dering 0,1      # amounts to compare
"""
import argparse
import glob

import cv2
import numpy as np
from PIL import Image

from checks.artifact.blur import measure_blur
from checks.artifact.compression import measure_jpeg_blocking
from checks.artifact.sharpness import measure_oversharpened
from keyframe.fixes.deblock import Deblock
from keyframe.image import from_array
from scripts.calibrate.eval_gate import jpeg, psnr
from scripts.calibrate.gate_pictures import DATA

FREIHAND = "mmpose_testdata/tests/data/freihand/"
CASES = ((FREIHAND + "00050180.jpg", 40), (FREIHAND + "00082740.jpg", 30),
         (FREIHAND + "00115300.jpg", 25), (FREIHAND + "00050180.jpg", 8),
         (FREIHAND + "00082740.jpg", 8), ("*/000000040083.jpg", 50), ("*/000000040083.jpg", 8),
         ("skimage_astronaut/astronaut.png", 30), ("live_iqa_cilissa/ref_images/parrots.png", 30),
         ("pymatting/data/lemur/lemur.png", 60), ("pymatting/data/lemur/lemur.png", 8),
         ("comfyui_examples/sd3/sd3.5_simple_example.png", 8),
         ("blur_dataset_kwentar/samples/176_HONOR-7X_S.jpg", 8))


def blur(rgb: np.ndarray) -> float:
    return max(m.severity for m in measure_blur(from_array(rgb)))


def halo(rgb: np.ndarray) -> float:
    return measure_oversharpened(from_array(rgb)).measurements["halo"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("amounts", nargs="?", default="0,1", help="comma-separated dering amounts")
    amounts = [float(a) for a in ap.parse_args().amounts.split(",")]
    for pattern, q in CASES:
        found = sorted(glob.glob(str(DATA / "**" / pattern), recursive=True))
        if not found:
            continue
        clean = np.asarray(Image.open(found[0]).convert("RGB"))
        if max(clean.shape) > 1024:        # as eval_gate: long side 1024, area resampling
            k = 1024 / max(clean.shape)
            clean = cv2.resize(clean, None, fx=k, fy=k, interpolation=cv2.INTER_AREA)
        j = jpeg(clean, q)
        m = measure_jpeg_blocking(from_array(j))
        pp = Deblock.plan_params(m)
        row = [f"{pattern.split('/')[-1][:12]:12s} q{q:2d} | halo clean "
               f"{halo(clean):.3f} jpeg {halo(j):.3f} blur {blur(j):.2f} | PSNR jpeg {psnr(j, clean):.2f} |"]
        for a in amounts:
            out = Deblock().apply(j, Deblock.Params(**dict(pp, dering=a)))
            blk = measure_jpeg_blocking(from_array(out)).severity
            row.append(f" a{a:.2f} halo {halo(out):.3f} blocking {blk:.2f} blur {blur(out):.2f} "
                       f"PSNR {psnr(out, clean):.2f}")
        print("".join(row), flush=True)


if __name__ == "__main__":
    main()
