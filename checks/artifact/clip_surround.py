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
#: Moved from 8 / 20 by one level (issue 13, stability) when the surround became a
#: weighted, interpolated median that no longer counts the near-white pixels at the clip
#: fully (their surround median reads ~1 level higher): tune split clean >= minor 2 -> 2,
#: ROC-AUC 0.912 -> 0.920; held-out 6 -> 4, 0.910 -> 0.916.
_HUE_ZERO, _HUE_ONE, _HUE_FLOOR = 9.0, 21.0, 0.05
#: "reaches the top": max channel >= _TOP, with a weight rising over the _TOP_SOFT levels below
_TOP, _TOP_SOFT = 245, 4.0
#: a picture whose 95th-percentile chroma is below this is monochrome: no hue to lose, the
#: texture rule judges it
_MONO = 16.0


def _median_by_label(labels: np.ndarray, values: np.ndarray, n: int, *,
                     weights: np.ndarray | None = None) -> np.ndarray:
    """Median of ``values`` per label 1..n-1 (0 where a label has no value); with
    ``weights`` (``values`` then integers 0..255), the weighted median of the levels spread
    evenly over each level's unit interval (interpolated: it slides, not jumps)."""
    out = np.zeros(n, np.float64)
    if labels.size == 0:
        return out[1:]
    if weights is not None:
        # integer values (uint8 chroma): the grouped-data median, each level v spread
        # evenly over [v - 0.5, v + 0.5], so that the reading slides between levels instead
        # of jumping a whole one (OneHand10K 33.jpg's surround: 11 -> 10 on a 1-px shift)
        keys = labels.astype(np.int64) * 256 + values.astype(np.int64)
        order = np.argsort(keys, kind="stable")
        keys, ws = keys[order], weights[order].astype(np.float64)
        ls = keys >> 8
        total = np.bincount(ls, weights=ws, minlength=n)
        cum = np.concatenate([[0.0], np.cumsum(ws)])             # weight before entry i
        start = cum[np.searchsorted(ls, np.arange(n), "left")]  # weight before each label
        past = cum[1:] - start[ls] >= 0.5 * total[ls]
        idx = np.nonzero(past)[0]
        lab, at = np.unique(ls[idx], return_index=True)
        i = idx[at]
        lo = np.searchsorted(keys, keys[i], "left")
        hi = np.searchsorted(keys, keys[i], "right")
        level = cum[hi] - cum[lo]
        ok = (total[lab] > 0) & (level > 0)
        frac = (0.5 * total[lab] - (cum[lo] - start[lab])) / np.where(ok, level, 1.0)
        out[lab[ok]] = (keys[i] & 255)[ok] - 0.5 + frac[ok]
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
                chroma: np.ndarray, member: np.ndarray) -> np.ndarray:
    """Per blob (labels 1..n-1): how much hue the clip took away, 0.05..1 (see ``_HUE_*``).

    The surround's chroma is a weighted median: a pixel counts as far as it is not clipped
    (1 - ``member``, the soft clip membership) and reaches the top in some channel (a ramp
    from ``_TOP - _TOP_SOFT`` to ``_TOP``). Hard cuts here made +-1 grey level of noise
    turn the near-white pixels inside a clipped area into "surround" by the thousand (a
    HumanArt drawing's hue 0.90 -> 0.38, clipped_highlights 0.46 -> 0.24;
    scripts/calibrate/stability.py)."""
    grown = cv2.dilate(mask.view(np.uint8), np.ones((13, 13), np.uint8)).view(bool)
    top = np.clip((cmax.astype(np.float32) - (_TOP - _TOP_SOFT)) / _TOP_SOFT, 0.0, 1.0)
    # ... and is not a hole in a clipped area: a pixel that noise knocked just below the clip
    # inside one has most of its 3 x 3 neighbours clipped (a pixel beside a straight clip
    # boundary has a third of them)
    holes = np.clip((0.8 - cv2.blur(member, (3, 3))) / 0.3, 0.0, 1.0)
    weight = (1.0 - member) * top * holes
    near = grown & (weight > 0)
    med = _median_by_label(_spread_labels(labels, n, near), chroma[near], n,
                           weights=weight[near])
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


def monochrome(cmin: np.ndarray, cmax: np.ndarray, mask: np.ndarray) -> bool:
    """Whether the picture has no hue to lose: the 95th-percentile chroma of its unclipped
    pixels (``mask`` False) is below ``_MONO`` (a colour picture blown nearly all over stays
    colour)."""
    chroma = cv2.subtract(cmax[::4, ::4], cmin[::4, ::4])    # max >= min: no wrap-around
    rest = chroma[~mask[::4, ::4]]
    return bool(rest.size == 0 or np.percentile(rest, 95) < _MONO)


def lost_detail(cmin: np.ndarray, cmax: np.ndarray, mask: np.ndarray, labels: np.ndarray,
                n: int, *, member: np.ndarray) -> tuple[np.ndarray, str]:
    """Per blob (labels 1..n-1 of the grown clip mask): the weight of what the clip took
    away, 0.05..1, and which cue said so: ``"hue"`` (colour pictures) or ``"texture"``
    (:func:`monochrome` ones). ``cmin``, ``cmax``: each pixel's smallest and largest channel
    (uint8, the picture's size); ``member``: each pixel's clip membership (0..1; ``mask`` is
    where it is above 0)."""
    if monochrome(cmin, cmax, mask):
        return _texture_weight(cmax, mask, labels, n), "texture"
    return _hue_weight(cmax, mask, labels, n, cv2.subtract(cmax, cmin), member), "hue"
