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


def side_colours(rgb: np.ndarray, sd: np.ndarray, *, band: float, sigma: float
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Local colours of the two sides of a subject's boundary, for every pixel near it.

    Parameters
    ----------
    rgb : ndarray
        H x W x 3 float32.
    sd : ndarray
        H x W signed distance to the boundary (:func:`signed_distance`).
    band : float, keyword-only
        Half-width (px) of the boundary band; the sides are read beyond it.
    sigma : float, keyword-only
        Gaussian (px) of the side means; they reach ``band + 3 sigma`` px from the boundary.

    Returns
    -------
    (inside, outside, valid)
        The normalised-convolution mean colour of the subject's pixels ``band`` ..
        ``band + 3 sigma`` px inside and of the background's pixels as far outside, and where
        both are defined.
    """
    reach = band + 3 * sigma

    def side(sel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        w = sel.astype(np.float32)
        den = cv2.GaussianBlur(w, (0, 0), sigma)
        num = cv2.GaussianBlur(rgb * w[..., None], (0, 0), sigma)
        return num / np.maximum(den, 1e-4)[..., None], den

    inside, d_in = side((sd < -band) & (sd > -reach))
    outside, d_out = side((sd > band) & (sd < reach))
    return inside, outside, (d_in > 0.05) & (d_out > 0.05)


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
