"""Upscale: resample to a larger size with Lanczos or bicubic, or with a small learned
super-resolution network (FSRCNN / ESPCN) on luma (mends ``too_small``)."""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from keyframe.fixes._common import check_rgb
from keyframe.registry import Fix
from keyframe.report import Measurement

_INTERP = {"lanczos": cv2.INTER_LANCZOS4, "cubic": cv2.INTER_CUBIC}
#: learned methods: ``sr-<method>-x<k>`` in :data:`keyframe.models.MODELS`
LEARNED = ("fsrcnn", "espcn")
#: low-resolution tile (px) the network runs on, plus its receptive-field margin each side:
#: bounds the memory (FSRCNN holds 56 float32 planes per tile) at any image size
TILE = 256


def model_factors(method: str) -> tuple[int, ...]:
    """The integer factors the model table has for a learned ``method`` (e.g. (2, 3, 4))."""
    from keyframe.model_table import MODELS

    pat = re.compile(rf"sr-{re.escape(method)}-x(\d+)")
    return tuple(sorted(int(m.group(1)) for n in MODELS if (m := pat.fullmatch(n))))


def model_name(method: str, scale: float) -> str:
    """The model a learned ``method`` uses for an enlargement by ``scale``: the smallest
    factor >= ``scale`` the table has (the largest one beyond it; Lanczos does the rest)."""
    factors = model_factors(method)
    if not factors:
        raise ValueError(f"upscale: no model for method {method!r}")
    k = next((f for f in factors if f >= scale - 1e-9), factors[-1])
    return f"sr-{method}-x{k}"


class Upscale(Fix):
    """Enlarge the image by ``factor``, or to ``long_side`` pixels on its longer side.

    ``method="lanczos"`` (default) or ``"cubic"``: OpenCV's 8x8 Lanczos or 4x4 bicubic
    resample, in 8-bit. ``"fsrcnn"`` or ``"espcn"``: the OpenCV dnn_superres networks
    (``sr-<method>-x2/x3/x4``, the smallest factor k >= the requested one, x4 beyond 4) run
    on the luma Y of YCrCb as float in [0, 1], the picture reflected by the network's
    receptive field at the borders and cut into tiles so memory stays bounded; the result is
    corrected for the network's fixed sub-pixel pattern on flat areas and by one
    back-projection step (the result's k x k block means are pulled back to the input
    luma: removes the networks' bias on flat areas, +0.6 dB), then taken to
    the exact size with Lanczos (INTER_AREA when k overshoots); chroma is resized
    bicubically, everything stays float until one final rounding. The aspect ratio is kept
    (each side rounded to whole pixels). It never shrinks: a ``long_side`` at or below the
    current one returns an unchanged copy.

    A learned method needs its model file (``keyframe models pull sr-fsrcnn-x2`` …): a
    missing one raises :class:`keyframe.models.ModelMissing`. :meth:`models_for` names the
    models a step may use, so a recipe records their sha256.

    Why: a video model resamples a small frame itself, often crudely; bringing it to the
    size the target expects first is better controlled. Lanczos adds no detail; FSRCNN and
    ESPCN restore some of it (about +1 dB PSNR over Lanczos at x2 on real photos).
    """

    name = "upscale"
    mends = ("too_small", "blur")
    changes_geometry = True
    stage = 130

    @dataclass(frozen=True)
    class Params:
        factor: float = field(default=2.0, metadata={"min": 1.0, "max": 8.0})
        long_side: int = field(default=0, metadata={"min": 0, "max": 32768})
        method: str = field(default="lanczos",
                            metadata={"choices": ("lanczos", "cubic") + LEARNED})

    @classmethod
    def plan_params(cls, measurement: Measurement) -> dict[str, Any]:
        """1.5x for a slightly small image, 2x from severity 0.5, 3x from 0.9."""
        s = float(measurement.severity)
        return {"factor": 3.0 if s >= 0.9 else 2.0 if s >= 0.5 else 1.5}

    @classmethod
    def models_for(cls, params: Any) -> tuple[str, ...]:
        """Model names (``keyframe.models``) a step with ``params`` may use: none for Lanczos,
        cubic or a no-op factor 1; the one model of ``factor``; with ``long_side`` the scale
        depends on the image, so every factor of the method."""
        if params.method not in LEARNED:
            return ()
        if params.long_side:
            return tuple(f"sr-{params.method}-x{k}" for k in model_factors(params.method))
        if params.factor <= 1.0:
            return ()
        return (model_name(params.method, params.factor),)

    @staticmethod
    def output_size(width: int, height: int, params: Any) -> tuple[int, int]:
        """(width, height) that :meth:`apply` will produce for an input of that size."""
        scale = params.long_side / max(width, height) if params.long_side else params.factor
        scale = max(1.0, scale)
        return max(1, int(round(width * scale))), max(1, int(round(height * scale)))

    def geometry(self, rgb: np.ndarray, params: Any):
        """What the gate reads before the step runs: the whole picture kept, nothing added,
        the output size (so the enlargement) of :meth:`output_size`."""
        from keyframe.fixes.reframe import Layout

        h, w = rgb.shape[:2]
        return Layout(crop=(0, 0, w, h), pad=(0, 0, 0, 0), size=self.output_size(w, h, params),
                      source=(w, h))

    def apply(self, rgb: np.ndarray, params: Any) -> np.ndarray:
        check_rgb(rgb, self.name)
        h, w = rgb.shape[:2]
        new_w, new_h = self.output_size(w, h, params)
        if (new_w, new_h) == (w, h):
            return rgb.copy()
        if params.method in LEARNED:
            # the model follows the requested scale, as in models_for (not the rounded sizes)
            scale = params.long_side / max(w, h) if params.long_side else params.factor
            return learned_upscale(rgb, params.method, new_w, new_h, scale)
        out = cv2.resize(np.ascontiguousarray(rgb), (new_w, new_h),
                         interpolation=_INTERP[params.method])
        return np.ascontiguousarray(out)


def phase_pattern(model: str) -> np.ndarray:
    """The flat-field phase pattern of ``sr-*`` model ``model`` (measured once per file)."""
    from keyframe import models

    file = models.path(model)
    st = file.stat()
    return _phase_pattern(str(file), st.st_size, st.st_mtime_ns,
                          int(model.rsplit("-x", 1)[1]))


def run_network(method_or_model: str, y: np.ndarray, tile: int = TILE) -> tuple[np.ndarray, int]:
    """Run an ``sr-*`` model (name) on an HxW float32 luma plane in [0, 1]; return the
    (k*H)x(k*W) float32 result and k. Raises ``ModelMissing`` when the file is absent.

    The plane is reflected by the network's receptive radius (+2 px) so the borders see
    picture rather than the networks' zero padding, then processed in ``tile``-px tiles
    with that margin of real context each side: the result does not depend on the tiling.
    """
    from keyframe import models
    from keyframe.fixes import _srnet

    graph = _srnet.load(models.path(method_or_model))
    k = int(method_or_model.rsplit("-x", 1)[1])
    h, w = y.shape
    m = graph.radius + 2
    padded = np.pad(np.asarray(y, np.float32), m, mode="symmetric")
    out = np.empty((h * k, w * k), np.float32)
    for y0 in range(0, h, tile):
        for x0 in range(0, w, tile):
            th, tw = min(tile, h - y0), min(tile, w - x0)
            res = graph.run(padded[y0:y0 + th + 2 * m, x0:x0 + tw + 2 * m])
            if res.shape != ((th + 2 * m) * k, (tw + 2 * m) * k):
                raise ValueError(f"upscale: model {method_or_model} gave {res.shape}, "
                                 f"expected x{k}")
            out[y0 * k:(y0 + th) * k, x0 * k:(x0 + tw) * k] = \
                res[m * k:(m + th) * k, m * k:(m + tw) * k]
    return out, k


#: luma levels (0..1) at which a network's flat-field phase pattern is measured
_LEVELS = np.linspace(0.0, 1.0, 18, dtype=np.float32)


@functools.lru_cache(maxsize=16)
def _phase_pattern(file: str, size: int, mtime_ns: int, k: int) -> np.ndarray:
    """[levels, k, k] float32: the zero-mean pattern a pixel-shuffle network lays on a flat
    field of each level in :data:`_LEVELS`, by sub-pixel phase (FSRCNN x4: up to 2 levels
    of 255, a visible k x k checkerboard on flat sky or black)."""
    from keyframe.fixes import _srnet

    graph = _srnet.load(file)
    m, n = graph.radius + 2, 8
    out = []
    for level in _LEVELS:
        res = graph.run(np.full((n + 2 * m, n + 2 * m), level, np.float32))
        core = res[m * k:(m + n) * k, m * k:(m + n) * k]
        phase = core.reshape(n, k, n, k).mean(axis=(0, 2))
        out.append(phase - phase.mean())
    return np.asarray(out, np.float32)


def remove_phase_pattern(low: np.ndarray, high: np.ndarray, k: int,
                         pattern: np.ndarray) -> np.ndarray:
    """Subtract from ``high`` the flat-field pattern of each output pixel's phase at the
    level of its input pixel (linear between the measured levels). Neutral to PSNR on photos
    (+0.02 dB at most), it keeps flat areas flat (within 1 level instead of 2-3)."""
    h, w = low.shape
    t = np.clip(low, 0.0, 1.0) * np.float32(len(_LEVELS) - 1)
    i0 = np.minimum(t.astype(np.int32), len(_LEVELS) - 2)
    f = (t - i0.astype(np.float32))[:, :, None, None]
    d = pattern[i0] * (1 - f) + pattern[i0 + 1] * f               # [h, w, k, k]
    return high - d.transpose(0, 2, 1, 3).reshape(h * k, w * k)


def back_project(low: np.ndarray, high: np.ndarray, k: int) -> np.ndarray:
    """One step of iterative back-projection (Irani & Peleg 1991): add to ``high`` (k times
    the size of ``low``) the bicubically enlarged residual between ``low`` and ``high``'s
    area (k x k block mean) reduction, so the result reduces back to the input.

    It removes the networks' flat-field bias (FSRCNN x3 turns a level-16 field into 13-14,
    ESPCN's tanh output turns 255 into 253) and adds about +0.6 dB PSNR on real photos,
    more than the same step gives Lanczos (scripts/bench/upscale.py).
    """
    h, w = low.shape
    residual = low - cv2.resize(high, (w, h), interpolation=cv2.INTER_AREA)
    return high + cv2.resize(residual, (w * k, h * k), interpolation=cv2.INTER_CUBIC)


def learned_upscale(rgb: np.ndarray, method: str, new_w: int, new_h: int,
                    scale: float | None = None) -> np.ndarray:
    """``rgb`` enlarged to exactly (new_w, new_h) by the ``method`` network on luma; the
    model is the one for ``scale`` (default: the larger of the two size ratios)."""
    h, w = rgb.shape[:2]
    if scale is None:
        scale = max(new_w / w, new_h / h)
    f = np.ascontiguousarray(rgb).astype(np.float32) * np.float32(1 / 255)
    ycc = cv2.cvtColor(f, cv2.COLOR_RGB2YCrCb)          # Y in [0, 1], Cr/Cb around 0.5
    name = model_name(method, scale)
    y, k = run_network(name, ycc[:, :, 0])
    y = remove_phase_pattern(ycc[:, :, 0], y, k, phase_pattern(name))
    y = back_project(ycc[:, :, 0], y, k)
    if y.shape != (new_h, new_w):
        shrink = y.shape[0] > new_h or y.shape[1] > new_w
        y = cv2.resize(y, (new_w, new_h),
                       interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LANCZOS4)
    crcb = cv2.resize(np.ascontiguousarray(ycc[:, :, 1:]), (new_w, new_h),
                      interpolation=cv2.INTER_CUBIC)
    merged = np.dstack([y.astype(np.float32, copy=False), crcb])
    out = cv2.cvtColor(merged, cv2.COLOR_YCrCb2RGB) * np.float32(255)
    return np.ascontiguousarray(np.clip(np.rint(out), 0, 255).astype(np.uint8))
