"""Dering: take the JPEG's ringing (mosquito noise) out of the 8 x 8 blocks that hold a strong
edge; the first pass of :class:`keyframe.fixes.deblock.Deblock`.

Calibration: ``python -m scripts.calibrate.dering`` on FreiHAND 224-px hand photos and COCO
000000040083 (the pictures the gate sent to review for ``oversharpened`` after deblocking,
issue in docs/fixes.md) and the astronaut / parrots of the tune set: see docs/fixes.md."""
from __future__ import annotations

import cv2
import numpy as np

from keyframe.fixes._common import LUMA

#: a block holds a strong edge when some neighbouring-pixel luma difference in it reaches
#: this many grey levels (the ``oversharpened`` check reads edges of >= 40 levels contrast,
#: which step at least ~20 levels between two pixels)
EDGE_STEP = 20.0
#: the largest deviation (grey levels) the filter treats as ringing, at ``amount`` 1: a
#: q=8 JPEG's step is about 70, and 64 let the gate read sd3.5 q=8's ``blur`` at 0.30
#: (rolled back); 32 reads 0.20 there (deblock alone 0.12), 24 0.15 for less ringing removed
MAX_AMPLITUDE = 32.0
#: the periodicity the coefficients must show (mean cosine) for a quantisation step, and
#: the coefficients needed to judge it
_STEP_SCORE = 0.5
_MIN_COEFFS = 64
#: ringing amplitude bound in units of the estimated step Q (at ``amount`` 1): 2 without
#: the projection and 3 with it brought FreiHAND 00050180 q=40 to its clean halo (0.182);
#: 4 removed no more (the projection holds it) and cost up to 0.05 dB
RING_GAIN = 3.0

#: the weight of a block's outermost rows and columns
EDGE_WEIGHT = 0.5
#: the sigma filter's window radius (px) and passes (smooth + project); radius 2 or 3
#: passes cost 0.3-0.6 dB on the FreiHAND / COCO cases for little more ringing removed
RADIUS = 3
PASSES = 1


def edge_blocks(y: np.ndarray, block: int) -> np.ndarray:
    """H x W float mask: 1 inside every ``block``-px block (grid at the top-left pixel, as in
    JPEG) where some horizontal or vertical neighbour difference of ``y`` reaches
    ``EDGE_STEP``; 0 elsewhere."""
    h, w = y.shape
    g = np.zeros((h, w), np.float32)
    dx = np.abs(np.diff(y, axis=1))
    dy = np.abs(np.diff(y, axis=0))
    g[:, :-1] = np.maximum(g[:, :-1], dx)
    g[:, 1:] = np.maximum(g[:, 1:], dx)
    g[:-1] = np.maximum(g[:-1], dy)
    g[1:] = np.maximum(g[1:], dy)
    nby, nbx = -(-h // block), -(-w // block)
    gp = np.pad(g, ((0, nby * block - h), (0, nbx * block - w)))
    gb = gp.reshape(nby, block, nbx, block)
    bmax = gb.max(axis=(1, 3))
    m = (bmax >= EDGE_STEP).astype(np.float32)
    m = np.repeat(np.repeat(m, block, axis=0), block, axis=1)[:h, :w]
    # a block's outer pixels move half as far: flattening the ringing right at the block
    # edge would bare a step to the untouched block beside it (a q=8 FreiHAND hand read
    # jpeg_blocking 0.69 after, 0.47 without the dering; 0.00 with the half weight)
    i = np.arange(block)
    prof = np.where((i == 0) | (i == block - 1), EDGE_WEIGHT, 1.0).astype(np.float32)
    return m * np.resize(prof, w)[None, :] * np.resize(prof, h)[:, None]


def sigma_smooth(y: np.ndarray, amplitude: float, radius: int = RADIUS) -> np.ndarray:
    """Each pixel replaced by the weighted mean of its (2r+1)² window, a neighbour weighing
    ``1 - (d / amplitude)²`` by its difference d (0 beyond ``amplitude``): small deviations
    are averaged out, an edge (a larger difference) is not crossed."""
    h, w = y.shape
    p = cv2.copyMakeBorder(y, radius, radius, radius, radius, cv2.BORDER_REFLECT)
    acc = np.zeros_like(y)
    wsum = np.zeros_like(y)
    inv = 1.0 / (amplitude * amplitude)
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            n = p[radius + dy:radius + dy + h, radius + dx:radius + dx + w]
            d = n - y
            wt = np.maximum(1.0 - d * d * inv, 0.0)
            acc += wt * n
            wsum += wt
    return acc / wsum


def _dct_matrix(n: int) -> np.ndarray:
    """The orthonormal n-point DCT-II matrix (JPEG's 8 x 8 transform for n = 8)."""
    k = np.arange(n)
    m = np.cos(np.pi * (2 * k[None, :] + 1) * k[:, None] / (2 * n)) * np.sqrt(2.0 / n)
    m[0] /= np.sqrt(2.0)
    return m.astype(np.float32)


def quant_step(y: np.ndarray, block: int) -> float:
    """The JPEG quantisation step of the lowest AC frequencies of luma ``y``, 0 if none.

    The luma is cut into ``block``-px blocks (grid at the top-left pixel) and transformed
    (orthonormal DCT, JPEG's); the (0, 1) and (1, 0) coefficients of at least 2 in size are
    read, each frequency on its own. A decoded JPEG's lie on multiples of the step Q (up to the decoder's rounding),
    so the mean of cos(2 pi c / q) is near 1 at q = Q and its divisors and near 0 above; the
    largest q (2..120) where it reaches ``_STEP_SCORE`` is that frequency's step; the
    estimate is the mean of the two (of the one found). A picture with no
    JPEG history (or a grid moved by a crop) has no such q: 0.
    """
    h, w = (y.shape[0] // block) * block, (y.shape[1] // block) * block
    if h == 0 or w == 0:
        return 0.0
    b = y[:h, :w].reshape(h // block, block, w // block, block).transpose(0, 2, 1, 3)
    d = _dct_matrix(block)
    c = np.einsum("ui,abij,vj->abuv", d, b - 128.0, d, optimize=True)
    qs = np.arange(2, 121, dtype=np.float32)
    found = []
    for ac in (c[..., 0, 1].ravel(), c[..., 1, 0].ravel()):
        ac = ac[np.abs(ac) >= 2.0]
        if ac.size < _MIN_COEFFS:
            continue
        score = np.cos(2.0 * np.pi * ac[None, :] / qs[:, None]).mean(axis=1)
        ok = np.nonzero(score >= _STEP_SCORE)[0]
        if ok.size:
            found.append(float(qs[ok[-1]]))
    return float(np.mean(found)) if found else 0.0


#: how far (in steps) a coefficient the JPEG recorded (not quantised to 0) may move; one it
#: zeroed may move half a step, its whole cell. 0.5 (the whole cell for both) raised the
#: ``blur`` of lemur q=60 from 0.22 (deblock alone) to 0.31 and the gate rolled the deblock
#: back; 0.1 reads 0.23 (0: 0.20, but FreiHAND 00050180 q=40 keeps halo 0.225 of 0.242)
KEEP_RECORDED = 0.1
#: the IJG (libjpeg) luma quantisation table at quality 50, row-major
_IJG_LUMA = np.array([
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99],
    np.float32).reshape(8, 8)


def project(s: np.ndarray, y: np.ndarray, step: float) -> np.ndarray:
    """``s`` with each 8 x 8 block's DCT coefficients held near the decoded ``y``'s: within
    half a quantisation step where the JPEG stored 0 (the cell the true value lay in), within
    ``KEEP_RECORDED`` steps where it stored a value (detail the file recorded is kept: fur,
    hair, the ``blur`` check's sharpest edges). Steps: the IJG table scaled so its (0, 1) /
    (1, 0) entries match ``step``. Pixels past the last whole block keep ``y``."""
    q = np.maximum(_IJG_LUMA * (step / 11.5), 1.0)
    h, w = (y.shape[0] // 8) * 8, (y.shape[1] // 8) * 8
    d = _dct_matrix(8)

    def blocks(a: np.ndarray) -> np.ndarray:
        return a[:h, :w].reshape(h // 8, 8, w // 8, 8).transpose(0, 2, 1, 3)

    cy = np.einsum("ui,abij,vj->abuv", d, blocks(y), d, optimize=True)
    cs = np.einsum("ui,abij,vj->abuv", d, blocks(s), d, optimize=True)
    half = np.where(np.abs(cy) >= q / 2, KEEP_RECORDED * q, q / 2)
    cs = np.clip(cs, cy - half, cy + half)
    out = y.copy()
    back = np.einsum("ui,abuv,vj->abij", d, cs, d, optimize=True)
    out[:h, :w] = back.transpose(0, 2, 1, 3).reshape(h, w)
    return out


def dering(f: np.ndarray, block: int, amount: float) -> None:
    """Remove ringing beside strong edges of ``f`` (H x W x 3 float, grey levels) in place.

    The JPEG's quantisation step Q is read off the picture (:func:`quant_step`); none found
    (no JPEG history, a grid moved by a crop) leaves ``f`` as it is. The luma is passed
    through :func:`sigma_smooth` with amplitude ``amount * min(RING_GAIN * Q,
    MAX_AMPLITUDE)`` (deviations below it are ringing, larger ones are edges) and, for
    8-px blocks, held to what the JPEG's data allow (:func:`project`: the result decodes to
    the same quantised coefficients, so real detail the file recorded is kept). The change
    is applied only inside the blocks that hold a strong edge (:func:`edge_blocks`),
    clipped to the amplitude, in whole grey levels, to R, G and B alike (chroma kept).
    """
    y = f @ LUMA
    step = quant_step(y, block)
    amp = float(amount) * min(MAX_AMPLITUDE, RING_GAIN * step)
    if amp <= 0.5:
        return
    mask = edge_blocks(y, block)
    if not mask.any():
        return
    s = y
    for _ in range(PASSES):
        s = sigma_smooth(s, amp)
        if block == 8:
            s = project(s, y, step)
    # whole grey levels: on integer input R, G and B move alike and the chroma stays exact
    delta = np.rint(np.clip(s - y, -amp, amp) * mask)
    f += delta[..., None]
