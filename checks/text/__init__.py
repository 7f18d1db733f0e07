"""Text family: pseudo-text that does not read, and watermarks.

Codes
-----
``garbled_text``
    Text-like glyphs that do not read, weighted by prominence: the sum over text lines of
    ``unreadable × sqrt(area share) × centrality`` for lines that are large (≥ 2 % of the
    image) or away from the border (over where the subject usually is). A poster title
    "FIIRE" filling the frame is as bad as it gets; the router sends it to review or trash.
``stray_text``
    The same measure over small lines (< 2 % of the image) near the border: background
    pseudo-text an eraser can remove (the default profile routes it to ``erase``).
``watermark``
    Text or logo-like lines in the corners and edge bands (signatures, stock-photo marks),
    and any string repeated three or more times (a tiled mark). Legible words there count
    only when they look like a mark (``MARK_LIKE``: ©, a URL or handle, a stock agency):
    otherwise they are a caption, a sign or a speech bubble (issue 14).

Per line (``checks.text.ocr``): the recogniser's confidence and string. ``textness`` says it
is glyphs at all (confidence ≥ 0.2 rising to 0.6, at least 1 letter rising to 4 letters);
``reads`` is the string's :func:`~checks.text.plausibility.plausibility` times a confidence
ramp 0.5 → 0.9; ``unreadable = textness × (1 − reads)``, times the line's glyph evidence
(:func:`glyph_evidence`: a "line" a third of the frame tall must be read with more
confidence than a caption, since scene structure shrunk to the recogniser's 48-px input
reads as a few letters). A line counts in proportion to a ramp of its unreadable share
(``UNREADABLE_RAMP``), not past a step, so a reading that wobbles does not switch a large
line on and off. Legible words in a clean generation read (``reads`` ≈ 1) and cost
nothing; so does a line in another script (Cyrillic, Greek, CJK, Arabic…, or Cyrillic read
as Latin lookalikes), counted in the ``other_script`` measurement, since the English
lexicon cannot judge it.

Anchors (``scripts/calibrate/text.py``): the prominence sum maps to severity on a log ramp
from 0.02 (a garbled word of ~0.5 % of the frame off-centre: minor) to 0.5 (text filling a
256-px tile of the CompVis "fire" grid: 1.0); stray text from 0.01 to 0.15. The evidence
``boxes`` (``x,y,w,h;…`` in source px) is what ``erase`` reads; ``Measurement.mask`` holds
the filled text quads for in-process callers.
"""
from __future__ import annotations

import re
from collections import Counter

import cv2
import numpy as np

from checks.text import ocr
from checks.text.plausibility import MARK_LIKE, other_script, plausibility
from keyframe.image import LoadedImage
from keyframe.registry import NO_CONTEXT, Check, Context
from keyframe.report import Measurement
from keyframe.severity import log_ramp, ramp

#: a line smaller than this share of the image, near the border, counts as background
SMALL_AREA = 0.02
#: normalised distance from the centre (0 centre, 1 border) beyond which a line is background
BACKGROUND_OFFSET = 0.45
GARBLED_ZERO, GARBLED_ONE = 0.02, 0.5
STRAY_ZERO, STRAY_ONE = 0.01, 0.15
#: edge band of a watermark: normalised offset ramps from 0.6 (nothing) to 0.85 (full)
WATERMARK_EDGE = (0.6, 0.85)
#: watermark lines smaller than these area shares are specks; larger are not marks
WATERMARK_MIN_AREA = (0.0002, 0.001)
WATERMARK_MAX_AREA = 0.05
TILED_REPEATS = 3
#: a line's prominence counts from this unreadable share, in full from the second (a ramp:
#: a step at 0.1 switched a 60 %-of-frame "line" from 0 to minor when ±1 grey of noise moved
#: its confidence; scripts/calibrate/stability.py, docs/text.md)
UNREADABLE_RAMP = (0.05, 0.15)
#: glyph evidence (:func:`glyph_evidence`): the best reading's confidence must pass a bar
#: that rises from ``GLYPH_BAR[0]`` for lines up to ``GLYPH_TALL[0]`` of the short side tall
#: to ``GLYPH_BAR[1]`` from ``GLYPH_TALL[1]`` on, counting in full ``GLYPH_RAMP`` above it.
#: Set on the lines over 15 % of the short side tall of the 185 dev pictures of
#: scripts/calibrate/stability.py and the CompVis "fire" tiles (docs/text.md).
GLYPH_BAR = (0.2, 0.4)
GLYPH_TALL = (0.15, 0.35)
GLYPH_RAMP = 0.15


def _letters(text: str) -> int:
    return sum(c.isalnum() for c in text)


def _reading_scores(text: str, confidence: float) -> tuple[float, float, float]:
    t = ramp(confidence, 0.2, 0.6) * ramp(_letters(text), 1, 4)
    if other_script(text):
        return t, 1.0, 0.0
    reads = plausibility(text) * ramp(confidence, 0.5, 0.9)
    return t, reads, t * (1.0 - reads)


def line_scores(r: ocr.TextRegion) -> tuple[float, float, float]:
    """(textness, reads, unreadable) of one recognised line, each in [0, 1], the mean over
    its readings (:mod:`checks.text.ocr` reads each line twice): a recogniser's reading of
    stylised text flips with a pixel of crop, and the mean of two readings moves half as
    far. (Keeping the better reading, as the anatomy check keeps the better of a picture
    and its mirror, was tried: the recogniser's language prior reads the generator's "FIIRE"
    as "FIRE" from one of the two crops, and garbled-vs-legible ROC-AUC fell 0.925 -> 0.888.)
    A line in another script (:func:`~checks.text.plausibility.other_script`) reads: the
    English lexicon cannot judge it, and a sign in Cyrillic or Chinese is not pseudo-text."""
    if not r.read:
        return 0.0, 0.0, 0.0
    scored = [_reading_scores(t, c) for t, c in (r.readings or ((r.text, r.confidence),))]
    return tuple(float(np.mean([s[k] for s in scored])) for k in range(3))  # type: ignore


def glyph_evidence(r: ocr.TextRegion, width: int, height: int) -> float:
    """How sure the recogniser is that a line is glyphs at all, in [0, 1], for its size: its
    best reading's confidence against a bar that rises with the line's height (quad height
    over the image's short side). The recogniser scales every crop to 48 px tall, so a
    detector "line" half the frame tall (players against sand, a net) shrinks into blobs it
    reads as a few letters at middling confidence, which any pixel of noise moves; real
    lettering that large reads confidently. Small lines meet the low bar as before."""
    if not r.read:
        return 0.0
    q = np.asarray(r.quad, np.float32)
    tall = float(np.linalg.norm(q[3] - q[0])) / max(1, min(width, height))
    bar = GLYPH_BAR[0] + (GLYPH_BAR[1] - GLYPH_BAR[0]) * ramp(tall, *GLYPH_TALL)
    best = max(c for _, c in (r.readings or ((r.text, r.confidence),)))
    return ramp(best, bar, bar + GLYPH_RAMP)


def _geometry(r: ocr.TextRegion, width: int, height: int) -> tuple[float, float]:
    """(area share, normalised offset of the box centre: 0 centre, 1 at the border)."""
    x, y, w, h = r.box
    cx, cy = x + w / 2, y + h / 2
    off = max(abs(cx - width / 2) / (width / 2), abs(cy - height / 2) / (height / 2))
    return w * h / (width * height), min(1.0, off)


def _mask(regions: list[ocr.TextRegion], shape: tuple[int, int]) -> np.ndarray | None:
    if not regions:
        return None
    m = np.zeros(shape, np.uint8)
    cv2.fillPoly(m, [np.round(r.quad).astype(np.int32) for r in regions], 1)
    return m.astype(bool)


def _union(regions: list[ocr.TextRegion]) -> tuple[int, int, int, int] | None:
    if not regions:
        return None
    x0 = min(r.box[0] for r in regions)
    y0 = min(r.box[1] for r in regions)
    x1 = max(r.box[0] + r.box[2] for r in regions)
    y1 = max(r.box[1] + r.box[3] for r in regions)
    return (x0, y0, x1 - x0, y1 - y0)


def _boxes(regions: list[ocr.TextRegion]) -> str:
    return ";".join(",".join(str(int(v)) for v in r.box) for r in regions)


def _quote(regions: list[ocr.TextRegion], n: int = 3) -> str:
    return ", ".join(repr(r.text) for r in regions[:n] if r.text)


class TextCheck(Check):
    name = "text"
    codes = ("garbled_text", "stray_text", "watermark")

    def measure(self, image: LoadedImage, ctx: Context = NO_CONTEXT) -> list[Measurement]:
        regions = ocr.find_text(image)
        W, H = image.width, image.height
        garbled, stray, marks = [], [], []
        p_garbled = p_stray = mark = 0.0
        texts = Counter()
        for r in regions:
            t, reads, u = line_scores(r)
            u *= glyph_evidence(r, W, H)
            area, off = _geometry(r, W, H)
            centrality = 1.0 - 0.5 * off
            p = ramp(u, *UNREADABLE_RAMP) * u * np.sqrt(area) * centrality
            if p > 0:
                if area < SMALL_AREA and off >= BACKGROUND_OFFSET:
                    stray.append(r)
                    p_stray += p
                else:
                    garbled.append(r)
                    p_garbled += p
            tw = ramp(r.confidence, 0.3, 0.7) * ramp(_letters(r.text), 1, 3)
            # legible words near the border are a caption, a sign or a speech bubble unless
            # they look like a mark (a copyright sign, a URL, a stock agency)
            legible = 0.0 if MARK_LIKE.search(r.text) else reads
            w_mark = (tw * (1.0 - legible) * ramp(off, *WATERMARK_EDGE)
                      * ramp(area, *WATERMARK_MIN_AREA)
                      * (1.0 if area <= WATERMARK_MAX_AREA else 0.0))
            if w_mark > 0.1:
                marks.append(r)
                mark = max(mark, w_mark)
            key = re.sub(r"\W+", "", r.text.lower())
            if len(key) >= 3 and tw > 0.5:
                texts[key] += 1
        tiled = [k for k, n in texts.items() if n >= TILED_REPEATS]
        if tiled:
            mark = max(mark, 0.9)
            marks += [r for r in regions if re.sub(r"\W+", "", r.text.lower()) in tiled
                      and r not in marks]
        common = {"lines": len(regions), "read": sum(r.read for r in regions),
                  "other_script": sum(r.read and other_script(r.text) for r in regions)}
        shape = (H, W)
        return [
            Measurement(
                "garbled_text", log_ramp(p_garbled, GARBLED_ZERO, GARBLED_ONE) if garbled
                else 0.0,
                f"{len(garbled)} prominent text line(s) do not read: {_quote(garbled)}"
                if garbled else "no prominent text that fails to read",
                region=_union(garbled), mask=_mask(garbled, shape), check=self.name,
                measurements={**common, "prominence": p_garbled, "boxes": _boxes(garbled)}),
            Measurement(
                "stray_text", log_ramp(p_stray, STRAY_ZERO, STRAY_ONE) if stray else 0.0,
                f"{len(stray)} small background text line(s) do not read: {_quote(stray)}"
                if stray else "no small background text that fails to read",
                region=_union(stray), mask=_mask(stray, shape), check=self.name,
                measurements={**common, "prominence": p_stray, "boxes": _boxes(stray)}),
            Measurement(
                "watermark", mark,
                f"text near the border or tiled looks like a watermark: {_quote(marks)}"
                if marks else "no watermark-like text",
                region=_union(marks), mask=_mask(marks, shape), check=self.name,
                measurements={**common, "tiled": len(tiled), "boxes": _boxes(marks)}),
        ]
