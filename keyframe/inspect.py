"""The gate's inspection: what a step changed, measured where it changed.

The checks read the whole picture, and a local edit is a small part of it: an erase that
copied the neighbouring caption line into its hole, or a canvas extension that mirrors the
subject's hands, moves no global score, yet a person sees it at once. So after a step the
gate (:mod:`keyframe.gate`) measures the changed region itself, for what that kind of step
can introduce. Each measure gives an :class:`Inspection` with a severity on the shared scale
(0 nothing, 0.25 noticeable, 0.5 visible harm, 0.8 severe); the profile's ``[gate]
rollback_at`` level decides (this module never does).

* **Fills** (:func:`inspect_fill`; erase): ``fill_seam`` — the fill meets its surroundings
  at another colour; ``fill_clone`` — the fill's detail is a copy of
  detail elsewhere in the picture (normalised cross-correlation of the detail layer,
  counted only when the fill has detail at all); ``fill_text`` — strong stroke edges in the
  fill that its surroundings do not have (the share of strong-gradient pixels, the text
  family's cue for glyphs, against the ring's typical share); ``fill_mismatch`` — a fill
  whose colour or texture does not continue its surroundings (a smear on texture, a blotch).
* **Any local change** (:func:`inspect_change`; dehalo, face_detail, despeck, steps with a
  region): ``change_seam`` — new edges along the border of the changed area.
* **Tiles** (:func:`inspect_tiles`; degrid at a seam period): ``tiles_left`` — how far the
  tiles may still sit off each other after degrid's tile solve (its error on the input),
  which its ramps hide at the seam lines.
* **Canvas extensions** (:func:`inspect_extension`; reframe): ``extension_mirror`` — the added
  band shows the picture's detail mirrored or repeated; ``extension_seam`` — a step along the
  line where the band meets the picture.

The anchors were placed with ``scripts/calibrate/inspect.py`` (clean erases and extensions
of the clean pictures in ../shared/data vs cloned fills, ghost captions and mirror bands).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from keyframe.fixes._common import LUMA
from keyframe.severity import ramp

Box = tuple[int, int, int, int]

#: Sobel magnitude (0-255 luma) of a stroke edge: the text family's cue for glyphs
STROKE_GRADIENT = 80.0
#: the fill's stroke-edge share above its ring's typical share: 0 at 0.03, 1 at 0.12
TEXT_ZERO, TEXT_ONE = 0.03, 0.12
#: fill detail correlating with detail elsewhere: 0 at 0.5, 1 at 0.85
CLONE_ZERO, CLONE_ONE = 0.5, 0.85
#: a fill needs this much detail (std of the detail layer, grey levels) to be a clone
CLONE_MIN_DETAIL = 2.0
#: fill mean colour outside the 10-90 % range of the ring's colours (grey levels, worst
#: channel): 0 at 4, 1 at 20
COLOUR_ZERO, COLOUR_ONE = 4.0, 20.0
#: log2 of ring / fill detail (a smear over texture): 0 at 1.5 (x2.8), 1 at 3.5 (x11)
SMEAR_ZERO, SMEAR_ONE = 1.5, 3.5
#: the ring needs this much detail (grey levels) for a smooth fill to read as a smear
SMEAR_MIN_RING = 4.0
#: coherent step along a change's border, or between a fill and its surroundings (grey
#: levels): 0 at 4, 1 at 12
SEAM_ZERO, SEAM_ONE = 4.0, 12.0
#: mirrored-detail visibility (correlation x band/picture detail ratio): 0 at 0.1, 1 at 0.4
MIRROR_ZERO, MIRROR_ONE = 0.1, 0.4
#: mirrored detail fainter than this (std, grey levels) is no image a person makes out
MIRROR_MIN_DETAIL = 2.0
#: step across an extension's seam over the picture's own line-to-line step, minus 1
SEAM_STEP_ZERO, SEAM_STEP_ONE = 1.0, 4.0
#: the tile solve's error on the step between neighbouring tiles (grey levels, RMS / sqrt 2,
#: :func:`keyframe.fixes._tiles.offset_uncertainty`): 0 at 6, 1 at 10. Placed on
#: eval_gate's seams cases at their mild rungs (docs/gate.md "The inspection"): the 14 tune
#: and 3 held-out pictures read 0.4-3.9 (tiles left 0.2-0.9 grey levels off by the oracle
#: ``tile_step``), OneHand10K 33 7.3 (left 0.96-1.2, at the oracle's bound 1.0), the three
#: 224-px FreiHAND crops 8.9-15.2 (left 2.2-3.8): about 7 is where the bound is passed
TILES_ZERO, TILES_ONE = 6.0, 10.0
#: px of a fill's feathered border (where the original still shows through) left out of it
CORE = 4
#: px of ring around a fill that stands for its surroundings
RING = 12


@dataclass(frozen=True)
class Inspection:
    """One thing the gate measured in a changed region."""

    code: str
    severity: float
    message: str
    region: Box | None = None

    def to_dict(self) -> dict:
        return {"code": self.code, "severity": round(self.severity, 4),
                "message": self.message, "region": list(self.region) if self.region else None}


def _luma(rgb: np.ndarray) -> np.ndarray:
    return rgb.astype(np.float32) @ LUMA


def _detail(g: np.ndarray, sigma: float = 2.0) -> np.ndarray:
    return g - cv2.GaussianBlur(g, (0, 0), sigma)


def _strokes(g: np.ndarray) -> np.ndarray:
    """Stroke edges: strong gradients of the luma smoothed by 1 px (pixel grain is not)."""
    g = cv2.GaussianBlur(g, (0, 0), 1.0)
    mag = np.hypot(cv2.Sobel(g, cv2.CV_32F, 1, 0), cv2.Sobel(g, cv2.CV_32F, 0, 1))
    return (mag > STROKE_GRADIENT).astype(np.float32)


def _box(mask: np.ndarray) -> Box:
    ys, xs = np.nonzero(mask)
    return int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)


def _disc(r: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))


def changed(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Where ``after`` differs from ``before`` (same shape) by more than one grey level."""
    return (np.abs(after.astype(np.int16) - before.astype(np.int16)) > 1).any(axis=2)


def _components(mask: np.ndarray, min_px: int = 16) -> list[np.ndarray]:
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), 8)
    return [labels == i for i in range(1, n) if stats[i, cv2.CC_STAT_AREA] >= min_px]


def _ring_blocks(values: np.ndarray, ring: np.ndarray, block: int = 16) -> np.ndarray:
    """Means of ``values`` over the ring's ``block``-px tiles that are mostly ring."""
    H, W = ring.shape
    out = []
    for y in range(0, H, block):
        for x in range(0, W, block):
            r = ring[y:y + block, x:x + block]
            if r.sum() >= 0.5 * r.size:
                out.append(float(values[y:y + block, x:x + block][r].mean()))
    return np.asarray(out)


def _clone_ncc(detail: np.ndarray, hole: np.ndarray, box: Box) -> float:
    """Best normalised correlation of the fill's detail with a window of the picture's
    detail that does not overlap the changed area (searched within 3 box sizes)."""
    x, y, w, h = box
    H, W = detail.shape
    if w * h > 0.25 * H * W or w < 4 or h < 4:
        return 0.0
    reach = 3 * max(w, h)
    x0, y0 = max(0, x - reach), max(0, y - reach)
    x1, y1 = min(W, x + w + reach), min(H, y + h + reach)
    search = np.ascontiguousarray(detail[y0:y1, x0:x1])
    tmpl = np.ascontiguousarray(detail[y:y + h, x:x + w])
    if search.shape[0] < h or search.shape[1] < w:
        return 0.0
    ncc = cv2.matchTemplate(search, tmpl, cv2.TM_CCOEFF_NORMED)
    overlap = cv2.boxFilter(hole[y0:y1, x0:x1].astype(np.float32), -1, (w, h),
                            anchor=(0, 0), normalize=False,
                            borderType=cv2.BORDER_CONSTANT)[:ncc.shape[0], :ncc.shape[1]]
    ncc = np.where(overlap > 0.5, -1.0, ncc)
    return float(ncc.max()) if ncc.size else 0.0


def inspect_fill(before: np.ndarray, after: np.ndarray) -> list[Inspection]:
    """``fill_text``, ``fill_clone`` and ``fill_mismatch`` of every filled area (the worst of
    each over the changed components; see the module docstring)."""
    mask = changed(before, after)
    if not mask.any():
        return []
    g = _luma(after)
    det = _detail(g)
    strokes = _strokes(g)
    worst: dict[str, Inspection] = {}

    def keep(found: Inspection) -> None:
        if found.code not in worst or found.severity > worst[found.code].severity:
            worst[found.code] = found

    for comp in _components(mask):
        core = cv2.erode(comp.astype(np.uint8), _disc(CORE)).astype(bool)
        if core.sum() < 16:
            continue
        ring = cv2.dilate(comp.astype(np.uint8), _disc(RING)).astype(bool) & ~mask
        if ring.sum() < 16:
            continue
        box = _box(comp)
        # text-like strokes: the fill's share against the ring's typical (median block) share
        ring_share = _ring_blocks(strokes, ring)
        base = float(np.median(ring_share)) if ring_share.size else float(strokes[ring].mean())
        fill_share = float(strokes[core].mean())
        keep(Inspection("fill_text", ramp(fill_share - base, TEXT_ZERO, TEXT_ONE),
                        f"stroke edges on {100 * fill_share:.0f} % of the fill vs "
                        f"{100 * base:.0f} % around it (text-like structure left or copied)",
                        box))
        # cloned detail
        fill_std = float(det[core].std())
        ncc = _clone_ncc(det, mask, box) if fill_std >= CLONE_MIN_DETAIL else 0.0
        keep(Inspection("fill_clone", ramp(ncc, CLONE_ZERO, CLONE_ONE),
                        f"the fill's detail matches detail elsewhere (correlation {ncc:.2f})",
                        box))
        # colour and texture against the ring: the fill's mean colour outside the 10-90 %
        # range of the ring's colours (a blotch), or its detail far below the ring's (smear)
        f = after.astype(np.float32)
        fill_rgb = f[core].mean(axis=0)
        lo, hi = np.percentile(f[ring], [10, 90], axis=0)
        off = float(np.max(np.maximum(lo - fill_rgb, 0) + np.maximum(fill_rgb - hi, 0)))
        ring_std = _ring_blocks(np.abs(det), ring)
        ring_detail = float(np.median(ring_std)) if ring_std.size else 0.0
        fill_detail = float(np.abs(det[core]).mean())
        smear = (np.log2((ring_detail + 0.5) / (fill_detail + 0.5))
                 if ring_detail >= SMEAR_MIN_RING else 0.0)
        sev = max(ramp(off, COLOUR_ZERO, COLOUR_ONE), ramp(smear, SMEAR_ZERO, SMEAR_ONE))
        keep(Inspection("fill_mismatch", sev,
                        f"the fill's colour is {off:.0f} grey levels outside the range of its "
                        f"surroundings', its detail {fill_detail:.1f} vs {ring_detail:.1f} "
                        f"around it", box))
        # a step between the fill and its surroundings: mean colours 2-6 px inside and
        # outside the fill's border, compared along it
        keep(_fill_seam(g, comp, box))
    return list(worst.values())


def _fill_seam(g: np.ndarray, comp: np.ndarray, box: Box) -> Inspection:
    """``fill_seam``: the median, along the fill's border, of the difference between the
    luma averaged over a band 2-6 px inside the fill and one 2-6 px outside it (normalised
    convolution with a 4-px Gaussian): a fill that meets its surroundings at another colour
    leaves its outline, while grain and edges crossing the border average out."""
    c8 = comp.astype(np.uint8)
    inner = cv2.erode(c8, _disc(2)).astype(bool) & ~cv2.erode(c8, _disc(6)).astype(bool)
    outer = cv2.dilate(c8, _disc(6)).astype(bool) & ~cv2.dilate(c8, _disc(2)).astype(bool)
    border = comp & ~cv2.erode(c8, _disc(1)).astype(bool)

    def side_mean(band: np.ndarray) -> np.ndarray:
        w = cv2.GaussianBlur(band.astype(np.float32), (0, 0), 4.0)
        return cv2.GaussianBlur(g * band, (0, 0), 4.0) / np.maximum(w, 1e-3)

    step = np.abs(side_mean(inner) - side_mean(outer))[border]
    seam = float(np.median(step)) if step.size else 0.0
    return Inspection("fill_seam", ramp(seam, SEAM_ZERO, SEAM_ONE),
                      f"the fill meets its surroundings with a step of {seam:.1f} grey levels",
                      box)


def inspect_change(before: np.ndarray, after: np.ndarray) -> list[Inspection]:
    """``change_seam``: a step along the border of the changed area.

    The change field ``D = after - before`` (luma) is smoothed with a 2-px Gaussian, which
    averages the random differences of texture and detail away and keeps a coherent offset;
    the measure is the median of its magnitude on the changed area's inner 2-px border
    (grey levels), the worst over the changed components. A feathered edit fades to nothing
    there; a pasted or shifted patch leaves its outline as a step.
    """
    mask = changed(before, after)
    if not mask.any() or mask.mean() > 0.5:
        return []
    diff = cv2.GaussianBlur(_luma(after) - _luma(before), (0, 0), 2.0)
    worst: Inspection | None = None
    for comp in _components(mask):
        c8 = comp.astype(np.uint8)
        border = comp & ~cv2.erode(c8, _disc(2)).astype(bool)
        if border.sum() < 16:
            continue
        seam = float(np.median(np.abs(diff[border])))
        found = Inspection("change_seam", ramp(seam, SEAM_ZERO, SEAM_ONE),
                           f"a step of {seam:.1f} grey levels along the edited area's border",
                           _box(comp))
        if worst is None or found.severity > worst.severity:
            worst = found
    return [worst] if worst is not None else []


#: the tile solve's precision is read on a centred window of at most this many px a side (a
#: dense inverse of the tile graph: 0.3 s at 2048 px, 32 x 32 tiles); it is a mean over the
#: tile edges, which such a window samples
TILES_SIDE = 2048


def _grid_window(n: int, period: int, phase: int) -> tuple[int, int]:
    """A centred span of at most ``TILES_SIDE`` of an axis of ``n`` px, starting on a seam
    line (``phase + k * period``) so the tiles keep their place."""
    if n <= TILES_SIDE:
        return 0, n
    start = (n - TILES_SIDE) // 2
    if period:
        start = max(0, (start - phase % period) // period * period + phase % period)
    return start, start + TILES_SIDE


def inspect_tiles(before: np.ndarray, after: np.ndarray, *, period_x: int, period_y: int,
                  phase_x: int, phase_y: int) -> list[Inspection]:
    """``tiles_left``: how far the tiles of a tile-offset mend (degrid at a seam period) may
    still sit off each other beyond the ramps it spreads over the seam lines.

    Degrid subtracts each tile's offset as solved from the steps read across the seam lines
    of its input (:func:`keyframe.fixes._tiles.tile_offsets`), then ramps what step is left
    on the lines away, where the ``grid_artifact`` check reads: the check cannot see an
    offset the solve got wrong. The solve's own precision can: each edge's reading has a
    standard error (the rows' robust spread), and the solve's error on the step between two
    neighbouring tiles follows from them (:func:`keyframe.fixes._tiles.offset_uncertainty`,
    RMS over the tile edges / sqrt 2, grey levels, as the seams oracle ``tile_step`` reads
    tiles). Read on the step's input, at the period and phase it treated; nothing when the
    step changed nothing. Another reading beyond the taper (bands 9-16 px from
    the line, on input and result) reads the pictures' content at 5-15 grey levels, more
    than the 2-4 left, so this one is the measure.
    """
    from keyframe.fixes._tiles import offset_uncertainty

    if not changed(before, after).any():
        return []
    g = _luma(before)
    (y0, y1), (x0, x1) = (_grid_window(n, p, f) for n, p, f in
                          ((g.shape[0], period_y, phase_y), (g.shape[1], period_x, phase_x)))
    left = offset_uncertainty(g[y0:y1, x0:x1], period_x, period_y,
                              phase_x=(phase_x - x0) if period_x else 0,
                              phase_y=(phase_y - y0) if period_y else 0)
    return [Inspection("tiles_left", ramp(left, TILES_ZERO, TILES_ONE),
                       f"the tiles may still sit off each other beyond the smoothed seams: the "
                       f"tile solve tells their offsets from the texture only to within "
                       f"{left:.1f} grey levels")]


def inspect_extension(after: np.ndarray, bands: list[tuple[str, Box]]) -> list[Inspection]:
    """``extension_mirror`` and ``extension_seam`` of a picture extended by ``bands``.

    For each band (side, box in ``after``'s px), the picture's own strip of the same width
    next to it is the reference. Mirror: the detail layer (luma minus a 2-px Gaussian) of the
    band's inner half correlated with the strip flipped about the seam, and with the strip
    repeated (a tiling), the higher counting, times the band's detail over the strip's
    (a faint echo is no mirror image a person sees) and by its strength up to
    ``MIRROR_MIN_DETAIL`` grey levels (an echo of a blurred background neither). Seam: the
    mean step across the seam line over the picture's own mean step between neighbouring
    lines, minus one, in units of the picture's step.
    """
    g = _luma(after)
    det = _detail(g)
    out: list[Inspection] = []
    for side, box in bands:
        # turn the picture so that the band is on top: rows [0, n) band, [n, ...) picture
        view = {"top": lambda a: a, "bottom": lambda a: a[::-1],
                "left": lambda a: a.T, "right": lambda a: a.T[::-1]}[side]
        d, gg = view(det), view(g)
        n = box[3] if side in ("top", "bottom") else box[2]
        m = min(n, gg.shape[0] - n)
        if m < 2:
            continue
        band, strip = d[n - m:n], d[n:n + m]             # natural order, seam between them
        half = max(2, m // 2)
        near_band, near_strip = band[::-1][:half], strip[:half]   # nearest the seam first
        sd_b, sd_s = float(near_band.std()), float(near_strip.std())
        if sd_s < 0.5:
            ncc = vis = 0.0
        else:
            ncc = max(_corr(near_band, near_strip), _corr(band, strip))   # mirror, repeat
            vis = max(0.0, ncc) * min(1.0, sd_b / sd_s) * min(1.0, sd_b / MIRROR_MIN_DETAIL)
        out.append(Inspection("extension_mirror", ramp(vis, MIRROR_ZERO, MIRROR_ONE),
                              f"the {side} band repeats the picture's detail (correlation "
                              f"{ncc:.2f}, {100 * sd_b / max(sd_s, 1e-6):.0f} % of its "
                              f"strength)", box))
        step = float(np.abs(gg[n] - gg[n - 1]).mean())
        own = float(np.abs(np.diff(gg[n:n + m], axis=0)).mean()) + 0.5
        excess = max(0.0, step / own - 1.0)
        out.append(Inspection("extension_seam", ramp(excess, SEAM_STEP_ZERO, SEAM_STEP_ONE),
                              f"a step of {step:.1f} grey levels where the {side} band meets "
                              f"the picture ({own:.1f} between its own lines)", box))
    return out


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    a = a - a.mean()
    b = b - b.mean()
    den = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / den) if den > 1e-9 else 0.0
