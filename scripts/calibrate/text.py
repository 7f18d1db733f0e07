"""Calibration table for the text family: garbled_text severity on garbled vs legible tiles.

Garbled: the six tiles of ../shared/data/compvis_sd_assets/fire.png (tile_labels.csv: all
garbled) plus synthetic pseudo-words (random letters, shuffled glyph halves) rendered on
scikit-image photos, four of them under a legible title. Legible: real words rendered the same way, and the clean ComfyUI
generations (whole images). Prints each score, the ROC-AUC of garbled vs legible, and how
many of each reach the default profile's minor and major.

    python -m scripts.calibrate.text
"""
from __future__ import annotations

import csv
import random
import string
from pathlib import Path

import numpy as np
import skimage.data
from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parents[2]

from checks.text import TextCheck  # noqa: E402
from keyframe_dev.data import clean_generations, img  # noqa: E402
from keyframe.image import load  # noqa: E402
from keyframe.profiles import load_profile  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
WORDS = ["FIRE", "HOTEL", "COFFEE", "OPEN", "MARKET", "GARDEN", "STATION", "BAKERY",
         "MUSEUM", "THEATRE", "POLICE", "WELCOME"]
PHOTOS = ["coffee", "chelsea", "astronaut", "rocket"]
MIXED_TITLES = ["GARDEN", "WELCOME", "MARKET", "BAKERY"]


def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
    return ImageFont.truetype(str(path), size) if path.exists() else ImageFont.load_default(size)


def pseudo(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.ascii_uppercase) for _ in range(n))


def render(photo: str, text: str, size: int, tile: int = 256, *, shuffle: bool = False,
           seed: int = 0, title: str | None = None) -> np.ndarray:
    """``text`` drawn in white with a dark outline across the middle of a photo tile; with
    ``shuffle`` the upper and lower halves of the glyph row are cut into glyph-wide strips
    and shuffled, so strokes look like letters but spell nothing; with ``title`` that line
    is drawn above it, at the same size, and never shuffled."""
    base = Image.fromarray(getattr(skimage.data, photo)()).convert("RGB").resize((tile, tile))
    layer = Image.new("L", (tile, tile), 0)
    d = ImageDraw.Draw(layer)
    f = font(size)
    w = d.textlength(text, font=f)
    y = tile // 2 - size // 2
    d.text(((tile - w) / 2, y), text, font=f, fill=255)
    if title:
        d.text(((tile - d.textlength(title, font=f)) / 2, y - 2 * size), title, font=f, fill=255)
    m = np.asarray(layer).copy()
    if shuffle:
        rng = np.random.default_rng(seed)
        band = m[y:y + size + size // 4]
        x0, x1 = int((tile - w) / 2), int((tile + w) / 2)
        step = max(4, size // 3)
        for half in (slice(0, band.shape[0] // 2), slice(band.shape[0] // 2, None)):
            cols = [band[half, x:x + step].copy() for x in range(x0, x1 - step + 1, step)]
            rng.shuffle(cols)
            for i, c in enumerate(cols):
                band[half, x0 + i * step:x0 + i * step + step] = c
    rgb = np.asarray(base).astype(np.float32)
    a = (m.astype(np.float32) / 255)[..., None]
    return np.clip(rgb * (1 - a) + 245 * a, 0, 255).astype(np.uint8)


def auc(pos: list[float], neg: list[float]) -> float:
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def main() -> None:
    check = TextCheck()
    sev = lambda rgb: next(m for m in check.measure(img(rgb)) if m.code == "garbled_text")
    garbled, legible = [], []
    labels = DATA / "compvis_sd_assets" / "tile_labels.csv"
    if labels.exists():
        grid = load(DATA / "compvis_sd_assets" / "fire.png").rgb
        for row in csv.DictReader(labels.open()):
            x0, y0, x1, y1 = (int(row[k]) for k in ("x0", "y0", "x1", "y1"))
            m = sev(grid[y0:y1, x0:x1])
            (garbled if row["garbled_text"] == "1" else legible).append(m.severity)
            print(f"fire tile {row['tile_index_0based']} ({row['rendered_text_reading']}): "
                  f"{m.severity:.3f}  {m.message}")
    rng = random.Random(0)
    for i, word in enumerate(WORDS):
        photo, size = PHOTOS[i % len(PHOTOS)], 28 + 4 * (i % 4)
        for kind, text, shuffle in (("legible", word, False),
                                    ("random", pseudo(rng, len(word)), False),
                                    ("shuffled", word, True)):
            m = sev(render(photo, text, size, shuffle=shuffle, seed=i))
            (legible if kind == "legible" else garbled).append(m.severity)
            print(f"synthetic {kind:8s} {text:8s} on {photo:9s}: {m.severity:.3f}  {m.message}")
    # a legible title over pseudo-text: a generation that renders one line right and
    # garbles another (docs/text.md: what a discount for legible company would miss)
    for i, title in enumerate(MIXED_TITLES):
        photo, text = PHOTOS[i % len(PHOTOS)], pseudo(rng, 6)
        m = sev(render(photo, text, 28, title=title))
        garbled.append(m.severity)
        print(f"synthetic title + pseudo {title} / {text} on {photo:9s}: {m.severity:.3f}  "
              f"{m.message}")
    if DATA.exists():
        for p in clean_generations(DATA):
            m = sev(load(p).rgb)
            legible.append(m.severity)
            print(f"clean {p.name}: {m.severity:.3f}")
    print(f"\ngarbled n={len(garbled)} mean={np.mean(garbled):.3f}; legible n={len(legible)} "
          f"mean={np.mean(legible):.3f}; ROC-AUC={auc(garbled, legible):.3f}")
    rule = load_profile("default").rule("garbled_text")
    for level in ("minor", "major"):
        bar = getattr(rule, level)
        print(f"at {level} ({bar:g}): garbled recall {sum(s >= bar for s in garbled)}/{len(garbled)}, "
              f"legible flagged {sum(s >= bar for s in legible)}/{len(legible)}")


if __name__ == "__main__":
    main()
