"""Print the saliency edge ratio (checks/framing/, subject_near_edge without regions) on
clean photos (samples/clean_*, ../shared/data ComfyUI generations) and on the same images
shifted so that their most salient part touches an edge: the table the anchors came from."""
from __future__ import annotations

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


def main() -> None:
    paths = sorted((ROOT / "samples").glob("clean_*.png"))
    data = ROOT.parent / "shared" / "data"
    if data.is_dir():
        paths += clean_generations(data)
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
