"""Compression and decoder artifacts: JPEG 8x8 blocking and periodic grid patterns.

Both defects live on the *source* pixel grid (a JPEG's 8x8 DCT blocks, a decoder's 2-px
checkerboard, a tiled VAE's seams every 64-512 px), so both are measured at native
resolution: any resampling would smear the one-pixel discontinuities that define them.
Large images are read on a strided subset of rows/columns (every k-th line, enough lines
that the statistics are stable), which keeps the cost near-constant from 512 to 4096 px.

Codes: ``jpeg_blocking`` (:func:`measure_jpeg_blocking`), ``grid_artifact``
(:func:`measure_grid_artifact`). Calibration data and the resulting tables are printed by
``scripts/calibrate_compression.py``.
"""
from __future__ import annotations

import numpy as np

from keyframe.image import LoadedImage
from keyframe.report import Measurement
from keyframe.severity import log_ramp
from keyframe.views import cached, gray_u8

#: lines (rows for column statistics, columns for row statistics) read per direction
_MAX_LINES = 640
#: a neighbouring difference at or below this (grey levels) counts as "smooth" (block interior)
_SMOOTH_DIFF = 2
#: differences are clipped here so that a few strong edges cannot dominate a column's mean
_DIFF_CLIP = 24


def _lines(n: int) -> slice:
    """Stride that keeps at most ``_MAX_LINES`` lines out of ``n``."""
    return slice(0, n, max(1, int(np.ceil(n / _MAX_LINES))))


# ----------------------------------------------------------------------------- JPEG blocking

def _boundary_profile(g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column mean of |horizontal difference| where both neighbouring differences are smooth.

    Returns ``(mean, count)`` indexed by the difference position x (between pixel x and x+1).
    Positions 0 and W-2 have no neighbours on one side and get count 0.
    """
    d = np.abs(np.diff(g.astype(np.int16), axis=1))
    out_sum = np.zeros(g.shape[1] - 1, np.float64)
    out_cnt = np.zeros(g.shape[1] - 1, np.float64)
    if d.shape[1] >= 3:
        smooth = (d[:, :-2] <= _SMOOTH_DIFF) & (d[:, 2:] <= _SMOOTH_DIFF)
        c = np.minimum(d[:, 1:-1], _DIFF_CLIP)
        out_sum[1:-1] = np.where(smooth, c, 0).sum(0, dtype=np.int64)
        out_cnt[1:-1] = smooth.sum(0)
    return out_sum, out_cnt


def _phase_stats(s: np.ndarray, n: np.ndarray) -> tuple[int, float, float]:
    """Best 8-phase of a boundary profile: (phase, excess in grey levels, ratio to the median).

    Per phase p the robust level is the median over the columns x = p (mod 8) of their mean
    difference (a median, so that a seam every 64 px or one strong edge column cannot pose as
    a block grid); the block grid is the phase that stands above the runner-up phase.
    """
    ok = n >= 8
    mean = np.where(ok, s / np.maximum(n, 1), np.nan)
    levels = np.full(8, np.nan)
    for p in range(8):
        v = mean[p::8]
        v = v[np.isfinite(v)]
        if v.size >= 3:
            levels[p] = np.median(v)
    if np.count_nonzero(np.isfinite(levels)) < 8:
        return 0, 0.0, 1.0
    p = int(np.argmax(levels))
    # the runner-up phase, not the median: a block grid lifts ONE phase in eight, whereas a
    # period-2/4 pattern lifts several phases equally and must not pose as blocking
    base = float(np.sort(levels)[-2])
    return p, float(levels[p] - base), float((levels[p] + 0.05) / (base + 0.05))


def _blockiness(image: LoadedImage) -> dict:
    def compute() -> dict:
        g = gray_u8(image)
        if g.shape[0] < 24 or g.shape[1] < 24:
            return {"excess": 0.0, "ratio": 1.0, "phase_x": 0, "phase_y": 0, "region": None}
        gx = g[_lines(g.shape[0]), :]
        gy = g[:, _lines(g.shape[1])].T
        sx, nx = _boundary_profile(gx)
        sy, ny = _boundary_profile(gy)
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


#: anchors of jpeg_blocking on the excess step at the block grid (grey levels, the weaker
#: axis): calibrated with scripts/calibrate_compression.py on skimage astronaut/coffee/chelsea/
#: rocket and the ComfyUI generations re-encoded with OpenCV at quality 95..5 and on the LIVE
#: jpeg ladder. Raw excess: clean PNGs <= 0.06 (rocket, itself a JPEG, 0.32), camera JPEGs
#: (kwentar) <= 0.25, q=95 <= 0.33, q=90 <= 0.46 (all -> 0); q=50 0.85-2.0; q=15 >= 1.27.
_BLOCK_ZERO, _BLOCK_ONE = 0.5, 3.0


def measure_jpeg_blocking(image: LoadedImage) -> Measurement:
    """JPEG 8x8 block-grid discontinuities, at native resolution.

    What: in smooth-ish areas (both neighbouring luma differences <= 2 grey levels, i.e. inside
    a block), the mean absolute step across each column (and row) boundary. Columns are grouped
    by position mod 8; each phase's level is the median over its columns. A JPEG grid makes one
    phase (normally 7|8, any phase after a crop) stand above the median of the eight.
    Scale: native, because the grid lives on the source pixels; large images use every k-th
    row/column (at most 640 lines), which leaves the per-column statistics unbiased.
    Severity: :func:`keyframe.severity.log_ramp` on the excess step (grey levels, the weaker of
    the two axes, since real blocking is on both) from ``_BLOCK_ZERO`` to ``_BLOCK_ONE``.
    """
    b = _blockiness(image)
    excess = b["excess"]
    sev = log_ramp(excess, _BLOCK_ZERO, _BLOCK_ONE) if excess > 0 else 0.0
    if sev < 0.25:
        msg = f"no visible JPEG block grid (block-edge step {excess:.2f} grey levels)"
    else:
        msg = (f"JPEG blocking: 8x8 block edges step {excess:.2f} grey levels above the image's "
               f"normal differences in smooth areas")
    return Measurement(
        code="jpeg_blocking", severity=sev, message=msg,
        region=b["region"] if sev >= 0.25 else None,
        measurements={"blockiness": round(excess, 4), "ratio": b["ratio"],
                      "phase_x": b["phase_x"], "phase_y": b["phase_y"]})


# ----------------------------------------------------------------------------- grid artifact

_CROP = 256
#: rows (columns) read by the seam profile: 32-row bands, 32 of them at most
_SEAM_LINES = 1024


def _crops(g: np.ndarray) -> list[np.ndarray]:
    """Up to six native 256x256 crops spread over the image (fewer when it is small)."""
    h, w = g.shape
    if h < 64 or w < 64:
        return []
    c = min(_CROP, h, w) // 16 * 16
    ny = 1 if h < 2 * c else 2
    nx = 1 if w < 2 * c else (2 if w < 3 * c else 3)
    ys = np.linspace(0, h - c, ny + 2)[1:-1] if ny > 1 else [(h - c) / 2]
    xs = np.linspace(0, w - c, nx + 2)[1:-1] if nx > 1 else [(w - c) / 2]
    return [g[int(y):int(y) + c, int(x):int(x) + c] for y in ys for x in xs]


def _fine_pattern(g: np.ndarray) -> dict:
    """Checkerboard / stripes of period 2 or 4 px: peak power vs the local spectral background.

    The averaged power spectrum of native crops is read at the frequencies (k/4, l/4) (period 2
    and 4 patterns, the transposed-convolution checkerboard). Each bin's background is the
    median of its 5x5 neighbourhood (peak excluded). Bins whose power stands >= 6x above it
    count; the pattern's RMS (grey levels) is sqrt(sum of excess power) / N (Parseval). On-axis
    bins are also harmonics of the 8-px JPEG grid: they are dropped when the odd multiples of
    1/8 on the same axis peak too (the grid's own signature).
    """
    crops = _crops(g)
    if not crops:
        return {"rms": 0.0, "ratio": 0.0, "period_x": 0, "period_y": 0}
    c = crops[0].shape[0]
    power = np.zeros((c, c // 2 + 1))
    for cr in crops:
        f = cr.astype(np.float32)
        f -= f.mean()
        power += np.abs(np.fft.rfft2(f)) ** 2
    power /= len(crops)
    n = float(c * c)

    def peak(ky: int, kx: int) -> tuple[float, float]:
        ys = np.arange(ky - 2, ky + 3) % c
        xs = np.clip(np.arange(kx - 2, kx + 3), 0, c // 2)
        nb = power[np.ix_(ys, xs)].copy()
        nb[2, 2] = np.nan
        bg = float(np.nanmedian(nb)) + 1e-9
        p = float(power[ky % c, kx])
        return p, p / bg

    eighth = c // 8
    grid_x = max(peak(0, k * eighth)[1] for k in (1, 3)) >= 6.0
    grid_y = max(peak(k * eighth, 0)[1] for k in (1, 3)) >= 6.0
    excess, best_ratio, px, py = 0.0, 0.0, 0, 0
    q = c // 4
    for ky in (0, q, 2 * q, 3 * q):
        for kx in (0, q, 2 * q):
            if ky == 0 and kx == 0:
                continue
            if (ky == 0 and grid_x) or (kx == 0 and grid_y):
                continue
            p, r = peak(ky, kx)
            if r < 6.0:
                continue
            # a real-valued pattern fills the bin and its mirror (except at Nyquist)
            mult = 1.0 if kx in (0, 2 * q) else 2.0
            excess += mult * p * (1 - 1 / r)
            best_ratio = max(best_ratio, r)
            fy = min(ky, c - ky)
            px = max(px, c // kx if kx else 0) if kx else px
            py = max(py, c // fy if fy else 0) if fy else py
    return {"rms": float(np.sqrt(excess) / n), "ratio": best_ratio,
            "period_x": px, "period_y": py}


def _band_profile(g: np.ndarray) -> np.ndarray:
    """Column profile of seam evidence: median over 32-row bands of |band-mean signed diff|.

    A seam is a consistent step at one column along a stretch of rows, so it survives the
    signed mean over a band while texture averages out; the median over bands ignores the few
    bands where a real vertical edge crosses.
    """
    h, w = g.shape
    d = np.diff(g.astype(np.int16), axis=1)
    band = 32
    nb = h // band
    if nb < 3:
        return np.abs(d.mean(0, dtype=np.float32))
    m = d[:nb * band].reshape(nb, band, w - 1).sum(1, dtype=np.int32) * np.float32(1 / band)
    return np.median(np.abs(m), axis=0)


def _seams(g: np.ndarray) -> dict:
    """Periodic seams (period 16..512 px, multiples of 8) in one axis' column profile.

    The profile's 8-periodic part (a JPEG grid) is removed first; then, per candidate period
    P with at least six repetitions in the image, the profile is folded (lower quartile over
    the repetitions, per phase) and the best phase's excess over the median phase
    is the seam amplitude (grey levels). It counts only when it stands >= 5 robust deviations
    above the other phases. The smallest period reaching 70 % of the best amplitude is kept
    (64 and its multiples all see a 64-px seam).
    """
    prof = _band_profile(g)
    w = prof.size
    best = {"amp": 0.0, "z": 0.0, "period": 0, "pos": 0}
    if w < 48:
        return best
    k = w // 8 * 8
    e = prof.astype(np.float64).copy()
    e[:k] -= np.tile(e[:k].reshape(-1, 8).mean(0), k // 8)
    found = []
    for period in range(16, min(513, w // 6 + 1), 8):
        n = w // period * period
        # lower quartile over the repetitions: a seam is in (nearly) every repetition, an
        # edge or a horizon line only in one or two
        fold = np.percentile(e[:n].reshape(-1, period), 25, axis=0)
        med = float(np.median(fold))
        mad = float(np.median(np.abs(fold - med))) * 1.4826 + 0.02
        ph = int(np.argmax(fold))
        amp = float(fold[ph] - med)
        z = amp / mad
        if z >= 5.0 and amp > 0:
            found.append((period, amp, z, ph))
    if found:
        top = max(a for _, a, _, _ in found)
        period, amp, z, ph = min(f for f in found if f[1] >= 0.7 * top)
        best = {"amp": amp, "z": z, "period": period, "pos": ph + 1}
    return best


#: anchors on the pattern's strength in grey levels. Fine patterns: RMS of the period-2/4
#: component (a +-a/2 checkerboard has RMS a/2); seams: mean step at the seam columns.
#: Calibrated (scripts/calibrate_compression.py) with checkerboards of 1, 2, 4, 8 levels and
#: 1-px seams every 64 px of 1, 3, 6, 12 levels on skimage photos and ComfyUI generations:
#: checker 1 level ~0.17, 2 ~0.4, 4 ~0.63, 8 ~0.86; seams 1 -> 0, 3 ~0.3-0.45, 6 ~0.7,
#: 12 -> 1; brick/grass/gravel textures and JPEG q=10 stay at 0; clean floor of the seam
#: profile is 0.6-1.06 grey levels (-> 0).
_FINE_ZERO, _FINE_ONE = 0.3, 6.0
_SEAM_ZERO, _SEAM_ONE = 1.0, 9.0


def measure_grid_artifact(image: LoadedImage) -> Measurement:
    """Periodic decoder patterns: 2/4-px checkerboards and tiling seams, at native resolution.

    What: (1) fine patterns — the averaged power spectrum of up to six native 256x256 luma
    crops, read at period-2 and period-4 frequencies against the neighbouring spectrum; (2)
    seams — column and row profiles of band-wise signed differences folded at every period
    16..512 (multiples of 8) after removing the 8-periodic JPEG component. Scale: native,
    because the pattern is tied to source pixels. Severity: the larger of two log ramps on
    the pattern's amplitude in grey levels (fine RMS, seam step). Peaks of natural textures
    rarely sit exactly on these frequencies and never across the whole frame; the peak /
    background ratio is reported as evidence.
    """
    def compute() -> dict:
        g = gray_u8(image)
        fine = _fine_pattern(g)
        sx = _seams(g[::max(1, -(-g.shape[0] // _SEAM_LINES)), :])
        sy = _seams(g[:, ::max(1, -(-g.shape[1] // _SEAM_LINES))].T)
        return {"fine": fine, "sx": sx, "sy": sy}
    r = cached(image, "compression.grid", compute)
    fine, sx, sy = r["fine"], r["sx"], r["sy"]
    s_fine = log_ramp(fine["rms"], _FINE_ZERO, _FINE_ONE) if fine["rms"] > 0 else 0.0
    seam_amp = max(sx["amp"], sy["amp"])
    s_seam = log_ramp(seam_amp, _SEAM_ZERO, _SEAM_ONE) if seam_amp > 0 else 0.0
    sev = max(s_fine, s_seam)
    region = None
    if s_seam >= s_fine:
        period_x, period_y = sx["period"], sy["period"]
        kind = f"tiling seams every {max(period_x, period_y)} px, step {seam_amp:.1f} grey levels"
        ratio = max(sx["z"], sy["z"])
    else:
        period_x, period_y = fine["period_x"], fine["period_y"]
        kind = (f"a {max(period_x, period_y)}-px checkerboard pattern of "
                f"{2 * fine['rms']:.1f} grey levels")
        ratio = fine["ratio"]
    if sev < 0.25:
        msg = "no periodic decoder grid or tiling seams"
        if sev > 0:
            msg += f" worth noticing ({kind})"
    else:
        msg = f"periodic grid artifact: {kind}"
    if sev == 0:
        period_x = period_y = 0
    return Measurement(
        code="grid_artifact", severity=sev, message=msg, region=region,
        measurements={"period_x": int(period_x), "period_y": int(period_y),
                      "peak_ratio": float(ratio), "fine_rms": fine["rms"],
                      "seam_step": seam_amp})
