"""The main object of a picture without people: U^2-Net's salient-object matte (``u2netp``).

The framing check plans a ``reframe`` from a subject box. With people in the picture the
anatomy check's face and person boxes are that box; without them, the model-free fallback is
the spectral-residual saliency's 60 %-mass box (:func:`keyframe.fixes.reframe.salient_box`),
which locates the middle of what stands out, not its extent: on the ComfyUI SD 3.5 example
(a bottle standing on a counter, 1:1) a Veo reframe kept the box and cut the bottle's base.
A salient-object matte gives the object's whole extent, so the reframe can keep it whole
(cropping when it fits the target's window, extending the canvas when it does not).

The model is run only when a reframe will be planned (the framing check asks when the
picture's aspect is off its target's) and when no person box is there: ~0.25 s per picture
on one core (320 x 320 input), paid by pictures that need a reframe, not by triage.
"""
from __future__ import annotations

import cv2
import numpy as np

from keyframe import models
from keyframe.image import LoadedImage
from keyframe.views import cached

Box = tuple[int, int, int, int]

#: the model's input side and ImageNet normalisation (U^2-Net's own preprocessing; the
#: picture is stretched to the square, as the model was trained)
SIDE = 320
_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
_STD = np.array([0.229, 0.224, 0.225], np.float32)

#: an object is trusted when its matte is decided: at most this share of the frame reads
#: between 0.2 and 0.8. Clean ComfyUI generations, LIVE references and skimage photos with
#: one object read 0.004-0.10 (``python -m scripts.calibrate.framing --objects``); a ComfyUI
#: screenshot of a node graph (no object) 0.155
MAX_UNDECIDED = 0.12
#: and when it covers between these shares of the frame: a speck locates nothing; a matte
#: covering most of the frame is the scene, not an object on it (the same table: objects
#: 0.02-0.56; skimage's chelsea, a cat filling the frame, 0.69 and undecided 0.126)
MIN_AREA, MAX_AREA = 0.005, 0.6
#: parts of the matte smaller than this share of its largest part are dropped (specks)
MIN_PART = 0.1


class SalientObject:
    """U^2-Net small (``u2netp``, TFLite): a salient-object matte and the object's box.

    One instance per process is enough: the interpreter is the model table's shared one
    (:func:`keyframe.models.infer`). Raises :class:`keyframe.models.ModelMissing`
    when the model or its runtime is not installed.
    """

    model = "u2netp"

    def matte(self, rgb: np.ndarray) -> np.ndarray:
        """The model's matte at SIDE x SIDE (float32, 0-1, the raw sigmoid, not stretched
        to its own min and max: a picture without an object keeps a low or undecided one)."""
        x = cv2.resize(np.ascontiguousarray(rgb), (SIDE, SIDE), interpolation=cv2.INTER_AREA)
        x = (x.astype(np.float32) / 255.0 - _MEAN) / _STD
        # "Identity": the fused side output (d0), the one U^2-Net's own inference reads
        return models.infer(self.model, x[None])["Identity"][0, ..., 0].astype(np.float32)

    def box(self, rgb: np.ndarray) -> Box | None:
        """The object's box (x, y, w, h in ``rgb``'s pixels), or None when the matte does
        not show one object (undecided, a speck, or most of the frame).

        The box holds every part of the matte above 0.5 that is at least MIN_PART of the
        largest part (a bottle and its reflection, two parrots), in source pixels."""
        m = self.matte(rgb)
        undecided = float(((m > 0.2) & (m < 0.8)).mean())
        fg = (m > 0.5).astype(np.uint8)
        area = float(fg.mean())
        if undecided > MAX_UNDECIDED or not MIN_AREA <= area <= MAX_AREA:
            return None
        n, _, stats, _ = cv2.connectedComponentsWithStats(fg, connectivity=8)
        parts = stats[1:]
        parts = parts[parts[:, cv2.CC_STAT_AREA] >= MIN_PART * parts[:, cv2.CC_STAT_AREA].max()]
        x0 = parts[:, cv2.CC_STAT_LEFT].min()
        y0 = parts[:, cv2.CC_STAT_TOP].min()
        x1 = (parts[:, cv2.CC_STAT_LEFT] + parts[:, cv2.CC_STAT_WIDTH]).max()
        y1 = (parts[:, cv2.CC_STAT_TOP] + parts[:, cv2.CC_STAT_HEIGHT]).max()
        h, w = rgb.shape[:2]
        fx, fy = w / SIDE, h / SIDE
        X0, Y0 = int(np.floor(x0 * fx)), int(np.floor(y0 * fy))
        X1, Y1 = min(w, int(np.ceil(x1 * fx))), min(h, int(np.ceil(y1 * fy)))
        return X0, Y0, max(1, X1 - X0), max(1, Y1 - Y0)


_OBJECT = SalientObject()


def object_box(image: LoadedImage) -> Box | None:
    """:meth:`SalientObject.box` of ``image``'s pixels, once per image (cached on it)."""
    return cached(image, "subject.object_box", lambda: _OBJECT.box(image.rgb))
