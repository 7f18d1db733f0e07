"""Tonal artifacts: clipped highlights and shadows, uniform borders (banding:
:mod:`checks.artifact.banding`).

* ``clipped_*`` depend on content, not on the pixel grid, so they are measured on the
  canonical copy (long side 1024 px, :func:`keyframe.views.rgb_at`): one scale for 512-4096 px
  inputs.
* ``border`` is measured at native resolution along the edges only, because a fix crops
  exact source pixels and a one-pixel line must not be blurred away.

Calibration tables: ``scripts/calibrate/compression.py``; the false-alarm rules of the
clipping measure (the hue or, in a black-and-white picture, the texture a blob lost:
``checks/artifact/clip_surround.py``): ``scripts/calibrate/false_alarms.py``.
"""
from __future__ import annotations

import cv2
import numpy as np

from checks.artifact.clip_surround import lost_detail, monochrome
from keyframe.image import LoadedImage
from keyframe.report import Measurement
from keyframe.views import cached, rgb_at, scale_to, to_source


def _interp_log(value: float, points: tuple[tuple[float, float], ...]) -> float:
    """Piecewise-linear in log10(value) through ``(value, severity)`` anchors; monotone."""
    if value <= 0:
        return 0.0
    xs = np.log10([p[0] for p in points])
    return float(np.interp(np.log10(value), xs, [p[1] for p in points]))


# ----------------------------------------------------------------------------- clipping

#: highlights: all channels >= 250; shadows: all channels <= 6 (luma ~0-5)
_HI, _LO = 250, 6
#: ... as a soft membership rising over this many grey levels around the clip value
#: (highlights: min channel 248 -> 0, 249 -> 1/3, 250 -> 2/3, 251 -> 1; a smooth histogram
#: keeps the hard cut's area). A hard ">= 250" lost 70 % of a
#: plateau at exactly 250 to +-1 grey level of noise (the smallest of three noisy channels
#: drops by one; OneHand10K 9.jpg, scripts/calibrate/stability.py)
_SOFT = 3.0
#: clipped blobs smaller than this share of the canonical frame are specks (speculars, stars)
_MIN_BLOB = 0.0005
#: severity vs the texture-weighted clipped fraction (see :func:`measure_clipping`)
_HI_POINTS = ((0.005, 0.0), (0.02, 0.25), (0.055, 0.5), (0.3, 0.8), (0.6, 1.0))
#: shadows are graded more leniently: black backgrounds, visors and night skies are often
#: intentional (skimage astronaut: 13 % of the frame crushed, a clean photo)
_LO_POINTS = ((0.03, 0.0), (0.16, 0.25), (0.35, 0.5), (0.6, 0.8), (0.85, 1.0))


def channel_extremes(image: LoadedImage) -> tuple[np.ndarray, np.ndarray]:
    """Per pixel of the canonical copy (:func:`keyframe.views.rgb_at`): the smallest and the
    largest of R, G, B (uint8), computed once per image for both clipping codes and the
    surround rules (a reduction over numpy's last axis of length 3 is ~10x slower than
    OpenCV's element-wise min/max of the three planes)."""
    def compute() -> tuple[np.ndarray, np.ndarray]:
        r, g, b = cv2.split(np.ascontiguousarray(rgb_at(image)))
        lo, hi = cv2.min(cv2.min(r, g), b), cv2.max(cv2.max(r, g), b)
        lo.setflags(write=False)
        hi.setflags(write=False)
        return lo, hi
    return cached(image, "tonal.channel_extremes", compute)


def _blobs(m8: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """``cv2.connectedComponentsWithStats(m8, connectivity=8)``'s (count, labels, stats) of a
    non-empty 0/1 mask, read on its bounding box from an even row and column (the 2 x 2
    blocks of the full frame's scan) by the block-based Grana algorithm: the same labels and
    blob stats (stats' row 0, the background, is the box's), at a fraction of the time of
    OpenCV's default (Spaghetti: 6-7 ms on a nearly empty 1024-px mask, Grana 2 ms, less
    on the box)."""
    rows, cols = np.flatnonzero(m8.any(axis=1)), np.flatnonzero(m8.any(axis=0))
    y0, x0 = rows[0] // 2 * 2, cols[0] // 2 * 2
    y1, x1 = rows[-1] + 1, cols[-1] + 1
    n, box, stats, _ = cv2.connectedComponentsWithStatsWithAlgorithm(
        np.ascontiguousarray(m8[y0:y1, x0:x1]), 8, cv2.CV_32S, cv2.CCL_GRANA)
    labels = np.zeros(m8.shape, np.int32)
    labels[y0:y1, x0:x1] = box
    stats[1:, 0] += x0
    stats[1:, 1] += y0
    return n, labels, stats


#: a clip reading stops early when fewer pixels than this share of the smallest blob's area
#: are near the clip: each pixel's membership is at most 1, so their float32 sum (relative
#: rounding error ~1e-6 on a frame) stays under the area, as the full reading would find
_NONE_NEAR = 0.999


def _clip_stats(image: LoadedImage, high: bool) -> dict:
    cmin, cmax = channel_extremes(image)
    h, w = cmin.shape
    out = {"fraction": 0.0, "weighted": 0.0, "largest": 0.0, "soft": 0.0, "hue": 0.0,
           "texture": 0.0, "region": None}
    total = float(h * w)
    min_area = max(4.0, _MIN_BLOB * total)
    # membership is above 0 only within 2 levels of the clip (min channel >= 249, max
    # channel <= 7): a picture without that many such pixels has no blob to read (most
    # pictures: 2.5-6 ms less per reading on a 1024-px one, the same result)
    near = np.count_nonzero(cmin >= _HI - 1) if high else np.count_nonzero(cmax <= _LO + 1)
    if near < _NONE_NEAR * min_area:
        return out
    if high:
        val = cmin
        member = np.clip((val.astype(np.float32) - (_HI - 2)) / _SOFT, 0.0, 1.0)
        if monochrome(cmin, cmax, val >= _HI):
            # no smallest-of-three-channels bias to absorb; the texture rule was tuned on
            # the hard cut (scripts/calibrate/false_alarms.py --grey)
            member = (val >= _HI).astype(np.float32)
    else:
        val = cmax
        member = np.clip(((_LO + 2) - val.astype(np.float32)) / _SOFT, 0.0, 1.0)
    t, bo, le, ri = _border_canonical(image)
    member[:t] = 0.0
    member[h - bo:] = 0.0
    member[:, :le] = 0.0
    member[:, w - ri:] = 0.0
    mask = member > 0
    if float(member.sum()) < min_area:
        return out
    m8 = mask.view(np.uint8)
    # blobs of the mask dilated by 2 px: nearby specks merge, and each blob's 2-px surround
    # (ring) carries its label
    grown = cv2.dilate(m8, np.ones((5, 5), np.uint8))
    n, labels, stats = _blobs(grown)
    lab_in = labels[mask]
    areas = np.bincount(lab_in, weights=member[mask], minlength=n)[1:]
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
    hue, kind = (lost_detail(cmin, cmax, mask, labels, n, member=member) if high
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
    as a soft membership (``_SOFT``: min channel 249 counts 1/3, 250 2/3, 251 and above 1;
    shadows alike), specks under 0.05 % of the frame ignored, border bars (see :func:`measure_border`)
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
