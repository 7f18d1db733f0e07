"""Tonal artifacts: banding, clipped highlights and shadows, uniform borders.

* ``banding`` and ``clipped_*`` depend on content, not on the pixel grid, so they are measured
  on the canonical copy (long side 1024 px, :func:`keyframe.views.gray_at` / ``rgb_at``): one
  scale for 512-4096 px inputs. Banding's plateaus are tens of pixels wide and its steps stay
  sharp under area averaging (a step is spread over at most two canonical pixels, which the
  measure merges), so nothing is lost by measuring there.
* ``border`` is measured at native resolution along the edges only, because a fix crops
  exact source pixels and a one-pixel line must not be blurred away.

Calibration tables: ``scripts/calibrate/compression.py``; the false-alarm rules of the
clipping measure (the hue or, in a black-and-white picture, the texture a blob lost:
``checks/artifact/clip_surround.py``): ``scripts/calibrate/false_alarms.py``.
"""
from __future__ import annotations

import cv2
import numpy as np

from checks.artifact.clip_surround import lost_detail
from keyframe.image import LoadedImage
from keyframe.report import Measurement
from keyframe.severity import log_ramp
from keyframe.views import cached, gray_at, rgb_at, scale_to, to_source


def _interp_log(value: float, points: tuple[tuple[float, float], ...]) -> float:
    """Piecewise-linear in log10(value) through ``(value, severity)`` anchors; monotone."""
    if value <= 0:
        return 0.0
    xs = np.log10([p[0] for p in points])
    return float(np.interp(np.log10(value), xs, [p[1] for p in points]))


# ----------------------------------------------------------------------------- banding

#: steps higher than this (grey levels) are edges between flat shapes, not quantisation
_MAX_STEP = 48
_TILE = 64
#: staircase steps a tile needs to have a step height (over every line: 6 when every
#: second line was read)
_TILE_STEPS = 12


def _steps_along_rows(g: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Isolated quantisation steps along rows: (row, col, signed height) of each.

    A step is a run of one or two same-sign non-zero neighbour differences (two: a step that
    area averaging split over two pixels) with >= 3 exactly-zero differences on each side,
    i.e. a jump between two plateaus. Noise and texture never leave such plateaus.
    """
    d = np.diff(g, axis=1)
    w = d.shape[1]
    if w < 9:
        e = np.zeros(0, np.int64)
        return e, e, e
    z = d == 0
    c = d[:, 3:w - 4]
    n1 = d[:, 4:w - 3]
    left = z[:, 0:w - 7] & z[:, 1:w - 6] & z[:, 2:w - 5]
    one = (c != 0) & left & z[:, 4:w - 3] & z[:, 5:w - 2] & z[:, 6:w - 1]
    two = ((c != 0) & left & (np.sign(c) == np.sign(n1)) & z[:, 5:w - 2] & z[:, 6:w - 1]
           & z[:, 7:w])
    height = np.where(two, c + n1, c)
    rr, cc = np.nonzero(one | two)
    return rr, cc + 3, height[rr, cc].astype(np.int64)


#: steps in noise: a plateau may wander by this many grey levels over _NOISY_PLATEAU pixels
#: each side of a step of at least _NOISY_STEP levels (plateau means). Wider than a JPEG
#: block (8 px): with 8-px plateaus the DC staircases of clean SDXL JPEG skies read 0.38
#: (scripts/calibrate/stability.py, 40 of 185 pictures at minor); with 12 none did
_NOISY_RANGE, _NOISY_PLATEAU, _NOISY_STEP = 2, 12, 4


def _flat(g: np.ndarray, k: int) -> np.ndarray:
    """Whether the ``k`` pixels from column j on are within _NOISY_RANGE levels (column j)."""
    n = g.shape[1] - k + 1
    kernel = np.ones((1, k), np.uint8)
    hi = cv2.dilate(g, kernel, anchor=(0, 0), borderType=cv2.BORDER_REPLICATE)[:, :n]
    lo = cv2.erode(g, kernel, anchor=(0, 0), borderType=cv2.BORDER_REPLICATE)[:, :n]
    return (hi - lo) <= _NOISY_RANGE


def _noisy_steps(g: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Quantisation steps under a dither or noise of a grey level or two: (row, col, signed
    height) of each jump of >= _NOISY_STEP levels (in one or two pixels) between two
    plateaus of _NOISY_PLATEAU pixels whose range is <= _NOISY_RANGE; the height is the
    difference of the plateau means. :func:`_steps_along_rows` needs exactly equal pixels,
    which +-1 of noise never leaves: a 0.96 banding reading (LIVE's heaviest JPEGs) and
    an 8-level posterised gradient fell to 0 under it.

    The plateau means are exact (integer window sums), and read only where the two pixels
    across the step differ at all (two such plateaus can meet with a 1-level jump, never
    with none)."""
    P = _NOISY_PLATEAU
    w = g.shape[1]
    e = np.zeros(0, np.int64)
    if w < 2 * P + 2:
        return e, e, np.zeros(0)
    flat = _flat(g, P)
    n = w - 2 * P                              # column c: the step follows pixel c + P - 1
    left = g[:, P - 1:P - 1 + n]
    d1 = g[:, P:P + n] != left
    d2 = g[:, P + 1:P + 1 + n] != left
    cand = flat[:, :n] & ((d1 & flat[:, P:P + n]) | (d2 & flat[:, P + 1:P + 1 + n]))
    rr, cc = np.nonzero(cand)
    if not rr.size:
        return e, e, np.zeros(0)
    csum = np.zeros((g.shape[0], w + 1), np.int32)
    np.cumsum(g, axis=1, out=csum[:, 1:])

    def mean(col):
        return (csum[rr, col + P] - csum[rr, col]) / P

    lo = mean(cc)
    h1 = mean(cc + P) - lo
    h2 = mean(cc + P + 1) - lo
    one = flat[rr, cc + P] & (np.abs(h1) >= _NOISY_STEP)
    mid = g[rr, cc + P]
    two = (~one & flat[rr, cc + P + 1] & (np.abs(h2) >= _NOISY_STEP)
           & (np.minimum(lo, lo + h2) < mid) & (mid < np.maximum(lo, lo + h2)))
    keep = one | two
    rr, cc, hh = rr[keep], cc[keep], np.where(one, h1, h2)[keep]
    if rr.size:                                # one step, not one per pixel it spans
        keep = np.ones(rr.size, bool)
        keep[1:] = ~((rr[1:] == rr[:-1]) & (cc[1:] - cc[:-1] <= 2))
        rr, cc, hh = rr[keep], cc[keep], hh[keep]
    return rr, cc + P - 1, hh


def _all_steps(g: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact-plateau steps and, where none was found within 2 px on the row, noisy ones."""
    r1, c1, h1 = _steps_along_rows(g)
    r2, c2, h2 = _noisy_steps(g)
    if not r2.size:
        return r1, c1, h1.astype(np.float64)
    w = g.shape[1]
    taken = np.zeros((g.shape[0], w + 4), bool)
    for d in range(-2, 3):
        taken[r1, np.clip(c1 + d + 2, 0, w + 3)] = True
    new = ~taken[r2, c2 + 2]
    rr = np.concatenate([r1, r2[new]])
    cc = np.concatenate([c1, c2[new]])
    hh = np.concatenate([h1.astype(np.float64), h2[new]])
    order = np.lexsort((cc, rr))
    return rr[order], cc[order], hh[order]


def _staircase(rr: np.ndarray, cc: np.ndarray, hh: np.ndarray, span: int) -> np.ndarray:
    """Mask of steps that have a neighbour step on the same line going the same way, of
    similar height (ratio <= 2) within ``span`` pixels: a staircase, as a quantised gradient
    makes, rather than a lone edge of a flat shape."""
    if rr.size < 2:
        return np.zeros(rr.size, bool)
    a = np.abs(hh)
    pair = ((rr[1:] == rr[:-1]) & (np.sign(hh[1:]) == np.sign(hh[:-1]))
            & (np.maximum(a[1:], a[:-1]) <= 2 * np.minimum(a[1:], a[:-1]))
            & (cc[1:] - cc[:-1] <= span))
    ok = np.zeros(rr.size, bool)
    ok[1:] |= pair
    ok[:-1] |= pair
    return ok & (a <= _MAX_STEP)


def _banding(image: LoadedImage) -> dict:
    g = gray_at(image).astype(np.int16)
    h, w = g.shape
    res = {"step": 0.0, "area": 0.0, "severity": 0.0, "region": None}
    if h < 16 or w < 16:
        return res
    span = max(h, w) // 3
    # every row and column (not every second one: a 1-px shift then read the other half and
    # moved a clean SDXL sky 0.19 -> 0.28, scripts/calibrate/stability.py)
    r1, c1, h1 = _all_steps(g)
    r2, c2, h2 = _all_steps(np.ascontiguousarray(g.T))
    k1, k2 = _staircase(r1, c1, h1, span), _staircase(r2, c2, h2, span)
    ys = np.concatenate([r1[k1], c2[k2]])
    xs = np.concatenate([c1[k1], r2[k2]])
    hs = np.abs(np.concatenate([h1[k1], h2[k2]])).astype(np.float64)
    if hs.size == 0:
        return res
    ty, tx = -(-h // _TILE), -(-w // _TILE)
    tid = (ys // _TILE) * tx + xs // _TILE
    counts = np.bincount(tid, minlength=ty * tx)
    # per-tile step height: the mean of the tile's middle 20 % of staircase step heights (a
    # smoothed median: the integer median of a tile with as many 2- as 3-level steps jumped
    # between them, 0.19 <-> 0.30 of severity, on a pixel of change)
    order = np.lexsort((hs, tid))
    hs_s = hs[order]
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    csum = np.concatenate([[0.0], np.cumsum(hs_s)])
    lo = starts + (counts * 2) // 5
    hi = np.maximum(starts + counts - (counts * 2) // 5, lo + 1)
    med = np.zeros(ty * tx)
    has = counts >= _TILE_STEPS
    med[has] = (csum[hi[has]] - csum[lo[has]]) / (hi[has] - lo[has])
    med = med.reshape(ty, tx)
    kernel = np.ones((3, 3), np.uint8)
    best = (0.0, 0.0, 0.0, None)
    for hv in np.unique(med[med > 0]):
        m = cv2.dilate((med >= hv).astype(np.uint8), kernel)
        area = float(m.mean())
        s = log_ramp(hv, _BAND_ZERO, _BAND_ONE) * min(1.0, np.sqrt(area / _BAND_AREA))
        if s > best[0] or best[3] is None:
            best = (s, float(hv), area, m)
    s, hv, area, m = best
    region = None
    if m is not None:
        yy, xx = np.nonzero(m)
        box = (int(xx.min() * _TILE), int(yy.min() * _TILE),
               int(min(w, (xx.max() + 1) * _TILE) - xx.min() * _TILE),
               int(min(h, (yy.max() + 1) * _TILE) - yy.min() * _TILE))
        region = to_source(box, scale_to(image), image)
    return {"step": hv, "area": area, "severity": s, "region": region}


#: banding anchors (log ramp on the step height in grey levels at the canonical copy, times
#: sqrt(area / 4 %) capped at 1). Calibrated on synthetic gradients (horizontal grey, radial
#: colour) quantised to 256/64/32/16/8 levels, skimage photos and ComfyUI generations
#: posterised to 64..8 levels, and the clean set: one-level steps (an 8-bit gradient's own)
#: give 0, two-level steps (seen in clean Flux/SDXL skies) ~0.19, 4-level steps (64 levels)
#: ~0.3-0.4, 16 levels ~0.65-0.8, 8 levels ~0.85-1.
_BAND_ZERO, _BAND_ONE, _BAND_AREA = 1.0, 40.0, 0.04


def measure_banding(image: LoadedImage) -> Measurement:
    """Posterisation / contouring in smooth gradients, on the canonical 1024-px luma.

    What: along every row and column, "steps": one- or two-pixel jumps between two
    flat plateaus (>= 3 equal pixels each side), kept only when the next step on the same
    line goes the same way with a similar height (a staircase: a quantised gradient). Per 64-px
    tile with >= 12 such steps, the mean of the middle 20 % of step heights (a smoothed
    median); severity is the best, over height thresholds, of
    log_ramp(height) x sqrt(area of tiles at that height / 4 %). Why: natural gradients carry
    noise or one-level 8-bit steps; banding is a staircase of several-level steps over wide
    plateaus. A perfect 8-bit gradient scores 0 (one-level steps): inherent 8-bit steps are
    at most a display issue, not a defect of the image.
    """
    b = cached(image, "tonal.banding", lambda: _banding(image))
    sev = b["severity"]
    if sev < 0.25:
        msg = "no visible banding in smooth gradients"
    else:
        msg = (f"banding: smooth gradients step in {b['step']:.0f}-level contours over "
               f"{b['area']:.0%} of the frame")
    return Measurement(code="banding", severity=sev, message=msg,
                       region=b["region"] if sev >= 0.25 else None,
                       measurements={"step": b["step"], "area": b["area"]})


# ----------------------------------------------------------------------------- clipping

#: highlights: all channels >= 250; shadows: all channels <= 6 (luma ~0-5)
_HI, _LO = 250, 6
#: clipped blobs smaller than this share of the canonical frame are specks (speculars, stars)
_MIN_BLOB = 0.0005
#: severity vs the texture-weighted clipped fraction (see :func:`measure_clipping`)
_HI_POINTS = ((0.005, 0.0), (0.02, 0.25), (0.055, 0.5), (0.3, 0.8), (0.6, 1.0))
#: shadows are graded more leniently: black backgrounds, visors and night skies are often
#: intentional (skimage astronaut: 13 % of the frame crushed, a clean photo)
_LO_POINTS = ((0.03, 0.0), (0.16, 0.25), (0.35, 0.5), (0.6, 0.8), (0.85, 1.0))


def _clip_stats(image: LoadedImage, high: bool) -> dict:
    rgb = rgb_at(image)
    h, w = rgb.shape[:2]
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    if high:
        val = np.minimum(np.minimum(r, g), b)
        mask = val >= _HI
    else:
        val = np.maximum(np.maximum(r, g), b)
        mask = val <= _LO
    t, bo, le, ri = _border_canonical(image)
    mask[:t] = False
    mask[h - bo:] = False
    mask[:, :le] = False
    mask[:, w - ri:] = False
    out = {"fraction": 0.0, "weighted": 0.0, "largest": 0.0, "soft": 0.0, "hue": 0.0,
           "texture": 0.0, "region": None}
    total = float(h * w)
    min_area = max(4.0, _MIN_BLOB * total)
    if np.count_nonzero(mask) < min_area:
        return out
    m8 = mask.view(np.uint8)
    # blobs of the mask dilated by 2 px: nearby specks merge, and each blob's 2-px surround
    # (ring) carries its label
    grown = cv2.dilate(m8, np.ones((5, 5), np.uint8))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(grown, connectivity=8)
    lab_in = labels[mask]
    areas = np.bincount(lab_in, minlength=n)[1:].astype(np.float64)
    keep = areas >= min_area
    if not keep.any():
        return out
    ring = grown.view(bool) & ~mask
    lab_ring = labels[ring]
    # soft roll-off: ring pixels close to the clip value, i.e. a gradient running into the clip
    # (lost texture) rather than a hard designed edge
    near = (val[ring] >= 215) if high else (val[ring] <= 30)
    ring_n = np.bincount(lab_ring, minlength=n)[1:]
    soft_n = np.bincount(lab_ring[near], minlength=n)[1:]
    # a blob without a surround fills the frame: nothing but clip
    soft = np.where(ring_n > 0, soft_n / np.maximum(ring_n, 1), 1.0)
    weight = 0.35 + 0.65 * np.clip(soft / 0.5, 0, 1)
    hue, kind = (lost_detail(rgb.astype(np.int16), mask, labels, n) if high
                 else (np.ones(n - 1), "hue"))
    weight = weight * hue
    a, wt = areas[keep], weight[keep]
    big = int(np.argmax(np.where(keep, areas * weight, 0)))
    x, y, bw, bh = (int(v) for v in stats[1 + big, :4])
    return {"fraction": float(a.sum() / total), "weighted": float((a * wt).sum() / total),
            "largest": float(areas[big] / total), "soft": float((a * soft[keep]).sum() / a.sum()),
            "hue": float((a * hue[keep]).sum() / a.sum()) if kind == "hue" else 1.0,
            "texture": float((a * hue[keep]).sum() / a.sum()) if kind == "texture" else 1.0,
            "region": to_source((x, y, bw, bh), scale_to(image), image)}


def measure_clipping(image: LoadedImage) -> tuple[Measurement, Measurement]:
    """Blown highlights and crushed shadows, on the canonical 1024-px RGB copy.

    What: connected blobs where all three channels are >= 250 (highlights) or <= 6 (shadows),
    specks under 0.05 % of the frame ignored, border bars (see :func:`measure_border`)
    excluded. Each blob's area is weighted by how much of its 3-px surround is a soft roll-off
    into the clip (min channel 215-249 / max channel 7-30): 0.35 for a hard-edged flat area (a
    designed black or white background, a night sky), 1.0 for a gradient that runs into the
    clip (lost texture: a blown sky or face, crushed hair). A highlight blob's weight is also
    multiplied by what its bright surround says was lost (:mod:`checks.artifact.clip_surround`):
    in a colour picture the hue (0.05 for a neutral surround: a white backdrop, an overcast
    sky, a lamp; 1 for a coloured surface running into the clip), reported as ``hue_lost``; in
    a monochrome one the texture (0.05 for a smooth surround: a lit backdrop, a wall, paper;
    1 where the clip cuts through detail), reported as ``texture_lost``. Severity: piecewise log-linear
    in that weighted fraction through ``_HI_POINTS`` / ``_LO_POINTS``, calibrated so that +1/+2/+3 stops of
    linear-light gain on skimage photos and ComfyUI generations rise monotonically with +2
    stops major, and the clean set (incl. dark, moody generations) stays below 0.25.
    """
    out = []
    for high, code in ((True, "clipped_highlights"), (False, "clipped_shadows")):
        st = cached(image, f"tonal.clip.{int(high)}", lambda h=high: _clip_stats(image, h))
        sev = _interp_log(st["weighted"], _HI_POINTS if high else _LO_POINTS)
        what = "blown highlights" if high else "crushed shadows"
        if sev < 0.25:
            msg = f"no large {what} ({st['fraction']:.1%} of the frame clipped)"
        else:
            msg = (f"{what}: {st['fraction']:.1%} of the frame is clipped without texture, "
                   f"largest area {st['largest']:.1%}")
        out.append(Measurement(
            code=code, severity=sev, message=msg, region=st["region"] if sev >= 0.25 else None,
            measurements={"fraction": st["fraction"], "largest_blob_fraction": st["largest"],
                          "weighted_fraction": st["weighted"], "soft_edge": st["soft"],
                          "hue_lost": st["hue"], "texture_lost": st["texture"]}))
    return out[0], out[1]


# ----------------------------------------------------------------------------- border

#: a line is uniform when every channel's std along it is <= this (grey levels) ...
_LINE_STD = 2.5
#: ... and its mean stays within this of the bar colour (edge line)
_LINE_DRIFT = 4.0
#: the content starts where >= 50 % of a line's pixels differ from the bar colour by > 12: a
#: padding bar ends on a straight line across the frame; a plain backdrop ends at the
#: silhouette of what stands on it (a centred cut-out flattened onto a colour is no border)
_DEPART_LEVEL, _DEPART_SHARE = 12.0, 0.5
#: lines after a bar's last uniform line in which the content must start
_DEPART_LINES = 6
#: ... and is either textured or, if flat too, at least this far from the bar colour
_FLAT_JUMP = 40.0
#: ... and is reached by a jump: the mean distance from the bar colour rises by at least this
#: (grey levels) over two consecutive lines somewhere between the bar's last line and the
#: content. A padding bar ends at an edge (a 1-3 px transition); a vignette that fades to
#: white or black runs into the picture at a few levels a line (COFW 001805 in ../shared/data,
#: a clean portrait vignetted to white). Set between the two on every picture of
#: ../shared/data: its real bars (SDXL frames and letterboxes, the CompVis grid's frame, a
#: FreiHand crop's rotation wedge, a DIM composite) jump far more (docs/checks.md).
_EDGE_JUMP = 8.0
_BORDER_POINTS = ((0.002, 0.0), (0.01, 0.3), (0.04, 0.55), (0.1, 0.7), (0.25, 0.85),
                  (0.5, 1.0))


def _side(lines: np.ndarray, limit: int) -> int:
    """Uniform lines from the edge of ``lines`` (L x N x 3, edge first) that end at content.

    Returns the run length, 0 when there is no bar, -1 when the run reaches ``limit`` (the
    image is uniform that far in: content, not a bar).
    """
    step = max(1, lines.shape[1] // 1024)
    first = lines[0, ::step].astype(np.float32)
    bar = np.median(first, axis=0)
    if first.std(axis=0).max() > _LINE_STD:
        return 0
    n, k = 0, 8
    while n < limit:
        blk = lines[n:min(limit, n + k), ::step].astype(np.float32)
        std = blk.std(axis=1).max(axis=1)
        drift = np.abs(blk.mean(axis=1) - bar).max(axis=1)
        bad = np.nonzero((std > _LINE_STD) | (drift > _LINE_DRIFT))[0]
        if bad.size:
            n += int(bad[0])
            break
        n += blk.shape[0]
        k *= 2
    if n >= limit:
        return -1
    # the transition may take a few lines (a soft edge): the content is looked for in the
    # next _DEPART_LINES lines, so that one line of it crossing _LINE_STD (+-1 level of
    # noise does) does not decide between a 35-px bar and none (scripts/calibrate/stability.py)
    nxt = lines[n:n + _DEPART_LINES, ::step].astype(np.float32)
    depart = (np.abs(nxt - bar).max(axis=2) > _DEPART_LEVEL).mean(axis=1)
    # content is textured (non-uniform lines) or, when flat, a clearly different colour: a
    # flat step of a few levels is the next plateau of a gradient, not the end of a bar
    textured = nxt.std(axis=1).max(axis=1) > 2 * _LINE_STD
    contrast = np.abs(nxt.mean(axis=1) - bar).max(axis=1) > _FLAT_JUMP
    ok = (depart >= _DEPART_SHARE) & (textured | contrast)
    # the distance from the bar colour, from the bar's last line through the window
    dist = np.abs(lines[max(n - 1, 0):n + _DEPART_LINES, ::step].astype(np.float32)
                  - bar).max(axis=2).mean(axis=1)
    jump = float((dist[2:] - dist[:-2]).max()) if dist.size >= 3 else float(dist.max())
    return n if ok.any() and jump >= _EDGE_JUMP else 0


def _border(image: LoadedImage) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) bar widths in source pixels, cached."""
    def compute() -> tuple[int, int, int, int]:
        rgb = image.rgb
        h, w = rgb.shape[:2]
        if h < 8 or w < 8:
            return (0, 0, 0, 0)
        lim_v, lim_h = int(h * 0.45), int(w * 0.45)
        t = _side(rgb, lim_v)
        b = _side(rgb[::-1], lim_v)
        left = _side(rgb.transpose(1, 0, 2), lim_h)
        right = _side(rgb[:, ::-1].transpose(1, 0, 2), lim_h)
        if -1 in (t, b, left, right):
            # uniform far into the frame: a flat image or a flat half, not a padded border
            return (0, 0, 0, 0)
        return (t, b, left, right)
    return cached(image, "tonal.border", compute)


def _border_canonical(image: LoadedImage) -> tuple[int, int, int, int]:
    """The border widths scaled to the canonical copy (rounded up)."""
    f = scale_to(image)
    return tuple(int(np.ceil(v * f)) for v in _border(image))  # type: ignore[return-value]


def measure_border(image: LoadedImage) -> Measurement:
    """Uniform frames, letterbox / pillarbox bars and padding, at native resolution.

    What: per side, the number of lines from the edge that are uniform (every channel's std
    <= 2.5 grey levels, mean within 4 of the edge line's colour) AND that stop at a clear
    transition (>= 10 % of the next lines' pixels differ from the bar colour by > 12 levels,
    and those lines are textured or, when flat too, > 40 levels away from the bar), so that a
    flat sky or white wall that fades into the picture, or the first plateau of a banded
    gradient, is not a bar. A run reaching
    45 % of the side means the image is flat there (a constant image is not a border problem:
    severity 0). Severity: piecewise log-linear in the share of the frame the bars take,
    through ``_BORDER_POINTS`` (1 % minor, 4 % major, 25 % critical; a 1-px line on a 512-px
    image is 0.2 %, i.e. 0), calibrated on black/white bars of 1-20 % on skimage photos and
    ComfyUI generations, which themselves measure 0.
    """
    t, b, left, right = _border(image)
    h, w = image.height, image.width
    lost = 1.0 - (1.0 - (t + b) / h) * (1.0 - (left + right) / w) if h and w else 0.0
    sev = _interp_log(lost, _BORDER_POINTS)
    region = None
    bars = [(t * w, (0, 0, w, t)), (b * w, (0, h - b, w, b)), (left * h, (0, 0, left, h)),
            (right * h, (w - right, 0, right, h))]
    area, box = max(bars, key=lambda x: x[0])
    if area > 0:
        region = box
    if lost == 0:
        msg = "no uniform border or padding bars"
    else:
        msg = (f"uniform border bars take {lost:.1%} of the frame (top {t}, bottom {b}, "
               f"left {left}, right {right} px)")
    return Measurement(code="border", severity=sev, message=msg, region=region,
                       measurements={"top": t, "bottom": b, "left": left, "right": right,
                                     "fraction": lost})
