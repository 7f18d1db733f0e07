"""Edge measurements of an RGBA cut-out, read from its alpha plane and straight colour.

What is measured
----------------
A background remover or a paste leaves the old background's colour in the soft edge pixels.
With the alpha plane at hand this is direct: wherever the object is, its colour near the
edge should continue the colour a few pixels inside it.

* **Reference colour.** ``F`` = the Gaussian-weighted mean (``REF_SIGMA`` px) of the colour
  of the *deep* foreground: opaque pixels (alpha >= 0.98) at least ``INNER`` px inside the
  boundary (normalised convolution, so it extrapolates across the edge band).
* **Contamination.** ``D = C - F`` on the edge pixels, averaged locally:
  the fur, hair and texture that make ``D`` vary from pixel to pixel average out, the old
  background's colour — the same shift along a whole stretch of boundary — does not.
  A straight colour ``C = a F + (1 - a) B`` (the photo's colour kept under a new alpha) has
  ``|D| = (1 - a) |B - F|``; a premultiplied colour read as straight (``C = a F``) is the
  same with ``B`` = black (the dark fringe).
* ``alpha_fringe``: on the semi-transparent band (0.02 < alpha < 0.98), ``a |D|`` is the
  colour error the band adds to *any* composite (``a C + (1 - a) B'`` minus the clean one).
  Its sum per boundary pixel is the rim's *energy*: grey levels x px, i.e. its contrast
  times its width — monotone in both.
* ``edge_halo``: *does a rim show on some background?* The cut-out is flattened onto
  black, mid-grey and white (linearly: premultiplied colour plus ``(1 - a)`` x background)
  and read along its alpha = 0.5 contour with the opaque-composite measure of
  :mod:`checks.edge_halo.matte` (colour off the segment between the two sides, minus the
  same on control contours); the worst background counts. A ring the matte kept opaque
  although it shows the old background (a dilated or loose matte) is a third colour on
  every background; a clean edge mixes subject and background on all three.
* ``hard_edge``: a binary alpha (no transition) on a complex, hair-like contour. *Hardness*
  is measured at native resolution: soft pixels (5 < alpha < 250) within 2 px of the
  alpha = 128 contour, per contour pixel (0 for a binary matte, ~1 for an anti-aliased one,
  2+ for real hair). *Complexity* is the contour length at the canonical scale over its
  length after a Gaussian of ``SMOOTH_SIGMA`` px (1.0 for a disc, 1.5+ for hair and fur).

At which scale
--------------
Colour measurements run on the 1024-px canonical copy (premultiplied colour and alpha area-
averaged, then un-multiplied), so a rim's energy per boundary pixel reads alike at any size.
Hardness is read at native resolution, where a binary matte is still binary.

Calibration (``scripts/calibrate/edge_halo.py``) on cut-outs built from dim_foamliu (5 hair
and fur mattes with ground-truth alpha), pymatting lemur and p3m_demo portraits: clean
cut-outs (colour = pymatting ``estimate_foreground_ml`` F) against contaminated ones (colour
= the original photo, premultiplied colour, alpha dilated 2 px) and binarised mattes.
"""
from __future__ import annotations

import cv2
import numpy as np

from checks.edge_halo._common import CELL, boundary, cell_sums, smooth, upmask, worst_region
from checks.edge_halo.matte import BAND, halo_measurement, rim_excess
from keyframe import views
from keyframe.image import LoadedImage
from keyframe.report import Measurement
from keyframe.severity import log_ramp, ramp

REF_SIGMA = 6.0
INNER = 4
WINDOW = 3.0
#: regularises the slope where alpha hardly varies (alpha std of 0.1)
SLOPE_EPS = 0.01
SMOOTH_SIGMA = 3.0
#: alpha_fringe contrast: the a(1-a)-weighted mean |B - F| slope over the band (grey
#: levels). Clean cut-outs (estimate_foreground_ml colour) read 9.5–56 (lemur fur highest);
#: photo colour or premultiplied colour under the ground-truth alpha 23–300 (16 cut-outs;
#: ROC-AUC 0.97). Log ramp: 0.25 at 45, 0.5 at 67, 0.8 at 109 grey levels.
FRINGE_ZERO, FRINGE_ONE = 30.0, 150.0
#: edge_halo: backgrounds a cut-out is flattened onto (anchors: checks.edge_halo.matte).
#: Worst-background rim excess (scripts/calibrate/edge_halo.py): clean cut-outs -4.5..1.6
#: grey levels, 2-px dilated mattes 3.9..34.5, photo colour -4.1..14.7, premultiplied
#: -0.1..17.6 (ROC-AUC vs clean 1.00 / 0.88 / 0.98; the outer-ring measure it replaced read
#: 0.59 for dilated mattes).
BACKGROUNDS = {"black": (0.0, 0.0, 0.0), "mid-grey": (128.0, 128.0, 128.0),
               "white": (255.0, 255.0, 255.0)}
#: hard_edge: hardness 1 at <= HARD_AT soft px per contour px, 0 at >= SOFT_AT;
#: complexity ramp (contour length ratio) from COMPLEX_ZERO to COMPLEX_ONE.
HARD_AT, SOFT_AT = 0.2, 1.5
COMPLEX_ZERO, COMPLEX_ONE = 1.1, 1.6
#: contours shorter than this (canonical px) are too small to animate a visible cut-out edge
MIN_CONTOUR = 64

_K5 = cv2.getStructuringElement(cv2.MORPH_RECT, (5, 5))


def canonical(image: LoadedImage) -> tuple[float, np.ndarray, np.ndarray]:
    """(factor, straight colour float32 HxWx3, alpha float32 in [0, 1]) at canonical scale."""
    def compute():
        f = views.scale_to(image)
        a8 = image.alpha
        if f >= 1.0:
            return f, image.rgb.astype(np.float32), a8.astype(np.float32) / 255.0
        size = (max(1, round(image.width * f)), max(1, round(image.height * f)))
        pre = cv2.multiply(image.rgb, cv2.merge([a8, a8, a8]), scale=1 / 255)
        pre = cv2.resize(pre, size, interpolation=cv2.INTER_AREA).astype(np.float32)
        a = cv2.resize(a8, size, interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
        return f, pre / np.maximum(a, 1 / 255)[..., None], a
    return views.cached(image, "edge_halo.rgba", compute)


def measure_rgba(image: LoadedImage, *, with_mask: bool = False) -> list[Measurement]:
    """``alpha_fringe``, ``edge_halo`` and ``hard_edge`` of an image with an alpha plane."""
    f, c, a = canonical(image)
    fg = (a >= 0.5)
    if fg.all() or not fg.any():     # alpha never crosses 0.5: no cut-out edge to measure
        why = ("no cut-out edge: alpha is on one side of 0.5 everywhere (transparency is "
               "has_alpha's)")
        return [Measurement(code, 0.0, why) for code in ("alpha_fringe", "edge_halo",
                                                          "hard_edge")]
    halo = rim_excess(c * a[..., None], 1.0 - a, fg, tuple(BACKGROUNDS.values()))
    L = max(1, int(np.count_nonzero(boundary(fg))))
    full_shape = a.shape
    box = _edge_box(a)
    c, a = c[box], a[box]
    core = (a >= 0.98).astype(np.uint8)
    deep = cv2.erode(core, cv2.getStructuringElement(cv2.MORPH_ELLIPSE,
                                                     (2 * INNER + 1, 2 * INNER + 1)))
    w = deep.astype(np.float32)
    den = smooth(w, REF_SIGMA)
    ref = smooth(c * w[..., None], REF_SIGMA) / np.maximum(den, 1e-6)[..., None]
    valid = den > 0.02
    band = (a > 0.02) & (a < 0.98) & valid
    fringe = _paste(_unmixed(c, a, band), box, full_shape)
    name = next(k for k, v in BACKGROUNDS.items() if v == halo["background"])
    return [_fringe(image, f, c, a, ref, band, fringe, L, with_mask),
            halo_measurement(image, halo, with_mask=with_mask,
                             where=f"the cut-out's edge flattened onto {name}",
                             extra={"background_rgb": "{},{},{}".format(*halo["background"]),
                                    "band_px_source": round(BAND / f, 3)}),
            _hard(image, f, fg, L, with_mask)]


def _edge_box(a: np.ndarray) -> tuple[slice, slice]:
    """Slices of the box around the partly transparent pixels, padded by the reach of the
    reference colour's window (the rest of the frame cannot change any measurement)."""
    edge = ((a > 0.02) & (a < 0.98)) | _transitions(a)
    rows, cols = np.flatnonzero(edge.any(axis=1)), np.flatnonzero(edge.any(axis=0))
    if rows.size == 0 or cols.size == 0:
        return slice(0, 0), slice(0, 0)
    pad = int(4 * REF_SIGMA) + INNER
    return (slice(max(0, rows[0] - pad), rows[-1] + pad + 1),
            slice(max(0, cols[0] - pad), cols[-1] + pad + 1))


def _transitions(a: np.ndarray) -> np.ndarray:
    """Where alpha jumps across 0.5 from the pixel to its left or above (a binary edge, in
    either direction: a straight vertical edge must widen the box's columns too)."""
    fg = a >= 0.5
    jump = np.zeros(fg.shape, bool)
    jump[:, 1:] |= fg[:, 1:] != fg[:, :-1]
    jump[1:, :] |= fg[1:, :] != fg[:-1, :]
    return jump


def _paste(values: np.ndarray, box: tuple[slice, slice], shape: tuple[int, int]) -> np.ndarray:
    out = np.zeros(shape, np.float32)
    out[box] = values
    return out


def _unmixed(c: np.ndarray, a: np.ndarray, band: np.ndarray) -> np.ndarray:
    """Per band pixel, ``a (1 - a) |q|`` where ``q`` is the local least-squares slope of the
    colour against ``1 - a`` (Gaussian window of ``WINDOW`` px over the band): the colour a
    mixture ``a F + (1 - a) B`` moves toward ``B`` as alpha falls (``q = B - F``), a
    decontaminated one does not (``q`` ~ 0)."""
    w = band.astype(np.float32)
    clear = 1.0 - a
    x = clear * w
    cw = c * w[..., None]
    # the windows need the whole box; the statistics only the band's pixels
    g = lambda v: smooth(v, WINDOW)[band]  # noqa: E731
    sw = np.maximum(g(w), 1e-6)
    mx = g(x) / sw
    var = g(x * clear) / sw - mx * mx
    mc = g(cw) / sw[:, None]
    cov = g(cw * clear[..., None]) / sw[:, None] - mx[:, None] * mc
    q = cov / (np.maximum(var, 0.0) + SLOPE_EPS)[:, None]
    out = np.zeros(a.shape, np.float32)
    out[band] = a[band] * clear[band] * np.sqrt((q * q).sum(axis=1))
    return out


def _fringe(image, f, c, a, ref, band, fringe, L, with_mask) -> Measurement:
    energy = float(fringe.sum()) / L
    mix = a[band] * (1.0 - a[band])
    contrast = float(fringe.sum()) / max(float(mix.sum()), 1.0)
    width = float(np.count_nonzero(fringe > 8.0)) / L
    yc, yf = c[band] @ _Y, ref[band] @ _Y
    ab = a[band]
    sel = (yf > 40) & (ab > 0.1) & (ab < 0.9)
    ratio = yc[sel] / yf[sel]
    premult = float(np.mean(np.abs(ratio - ab[sel]) < np.abs(ratio - 1.0))) if sel.any() else 0.0
    sev = log_ramp(contrast, FRINGE_ZERO, FRINGE_ONE) if contrast > 0 else 0.0
    region = worst_region(cell_sums(fringe), image, f)
    kind = "dark (premultiplied colour read as straight?)" if premult > 0.6 else "old-background"
    msg = (f"{kind} colour in the soft edge: it drifts {contrast:.0f} grey levels toward "
           f"another colour as alpha falls, a rim {width:.1f} px wide")
    return Measurement("alpha_fringe", sev, msg, region=region,
                       measurements={"energy": energy, "contrast": contrast, "width_px": width, "premultiplied": premult,
                                     "band_px": int(np.count_nonzero(band)), "boundary_px": L},
                       mask=upmask(fringe > 8.0, image) if with_mask else None)


def _hard(image, f, fg, L, with_mask) -> Measurement:
    a8 = image.alpha
    binary = a8 >= 128
    contour = boundary(binary)
    n_native = max(1, int(np.count_nonzero(contour)))
    soft = ((a8 > 5) & (a8 < 250)).astype(np.uint8)
    near = cv2.dilate(contour.astype(np.uint8), _K5).astype(bool)
    transition = float(np.count_nonzero(soft.astype(bool) & near)) / n_native
    hardness = ramp(transition, SOFT_AT, HARD_AT)
    outline = smooth(fg.astype(np.float32), SMOOTH_SIGMA) >= 0.5
    l_smooth = max(1, int(np.count_nonzero(boundary(outline))))
    complexity = L / l_smooth
    size = ramp(l_smooth, MIN_CONTOUR / 2, MIN_CONTOUR)
    sev = hardness * ramp(complexity, COMPLEX_ZERO, COMPLEX_ONE) * size
    hard_px = contour & ~cv2.dilate(soft, _K5).astype(bool)
    cell = max(4, round(CELL / f))
    region = worst_region(cell_sums(hard_px.astype(np.float32), cell), image, 1.0, cell)
    msg = (f"alpha edge has {transition:.2f} soft px per contour px on a contour "
           f"{complexity:.2f}x longer than its smooth outline (hair-like): a binary cut-out edge")
    return Measurement("hard_edge", sev, msg, region=region,
                       measurements={"transition_px": transition, "complexity": complexity,
                                     "hardness": hardness, "contour_px": L},
                       mask=hard_px if with_mask else None)


_Y = np.array([0.299, 0.587, 0.114], np.float32)
