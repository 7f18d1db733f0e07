"""Where do the gate's inspections (keyframe/inspect.py) put clean edits and damaging ones?

Data: the clean pictures of ../shared/data that scripts/calibrate/eval_gate.py uses (at most 1024 px).

* Erase by ``auto``: a small two-word mark (cv2 Hershey text, white with a dark outline)
  drawn in two corner bands; the same corner boxes with nothing in them; the top one of two
  caption lines one line-height apart; a sixth of the frame in the middle.
* Erase, damaging: the top caption line erased with ``patch`` (its texture copied from the
  best-matching neighbouring block: the other line); the middle sixth filled flat.
* Canvas extensions to 9:16 and 16:9: the shipped :func:`keyframe.fixes.reframe.extend`
  (clean) vs a plain mirror, a mirror fading into blur over the band (the extension before
  issue 13) and a flat pad of the edge's mean colour (a seam).
* Local changes: a feathered sharpen of a central box and face_detail (clean) vs the same
  box brightened by 20 grey levels without a feather (a pasted patch).

Prints, per measure, the severities of each group. The anchors in keyframe/inspect.py are
placed so that the edits made clean stay under minor (0.25) and the damaging ones reach it.
The ``erase (auto)`` groups are real outcomes whose quality depends on what lies under the
box: looked at one by one, the fills that read minor or more are the ones that show (a
smooth, grainy box over leaves, fur, wood, flowers or a neighbouring caption line); those
under it sit on smooth backgrounds.

    python -m scripts.calibrate.inspect
"""
from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]

from keyframe.fixes.erase import erase, hole_mask  # noqa: E402
from keyframe.fixes.reframe import _wide_blur, extend  # noqa: E402
from keyframe.inspect import inspect_change, inspect_extension, inspect_fill  # noqa: E402
from keyframe.recipe import make_step, run_step  # noqa: E402
from scripts.calibrate.gate_pictures import pictures  # noqa: E402

FONT = cv2.FONT_HERSHEY_SIMPLEX


def draw_text(rgb, text, org, scale):
    out = rgb.copy()
    th = max(1, round(scale * 2))
    cv2.putText(out, text, org, FONT, scale, (20, 20, 20), th + 2, cv2.LINE_AA)
    cv2.putText(out, text, org, FONT, scale, (245, 245, 245), th, cv2.LINE_AA)
    return out


def text_box(text, org, scale, pad=4):
    (w, h), base = cv2.getTextSize(text, FONT, scale, max(1, round(scale * 2)) + 2)
    return (org[0] - pad, org[1] - h - pad, w + 2 * pad, h + base + 2 * pad)


def fill_cases(rgb):
    """(label, before, after) erase cases on one picture."""
    H, W = rgb.shape[:2]
    scale = W / 1024 * 0.9
    for corner, (fx, fy) in {"tl": (0.03, 0.06), "br": (0.62, 0.96)}.items():
        org = (int(fx * W), int(fy * H))
        marked = draw_text(rgb, "stock 2024", org, scale)
        box = text_box("stock 2024", org, scale)
        hole = hole_mask((H, W), [box])
        yield "erase (auto): a corner mark", marked, erase(marked, hole)
        yield "erase (auto): a bare corner box", rgb, erase(rgb, hole)
    org1, org2 = (int(0.1 * W), int(0.86 * H)), (int(0.1 * W), int(0.93 * H))
    cap = draw_text(draw_text(rgb, "Flux 2, Now in ComfyUI", org1, scale * 1.3),
                    "Generated with a new model", org2, scale * 1.3)
    box = text_box("Flux 2, Now in ComfyUI", org1, scale * 1.3)
    hole = hole_mask((H, W), [box])
    yield "damage: caption line erased by patch (copies)", cap, erase(cap, hole, method="patch")
    yield "erase (auto): a caption line next to another", cap, erase(cap, hole)
    big = (W // 3, H // 3, W // 3, H // 3)
    hole = hole_mask((H, W), [big])
    flat = rgb.copy()
    x, y, w, h = big
    flat[y:y + h, x:x + w] = rgb[y:y + h, x:x + w].reshape(-1, 3).mean(0).astype(np.uint8)
    yield "damage: a sixth of the frame filled flat", rgb, flat
    yield "erase (auto): a sixth of the frame", rgb, erase(rgb, hole)


def old_extend(rgb, top, bottom, left, right):
    """The extension before issue 13: a mirror fading into one strong blur by mid-band."""
    pad = cv2.copyMakeBorder(rgb, top, bottom, left, right, cv2.BORDER_REFLECT_101)
    big = max(top, bottom, left, right, 1)
    blurred = _wide_blur(pad, max(2.0, big / 3))
    h, w = rgb.shape[:2]
    H, W = pad.shape[:2]
    yy, xx = np.arange(H, dtype=np.float32), np.arange(W, dtype=np.float32)
    dy = np.maximum(top - yy, yy - (top + h - 1)).clip(0) / big
    dx = np.maximum(left - xx, xx - (left + w - 1)).clip(0) / big
    wgt = np.clip(np.maximum(dy[:, None], dx[None, :]) * 2.0, 0, 1)[..., None]
    out = pad.astype(np.float32) * (1 - wgt) + blurred.astype(np.float32) * wgt
    out[top:top + h, left:left + w] = rgb
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def extension_cases(rgb):
    H, W = rgb.shape[:2]
    for aspect in (9 / 16, 16 / 9):
        if W / H > aspect:
            add = round(W / aspect) - H
            pads = (add // 2, add - add // 2, 0, 0)
        else:
            add = round(H * aspect) - W
            pads = (0, 0, add // 2, add - add // 2)
        t, b, l, r = pads
        bands = [(s, bx) for s, bx in (
            ("top", (0, 0, W + l + r, t)), ("bottom", (0, H + t, W + l + r, b)),
            ("left", (0, 0, l, H + t + b)), ("right", (W + l, 0, r, H + t + b))) if bx[2] * bx[3]]
        mean = rgb.reshape(-1, 3).mean(0)
        yield "clean: extend (shipped)", extend(rgb, *pads), bands
        yield "damage: plain mirror", cv2.copyMakeBorder(rgb, t, b, l, r,
                                                         cv2.BORDER_REFLECT_101), bands
        yield "damage: mirror fading to blur (before)", old_extend(rgb, *pads), bands
        yield "damage: flat pad (seam)", cv2.copyMakeBorder(
            rgb, t, b, l, r, cv2.BORDER_CONSTANT, value=tuple(float(v) for v in mean)), bands


def change_cases(rgb):
    H, W = rgb.shape[:2]
    box = (W // 3, H // 3, W // 4, H // 4)
    yield "clean: sharpen in a region", rgb, run_step(
        make_step("sharpen", {"amount": 1.0}, region=box), rgb)
    yield "clean: face_detail", rgb, run_step(make_step(
        "face_detail", {"x": box[0], "y": box[1], "w": box[2], "h": box[3]}), rgb)
    pasted = rgb.copy()
    x, y, w, h = box
    pasted[y:y + h, x:x + w] = np.clip(rgb[y:y + h, x:x + w].astype(np.int16) + 20, 0, 255)
    yield "damage: pasted patch (+20, no feather)", rgb, pasted


def main() -> None:
    table: dict[tuple[str, str], list[float]] = defaultdict(list)
    for stem, rgb in pictures(1024):
        for label, before, after in fill_cases(rgb):
            for ins in inspect_fill(before, after):
                table[(ins.code, label)].append(ins.severity)
            worst = max((i.severity for i in inspect_fill(before, after)), default=0.0)
            table[("any fill measure", label)].append(worst)
        for label, after, bands in extension_cases(rgb):
            for ins in inspect_extension(after, bands):
                table[(ins.code, label)].append(ins.severity)
        for label, before, after in change_cases(rgb):
            for ins in inspect_change(before, after):
                table[(ins.code, label)].append(ins.severity)
        print(f"done {stem}", file=sys.stderr)
    print("| measure | case | n | median | max | share >= 0.25 |")
    print("|---|---|---|---|---|---|")
    for (code, label), v in sorted(table.items()):
        a = np.asarray(v)
        print(f"| {code} | {label} | {a.size} | {np.median(a):.2f} | {a.max():.2f} | "
              f"{(a >= 0.25).mean():.0%} |")


if __name__ == "__main__":
    main()
