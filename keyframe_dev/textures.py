"""Texture images for grid_artifact false-alarm tests and calibration.

Natural periodic textures must not read as a decoder grid. Where each comes from:

* ``brick``, ``grass``, ``gravel``: scikit-image's bundled data (``skimage.data``; public
  domain / CC0 per its README), grey, 512 px.
* ``fabric``, ``fence``, ``tiles``, ``halftone_*``, ``knit``: drawn here in code, the way such
  textures reach a camera or a generator: a woven twill a few degrees off the pixel grid with
  thread-to-thread jitter; a chain-link fence at 45° over a soft background; a tiled floor in
  perspective; a printed halftone (dot screen) at the usual screen angles (15°, 45°, 75°) and
  non-integer pitches; a knit of interlocking loops, slightly rotated. None of them keeps an
  integer period on the pixel grid across the frame, which is what a decoder grid does.
"""
from __future__ import annotations

import cv2
import numpy as np
import skimage.data


def _rgb(g: np.ndarray) -> np.ndarray:
    g = np.clip(g, 0, 255).astype(np.uint8)
    return np.repeat(g[..., None], 3, 2) if g.ndim == 2 else g


def _rotated_grid(n: int, angle_deg: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float64)
    a = np.deg2rad(angle_deg)
    u = xx * np.cos(a) + yy * np.sin(a)
    v = -xx * np.sin(a) + yy * np.cos(a)
    # slow warp: cloth and prints are never perfectly flat
    u = u + 3.0 * np.sin(yy / 97.0 + rng.uniform(0, 6)) + 2.0 * np.sin(xx / 131.0)
    v = v + 3.0 * np.sin(xx / 89.0 + rng.uniform(0, 6))
    return u, v


def fabric(n: int = 768, seed: int = 0) -> np.ndarray:
    """Twill weave, pitch 6.3 px, 3° off the grid, per-thread brightness jitter."""
    u, v = _rotated_grid(n, 3.0, seed)
    rng = np.random.default_rng(seed)
    pitch = 6.3
    iu, iv = np.floor(u / pitch).astype(int), np.floor(v / pitch).astype(int)
    over = ((iu + iv) % 4) < 2                                        # twill diagonal
    thread_u = 0.5 - 0.5 * np.cos(2 * np.pi * u / pitch)
    thread_v = 0.5 - 0.5 * np.cos(2 * np.pi * v / pitch)
    jit = rng.normal(0, 12, 4096)
    g = np.where(over, 110 + 70 * thread_v + jit[iu % 4096], 90 + 70 * thread_u + jit[iv % 4096])
    return _rgb(g + rng.normal(0, 2, g.shape))


def fence(n: int = 768, seed: int = 1) -> np.ndarray:
    """Chain-link fence (diamond mesh, 23.7-px pitch, 45°) over a blurred park."""
    rng = np.random.default_rng(seed)
    bg = cv2.GaussianBlur(rng.uniform(40, 200, (n // 16, n // 16)).astype(np.float32), (0, 0), 1.5)
    bg = cv2.resize(bg, (n, n), interpolation=cv2.INTER_CUBIC)
    u, v = _rotated_grid(n, 45.0, seed)
    pitch = 23.7
    du = np.abs(((u / pitch) % 1.0) - 0.5) * pitch
    dv = np.abs(((v / pitch) % 1.0) - 0.5) * pitch
    wire = np.clip(1.6 - np.minimum(du, dv), 0, 1)
    return _rgb(bg * (1 - wire) + 215 * wire)


def tiles(n: int = 768, seed: int = 2) -> np.ndarray:
    """A tiled floor seen in perspective: grout lines converge, tiles shrink with distance."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float64)
    depth = 1.0 + 2.5 * (1.0 - yy / n)                  # far at the top
    wx = (xx - n / 2) * depth / n * 14 + 0.37
    wz = 40.0 / depth
    gx = np.abs((wx % 1.0) - 0.5)
    gz = np.abs((wz % 1.0) - 0.5)
    grout = np.clip((0.5 - np.minimum(gx, gz)) * 60 / depth - 27, 0, 1)
    tile_tone = rng.uniform(150, 190, 4096)[(np.floor(wx) * 31 + np.floor(wz) * 7).astype(int) % 4096]
    g = tile_tone * (1 - grout) + 90 * grout
    return _rgb(g + rng.normal(0, 1.5, g.shape))


def halftone(n: int = 768, angle: float = 45.0, pitch: float = 5.3, seed: int = 3) -> np.ndarray:
    """A printed photo's dot screen (scanned): dots at ``angle``, ``pitch`` px, tone from a
    blurred picture."""
    tone = cv2.resize(cv2.cvtColor(skimage.data.coffee(), cv2.COLOR_RGB2GRAY), (n, n),
                      interpolation=cv2.INTER_AREA).astype(np.float64) / 255.0
    u, v = _rotated_grid(n, angle, seed)
    d = np.hypot(((u / pitch) % 1.0) - 0.5, ((v / pitch) % 1.0) - 0.5)
    radius = np.sqrt(np.clip(1.0 - tone, 0, 1) / np.pi)
    ink = np.clip((radius - d) * pitch * 1.5 + 0.5, 0, 1)
    g = 245 - 215 * ink
    return _rgb(cv2.GaussianBlur(g.astype(np.float32), (0, 0), 0.6))


def knit(n: int = 768, seed: int = 4) -> np.ndarray:
    """Knitted loops (V-shaped stitches, 9.4 x 7.8 px), 2° off the grid."""
    u, v = _rotated_grid(n, 2.0, seed)
    rng = np.random.default_rng(seed)
    cu, cv_ = u / 9.4, v / 7.8
    fu, fv = cu % 1.0, cv_ % 1.0
    loop = np.abs(np.abs(fu - 0.5) * 2 - fv)            # a V in each cell
    g = 60 + 150 * np.exp(-(loop / 0.22) ** 2)
    g += rng.normal(0, 6, 8192)[(np.floor(cu) * 13 + np.floor(cv_)).astype(int) % 8192]
    return _rgb(g)


def texture_images() -> dict[str, np.ndarray]:
    """Every texture by name (RGB uint8)."""
    out = {name: _rgb(getattr(skimage.data, name)()) for name in ("brick", "grass", "gravel")}
    out.update(fabric=fabric(), fence=fence(), tiles=tiles(), knit=knit(),
               halftone_15=halftone(angle=15.0, pitch=4.6),
               halftone_45=halftone(angle=45.0, pitch=5.3),
               halftone_75=halftone(angle=75.0, pitch=7.1))
    return out
