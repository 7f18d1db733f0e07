"""Print the saliency edge ratio (checks/framing/, subject_near_edge without regions) on
clean photos (samples/clean_*, ../shared/data ComfyUI generations) and on the same images
shifted so that their most salient part touches an edge: the table the anchors came from.

``--objects`` (needs the ``u2netp`` model: KEYFRAME_MODELS) prints instead, per picture, what
:class:`checks.framing.subject.SalientObject` reads of its matte — the undecided share (0.2-0.8),
the share above 0.5 and the box it returns (None: no single object) — on those pictures, the
LIVE references, skimage's rocket, coffee and chelsea, the ComfyUI controlnet example (a
screenshot of a node graph) and a flat picture, a gradient and noise: the table behind
``MAX_UNDECIDED`` and ``MIN_AREA`` / ``MAX_AREA``."""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]

from checks.framing import saliency_edge_ratio  # noqa: E402
from keyframe_dev.data import clean_generations  # noqa: E402
from keyframe.fixes.reframe import salient_box  # noqa: E402
from keyframe.image import load  # noqa: E402


def shifted(rgb: np.ndarray) -> np.ndarray:
    """Crop so that the saliency box's centre lands 2 % from the right edge."""
    x, y, w, h = salient_box(rgb)
    cx = x + w // 2
    keep = min(rgb.shape[1], int(cx / 0.98))
    return rgb[:, :keep]


def objects(paths: list[Path]) -> None:
    """The salient-object matte's readings per picture (see the module docstring)."""
    from skimage import data as skdata

    from checks.framing.subject import SalientObject

    so = SalientObject()
    pictures = [(p.name, load(p).rgb) for p in paths]
    pictures += [(n, getattr(skdata, n)()) for n in ("rocket", "coffee", "chelsea")]
    ramp = np.tile(np.linspace(0, 255, 512), (384, 1))
    pictures += [("flat", np.full((300, 400, 3), 128, np.uint8)),
                 ("gradient", np.dstack([ramp] * 3).astype(np.uint8)),
                 ("noise", np.random.default_rng(0).integers(0, 256, (384, 512, 3),
                                                             dtype=np.uint8))]
    print("undecided  area   box  picture")
    for name, rgb in pictures:
        m = so.matte(rgb)
        undecided = float(((m > 0.2) & (m < 0.8)).mean())
        print(f"{undecided:9.3f} {float((m > 0.5).mean()):6.3f}  {so.box(rgb)}  {name}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--objects", action="store_true",
                    help="the u2netp salient-object readings instead (needs the model)")
    args = ap.parse_args()
    paths = sorted((ROOT / "samples").glob("clean_*.png"))
    data = ROOT.parent / "shared" / "data"
    if data.is_dir():
        paths += clean_generations(data)
    if args.objects:
        if data.is_dir():
            paths += sorted((data / "live_iqa_cilissa" / "ref_images").glob("*.png"))
            paths += [data / "comfyui_examples" / "controlnet" / "controlnet_example.png"]
        objects(paths)
        return
    rows = []
    for p in paths:
        rgb = load(p).rgb
        rows.append((saliency_edge_ratio(rgb), saliency_edge_ratio(shifted(rgb)), p.name))
    for clean, edge, name in rows:
        print(f"{clean:6.2f} {edge:6.2f}  {name}")
    c = np.array([r[0] for r in rows]); e = np.array([r[1] for r in rows])
    print(f"clean: median {np.median(c):.2f} p90 {np.percentile(c, 90):.2f} max {c.max():.2f}")
    print(f"cut at the edge: median {np.median(e):.2f} p10 {np.percentile(e, 10):.2f}")


if __name__ == "__main__":
    main()
