"""Deblock: taper the small steps JPEG leaves at block boundaries, in luma (8 px) and in
chroma (the 16-px colour blocks of a 4:2:0 JPEG); mends ``jpeg_blocking``."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from keyframe.fixes._common import (CB, CR, FROM_CB, FROM_CR, LUMA, box_mean, check_rgb,
                                    to_float, to_uint8)
from keyframe.fixes.dering import dering
from keyframe.registry import Fix
from keyframe.report import Measurement


class Deblock(Fix):
    """Adaptive, edge-preserving smoothing across ``block``-pixel block boundaries.

    At every vertical, then every horizontal, block boundary (grid anchored at the top-left
    pixel, as in JPEG) the step between the two pixels that meet there is measured after
    removing the local slope. A step that is small (below ``4 + 36 * strength`` grey levels
    of luma) on sides that are fairly flat (mean |neighbour difference| below
    ``3 + 14 * strength``) is a coding artefact, not an edge: it is spread into a linear
    ramp over ``block // 2`` pixels on each side (fully from ``strength`` 0.5 up, by
    ``2 * strength`` below). Larger steps and
    busy sides fade out of the correction, so real edges and texture are kept, in the
    spirit of the H.264 in-loop deblocking filter. Pixels away from boundaries move only by
    the ramp; a flat image is returned unchanged.

    With ``chroma`` > 0 the colour planes are then mended too (:func:`smooth_chroma`): a
    4:2:0 JPEG stores chroma at half resolution in 8 x 8 blocks, so its colour blotches are
    ``2 * block`` px wide and survive the luma taper (issue 13). The plan sets ``chroma``
    from the measured chroma term; 0 (the default, and a recipe that predates it) leaves the
    colour alone.

    With ``dering`` > 0 the JPEG's ringing (mosquito noise beside strong edges, inside the
    blocks that hold them) is first smoothed out of the luma (:func:`keyframe.fixes.dering.
    dering`): deviations up to ``dering`` times three quantisation steps, the step read off
    the picture's DCT coefficients, so a stronger JPEG gets a stronger dering and a picture
    with no JPEG history none; 0 (the default, and a recipe that predates it) leaves the
    ringing alone.

    Why: blocking is a fixed 8-px grid; once the frame moves in a video the grid stays put
    and becomes obvious.
    """

    name = "deblock"
    mends = ("jpeg_blocking",)
    changes_geometry = False
    stage = 90

    @dataclass(frozen=True)
    class Params:
        strength: float = field(default=0.6, metadata={"min": 0.0, "max": 1.0})
        block: int = field(default=8, metadata={"min": 4, "max": 64})
        chroma: float = field(default=0.0, metadata={"min": 0.0, "max": 1.0})
        #: ringing removal (:func:`keyframe.fixes.dering.dering`); 0, the default and what
        #: a recipe that predates it replays, leaves the ringing alone
        dering: float = field(default=0.0, metadata={"min": 0.0, "max": 1.0})

    @classmethod
    def plan_params(cls, measurement: Measurement) -> dict[str, Any]:
        """Strength grows with the luma term's severity (0.4 at none to 1.0 at severity 1);
        ``chroma`` with the chroma term's (0 up to 0.1, 1 from 0.3: a minor chroma reading is
        mended). Each pass is set by its own term, so colour blocks do not harden the luma
        taper (which softens). ``dering`` is 1: its amplitude follows the quantisation step
        it reads off the picture itself (none, no change), so a stronger JPEG gets a
        stronger dering without a term of its own."""
        mm = measurement.measurements
        cs = float(mm.get("chroma_severity", 0.0))
        ls = float(mm.get("luma_severity", measurement.severity))
        return {"strength": round(min(1.0, 0.4 + 0.6 * ls), 3),
                "chroma": round(min(1.0, max(0.0, (cs - 0.1) / 0.2)), 3),
                "dering": 1.0}

    def apply(self, rgb: np.ndarray, params: Any) -> np.ndarray:
        check_rgb(rgb, self.name)
        f = to_float(rgb)
        if params.dering > 0:            # first: the taper then smooths any step it leaves
            dering(f, params.block, params.dering)
        if params.strength > 0:
            taper_boundaries(f, params.block, params.strength)
            taper_boundaries(f.transpose(1, 0, 2), params.block, params.strength)
        if params.chroma > 0:
            smooth_chroma(f, 2 * params.block, params.chroma)
        return to_uint8(f)


#: the guided filter's regulariser (grey levels²): below a luma variance of about 10² in the
#: window the chroma is averaged, above it the chroma follows the luma (edges kept)
_GUIDE_EPS = 100.0
#: the change a block may take, in units of its boundaries' excess step (boundary step minus
#: the step inside the neighbouring blocks): 1.5 left the chroma term at most 0.16 on the
#: tune pictures of scripts/calibrate/compression.py at q=8 (1.0: up to 0.39) and cost at
#: most 0.7 dB of chroma PSNR at q=70 (2.0: 1.6 dB)
_STEP_GAIN = 1.5


def smooth_chroma(f: np.ndarray, block: int, amount: float) -> None:
    """Remove chroma block edges of ``f`` (H x W x 3 float, grey levels) in place; luma kept.

    Each chroma plane (Cb, Cr) is passed through a guided filter with the luma as guide
    (He et al.; window ``block + 1`` px, so it spans a block boundary): where the luma is
    flat the chroma is averaged across the block edge, where the luma has an edge the chroma
    follows it, so colour does not bleed across real edges. The change at each pixel is then
    clipped to its block's excess boundary step (:func:`_block_steps`, grid anchored at the
    top-left pixel as in JPEG): where the blocks meet as smoothly as the colour varies inside
    them (a mild JPEG, a clean picture) little moves and fine colour detail is kept; where
    they step, the filter's smooth colour replaces the blotches. ``amount`` scales the change.
    """
    y = f @ LUMA
    r = max(1, block // 2)
    m_y = box_mean(y, r)
    var_y = box_mean(y * y, r) - m_y * m_y
    delta = []
    for w in (CB, CR):
        c = f @ w
        m_c = box_mean(c, r)
        a = (box_mean(y * c, r) - m_y * m_c) / (var_y + _GUIDE_EPS)
        smooth = box_mean(a, r) * y + box_mean(m_c - a * m_y, r)
        bound = _block_steps(c, block)
        delta.append(amount * np.clip(smooth - c, -bound, bound))
    f += delta[0][..., None] * FROM_CB + delta[1][..., None] * FROM_CR


def _block_steps(c: np.ndarray, block: int) -> np.ndarray:
    """How far each pixel of plane ``c`` may move: its block's excess boundary step.

    The step at a boundary is |mean of the two pixels after it − mean of the two before it|
    (a decoder's chroma upsampling spreads a block step over about two pixels), averaged
    along the boundary's ``block`` pixels; its excess is that minus the same step measured
    in the middle of the two blocks it separates (boundary vs in-block: a colour gradient or
    texture steps as much inside a block as across its edge, a quantised block does not),
    times ``_STEP_GAIN``. Each block gets the mean of its four boundaries' excess, and the
    block map is resized (linear) to the picture.
    """
    h, w = c.shape
    nby, nbx = -(-h // block), -(-w // block)

    def steps(a: np.ndarray, nb: int) -> np.ndarray:
        # boundaries at columns k * block of ``a`` (rows x columns) -> (nb blocks down) x K
        def at(xs: np.ndarray) -> np.ndarray:
            st = np.abs(a[:, xs] + a[:, xs + 1] - a[:, xs - 1] - a[:, xs - 2]) * 0.5
            st = np.pad(st, ((0, nb * block - a.shape[0]), (0, 0)), mode="edge")
            return st.reshape(nb, block, -1).mean(axis=1)
        xs = np.arange(block, a.shape[1] - block // 2 - 1, block)
        if xs.size == 0:
            return np.zeros((nb, 0), np.float32)
        inside = 0.5 * (at(xs - block // 2) + at(xs + block // 2))
        return _STEP_GAIN * np.maximum(at(xs) - inside, 0.0)

    total = np.zeros((nby, nbx), np.float32)
    count = np.zeros((nby, nbx), np.float32)
    for vx, tr in ((steps(c, nby), False), (steps(np.ascontiguousarray(c.T), nbx).T, True)):
        k = vx.shape[0] if tr else vx.shape[1]
        for off in (0, 1):               # boundary k is the far edge of block k, near of k+1
            if tr:
                total[off:off + k] += vx
                count[off:off + k] += 1
            else:
                total[:, off:off + k] += vx
                count[:, off:off + k] += 1
    mean = total / np.maximum(count, 1)
    return cv2.resize(mean, (nbx * block, nby * block), interpolation=cv2.INTER_LINEAR)[:h, :w]


def taper_boundaries(f: np.ndarray, block: int, strength: float, taper: int = 0) -> None:
    """Smooth across the vertical boundaries x = k * block of ``f`` (H x W x 3), in place.

    The correction ramps over ``taper`` px on each side (default and at most ``block // 2``).
    """
    n = min(taper, block // 2) if taper > 0 else block // 2
    xb = np.arange(block, f.shape[1] - n + 1, block)
    if xb.size == 0:
        return
    i = np.arange(n)
    idx_p = xb[:, None] - 1 - i          # p0, p1, ... going left from the boundary
    idx_q = xb[:, None] + i              # q0, q1, ... going right
    p, q = f[:, idx_p], f[:, idx_q]      # H x B x n x 3
    slope = 0.5 * ((p[:, :, 0] - p[:, :, 1]) + (q[:, :, 1] - q[:, :, 0]))
    step = (q[:, :, 0] - p[:, :, 0]) - slope                     # H x B x 3
    y_step = np.abs(step @ LUMA)
    activity = (np.abs(np.diff(p, axis=2)).mean(axis=2)
                + np.abs(np.diff(q, axis=2)).mean(axis=2)) @ LUMA / 2.0
    alpha = 4.0 + 36.0 * strength
    beta = 3.0 + 14.0 * strength
    gate = (np.clip(2.0 * (alpha - y_step) / alpha, 0.0, 1.0)
            * np.clip(2.0 * (beta - activity) / beta, 0.0, 1.0))
    # ramp weights: p0/q0 move almost half the step towards each other, p_{n-1}/q_{n-1} least
    w = 0.5 * (n - i) / (n + 0.5)
    amount = min(1.0, 2.0 * strength) * gate
    shift = amount[:, :, None, None] * step[:, :, None, :] * w[None, None, :, None]
    f[:, idx_p] = p + shift
    f[:, idx_q] = q - shift
