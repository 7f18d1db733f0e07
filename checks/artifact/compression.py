"""Compression and decoder artifacts: JPEG 8x8 blocking and periodic grid patterns.

Both defects live on the *source* pixel grid (a JPEG's 8x8 DCT blocks, a decoder's 2-px
checkerboard, a tiled VAE's seams every 64-512 px), so both are measured at native
resolution: any resampling would smear the one-pixel discontinuities that define them.
Large images are read on a strided subset of rows/columns (every k-th line, enough lines
that the statistics are stable), which keeps the cost near-constant from 512 to 4096 px.

Codes: ``jpeg_blocking`` (:func:`measure_jpeg_blocking`); ``grid_artifact`` is measured by
:mod:`checks.artifact.grid` (re-exported here as :func:`measure_grid_artifact`). Calibration data and the resulting tables are printed by
``scripts/calibrate/compression.py``.
"""
from __future__ import annotations

import cv2
import numpy as np

from keyframe.fixes._common import CB, CR
from keyframe.image import LoadedImage
from keyframe.report import Measurement
from keyframe.severity import log_ramp, ramp
from keyframe.views import cached, gray_u8
from checks.artifact.grid import measure_grid_artifact  # noqa: F401 (re-export)

#: lines (rows for column statistics, columns for row statistics) read per direction
_MAX_LINES = 640
#: a neighbouring difference at or below this (grey levels) counts as "smooth" (block interior),
#: with a weight falling to 0 over the next ``_SMOOTH_SOFT`` levels
_SMOOTH_DIFF = 2
_SMOOTH_SOFT = 1.5
#: the block phase's lead over the runner-up, in standard errors of the phase levels (the
#: medians of their columns), from which the excess counts not at all / fully: on the
#: calibrate_compression clean set re-encoded at q=75 the weaker axis leads by 2.4-12 (q=50
#: 3.5-20); a 224-px FreiHand crop (00082740) 0.1-0.8 plain, moved and under +-1 noise
_LEAD_Z = (1.0, 3.0)
#: rows averaged along a block boundary before differencing (:func:`_along`)
_ALONG = 4
#: differences are clipped here so that a few strong edges cannot dominate a column's mean
#: (12, not 24, since they are squared: a busy 512-px generation's edges posed as a grid)
_DIFF_CLIP = 12


def _lines(n: int) -> slice:
    """Stride that keeps at most ``_MAX_LINES`` lines out of ``n``."""
    return slice(0, n, max(1, int(np.ceil(n / _MAX_LINES))))


# ----------------------------------------------------------------------------- JPEG blocking

def _boundary_profile(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column weighted mean of the squared horizontal difference inside smooth areas.

    ``a`` is the luma already averaged over ``_ALONG`` lines along the boundaries
    (:func:`_along`). Each difference is weighted by how smooth both of its neighbouring
    differences are: 1 up to ``_SMOOTH_DIFF`` grey levels, falling linearly to 0 at
    ``_SMOOTH_DIFF + _SMOOTH_SOFT`` (a soft weight: +-1 grey level of noise moves a hard
    "<= 2" set, and with it the reading; scripts/calibrate/stability.py). Squared, so that pixel noise
    adds the same amount to every phase and cancels in :func:`_phase_stats`' difference
    (an absolute difference lifts small steps more than large ones, and ±1 noise took 0.12
    of severity off a real JPEG's reading).

    Returns ``(sum, weight)`` indexed by the difference position x (between pixel x and
    x+1). Positions 0 and W-2 have no neighbours on one side and get weight 0.
    """
    d = np.abs(np.diff(a, axis=1))
    out_sum = np.zeros(a.shape[1] - 1, np.float64)
    out_cnt = np.zeros(a.shape[1] - 1, np.float64)
    if d.shape[1] >= 3:
        top = _SMOOTH_DIFF + _SMOOTH_SOFT
        smooth = np.clip((top - d) / _SMOOTH_SOFT, 0, 1)     # once per difference, read twice
        wgt = smooth[:, :-2] * smooth[:, 2:]
        c = np.minimum(d[:, 1:-1], _DIFF_CLIP) ** 2
        out_sum[1:-1] = (wgt * c).sum(0)
        out_cnt[1:-1] = wgt.sum(0)
    return out_sum, out_cnt


def _along(g: np.ndarray) -> np.ndarray:
    """Luma averaged over ``_ALONG`` consecutive rows (along a vertical block boundary), at
    most ``_MAX_LINES`` of them: a block's step is the same along its 8 rows, pixel noise is
    not, so the average keeps the step and halves the noise."""
    a = cv2.blur(g.astype(np.float32), (1, _ALONG), borderType=cv2.BORDER_REPLICATE)
    return a[_lines(g.shape[0]), :]


def _phase_stats(s: np.ndarray, n: np.ndarray) -> tuple[int, float, float]:
    """Best 8-phase of a boundary profile: (phase, excess in grey levels, ratio to the median).

    Per phase p the robust level is the median over the columns x = p (mod 8) of their mean
    squared difference (a median, so that a seam every 64 px or one strong edge column cannot pose as
    a block grid); the block grid is the phase that stands above the runner-up phase.
    """
    ok = n >= 8
    mean = np.where(ok, s / np.maximum(n, 1), np.nan)
    levels = np.full(8, np.nan)
    errors = np.full(8, np.nan)
    for p in range(8):
        v = mean[p::8]
        v = v[np.isfinite(v)]
        if v.size >= 3:
            levels[p] = np.median(v)
            # standard error of that median, from its own columns' robust scatter
            errors[p] = 1.2533 * 1.4826 * np.median(np.abs(v - levels[p])) / np.sqrt(v.size)
    if np.count_nonzero(np.isfinite(levels)) < 8:
        return 0, 0.0, 1.0
    p = int(np.argmax(levels))
    # the runner-up phase, not the median: a block grid lifts ONE phase in eight, whereas a
    # period-2/4 pattern lifts several phases equally and must not pose as blocking
    base = float(np.sort(levels)[-2])
    # the excess of mean squares, back in grey levels: the step a block edge adds on top of
    # the picture's (and any noise's) own differences
    excess = float(np.sqrt(max(levels[p] - base, 0.0)))
    # ... counted as far as that lead stands out of what the phase levels' own sampling
    # error allows (the best phase's standard error and the others' median one, combined):
    # on a 224-px crop a busy picture's phase levels rest on 28 columns each and the
    # best-minus-runner-up follows their error under +-1 noise (0.12 -> 0.65, no grid). The
    # error of each median, not the scatter of the seven other levels (a MAD of seven
    # values: +-1 noise moved a real JPEG's lead from z 2.9 to 1.7 and its reading from
    # 0.24 to 0, CrowdPose 103319; scripts/calibrate/stability.py)
    spread = float(np.hypot(errors[p], np.median(np.delete(errors, p)))) + 0.05
    excess *= min(1.0, max(0.0, ((levels[p] - base) / spread - _LEAD_Z[0])
                           / (_LEAD_Z[1] - _LEAD_Z[0])))
    return p, excess, float((levels[p] + 0.05) / (base + 0.05))


def _blockiness(image: LoadedImage) -> dict:
    def compute() -> dict:
        g = gray_u8(image)
        if g.shape[0] < 24 or g.shape[1] < 24:
            return {"excess": 0.0, "ratio": 1.0, "phase_x": 0, "phase_y": 0, "region": None}
        sx, nx = _boundary_profile(_along(g))
        sy, ny = _boundary_profile(_along(cv2.transpose(g)))
        px, ex, rx = _phase_stats(sx, nx)
        py, ey, ry = _phase_stats(sy, ny)
        # a JPEG grid is on both axes: the weaker axis bounds the evidence (a period-8
        # texture or a seam on one axis cannot pose as blocking)
        excess = max(0.0, min(ex, ey))
        ratio = min(rx, ry)
        return {"excess": excess, "ratio": ratio, "phase_x": (px + 1) % 8,
                "phase_y": (py + 1) % 8, "region": _blocked_region(g, px, py)}
    return cached(image, "compression.blockiness", compute)


def _blocked_region(g: np.ndarray, px: int, py: int) -> tuple[int, int, int, int] | None:
    """Bounding box of the 128-px tiles whose boundary step stands well above the image's
    unblocked level (20th percentile of the tiles); None when blocking is everywhere."""
    tile = 128
    h, w = g.shape
    if h < 2 * tile and w < 2 * tile:
        return None
    d = np.abs(np.diff(g[_lines(h), :].astype(np.int16), axis=1))
    stride = _lines(h).step
    on = np.minimum(d[:, px::8], _DIFF_CLIP).astype(np.float32)
    off = np.minimum(d[:, (px + 4) % 8::8], _DIFF_CLIP).astype(np.float32)
    k = min(on.shape[1], off.shape[1])
    step = on[:, :k] - off[:, :k]                     # rows x block-columns
    rows_per_tile = max(1, tile // stride)
    ty, tx = step.shape[0] // rows_per_tile, k // (tile // 8)
    if ty < 1 or tx < 1:
        return None
    t = step[:ty * rows_per_tile, :tx * (tile // 8)]
    t = t.reshape(ty, rows_per_tile, tx, tile // 8).mean(axis=(1, 3))
    low = float(np.percentile(t, 20))          # the image's unblocked level
    hot = t > max(3.0 * max(low, 0.0), low + 1.0)
    if not hot.any() or hot.mean() > 0.8:      # everywhere: global, no region
        return None
    ys, xs = np.nonzero(hot)
    return (int(xs.min() * tile), int(ys.min() * tile),
            int((xs.max() - xs.min() + 1) * tile), int((ys.max() - ys.min() + 1) * tile))


# ----------------------------------------------------------------------------- chroma blocking

#: a 4:2:0 JPEG's chroma block covers 16 x 16 px (8 x 8 at half resolution); a 4:4:4 one's
#: 8 x 8 px lifts two phases of the 16 (p and p + 8), which the same statistics read
_CHROMA_PERIOD = 16
#: rows averaged along a boundary: a chroma block's step is the same along its 16 rows
_CHROMA_ALONG = 8
#: chroma differences are clipped here (chroma levels) so that a few colour edges cannot
#: dominate a column's mean
_CHROMA_CLIP = 12.0
#: the best phase's lead over the median phase, in robust deviations of the other fifteen,
#: from which the excess counts not at all / fully (clean tune pictures: z <= 3 where the
#: excess is above 1.0; q=30 re-encodes z 4-43)
_CHROMA_LEAD_Z = (2.0, 5.0)
#: ... and the ratio of the best phase's level to the median phase's (boundary vs in-block):
#: clean pictures 1.1-1.3 (JPEG-born generations up to 6, at small excess); a saturated
#: picture at q=70 1.7-2.8 (in-block colour texture smoothed, nothing visible), q=8 >= 5.6
_CHROMA_RATIO = (1.5, 3.0)
#: anchors of the chroma term on its excess step (chroma levels, the weaker axis): set with
#: ``python -m scripts.calibrate.compression --only chroma`` on the *tune* split (the eight
#: clean ComfyUI generations, the two sharp kwentar camera shots, the ten PAL4VST
#: generations; at most 1024 px; Pillow JPEG 4:2:0 at q=90..8). Reported on the held-out
#: split (scikit-image astronaut/coffee/chelsea/rocket, the LIVE references and JPEG set,
#: the mmpose COCO/MPII photos). Figures in docs/checks.md#jpeg_blocking.
_CHROMA_ZERO, _CHROMA_ONE = 1.5, 6.0


def _chroma_profile(cb: np.ndarray, cr: np.ndarray, axis: int) -> np.ndarray:
    """Mean squared chroma step across each column (``axis`` 1) or row (``axis`` 0) boundary.

    The step at boundary x|x+1 is the mean of pixels x+1, x+2 minus the mean of x-1, x (each
    plane averaged over ``_CHROMA_ALONG`` lines along the boundary first): a decoder's
    "fancy" chroma upsampling spreads a block step over about two pixels, which a 1-px
    difference would split across three phases. Cb and Cr steps are clipped and their
    squares added (the colour-difference vector). Index i is the boundary between pixels
    i+1 and i+2. Rows and columns are read in place (no transposed copy: at 4096 px the
    copies cost more than the statistics).
    """
    # the same float32 numbers in fewer passes: the step is computed unhalved (the halving
    # of the means is a power of two, exact: (x + y) / 2 differences are the sums'
    # differences / 2), clipped at twice the clip and squared, and the profile quartered
    # at the end (bit for bit the mean of the halved steps' clipped squares)
    out = None
    for c in (cb, cr):
        if axis == 1:
            a = cv2.blur(c, (1, _CHROMA_ALONG), borderType=cv2.BORDER_REPLICATE)
            a = a[_lines(c.shape[0])]
            b = np.add(a[:, 1:], a[:, :-1])
            d = np.subtract(b[:, 2:], b[:, :-2])
        else:
            a = cv2.blur(c, (_CHROMA_ALONG, 1), borderType=cv2.BORDER_REPLICATE)
            a = a[:, _lines(c.shape[1])]
            b = np.add(a[1:], a[:-1])
            d = np.subtract(b[2:], b[:-2])
        np.clip(d, -2 * _CHROMA_CLIP, 2 * _CHROMA_CLIP, out=d)
        np.multiply(d, d, out=d)
        if out is None:
            out = d
        else:
            out += d
    prof = out.mean(axis=0 if axis == 1 else 1)
    prof *= np.float32(0.25)
    return prof


def _chroma_phase(prof: np.ndarray) -> tuple[int, float, float]:
    """Best 16-phase of a chroma profile: (boundary position mod 16, excess, ratio).

    Per phase the level is the median over its columns (one per block column, so a colour
    edge that happens to sit on the grid in a few blocks cannot lift it); the block grid is
    the phase above the median phase (the in-block level). The excess (chroma levels) is
    the square root of the difference, counted as far as its lead stands out of the other
    phases' scatter and the boundary/in-block ratio is clear of a clean picture's.
    """
    p_ = _CHROMA_PERIOD
    if prof.size < 3 * p_:
        return 0, 0.0, 1.0
    levels = np.array([np.median(prof[p::p_]) for p in range(p_)])
    p = int(np.argmax(levels))
    base = float(np.median(levels))
    others = np.delete(levels, p)
    spread = 1.4826 * float(np.median(np.abs(others - np.median(others)))) + 0.01
    ratio = float((levels[p] + 0.01) / (base + 0.01))
    weight = min(ramp(float(levels[p] - base) / spread, *_CHROMA_LEAD_Z),
                 ramp(ratio, *_CHROMA_RATIO))
    return (p + 2) % p_, float(np.sqrt(max(levels[p] - base, 0.0))) * weight, ratio


def chroma_block_grid(rgb: np.ndarray) -> dict:
    """The chroma block grid of an H x W x 3 array (uint8 or float; a difference of two
    pictures too, which is how scripts/calibrate/eval_gate.py reads the blocking a fix
    left against the clean original): ``excess`` (chroma levels, the weaker axis),
    ``ratio`` (boundary over in-block level, the weaker axis) and the grid's phases."""
    if rgb.shape[0] < 4 * _CHROMA_PERIOD or rgb.shape[1] < 4 * _CHROMA_PERIOD:
        return {"excess": 0.0, "ratio": 1.0, "phase_x": 0, "phase_y": 0}
    f = rgb.astype(np.float32)
    cb, cr = f @ CB, f @ CR
    px, ex, rx = _chroma_phase(_chroma_profile(cb, cr, 1))
    py, ey, ry = _chroma_phase(_chroma_profile(cb, cr, 0))
    # a JPEG grid is on both axes: the weaker axis bounds the evidence
    return {"excess": float(min(ex, ey)), "ratio": float(min(rx, ry)), "phase_x": px,
            "phase_y": py}


def _chroma_blockiness(image: LoadedImage) -> dict:
    return cached(image, "compression.chroma_blockiness", lambda: chroma_block_grid(image.rgb))


#: anchors of jpeg_blocking on the excess step at the block grid (grey levels, the weaker
#: axis): calibrated with scripts/calibrate/compression.py on skimage astronaut/coffee/chelsea/
#: rocket and the ComfyUI generations re-encoded with OpenCV at quality 95..5 and on the LIVE
#: jpeg ladder. Re-anchored for the squared, line-averaged measure (issue 13, stability) on
#: the clean set of that script (20 pictures: skimage, ComfyUI flux/sdxl/sd3/..., kwentar
#: camera JPEGs, LIVE references) re-encoded at q=90/75/50/30: raw excess clean <= 0.59,
#: q=90 median 0.54 (max 1.08), q=75 median 1.39, q=50 2.06, q=30 2.76 — 1.7x the former
#: mean-absolute scale (anchors 0.5, 3.0; medians 0.32/0.81/1.19/1.64). Severities: clean and
#: q=90 all 0; q=75 11 of 20 minor, 1 major (as before), q=50 19 minor / 10 major (was 20 /
#: 8), q=30 18 major (was 17).
_BLOCK_ZERO, _BLOCK_ONE = 0.88, 4.8


def measure_jpeg_blocking(image: LoadedImage) -> Measurement:
    """JPEG block-grid discontinuities of the luma (8 x 8) and of the chroma (16 x 16 and
    8 x 8), at native resolution.

    What (luma): on the luma averaged over 4 lines along the boundary, in smooth-ish areas
    (both neighbouring differences <= 2 grey levels, a weight falling to 0 at 3.5: inside a
    block), the mean squared step across each column (and row) boundary. Columns are grouped
    by position mod 8; each phase's level is the median over its columns. A JPEG grid makes one
    phase (normally 7|8, any phase after a crop) stand above the median of the eight.
    What (chroma, :func:`_chroma_phase`): the same on the Cb/Cr planes with period 16, the
    colour blotches a 4:2:0 JPEG leaves once its luma blocks are gone (issue 13: a q=8 JPEG
    deblocked in luma read 0.00 and was certified with them).
    Scale: native, because the grid lives on the source pixels; large images use every k-th
    row/column (at most 640 lines), which leaves the per-column statistics unbiased.
    Severity: the larger of two :func:`keyframe.severity.log_ramp` readings, on the luma
    excess step (grey levels: the square root of the best phase's mean square minus the
    runner-up's; the weaker of the two axes, since real blocking is on both) from
    ``_BLOCK_ZERO`` to ``_BLOCK_ONE``, and on the chroma excess step (chroma levels) from
    ``_CHROMA_ZERO`` to ``_CHROMA_ONE``.
    """
    b = _blockiness(image)
    c = _chroma_blockiness(image)
    excess, c_excess = b["excess"], c["excess"]
    sev_l = log_ramp(excess, _BLOCK_ZERO, _BLOCK_ONE) if excess > 0 else 0.0
    sev_c = log_ramp(c_excess, _CHROMA_ZERO, _CHROMA_ONE) if c_excess > 0 else 0.0
    sev = max(sev_l, sev_c)
    if sev < 0.25:
        msg = (f"no visible JPEG block grid (block-edge step {excess:.2f} grey levels, "
               f"chroma {c_excess:.2f})")
    elif sev_c > sev_l:
        msg = (f"JPEG chroma blocking: colour blocks step {c_excess:.2f} chroma levels above "
               f"the colour's normal differences inside them")
    else:
        msg = (f"JPEG blocking: 8x8 block edges step {excess:.2f} grey levels above the image's "
               f"normal differences in smooth areas")
    return Measurement(
        code="jpeg_blocking", severity=sev, message=msg,
        region=b["region"] if sev_l >= 0.25 and sev_l >= sev_c else None,
        measurements={"blockiness": round(excess, 4), "ratio": b["ratio"],
                      "phase_x": b["phase_x"], "phase_y": b["phase_y"],
                      "chroma_blockiness": round(c_excess, 4),
                      "chroma_ratio": round(c["ratio"], 3),
                      "luma_severity": round(sev_l, 4), "chroma_severity": round(sev_c, 4)})
