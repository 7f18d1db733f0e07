"""Subject mattes of opaque composites: where the pasted subject is, when the caller knows.

A compositing pipeline (cut-out tool, then paste over a new background) has the matte it
composited with. Given it, the edge-halo check reads the subject's boundary only
(:mod:`checks.edge_halo.matte`) instead of every edge of the picture, which is what makes a
halo in a *flattened* composite measurable. Mattes are looked up by file stem in a folder
(``--mattes DIR``: ``DIR/<stem>.png`` for ``<stem>.jpg``) so a batch needs no pairing file.
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import cv2
import numpy as np

from keyframe.image import DEFAULT_MAX_PIXELS, ImageError, LoadedImage, load

#: file endings tried, in this order, for ``<stem>`` in the mattes folder
MATTE_SUFFIXES = (".png", ".webp", ".tif", ".tiff", ".bmp", ".jpg", ".jpeg")


def find_matte(image_path: str | os.PathLike[str], folder: str | os.PathLike[str]
               ) -> Path | None:
    """The matte for ``image_path`` in ``folder`` (same stem, first ending of
    ``MATTE_SUFFIXES`` that exists), or None."""
    stem = Path(image_path).stem
    for suffix in MATTE_SUFFIXES:
        candidate = Path(folder) / f"{stem}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def read_matte(path: str | os.PathLike[str], *, shape: tuple[int, int],
               max_pixels: int | None = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """A matte file as H x W uint8 alpha: its alpha plane if it has one, else its luma.

    Raises :class:`ImageError` (kind ``unreadable`` …, or ``matte_size`` when the matte's
    size is not the image's ``shape`` = (height, width))."""
    m = load(path, max_pixels=max_pixels)
    if (m.height, m.width) != tuple(shape):
        raise ImageError("matte_size", f"{path}: matte is {m.width}x{m.height}, "
                                       f"the image is {shape[1]}x{shape[0]}")
    if m.alpha is not None:
        plane = np.asarray(m.alpha)
    else:
        rgb = m.rgb.astype(np.float32)
        plane = np.clip(rgb @ np.array([0.299, 0.587, 0.114], np.float32) + 0.5, 0, 255)
    out = np.ascontiguousarray(plane, dtype=np.uint8)
    out.setflags(write=False)
    return out


def with_matte(image: LoadedImage, matte: np.ndarray, *, source: str = ""
               ) -> LoadedImage:
    """``image`` with its subject matte set (a new object; the image's pixels are shared).

    ``matte``: H x W uint8, the subject's alpha. ``source``: the matte's file path ("" for an
    in-memory matte); a ``dehalo`` step planned from this image's report reads its boundary
    from that file.

    An image with its own alpha plane keeps it and ignores the matte (the alpha is the
    better record of the edge), with a note."""
    if matte.dtype != np.uint8 or matte.ndim != 2:
        raise ValueError(f"a subject matte is an H x W uint8 array, got {matte.dtype} "
                         f"{matte.shape}")
    if image.alpha is not None:
        what = f"subject matte {source}" if source else "subject matte"
        return dataclasses.replace(image, notes=[*image.notes, f"{what} ignored: the image "
                                                 "has its own alpha"], cache={})
    if matte.shape != (image.height, image.width):
        h, w = matte.shape
        raise ImageError("matte_size", f"{source or 'matte'}: matte is {w}x{h}, "
                                       f"the image is {image.width}x{image.height}")
    return dataclasses.replace(image, matte=matte, matte_source=source, cache={},
                               notes=[*image.notes, f"subject matte: {source or 'in memory'}"])


def attach_from_folder(image: LoadedImage, folder: str | os.PathLike[str] | None, *,
                       max_pixels: int | None = DEFAULT_MAX_PIXELS) -> LoadedImage:
    """``image`` with the matte of the same stem from ``folder`` attached, if there is one."""
    if folder is None:
        return image
    found = find_matte(image.path, folder)
    if found is None:
        return image
    matte = read_matte(found, shape=(image.height, image.width), max_pixels=max_pixels)
    return with_matte(image, matte, source=str(found))


def signed_distance(subject: np.ndarray) -> np.ndarray:
    """Euclidean distance (px, float32) to a subject's boundary: negative on the subject
    (``subject`` H x W bool), positive off it. ``sd + k`` is the boundary moved k px inward."""
    m = subject.astype(np.uint8)
    return np.where(m > 0, -cv2.distanceTransform(m, cv2.DIST_L2, 3),
                    cv2.distanceTransform(1 - m, cv2.DIST_L2, 3)).astype(np.float32)


def side_colours(planes: np.ndarray, sd: np.ndarray, *, band: float, sigma: float,
                 offsets: tuple[float, ...] = (0.0,), half: bool = True
                 ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Local colours of the two sides of a subject's boundary, at the pixels near it.

    Parameters
    ----------
    planes : ndarray
        H x W x K float32 (colour, or colour stacked with other planes averaged alike).
    sd : ndarray
        H x W signed distance to the boundary (:func:`signed_distance`).
    band : float, keyword-only
        Half-width (px) of the boundary band; the sides are read beyond it.
    sigma : float, keyword-only
        Standard deviation (px) of the side means' window; they reach ``band + 3 sigma``
        px from the boundary.
    offsets : tuple of float, keyword-only
        Boundaries to read: ``sd + offset == 0`` (an offset > 0 moves it inward).
    half : bool, keyword-only
        Compute the means at half resolution (below); False: at full resolution (a fix
        that writes pixels from them).

    Returns
    -------
    list of (inside, outside, at), one per offset
        For the band pixels ``at`` (H x W bool: within ``band`` px of that boundary and with
        both sides defined), N x K mean planes of the subject's pixels ``band`` ..
        ``band + 3 sigma`` px inside and of the background's pixels as far outside.

    The means are smooth (a window of ``sigma`` px), so they are computed at half
    resolution (area-averaged planes, a stack blur — triangular kernel of the same variance,
    a cost independent of ``sigma``) and read back at the band pixels bilinearly: several
    times cheaper than full-resolution Gaussians, the same values to a fraction of a grey
    level (ROC-AUCs of scripts/calibrate/edge_halo.py within 0.02).
    """
    reach = band + 3 * sigma
    h, w = sd.shape
    scale = 2 if half else 1
    if half:
        size = (max(1, (w + 1) // 2), max(1, (h + 1) // 2))
        small = cv2.resize(planes, size, interpolation=cv2.INTER_AREA).reshape(
            size[1], size[0], -1)
        sd_small = cv2.resize(sd, size, interpolation=cv2.INTER_AREA)
    else:
        small, sd_small = planes.reshape(h, w, -1), sd
    k = 2 * round(sigma / scale * 6 ** 0.5) + 1
    out = []
    for offset in offsets:
        near = np.abs(sd + offset) <= band
        ys, xs = np.nonzero(near)
        if ys.size == 0:
            empty = np.zeros((0, planes.shape[2]), np.float32)
            out.append((empty, empty, near))
            continue
        shift = 0.5 if half else 0.0
        mx = ((xs.astype(np.float32) - shift) / scale).reshape(-1, 1)
        my = ((ys.astype(np.float32) - shift) / scale).reshape(-1, 1)
        s = sd_small + offset
        inside, d_in = _side_mean(small, (s < -band) & (s > -reach), k, mx, my)
        outside, d_out = _side_mean(small, (s > band) & (s < reach), k, mx, my)
        ok = (d_in > 0.05) & (d_out > 0.05)
        at = np.zeros(sd.shape, bool)
        at[ys[ok], xs[ok]] = True
        out.append((inside[ok], outside[ok], at))
    return out


def _side_mean(small: np.ndarray, sel: np.ndarray, k: int, mx: np.ndarray, my: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """Normalised-convolution mean of ``small`` over ``sel`` (stack blur ``k``), read at the
    half-resolution points (mx, my): (N x K means, N weights)."""
    wt = sel.astype(np.float32)
    den = cv2.stackBlur(wt, (k, k))
    num = cv2.stackBlur(small * wt[..., None], (k, k)).reshape(den.shape + (-1,))
    d = cv2.remap(den, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)[:, 0]
    n = np.stack([cv2.remap(np.ascontiguousarray(num[..., i]), mx, my, cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_REPLICATE)[:, 0]
                  for i in range(num.shape[2])], axis=1)
    return n / np.maximum(d, 1e-4)[:, None], d


def onto_segment(c: np.ndarray, f: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(closest point of the segment f-b to each colour c, distance to it); N x 3 arrays."""
    d = b - f
    t = np.clip(((c - f) * d).sum(axis=1) / np.maximum((d * d).sum(axis=1), 1e-6), 0.0, 1.0)
    p = f + t[:, None] * d
    return p, np.sqrt(((c - p) ** 2).sum(axis=1))


#: stray specks: components of alpha >= SPECK_LEVEL smaller than SPECK_MAX_SHARE of the
#: largest, lying farther than SPECK_REACH x the diagonal from every larger component. On
#: the ground-truth mattes of dim_foamliu, lemur and p3m_demo (detached hair and grass strands
#: lie close to the subject) this finds 0 specks of mass >= 2 px in 10 of 11, 1 in the grass.
SPECK_LEVEL = 0.05
SPECK_MAX_SHARE = 0.01
SPECK_REACH = 0.02


def find_specks(alpha: np.ndarray, *, max_share: float = SPECK_MAX_SHARE,
                reach: float = SPECK_REACH) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stray specks of an alpha plane (H x W float in [0, 1]): small semi-transparent or
    opaque islands away from the subject, which a background remover leaves and a video
    model animates as floating dirt. ``max_share`` (of the largest component's area) and
    ``reach`` (share of the diagonal) bound what counts as small and as away.

    Returns
    -------
    (labels, speck, mass)
        ``labels`` H x W int32 components of alpha >= ``SPECK_LEVEL`` (8-connected);
        ``speck[k]`` True when component ``k`` is a speck; ``mass[k]`` its summed alpha
        (px of full opacity). Index 0 is the background.
    """
    n, labels, stats, _ = cv2.connectedComponentsWithStats(
        (alpha >= SPECK_LEVEL).astype(np.uint8), connectivity=8)
    speck = np.zeros(n, bool)
    mass = np.bincount(labels.ravel(), weights=alpha.ravel(), minlength=n)
    if n <= 2:
        return labels, speck, mass
    areas = stats[:, cv2.CC_STAT_AREA].astype(np.float64)
    areas[0] = 0
    small = areas < max_share * areas.max()
    small[0] = False
    if not small.any():
        return labels, speck, mass
    in_small = small[labels]
    dist = cv2.distanceTransform((in_small | (labels == 0)).astype(np.uint8), cv2.DIST_L2, 3)
    nearest = np.full(n, np.inf)
    np.minimum.at(nearest, labels[in_small], dist[in_small])
    speck = small & (nearest > reach * float(np.hypot(*alpha.shape)))
    return labels, speck, mass
