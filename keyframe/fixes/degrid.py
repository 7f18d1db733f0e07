"""Degrid: notch out a periodic grid pattern at its measured period (mends ``grid_artifact``)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from keyframe.fixes._common import LUMA, check_rgb, to_float, to_uint8
from keyframe.fixes._tiles import offset_tiles  # noqa: F401 - re-exported (checks.artifact.seams)
from keyframe.fixes._tiles import seams_are_lines, tile_offsets
from keyframe.registry import Fix
from keyframe.report import Measurement

#: longest period removed as a pattern; longer ones (tiling seams) are tapered in space
FINE_MAX = 32
#: periods NOTCH_MAX < P <= TEMPLATE_MAX are removed by subtracting their measured periodic
#: part, which takes less of the picture's own detail than the notches' teeth (a 16-px
#: checkerboard on skimage coffee: mean change off the clean picture 0.4 grey levels, 1.1
#: with notches); the others by notches (at 32 px the template's estimate from few cells
#: is noisy enough to print a pattern of its own: astronaut 512 px)
NOTCH_MAX, TEMPLATE_MAX = 8, 16
#: half-width in px of the ramp that replaces a seam step
SEAM_TAPER = 8
#: notch half-width (Gaussian sigma) in frequency bins, per 512 px of padded size
NOTCH_SIGMA_PER_512 = 1.0


class Degrid(Fix):
    """Remove a pattern that repeats every ``period_x`` / ``period_y`` pixels.

    A pattern periodic in x with period ``px`` and in y with ``py`` has all its energy on the
    lattice of frequencies ``(k / px, l / py)`` (cycles per pixel), ``(0, 0)`` excepted; a
    period of 0 means the pattern is constant along that axis (only ``l = 0`` or ``k = 0``).
    Each colour plane is extended to a multiple of the periods by repeating its last period
    (so the grid keeps its phase and falls exactly on FFT bins), transformed, multiplied by
    ``1 - strength * notches`` (a Gaussian dip of about one bin per 512 px, at most 1/8 of
    the harmonic spacing, at every lattice point), transformed back and cropped. Natural
    images carry little energy at those exact frequencies, so a clean image changes by a
    fraction of a grey level; a period-2
    checkerboard, for instance, sits entirely on the Nyquist corner and is removed.

    Periods above ``FINE_MAX`` (32 px) are tiling seams, not textures: notching their dense
    harmonics would take real content with them. A tiled decoder leaves each tile with its
    own flat offset, so the tiles (seam lines ``phase + k * period``) get one
    constant each, solved by least squares from the offsets read across every seam edge a
    few pixels away from the line (:func:`keyframe.fixes._tiles.tile_offsets`), and subtracted with the picture's
    mean kept; what step is left on the line itself (a 1-px seam line) is then spread into a
    ramp of ``SEAM_TAPER`` px each side (:func:`_deseam`). Smoothing the step alone left the
    tiles' offsets in place: the line was gone, the blocks were not.

    Why: VAE decoders and upsamplers leave faint 2-, 4- or 8-px grids; in a video they stay
    fixed on the screen while the content moves behind them.
    """

    name = "degrid"
    mends = ("grid_artifact",)
    changes_geometry = False
    stage = 80
    reads = ("period_x", "period_y", "phase_x", "phase_y")

    @dataclass(frozen=True)
    class Params:
        period_x: int = field(default=0, metadata={"min": 0, "max": 512})
        period_y: int = field(default=0, metadata={"min": 0, "max": 512})
        phase_x: int = field(default=0, metadata={"min": 0, "max": 511})
        phase_y: int = field(default=0, metadata={"min": 0, "max": 511})
        strength: float = field(default=1.0, metadata={"min": 0.0, "max": 1.0})

    @classmethod
    def plan_params(cls, measurement: Measurement) -> dict[str, Any]:
        """The measured periods (period 1 means none) and where the tiles' lines sit; full
        strength from severity 0.5."""
        m = measurement.measurements
        periods = {}
        for key in ("period_x", "period_y"):
            p = int(round(float(m.get(key, 0) or 0)))
            periods[key] = p if 2 <= p <= 512 else 0
        phases = {key: int(m.get(key, 0) or 0) for key in ("phase_x", "phase_y")}
        s = float(measurement.severity)
        return {**periods, **phases, "strength": round(min(1.0, 0.5 + s), 3)}

    def inspect(self, before: np.ndarray, after: np.ndarray, params: Any) -> list:
        """The gate's inspection of what this step changed
        (:func:`keyframe.step_geometry.inspect_step`): at a seam period (above
        ``FINE_MAX``), how far the tiles may still sit off each other beyond the ramps
        (:func:`keyframe.inspect.inspect_tiles`, on the seam lines it treated); none for a
        fine-period pattern. Not ``inspect_as``, which also stops the carry-over of
        untouched measurements (keyframe.carry)."""
        from keyframe.inspect import inspect_tiles   # keyframe.inspect imports this package

        sx = seam_spacing(params.period_x) if params.period_x > FINE_MAX else 0
        sy = seam_spacing(params.period_y) if params.period_y > FINE_MAX else 0
        if not (sx or sy):
            return []
        return inspect_tiles(before, after, period_x=sx, period_y=sy,
                             phase_x=params.phase_x, phase_y=params.phase_y)

    def apply(self, rgb: np.ndarray, params: Any) -> np.ndarray:
        check_rgb(rgb, self.name)
        px = params.period_x if params.period_x >= 2 else 0
        py = params.period_y if params.period_y >= 2 else 0
        if (px == 0 and py == 0) or params.strength <= 0:
            return rgb.copy()
        h, w = rgb.shape[:2]
        f = to_float(rgb)
        sx = seam_spacing(px) if px > FINE_MAX else 0
        sy = seam_spacing(py) if py > FINE_MAX else 0
        grid = {"phase_x": params.phase_x, "phase_y": params.phase_y}
        if (sx or sy) and not seams_are_lines(f @ LUMA, sx, sy, **grid):
            for c in range(f.shape[2]):
                offs, xb, yb = tile_offsets(f[..., c], sx, sy, **grid)
                col = np.searchsorted(xb, np.arange(w), side="right")
                row = np.searchsorted(yb, np.arange(h), side="right")
                f[..., c] -= params.strength * offs[row[:, None], col[None, :]]
        if sx:
            _deseam(f, sx, params.strength)
        if sy:
            _deseam(f.transpose(1, 0, 2), sy, params.strength)
        fx = px if px <= FINE_MAX else 0
        fy = py if py <= FINE_MAX else 0
        if NOTCH_MAX < max(fx, fy) <= TEMPLATE_MAX:
            f = f - params.strength * periodic_part(f, fx, fy)
        elif fx or fy:
            f = _pad_periodic(_pad_periodic(f, fx, axis=1), fy, axis=0)
            gain = 1.0 - params.strength * _notches(f.shape[0], f.shape[1], fx, fy)
            spec = np.fft.rfft2(f, axes=(0, 1))
            f = np.fft.irfft2(spec * gain[..., None], s=f.shape[:2], axes=(0, 1))
        return to_uint8(f[:h, :w])


def periodic_part(f: np.ndarray, px: int, py: int) -> np.ndarray:
    """The zero-mean part of ``f`` (H x W x C) that repeats every ``px`` x ``py`` pixels.

    Each plane minus its ``px`` x ``py`` box mean keeps a pattern of that period whole (the
    box mean of one period is the pattern's mean) and drops the picture's slow content; the
    mean of that residual over every cell, phase by phase from pixel 0, is the pattern
    (the picture's own detail averages out over the cells). A period of 0 is 1 there:
    constant along that axis.
    """
    h, w = f.shape[:2]
    px, py = max(1, px), max(1, py)
    low = cv2.blur(f, (px, py), borderType=cv2.BORDER_REFLECT).reshape(f.shape)
    r = (f - low).reshape(h * w, -1)
    phase = ((np.arange(h) % py)[:, None] * px + (np.arange(w) % px)[None, :]).ravel()
    count = np.bincount(phase, minlength=px * py).astype(np.float64)
    template = np.stack([np.bincount(phase, weights=r[:, c], minlength=px * py)
                         for c in range(r.shape[1])], axis=1) / np.maximum(count, 1)[:, None]
    template -= template.mean(axis=0, keepdims=True)
    return template[phase].reshape(f.shape).astype(f.dtype)


def seam_spacing(period: int) -> int:
    """Lines to treat for a seam period: every half period while that stays a seam period
    (a tiling read at twice its period — 128 for 64-px tiles, the fold finds both — loses
    no seam; lines with no seam have no average step, so nothing moves there)."""
    return period // 2 if period // 2 > FINE_MAX and period % 2 == 0 else period


def _deseam(f: np.ndarray, period: int, strength: float) -> None:
    """Spread the step at every vertical seam x = k * period of ``f`` (H x W x 3, in place)
    into a ramp of ``SEAM_TAPER`` px each side.

    The step across a seam is the jump between its two neighbouring columns minus the
    local slope; a tile's offset changes slowly along its seam while texture does not, so
    the step is averaged along the seam (a Gaussian of a quarter period) before it is
    removed: the seam's offset goes, the texture crossing it stays.
    """
    n = min(SEAM_TAPER, period // 2)
    xb = np.arange(period, f.shape[1] - n + 1, period)
    if xb.size == 0 or n < 2:
        return
    p0, p1, q0, q1 = f[:, xb - 1], f[:, xb - 2], f[:, xb], f[:, xb + 1]
    step = (q0 - p0) - 0.5 * ((p0 - p1) + (q1 - q0))                 # H x B x 3
    flat = step.reshape(step.shape[0], -1)
    step = cv2.GaussianBlur(flat, (1, 0), sigmaX=0.1, sigmaY=period / 4.0,
                            borderType=cv2.BORDER_REFLECT).reshape(step.shape)
    i = np.arange(n)
    w = 0.5 * (n - i) / (n + 0.5)                 # p0/q0 move almost half the step, then less
    shift = strength * step[:, :, None, :] * w[None, None, :, None]
    idx_p, idx_q = xb[:, None] - 1 - i, xb[:, None] + i
    f[:, idx_p] += shift
    f[:, idx_q] -= shift



def _pad_periodic(f: np.ndarray, period: int, axis: int) -> np.ndarray:
    """Extend ``f`` along ``axis`` to a multiple of ``period`` by repeating its last period."""
    n = f.shape[axis]
    if period < 2 or n % period == 0 or n < period:
        return f
    extra = period - n % period
    idx = np.arange(n, n + extra) - period
    return np.concatenate([f, np.take(f, idx, axis=axis)], axis=axis)


def _notches(h: int, w: int, px: int, py: int) -> np.ndarray:
    """Gaussian dips (peak 1) at every lattice point but DC, on the rfft2 grid.

    The lattice is a product of harmonics in x and in y, so the sum of dips is the outer
    product of two 1-D combs (minus the DC term). Each dip is about one bin per 512 px wide,
    and at most 1/8 of the harmonic spacing, so long periods (tiling seams) get narrow teeth.
    """
    def comb(n: int, freqs: np.ndarray, period: int) -> tuple[np.ndarray, np.ndarray]:
        if period == 0:
            centres, spacing = np.zeros(1), float(n)
        else:
            centres, spacing = np.arange(-(period // 2), (period - 1) // 2 + 1) / period, n / period
        sigma = min(NOTCH_SIGMA_PER_512 * max(1.0, n / 512), spacing / 8) / n
        d = (freqs[:, None] - centres[None, :] + 0.5) % 1.0 - 0.5     # wrap-around distance
        return np.exp(-0.5 * (d / sigma) ** 2), np.exp(-0.5 * (freqs / sigma) ** 2)

    all_y, dc_y = comb(h, np.fft.fftfreq(h), py)
    all_x, dc_x = comb(w, np.fft.rfftfreq(w), px)
    dip = np.outer(all_y.sum(axis=1), all_x.sum(axis=1)) - np.outer(dc_y, dc_x)
    dip[0, 0] = 0.0
    return np.clip(dip, 0.0, 1.0)
