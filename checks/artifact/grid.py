"""Grid artifacts: periodic patterns of period 2-32 px and tiling seams, at native resolution.

What is measured
----------------
**Periodic patterns (period 2..32 px).** A diffusion VAE decoder leaves a faint pattern on its
8-px latent stride, a transposed convolution a 2-px checkerboard, a tiled upscaler a 16- or
32-px lattice. All of them repeat *exactly* on the source pixel grid, over the whole frame or
over a region, with the same sign every time. So, per candidate period P, the luma's
high-pass residual (the image minus a Gaussian of ``RESIDUAL_SIGMA`` px: fine detail only,
which keeps the pattern's edges and whitens the picture's own content) is clipped to
``±CLIP`` grey levels (so that a few strong edges cannot dominate) and *folded*: every P x P
cell of a 128-px tile is averaged into one P x P template per tile. Content averages out in
the fold; a pattern on the grid adds up. The pattern's power is the mean over pairs of
different tiles of the templates' inner product (a U-statistic: unbiased, since the content
left in two tiles is independent) and its significance ``z`` is that mean over its standard
error across tiles. Natural textures (brick, fabric, fences, floors, halftone screens, grass)
are periodic too, but never with an integer period kept to the pixel across the frame: their
phase drifts from tile to tile, so their templates cancel in the pairwise products.

The power is read in grey levels as the **amplitude of the checkerboard of period P with the
same residual power** (``amplitude``; a checkerboard alternating ±a has amplitude a, i.e.
2a grey levels from dark to light): the residual of a unit checkerboard of each period is
computed once. The reported period is the smallest one that holds ≥ 80 % of the best
period's power (a period-8 pattern is also periodic at 16, 24 and 32), and ``period_x`` /
``period_y`` the smallest periods of its template along each axis (0 when the template is
constant along it: stripes). When the pattern is significant in some parts of a fixed 3 x 3
partition of the frame and not in others (a fix applied to a region, a tiled upscaler's
overlap), those parts give the ``region`` and the amplitude is measured over them.

**What a picture can judge.** The same statistic says how faint a pattern the picture could
show: a checkerboard of period P is significant when its power reaches ``MIN_Z`` standard
errors of the tiles' products, i.e. at amplitude ``sqrt(MIN_Z * se / unit_power(P))``, and
it only shows where pixels can carry it (luma not at 0/255, residual not clipped), so that
amplitude is divided by the share of such pixels. ``judged_up_to`` is the largest period at
which a 2-grey-level checkerboard (±1, the issue's faintest) would be found. A 224-px crop
holds 7 cells of 32 px, too few to tell such a pattern from the content at period 32: that
is "cannot judge", reported as such, not "clean". ``scripts/calibrate/grid.py``, the clean
images of ../shared/data with 2-level checkerboards: at period 32, 49 pictures can judge and
all 49 patterns read minor or more, while none of the 11 that cannot (224-px FreiHand crops,
small COFW / OneHand10K crops, a 500-px COCO photo, a mostly white frame) finds its pattern;
over periods 2-32, 3 of the 283 judged patterns read 0.

**Tiling seams (period 16..512 px)**: :mod:`checks.artifact.seams`.

Scale: native, because both defects are tied to source pixels. Images above
``MAX_SIDE`` px are read on up to four native crops (at the quadrant centres), which keeps
the cost near-constant.

Calibration (``scripts/calibrate/grid.py``, figures in docs/checks.md "grid_artifact"): the clean
images of ../shared/data vs the same images with checkerboards of period 2, 4, 8, 16, 32 px
and 2-8 grey levels from dark to light, and texture images (scikit-image's brick, grass,
gravel, and synthetic fabric, fence, tiled floor and halftone screens drawn in the script).
"""
from __future__ import annotations

import numpy as np

from checks.artifact import seams
from checks.artifact import grid_templates as gt
from checks.artifact.grid_templates import CLIP, PERIODS, TILE, unit_power
from keyframe.fixes.degrid import periodic_part
from keyframe.image import LoadedImage
from keyframe.report import Measurement
from keyframe.severity import log_ramp
from keyframe.views import cached, gray_u8

#: significance (z across tiles) a period needs over the whole frame: the textures of
#: keyframe_dev/textures.py reach 5-7.5 at their best period, a 2-level checkerboard on the clean
#: images of ../shared/data 12 and more (scripts/calibrate/grid.py)
MIN_Z = 8.0
#: a local pattern must be this significant within one part of the frame, over at least
#: ``MIN_PART_TILES`` tiles (fewer tiles give a z that chance reaches among 31 periods)
MIN_Z_LOCAL = 12.0
MIN_PART_TILES = 6
#: a local pattern stronger than this checkerboard amplitude (±4: 8 grey levels from dark to
#: light) is taken for content: woven and knitted fabrics keep an integer-pixel period over
#: a part of the frame (keyframe_dev/textures.py), while a decoder grid over the whole frame counts
#: at any strength
LOCAL_MAX_AMP = 4.0
#: parts of the frame whose pattern power is at least this share of the strongest part's
#: make up the region of a local pattern
HOT_SHARE = 0.25
#: a period is judged when a checkerboard of this amplitude (±1: 2 grey levels from dark to
#: light, the faintest the issue asks for) would reach ``MIN_Z`` (module docstring)
JUDGED_AMPLITUDE = 1.0


def _part_powers(dots: np.ndarray, self_dots: np.ndarray, label: np.ndarray, p: int
                 ) -> dict[int, tuple[float, float]]:
    """:func:`checks.artifact.grid_templates.power`'s (power, z) of every part holding at least ``MIN_PART_TILES`` tiles
    (``label``: each tile's part; ``dots``: its product with its part's template sum), all
    parts in one pass of sums per tile label."""
    count = np.bincount(label, minlength=9)
    c = (dots.astype(np.float64) - self_dots) / ((np.maximum(count[label], 2) - 1) * p * p)
    mean = np.bincount(label, weights=c, minlength=9) / np.maximum(count, 1)
    dev = c - mean[label]
    var = np.bincount(label, weights=dev * dev, minlength=9) / np.maximum(count - 1, 1)
    se = np.sqrt(var) / np.sqrt(np.maximum(count, 1))
    return {int(k): (float(mean[k]), float(mean[k] / (se[k] + 1e-9)))
            for k in np.nonzero(count >= MIN_PART_TILES)[0]}


def _strength(grids: list, shape: tuple[int, int]
              ) -> tuple[float, float, tuple | None, np.ndarray | None, float]:
    """(power, z, region, template, standard error over the frame) of one period; power 0
    when not significant.

    The pattern counts over the whole frame when its z reaches ``MIN_Z`` there; a local
    pattern when it does in some parts of a fixed 3 x 3 partition of the frame and not in
    others: those parts give the region. (Fixed parts, not tiles picked for their own
    projection, which would pick the noise too and inflate a faint pattern.)
    """
    if not grids:
        return 0.0, 0.0, None, None, float("inf")
    h, w = shape
    period = grids[0][3].shape[-1]
    parts = []
    for x0, y0, side, t in grids:
        ty, tx = t.shape[:2]
        cy = (y0 + side * np.arange(ty) + side // 2) * 3 // h
        cx = (x0 + side * np.arange(tx) + side // 2) * 3 // w
        parts.append(np.minimum(cy, 2)[:, None] * 3 + np.minimum(cx, 2)[None, :])
    # every tile's inner product with the sum of the frame's templates and with that of its
    # part's, in one pass each (not one concatenation and pass per part); no BLAS products,
    # whose threads cost more than they save on these small arrays
    flat = (grids[0][3].reshape(-1, period * period) if len(grids) == 1 else
            np.concatenate([t.reshape(-1, period * period) for *_, t in grids]))
    label = np.concatenate([q.ravel() for q in parts])
    present = sorted(set(label.tolist()))
    part_sum = np.zeros((9, flat.shape[1]), flat.dtype)
    for k in present:
        part_sum[k] = flat[label == k].sum(0)
    self_dots = np.einsum("ti,ti->t", flat, flat)
    own = np.einsum("ti,ti->t", flat, part_sum[label])
    u, z, se = gt.power(np.einsum("ti,i->t", flat, flat.sum(0)), self_dots, period)
    local = {}
    for k, (uk, zk) in _part_powers(own, self_dots, label, period).items():
        if zk >= MIN_Z_LOCAL and 0 < uk <= LOCAL_MAX_AMP ** 2 * unit_power(period):
            local[k] = uk
    if z >= MIN_Z and u > 0 and (len(local) == len(present) or max(local.values(), default=0) <= 2 * u):
        return u, z, None, sum(t.sum(axis=(0, 1)) for *_, t in grids), se
    if not local:
        return 0.0, z, None, None, se
    top = max(local.values())
    keep = [k for k, v in local.items() if v >= HOT_SHARE * top]
    xs, ys, template = [], [], 0.0
    for (x0, y0, side, t), q in zip(grids, parts):
        on = np.isin(q, keep)
        iy, ix = np.nonzero(on)
        xs += [x0 + side * i for i in ix] + [x0 + side * (i + 1) for i in ix]
        ys += [y0 + side * i for i in iy] + [y0 + side * (i + 1) for i in iy]
        template = template + t[on].sum(0)
    region = (min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))
    return top, z, region, template, se


def _carrying_share(g: np.ndarray, pieces: list) -> float:
    """Share of the pixels read that can carry a faint pattern: luma not at 0/255 and a
    residual that the ``±CLIP`` clip leaves room in."""
    n = room = 0
    for y0, x0, r in pieces:
        lum = g[y0:y0 + r.shape[0], x0:x0 + r.shape[1]]
        room += int(np.count_nonzero((np.abs(r) < CLIP - 1) & (lum > 1) & (lum < 254)))
        n += r.size
    return room / max(n, 1)


def _judged_up_to(floors: dict[int, float]) -> int:
    """Largest period whose detection floor is at most ±1 (a 2-grey-level checkerboard),
    every shorter period judged too (0: none)."""
    judged = 0
    for period in PERIODS:
        if floors.get(period, float("inf")) > JUDGED_AMPLITUDE:
            break
        judged = period
    return judged


def _periodic(g: np.ndarray) -> dict:
    """The strongest periodic pattern of period 2..32 px, and the detection floor per period
    (see the module docstring)."""
    none = {"amplitude": 0.0, "z": 0.0, "period": 0, "period_x": 0, "period_y": 0,
            "region": None, "judged_up_to": 0, "floor_32": float("inf")}
    if min(g.shape) < 2 * TILE // 2:
        return none
    pieces = gt.pieces(g)
    share = max(_carrying_share(g, pieces), 1e-6)
    found = {}
    for period in PERIODS:
        found[period] = _strength(gt.templates(pieces, period, min(g.shape)), g.shape)
    floors = {p: float(np.sqrt(MIN_Z * v[4] / unit_power(p))) / share
              for p, v in found.items()}
    judged = {"judged_up_to": _judged_up_to(floors), "floor_32": floors[PERIODS[-1]]}
    sig = {p: v for p, v in found.items() if v[0] > 0}
    if not sig:
        return {**none, **judged}
    best = max(sig, key=lambda p: sig[p][0] / unit_power(p))
    period = min(p for p in sig if best % p == 0 and sig[p][0] >= 0.8 * sig[best][0])
    u, z, region, template, _ = found[period]
    amp = float(np.sqrt(max(u, 0.0) / unit_power(period)))
    return {"amplitude": amp, "z": float(z), "period": period,
            "period_x": gt.axis_period(template, 1), "period_y": gt.axis_period(template, 0),
            "region": region, **judged}


#: anchors on the pattern's strength in grey levels. Periodic patterns: the checkerboard-
#: equivalent amplitude (±a); seams: mean step at the seam columns. Periodic anchors from
#: scripts/calibrate/grid.py (docs/checks.md "grid_artifact"): a ±0.5 checkerboard (1 grey level
#: dark to light) ~0.2, ±1 ~0.4 (minor), ±2 ~0.6 (major), ±4 ~0.85; the clean images of
#: ../shared/data stay below 0.25 (worst: Stable Cascade's own faint 24-px lattice).
#: Seams (scripts/calibrate/compression.py): 1-px seams every 64 px of 1, 3, 6, 12 levels
#: on skimage photos and ComfyUI generations: 1 -> 0, 3 ~0.3-0.45, 6 ~0.7, 12 -> 1; clean
#: floor of the seam profile is 0.6-1.06 grey levels (-> 0).
_FINE_ZERO, _FINE_ONE = 0.3, 6.0
_SEAM_ZERO, _SEAM_ONE = 1.0, 9.0
#: tiles' offsets (spread in grey levels, seams.tile_offset_spread), set on the tune half of
#: scripts/calibrate/seams.py (the even entries of every clean set of ../shared/data, tiles
#: of 64 px offset by +-a): 1 grey level reads minor, 1.6 major (degrid must bring a
#: certified picture under that); the clean pictures read under 0.6
_OFFSET_ZERO, _OFFSET_ONE = 0.6, 4.0
#: a periodic pattern this strong (checkerboard amplitude, +-1: 2 grey levels) is taken off
#: before the tiles are read; a fainter one's template (the 32-px lattice of a clean SD3.5
#: generation, +-0.47) only moved the seams' readings (its removal made +-0.5 tiles read 2.0)
_FINE_FIRST = 1.0


def measure_grid_artifact(image: LoadedImage) -> Measurement:
    """Periodic decoder patterns (period 2..32 px) and tiling seams, at native resolution.

    Severity: the largest of three log ramps on the pattern's strength in grey levels (the
    checkerboard-equivalent amplitude of the periodic pattern, the seam step, the spread of
    the tiles' offsets). The region is
    the tiles that carry a local pattern (None when it covers the frame). ``judged_up_to``
    (px) is the largest period at which a 2-grey-level pattern would have been found, and
    ``faintest_at_32`` the grey levels (dark to light) a 32-px one needs here: below a
    judged period a 0 means "not found", beyond it "cannot judge".
    """
    def compute() -> dict:
        g = gray_u8(image)
        fine = _periodic(g)
        sx, sy = seams.seams_both_axes(g)
        rest = g
        if fine["amplitude"] >= _FINE_FIRST and fine["region"] is None:
            # the tiles are read on what the periodic pattern leaves: a 32-px checkerboard's
            # squares would otherwise read as tiles offset across every 64-px line
            f = g.astype(np.float32)[..., None]
            rest = (f - periodic_part(f, fine["period_x"], fine["period_y"]))[..., 0]
        return {"fine": fine, "sx": sx, "sy": sy, "off": seams.tile_offset_spread(rest, sx, sy)}
    r = cached(image, "grid.grid", compute)
    fine, sx, sy, off = r["fine"], r["sx"], r["sy"], r["off"]
    s_fine = log_ramp(fine["amplitude"], _FINE_ZERO, _FINE_ONE) if fine["amplitude"] > 0 else 0.0
    seam_amp = max(sx["amp"], sy["amp"])
    s_step = log_ramp(seam_amp, _SEAM_ZERO, _SEAM_ONE) if seam_amp > 0 else 0.0
    s_off = log_ramp(off["amp"], _OFFSET_ZERO, _OFFSET_ONE) if off["amp"] > 0 else 0.0
    s_seam = max(s_step, s_off)
    sev = max(s_fine, s_seam)
    region = None
    phase_x = phase_y = 0
    if s_seam >= s_fine and s_off > s_step:
        period_x, period_y = off["period_x"], off["period_y"]
        phase_x, phase_y = off["phase_x"], off["phase_y"]
        kind = (f"tiles every {max(period_x, period_y)} px offset against each other by "
                f"{off['amp']:.1f} grey levels (spread)")
        ratio = off["ratio"]
    elif s_seam >= s_fine:
        period_x, period_y = sx["period"], sy["period"]
        kind = f"tiling seams every {max(period_x, period_y)} px, step {seam_amp:.1f} grey levels"
        ratio = max(sx["z"], sy["z"])
    else:
        period_x, period_y = fine["period_x"], fine["period_y"]
        where = " in part of the frame" if fine["region"] else ""
        kind = (f"a {fine['period']}-px periodic pattern{where} as strong as a checkerboard "
                f"of {2 * fine['amplitude']:.1f} grey levels")
        ratio = fine["z"]
        region = fine["region"]
    if sev < 0.25:
        msg = "no periodic decoder grid or tiling seams"
        if sev > 0:
            msg += f" worth noticing ({kind})"
        if fine["judged_up_to"] < PERIODS[-1]:
            msg += _unjudged(fine)
        region = None
    else:
        msg = f"periodic grid artifact: {kind}"
    if sev == 0:
        period_x = period_y = phase_x = phase_y = 0
    return Measurement(
        code="grid_artifact", severity=sev, message=msg, region=region,
        measurements={"period_x": int(period_x), "period_y": int(period_y),
                      "phase_x": int(phase_x), "phase_y": int(phase_y),
                      "period": int(fine["period"]), "peak_ratio": float(ratio),
                      "fine_amplitude": fine["amplitude"], "fine_z": fine["z"],
                      "seam_step": seam_amp, "tile_offset": off["amp"],
                      "judged_up_to": int(fine["judged_up_to"]),
                      "faintest_at_32": min(2 * fine["floor_32"], 255.0)})


def _unjudged(fine: dict) -> str:
    """The message's note on the periods the picture cannot judge (cannot judge, not clean)."""
    upto = fine["judged_up_to"]
    what = f"above {upto} px" if upto else "of any period"
    return (f"; cannot judge faint patterns {what}: too few repetitions or too little "
            f"unclipped detail (a 32-px pattern needs {min(2 * fine['floor_32'], 255):.0f}+ "
            f"grey levels to be told from the content)")
