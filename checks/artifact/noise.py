"""Noise: ``noise`` (grain / sensor noise / added noise), as a standard deviation in grey levels.

What is measured
----------------
Immerkær's fast estimator: the luma is convolved with the Laplacian-difference kernel
``[[1,-2,1],[-2,4,-2],[1,-2,1]]``, which cancels any locally planar (and most locally
quadratic) signal and leaves noise; for white Gaussian noise of std sigma the response has
mean absolute value ``6 * sigma * sqrt(2 / pi)``. To keep detail from passing as noise the
response is averaged in 16x16 blocks (per block, the smaller of this kernel's estimate and
that of the same kernel with taps two pixels apart, which white noise answers identically but
a period-2 checkerboard does not answer at all). The severity reads a low percentile (5th) of
the block estimates: the flattest twentieth of the image, where any response is noise. Blocks
that sit at the clip points (mean under 6 or over 249 grey levels) are skipped, since
clipping hides noise there, and so are blocks holding a clipped pixel (0-2 or 253-255)
unless they are under a twentieth of the blocks (heavy noise reaches the clip everywhere).

Why the 5th percentile, the noise floor (issue 14; figures in docs/checks.md): noise covers
the whole frame, so it is read where the frame is flattest, and a frame filled with fine
texture (grass, foliage) leaves only a small flat part. The 20th percentile read the lawn of
three FreiHand composites of ../shared/data (mmpose_testdata freihand 00050180, 00082740,
00115300) as grain, while their motion-blurred hand reads none and two of them share the
same fine detail: the same lawn, not grain added per picture. Set on white noise (the 5th
percentile of its block estimates sits 6 % below the 20th: ``_FLOOR_GAIN`` puts it back, so
the anchors below read noise as before) and checked against the tune split of
``scripts/calibrate/false_alarms.py``.

The 20th percentile stays the **fluctuation** the other measures take for noise
(:func:`native_sigma`, reported as ``sigma``): ``blur`` and ``oversharpened`` subtract the
share of gradient energy and of edge excursions that the finest fluctuation of the flattest
fifth explains, and fine texture lifts an edge profile's extremes as noise does (read at
the 5th percentile there too, two more held-out pictures read ``oversharpened`` at major).

Chroma noise: the same estimator on the R, G and B planes; the effective noise is
``max(sigma_luma, 0.75 * max channel sigma)`` (independent per-channel noise of std s
reads 0.67 s in luma, 1.0 s per channel).

At which scale, and why
-----------------------
Noise per pixel at 4096 px is far less visible than at 512 px once a video model resizes the
frame to ~720-1080 p: area-averaging by 4 divides white noise by 4. The severity therefore
reads the estimate on the 1024-px canonical copy (``views.gray_at`` / ``views.rgb_at``), what
survives at the video's resolution. The native-scale estimate is reported as ``sigma``
(grey levels at source scale: the denoise fix reads it), the canonical one as
``sigma_canonical``. Above ``_NATIVE_BUDGET`` pixels, the native estimate reads a regular
grid of native 256-px tiles to stay fast.
"""
from __future__ import annotations

import math

import cv2
import numpy as np

from keyframe import views
from keyframe.image import LoadedImage
from keyframe.report import Measurement
from keyframe.severity import log_ramp

_KERNEL = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
#: the same taps two pixels apart: identical statistics on white noise (its taps are still
#: independent pixels), but blind to any period-2 pattern (a decoder checkerboard, 1-px
#: stripes), which the 3x3 kernel answers at full gain. That pattern is grid_artifact's.
_KERNEL_WIDE = np.zeros((5, 5), np.float32)
_KERNEL_WIDE[::2, ::2] = _KERNEL
#: both are separable (the outer product of [1, -2, 1] with itself, taps 1 or 2 px apart):
#: filtered as two 1-D passes; on integer pixels every partial sum is an integer well under
#: 2**24, so the float32 result is exactly the 2-D kernel's
_TAPS = np.array([1, -2, 1], np.float32)
_TAPS_WIDE = np.array([1, 0, -2, 0, 1], np.float32)
_GAIN = math.sqrt(math.pi / 2) / 6.0
_BLOCK = 16
#: percentile of the block estimates that is the fluctuation (native_sigma) ...
_PERCENTILE = 20
#: ... and the one the severity reads (the noise floor), times the ratio of the two on white
#: Gaussian noise (std 3-20, 224-1024 px: 1.062-1.066, the same at every std)
_FLOOR_PERCENTILE = 5
_FLOOR_GAIN = 1.066
_NATIVE_BUDGET = 1_400_000
_TILE = 256

#: Effective noise sigma at the canonical 1024-px scale (grey levels). Calibrated with
#: scripts/calibrate/sharpness.py: clean photos (skimage astronaut, coffee, chelsea, rocket,
#: LIVE references, kwentar _S JPEGs) and comfyui generations read 0.2-1.6; LIVE wnoise from
#: PSNR 31 to 7 reads ~2.5 to ~70; synthetic per-channel Gaussian noise of std s reads ~0.75 s.
#: Log ramp: 0 at 1.8, 1 at 16 grey levels, hence 0.25 at 3.1, 0.5 at 5.4 (per-channel
#: noise std ~7-8 is major), 0.8 at 10.7.
NOISE_ZERO_AT = 1.8
NOISE_ONE_AT = 16.0


def _blocks(plane: np.ndarray) -> tuple[int, int, int]:
    """(block side, blocks down, blocks across) of ``plane``'s 16x16 grid."""
    b = min(_BLOCK, plane.shape[0] - 2, plane.shape[1] - 2)
    return b, (plane.shape[0] - 2) // b, (plane.shape[1] - 2) // b


def _block_clipped(plane: np.ndarray) -> np.ndarray:
    """Per block of :func:`_block_sigmas`, per channel: does it hold a pixel within 2 levels
    of 0 or 255? (blocks, channels) bool. (p - 3 wraps to 250..255 exactly there; each block
    is read as its runs of whole rows, then its columns.)"""
    b, hb, wb = _blocks(plane)
    p = plane[1:hb * b + 1, 1:wb * b + 1]
    clip = (p - np.uint8(3)) >= 250
    rows = clip.reshape(hb, b, -1).any(axis=1)
    return rows.reshape(hb, wb, b, -1).any(axis=2).reshape(hb * wb, -1)


def _block_sigmas(plane: np.ndarray) -> np.ndarray:
    """Immerkær sigma (grey levels) per 16x16 block, per channel: (blocks, channels).

    ``plane`` is uint8, H x W or H x W x C. Blocks whose mean sits at a clip point are NaN.
    The kernels run on the 8-bit pixels into float32 (exact, as on a float copy: integer
    partial sums); a 16-px block's mean is its integer sum / 256 (exact, as the area
    resampling of a float copy gave it).
    """
    if plane.shape[0] < 3 or plane.shape[1] < 3:     # no 3x3 neighbourhood: no block
        return np.empty((0, 1 if plane.ndim == 2 else plane.shape[2]), np.float32)
    b, hb, wb = _blocks(plane)
    # whole blocks plus the one-pixel ring the 3x3 kernel needs (the wide kernel reflects)
    p = plane[:hb * b + 2, :wb * b + 2]
    inner = (slice(1, -1), slice(1, -1))

    def block_mean_abs(taps: np.ndarray) -> np.ndarray:
        resp = cv2.sepFilter2D(p, cv2.CV_32F, taps, taps, borderType=cv2.BORDER_REFLECT)
        np.abs(resp, out=resp)
        # block means by area resampling (exact for whole blocks, and fast)
        return cv2.resize(resp[inner], (wb, hb), interpolation=cv2.INTER_AREA)

    # a block's noise is what both kernels see
    r = np.minimum(block_mean_abs(_TAPS), block_mean_abs(_TAPS_WIDE))
    if b == _BLOCK:
        rows = p[inner].reshape(hb, b, -1).sum(axis=1, dtype=np.uint16)
        m = rows.reshape(hb, wb, b, -1).sum(axis=2, dtype=np.int32).astype(np.float32)
        m *= np.float32(1 / (b * b))
    else:
        m = cv2.resize(p[inner].astype(np.float32), (wb, hb), interpolation=cv2.INTER_AREA)
    r, m = r.reshape(hb * wb, -1), m.reshape(hb * wb, -1)
    return np.where((m > 6) & (m < 249), r * _GAIN, np.nan)


def _luma_blocks(image: LoadedImage, plane: np.ndarray) -> np.ndarray:
    """:func:`_block_sigmas` of a luma view of ``image``, cached when ``plane`` is the
    native luma: up to 1024 px the canonical luma (the severity's) is that very array, and
    ``native_sigma`` reads the same blocks."""
    if plane is not views.gray_u8(image):
        return _block_sigmas(plane)
    return views.cached(image, "noise.blocks.gray_u8", lambda: _block_sigmas(plane))


def _sigma(plane: np.ndarray, *, floor: bool = False,
           blocks: np.ndarray | None = None) -> np.ndarray:
    """Noise sigma per channel of ``plane``: the 20th percentile of its block estimates, or
    with ``floor`` the 5th times ``_FLOOR_GAIN`` over the blocks no clip shaves (a block
    with pixels at 0 or 255 shows less noise than there is, and the floor would pick it: a
    white sky's edge), unless those are under a twentieth of the blocks (heavy noise
    reaches the clip everywhere). ``blocks``: ``plane``'s block estimates when already
    made."""
    q, gain = (_FLOOR_PERCENTILE, _FLOOR_GAIN) if floor else (_PERCENTILE, 1.0)
    if plane.shape[0] < 3 or plane.shape[1] < 3:
        return np.zeros(1 if plane.ndim == 2 else plane.shape[2])
    blocks = _block_sigmas(plane) if blocks is None else blocks
    clipped = _block_clipped(plane) if floor else np.zeros(blocks.shape, bool)
    out = []
    for c in range(blocks.shape[1]):
        col = blocks[:, c]
        ok = col[np.isfinite(col)]
        whole = col[np.isfinite(col) & ~clipped[:, c]]
        if whole.size >= max(4, ok.size / 20):
            ok = whole
        out.append(gain * float(np.percentile(ok, q)) if ok.size >= 4 else 0.0)
    return np.array(out)


def native_sigma(image: LoadedImage) -> float:
    """Fluctuation (grey levels) of the luma at source scale, the 20th percentile of the block
    estimates: noise plus the finest texture of the flattest fifth, which ``blur`` and
    ``oversharpened`` take for noise and ``denoise`` reads; computed once per image."""
    return views.cached(image, "noise.native_sigma", lambda: _native_sigma(image))


def _native_sigma(image: LoadedImage) -> float:
    gray = views.gray_u8(image)
    h, w = gray.shape
    if h * w <= _NATIVE_BUDGET:
        return float(_sigma(gray, blocks=_luma_blocks(image, gray))[0])
    n = max(1, _NATIVE_BUDGET // (_TILE * _TILE))
    k = max(1, int(math.ceil(math.sqrt(n))))
    ys = np.linspace(0, h - _TILE, k).astype(int)
    xs = np.linspace(0, w - _TILE, k).astype(int)
    tiles = [gray[y:y + _TILE, x:x + _TILE] for y in ys for x in xs]
    blocks = np.concatenate([_block_sigmas(t)[:, 0] for t in tiles])
    blocks = blocks[np.isfinite(blocks)]
    return float(np.percentile(blocks, _PERCENTILE)) if blocks.size >= 4 else 0.0


def measure_noise(image: LoadedImage) -> Measurement:
    """Noise std in grey levels; severity from the 1024-px canonical copy.

    See the module docstring for the estimator and the choice of scale. Severity:
    ``log_ramp(sigma_effective, NOISE_ZERO_AT, NOISE_ONE_AT)`` on the canonical copy.
    """
    if image.height < 3 or image.width < 3:
        return Measurement("noise", 0.0, "image too small to measure noise",
                           measurements={"sigma": 0.0, "sigma_canonical": 0.0})
    luma = views.gray_at(image)
    luma_c = float(_sigma(luma, floor=True, blocks=_luma_blocks(image, luma))[0])
    chans = [float(v) for v in _sigma(views.rgb_at(image), floor=True)]
    effective = max(luma_c, 0.75 * max(chans))
    native = native_sigma(image)
    sev = log_ramp(effective, NOISE_ZERO_AT, NOISE_ONE_AT) if effective > 0 else 0.0
    kind = "colour " if 0.75 * max(chans) > 1.2 * luma_c else ""
    if sev >= 0.25:
        msg = (f"image is {kind}noisy: noise std {effective:.1f} grey levels at video scale "
               f"({native:.1f} at full size)")
    else:
        msg = f"noise is low: std {effective:.1f} grey levels at video scale"
    return Measurement("noise", sev, msg, measurements={
        "sigma": native, "sigma_canonical": luma_c, "sigma_effective": effective,
        "sigma_r": chans[0], "sigma_g": chans[1], "sigma_b": chans[2]})
