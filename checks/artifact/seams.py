"""Tiling seams for ``grid_artifact`` (checks/artifact/grid.py), at native resolution.

A tiled upscaler or a tiled VAE decode leaves a step at the same column (row) in every tile:
column and row profiles of band-wise signed differences are folded at every period 16..512 px
(multiples of 8) after removing the 8-periodic JPEG component; a seam is a step at the same
column in (nearly) every repetition. Calibration: scripts/calibrate/compression.py (1-px seams
every 64 px of 1-12 grey levels on skimage photos and ComfyUI generations).
"""
from __future__ import annotations

import numpy as np

#: rows (columns) read by the seam profile: 32-row bands, 32 of them at most
SEAM_LINES = 1024


#: a seam counts fully from this significance (robust deviations above the other phases)
#: and not at all below ``Z_FLOOR``, linearly in between (a hard ``z >= 5`` made a 512-px
#: picture's content "seam" of 3.5 grey levels at z 5.03 come and go with a 1-px shift:
#: scripts/calibrate/stability.py)
Z_FLOOR, Z_FULL = 4.0, 8.0


def band_profile(g: np.ndarray) -> np.ndarray:
    """Column profile of seam evidence: median over 32-row bands of |band-mean signed diff|.

    A seam is a consistent step at one column along a stretch of rows, so it survives the
    signed mean over a band while texture averages out; the median over bands ignores the few
    bands where a real vertical edge crosses. The bands start at every row (a sliding
    window), not at multiples of 32 from row 0: fixed bands regrouped every row when the
    picture moved by one pixel.
    """
    h, w = g.shape
    d = np.diff(g.astype(np.int16), axis=1)
    band = 32
    if h // band < 3:
        return np.abs(d.mean(0, dtype=np.float32))
    cs = np.zeros((h + 1, w - 1), np.int32)
    np.cumsum(d, axis=0, dtype=np.int32, out=cs[1:])
    m = (cs[band:] - cs[:-band]).astype(np.float32) * np.float32(1 / band)
    return np.median(np.abs(m), axis=0)


def seams(g: np.ndarray) -> dict:
    """Periodic seams (period 16..512 px, multiples of 8) in one axis' column profile.

    The profile's 8-periodic part (a JPEG grid) is removed first; then, per candidate period
    P with at least six repetitions in the image, the profile is folded (lower quartile over
    the repetitions, per phase) and the best phase's excess over the median phase
    is the seam amplitude (grey levels), weighted by its significance z (robust deviations
    above the other phases): 0 up to ``Z_FLOOR``, rising linearly to 1 at ``Z_FULL``. The smallest period reaching 70 % of the best amplitude is kept
    (64 and its multiples all see a 64-px seam).
    """
    prof = band_profile(g)
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
        weight = min(1.0, max(0.0, (z - Z_FLOOR) / (Z_FULL - Z_FLOOR)))
        if weight > 0 and amp > 0:
            found.append((period, amp * weight, z, ph))
    if found:
        top = max(a for _, a, _, _ in found)
        period, amp, z, ph = min(f for f in found if f[1] >= 0.7 * top)
        best = {"amp": amp, "z": z, "period": period, "pos": ph + 1}
    return best


def seams_both_axes(g: np.ndarray) -> tuple[dict, dict]:
    """Seams across columns and across rows of luma ``g`` (at most ``SEAM_LINES`` lines read
    along each axis)."""
    sx = seams(g[::max(1, -(-g.shape[0] // SEAM_LINES)), :])
    sy = seams(g[:, ::max(1, -(-g.shape[1] // SEAM_LINES))].T)
    return sx, sy
