"""What a blown highlight lost, read from its bright surround (``clipped_highlights``).

A clipped blob is a defect when something ran into the clip and was lost there, and close to
harmless when the surface was white and plain already. The surround says which:

* **colour pictures: the hue.** A coloured surface running into the clip (skin, a blue sky,
  petals) has one channel clipped before the others and loses its hue to white; a neutral one
  (a white backdrop, an overcast sky, white paint, a lamp) was white already.
* **monochrome pictures: the texture** (issue 14: with no colour, a backdrop and a blown
  surface look alike to the hue rule). Over-exposure moves the clip's boundary into the
  picture's detail: the clip cuts through texture, and its bright surround carries strong
  gradients. A plain bright surface (a lit backdrop, a wall, paper, an overcast sky) rolls off
  smoothly into the clip. The median gradient magnitude (after a 1-px Gaussian) of the bright
  pixels (>= 200) within 6 px of the blob is ramped through ``_TEXTURE_*``. The limit, stated:
  a smooth surface that was blown (a forehead lit flat white) reads as a plain one too, as a
  blown white shirt does in colour.

Calibration: ``scripts/calibrate/false_alarms.py`` (``--grey`` for the texture rule, which is
tuned on grey copies of the ``tune`` split and checked on the ``held-out`` split and the real
monochrome photos; figures in docs/checks.md "Clean pictures certified").
"""
from __future__ import annotations

import cv2
import numpy as np

#: highlights: a blob's weight x this ramp on the median chroma (max - min channel) of the
#: pixels within 6 px of it that reach the top in some channel (max >= 245): a coloured
#: surface running into the clip (skin, a blue sky, petals) has one channel clipped before
#: the others and loses its hue to white; a neutral one (a white backdrop, an overcast sky,
#: white paint, a lamp) was white already. Calibrated on the ``tune`` split of
#: scripts/calibrate/false_alarms.py: the clean pictures' large blobs 2-10 (lamps up to 16), the
#: same pictures' blobs after +2 stops 9-150, mostly >= 17.
_HUE_ZERO, _HUE_ONE, _HUE_FLOOR = 8.0, 20.0, 0.05
#: a picture whose 95th-percentile chroma is below this is monochrome: no hue to lose, the
#: texture rule judges it
_MONO = 16.0


def _median_by_label(labels: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Median of ``values`` per label 1..n-1 (0 where a label has no value)."""
    out = np.zeros(n, np.float64)
    if labels.size == 0:
        return out[1:]
    if values.dtype == np.uint8:
        # one sort of label * 256 + value: the order of lexsort((values, labels))
        keys = np.sort(labels.astype(np.int64) * 256 + values)
        ls, vs = keys >> 8, (keys & 255).astype(np.float64)
    else:
        order = np.lexsort((values, labels))
        ls, vs = labels[order], values[order]
    counts = np.bincount(ls, minlength=n)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    has = counts > 0
    out[has] = vs[starts[has] + counts[has] // 2]
    return out[1:]


def _spread_labels(labels: np.ndarray, n: int, near: np.ndarray) -> np.ndarray:
    """The largest blob label within 4 px (a 9x9 max) of each pixel of ``near`` (int64): the
    bright surround carries the label of the blob it surrounds. Dilated as uint16 when the
    labels fit (as float32 otherwise, exact below 2**24)."""
    plane = labels.astype(np.uint16 if n < 65536 else np.float32)
    return cv2.dilate(plane, np.ones((9, 9), np.uint8))[near].astype(np.int64)


def _hue_weight(cmax: np.ndarray, mask: np.ndarray, labels: np.ndarray, n: int,
                chroma: np.ndarray) -> np.ndarray:
    """Per blob (labels 1..n-1): how much hue the clip took away, 0.05..1 (see ``_HUE_*``)."""
    band = cv2.dilate(mask.view(np.uint8), np.ones((13, 13), np.uint8)).view(bool) & ~mask
    near = band & (cmax >= 245)
    med = _median_by_label(_spread_labels(labels, n, near), chroma[near], n)
    return np.clip((med - _HUE_ZERO) / (_HUE_ONE - _HUE_ZERO), _HUE_FLOOR, 1.0)


#: monochrome pictures: a blob's weight x this ramp on the median gradient magnitude (grey
#: levels per px) of its bright surround: 0.05 below 3, 1 above 10. Chosen on grey copies of
#: the ``tune`` split (anchors 1.5-4 / 6-12, floors 0.05 / 0.2): the fewest clean findings
#: (major 8 -> 3, minor 10 -> 5) among those that keep the split's +1/2/3-stop ROC-AUC
#: (0.852 -> 0.861) and every exposure ladder (grey astronaut, coffee, chelsea +2 major;
#: camera +2 major)
_TEXTURE_ZERO, _TEXTURE_ONE = 3.0, 10.0
#: surround pixels at least this bright are the ones the clip could have reached
_TEXTURE_BRIGHT = 200


def _texture_weight(cmax: np.ndarray, mask: np.ndarray, labels: np.ndarray, n: int
                    ) -> np.ndarray:
    """Per blob (labels 1..n-1) of a monochrome picture: how much detail its bright surround
    carries, 0.05..1 (see ``_TEXTURE_*``)."""
    g = cv2.GaussianBlur(cmax.astype(np.float32), (0, 0), 1.0)
    grad = np.hypot(cv2.Sobel(g, cv2.CV_32F, 1, 0), cv2.Sobel(g, cv2.CV_32F, 0, 1)) / 8.0
    band = cv2.dilate(mask.view(np.uint8), np.ones((13, 13), np.uint8)).view(bool) & ~mask
    near = band & (cmax >= _TEXTURE_BRIGHT)
    lab = _spread_labels(labels, n, near)
    med = _median_by_label(lab, grad[near].astype(np.float64), n)
    weight = np.clip((med - _TEXTURE_ZERO) / (_TEXTURE_ONE - _TEXTURE_ZERO), _HUE_FLOOR, 1.0)
    # a blob with no bright surround (a frame blown all over) shows nothing was plain
    has = np.bincount(lab, minlength=n)[1:] > 0
    return np.where(has, weight, 1.0)


def lost_detail(cmin: np.ndarray, cmax: np.ndarray, mask: np.ndarray, labels: np.ndarray,
                n: int) -> tuple[np.ndarray, str]:
    """Per blob (labels 1..n-1 of the grown clip mask): the weight of what the clip took
    away, 0.05..1, and which cue said so: ``"hue"`` (colour pictures) or ``"texture"``
    (monochrome ones: 95th-percentile chroma below ``_MONO``). ``cmin``, ``cmax``: each
    pixel's smallest and largest channel (uint8, the picture's size)."""
    chroma = cv2.subtract(cmax, cmin)           # max >= min: no wrap-around
    # judged on the unclipped pixels: a colour picture blown nearly all over stays colour
    rest = chroma[::4, ::4][~mask[::4, ::4]]
    if rest.size == 0 or np.percentile(rest, 95) < _MONO:
        return _texture_weight(cmax, mask, labels, n), "texture"
    return _hue_weight(cmax, mask, labels, n, chroma), "hue"
