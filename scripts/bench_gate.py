"""How often does `keyframe gate` certify a mild defect without making anything else worse?

For every clean photo (scikit-image's astronaut, coffee, chelsea, rocket, and the ComfyUI
generations in ../shared/data when present; each resized to a 768-px long side) and every
degradation ladder below, "level 1" is the mildest rung the default profile flags (the
degraded code reaches major). The gate runs on it; the table gives per code: how many
images were flagged at level 1, the share the gate certified, the share where some other
code rose by more than the gate's epsilon from the degraded source, and the time per image.

    python scripts/bench_gate.py [--long-side 768]
"""
from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import skimage.data
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from keyframe.gate import EPSILON, gate  # noqa: E402
from keyframe.image import from_array, load  # noqa: E402
from keyframe.profiles import load_profile  # noqa: E402

SHARED = ROOT.parent / "shared" / "data" / "comfyui_examples"
GEN_DIRS = ("flux", "sdxl", "sd3", "sdturbo", "stable_cascade", "hypernetworks")


def _u8(x):
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def blur(rgb, s):
    return cv2.GaussianBlur(rgb, (0, 0), s)


def noise(rgb, s):
    rng = np.random.default_rng(3)
    return _u8(rgb + rng.normal(0, s, rgb.shape))


def jpeg(rgb, q):
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=int(q))
    return np.array(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def banding(rgb, levels):
    # a smooth vertical sky gradient over the top half, quantised to `levels` steps
    f = rgb.astype(np.float32)
    h, w = rgb.shape[:2]
    top = h // 2
    ramp = np.linspace(0.0, 1.0, top, dtype=np.float32)[:, None, None]
    sky = np.array([60, 110, 200], np.float32) * (1 - ramp) + np.array([200, 220, 250]) * ramp
    step = 1.0 / (levels - 1)
    q = np.round(ramp / step) * step
    sky_q = np.array([60, 110, 200], np.float32) * (1 - q) + np.array([200, 220, 250]) * q
    del sky
    f[:top] = np.broadcast_to(sky_q, (top, w, 3))
    return _u8(f)


def border(rgb, share):
    out = rgb.copy()
    bar = max(1, int(share * rgb.shape[0]))
    out[:bar] = 0
    out[-bar:] = 0
    return out


def oversharpen(rgb, amount):
    f = rgb.astype(np.float32)
    return _u8(f + amount * (f - cv2.GaussianBlur(f, (0, 0), 1.5)))


LADDERS = {
    "blur": (blur, [0.8, 1.2, 1.6, 2.0, 2.5, 3.0, 3.5]),
    "noise": (noise, [2, 3, 4, 5, 6, 8, 10, 12, 16]),
    "jpeg_blocking": (jpeg, [70, 50, 40, 30, 25, 20, 15, 10]),
    "banding": (banding, [128, 96, 64, 48, 32, 24, 16, 12]),
    "border": (border, [0.01, 0.02, 0.04, 0.06, 0.08]),
    "oversharpened": (oversharpen, [0.5, 1.0, 1.5, 2.0, 3.0, 4.0]),
}


def photos(long_side):
    items = [(n, getattr(skimage.data, n)()) for n in ("astronaut", "coffee", "chelsea", "rocket")]
    if SHARED.is_dir():
        for d in GEN_DIRS:
            for p in sorted((SHARED / d).glob("*.png")):
                items.append((p.stem, np.array(load(p).rgb)))
    out = []
    for name, rgb in items:
        h, w = rgb.shape[:2]
        f = long_side / max(h, w)
        out.append((name, cv2.resize(rgb, (round(w * f), round(h * f)),
                                     interpolation=cv2.INTER_AREA)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--long-side", type=int, default=768)
    args = ap.parse_args()
    profile = load_profile("default")
    images = photos(args.long_side)
    print(f"{len(images)} clean images at {args.long_side} px; epsilon {EPSILON}")
    print("| code | level-1 rung (per image) | flagged | certified | other code raised | "
          "end verdicts | s / image |")
    print("|---|---|---|---|---|---|---|")
    for code, (degrade, rungs) in LADDERS.items():
        flagged = certified = raised = 0
        verdicts: dict[str, int] = {}
        used, seconds = [], 0.0
        for name, clean in images:
            for rung in rungs:
                src = from_array(degrade(clean, rung), name=f"{name}-{code}-{rung}.png")
                t0 = time.perf_counter()
                res = gate(src, profile=profile)
                dt = time.perf_counter() - t0
                if res.before.scores.get(code, 0.0) < profile.rule(code).major:
                    continue
                flagged += 1
                seconds += dt
                used.append(rung)
                certified += res.verdict == "certified"
                verdicts[res.verdict] = verdicts.get(res.verdict, 0) + 1
                b, a = res.before.scores, res.after.scores
                raised += any(a[c] - b[c] > EPSILON for c in b if c in a and c != code)
                break
        share = f"{certified}/{flagged} ({100 * certified / flagged:.0f} %)" if flagged else "-"
        print(f"| `{code}` | {sorted(set(used))} | {flagged}/{len(images)} | {share} | {raised} | "
              f"{verdicts} | {seconds / max(flagged, 1):.2f} |")


if __name__ == "__main__":
    main()
