"""The pictures ``eval_gate`` (and the calibrations built on its ladders) run on.

Four sets, none of them copied into the project: :data:`CLEAN` (clean pictures of
../shared/data the gate's mending was tuned on), :data:`HELD_OUT` (scikit-image photos
nothing was tuned on), :func:`independent_sources` (photos shipped in other installed
packages) and :func:`more_sources` (the other clean pictures of ../shared/data: portraits,
photos of people and hands). :func:`pictures` yields any of them at a long side.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from keyframe.image import load

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"
CLEAN = (
    "comfyui_examples/flux/flux_dev_example.png",
    "comfyui_examples/flux/flux_schnell_example.png",
    "comfyui_examples/flux/girl_in_field.png",
    "comfyui_examples/sdxl/sdxl_simple_example.png",
    "comfyui_examples/sd3/sd3.5_simple_example.png",
    "comfyui_examples/sdturbo/sdxlturbo_example.png",
    "comfyui_examples/stable_cascade/stable_cascade__text_to_image.png",
    "comfyui_examples/hypernetworks/hypernetwork_example_output.png",
    "skimage_astronaut/astronaut.png",
    "pymatting/data/lemur/lemur.png",
    "live_iqa_cilissa/ref_images/monarch.png",
    "live_iqa_cilissa/ref_images/parrots.png",
    "blur_dataset_kwentar/samples/106_NIKON-D3400-35MM_S.JPG",
    "blur_dataset_kwentar/samples/176_HONOR-7X_S.jpg",
)


#: held out: scikit-image photos nothing here was tuned on (the astronaut is in CLEAN)
HELD_OUT = ("coffee", "chelsea", "rocket")


def independent_sources() -> list:
    """``(stem, reader)`` of the photos shipped in installed packages that neither the gate
    nor its held-out set uses (``clean_certified``'s independent split without
    :data:`HELD_OUT`: scikit-image's motorcycle_left and camera, matplotlib's grace_hopper,
    scikit-learn's china and flower when installed); nothing was tuned on them."""
    from scripts.calibrate.clean_certified import independent_paths

    return [(p.stem, lambda p=p: load(p).rgb) for p in independent_paths()
            if p.stem not in HELD_OUT]


def more_sources(n: int) -> list:
    """``(stem, reader)`` of up to ``n`` clean pictures of ../shared/data that :data:`CLEAN`
    does not hold (``keyframe_dev.data.clean_paths``: the other ComfyUI generations, LIVE
    references, P3M portraits and mmpose photos of people), spread evenly over that list:
    the checks were calibrated on them, the gate's mending was not."""
    from keyframe_dev.data import clean_paths

    used = {(DATA / r).resolve() for r in CLEAN}
    rest = [p for p in clean_paths(DATA) if p.resolve() not in used] if DATA.is_dir() else []
    step = max(1, len(rest) // max(1, n))
    return [(p.stem, lambda p=p: load(p).rgb) for p in rest[::step][:n]]


def pictures(long_side: int, held_out: bool = False, *, independent: bool = False,
             more: int = 0):
    import skimage.data

    if more:
        sources = more_sources(more)
    elif independent:
        sources = independent_sources()
    elif held_out:
        sources = [(n, lambda n=n: getattr(skimage.data, n)()) for n in HELD_OUT]
    else:
        sources = [(Path(r).stem, lambda r=r: load(DATA / r).rgb) for r in CLEAN
                   if (DATA / r).is_file()]
    for stem, read in sources:
        rgb = read()
        h, w = rgb.shape[:2]
        f = long_side / max(h, w)
        if f < 1:
            rgb = cv2.resize(rgb, (round(w * f), round(h * f)), interpolation=cv2.INTER_AREA)
        yield stem, np.ascontiguousarray(rgb)
