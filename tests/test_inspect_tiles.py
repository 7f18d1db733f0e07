"""The gate's ``tiles_left`` inspection of a degrid at a seam period (keyframe/inspect.py):
how far the tiles may still sit off each other once degrid's ramps hide the seam lines,
read as the tile solve's precision on the step's input."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from keyframe.fixes.degrid import Degrid
from keyframe.inspect import inspect_tiles
from keyframe.profiles import load_profile
from keyframe.recipe_steps import make_step
from keyframe.step_geometry import inspect_step

GRID = {"period_x": 64, "period_y": 64, "phase_x": 0, "phase_y": 0}


def tiled(rgb: np.ndarray, amp: float, seed: int = 5) -> np.ndarray:
    """64-px tiles each offset by its own +-amp grey levels (eval_gate's seams ladder)."""
    h, w = rgb.shape[:2]
    offs = np.random.default_rng(seed).choice([-1.0, 1.0], size=(h // 64 + 1, w // 64 + 1))
    tile = amp * offs[np.arange(h)[:, None] // 64, np.arange(w)[None, :] // 64]
    return np.clip(np.rint(rgb + tile[..., None]), 0, 255).astype(np.uint8)


def texture(size: int, sd: float, seed: int = 3) -> np.ndarray:
    """Grey 120 with a fine foliage-like texture: white noise smoothed by 1 px, brought to
    a standard deviation of ``sd`` grey levels (a coarser texture, 3 px and up, the solve
    reads through: tiles left 0.3-0.5 grey levels off at any ``sd``)."""
    rng = np.random.default_rng(seed)
    t = cv2.GaussianBlur(rng.normal(0, 1, (size, size)).astype(np.float32), (0, 0), 1.0)
    return np.clip(120 + np.repeat((t / t.std() * sd)[..., None], 3, axis=2), 0, 255)


def smooth(size: int = 448) -> np.ndarray:
    """A soft gradient with fine grain: no tiles, little texture."""
    rng = np.random.default_rng(7)
    yy = np.linspace(0, 1, size, dtype=np.float32)[:, None, None]
    base = np.array([40, 70, 120], np.float32) * (1 - yy) + np.array([150, 120, 90]) * yy
    return np.clip(base + rng.normal(0, 2, (size, size, 3)), 0, 255)


def tile_step_left(out: np.ndarray, clean: np.ndarray) -> float:
    """RMS step between neighbouring 64-px tiles' median luma change from ``clean``, / sqrt 2."""
    d = (out.astype(np.float32) - clean.astype(np.float32)).mean(axis=2)
    n = d.shape[0] // 64
    med = np.array([[np.median(d[64 * i:64 * i + 64, 64 * j:64 * j + 64]) for j in range(n)]
                    for i in range(n)])
    steps = np.concatenate([(med[:, 1:] - med[:, :-1]).ravel(), (med[1:] - med[:-1]).ravel()])
    return float(np.sqrt(np.mean(steps ** 2) / 2))


def degrid(rgb: np.ndarray) -> np.ndarray:
    return Degrid().apply(rgb, make_step("degrid", GRID).params)


def tiles_left(before: np.ndarray, after: np.ndarray) -> float:
    (found,) = inspect_step(make_step("degrid", GRID), before, after)
    assert found.code == "tiles_left"
    return found.severity


def test_tiles_degrid_cannot_solve_on_texture_are_seen():
    clean = texture(256, 45.0)
    rgb = tiled(clean, 4.0)
    out = degrid(rgb)
    assert tile_step_left(out, np.rint(clean).astype(np.uint8)) > 2.0   # the solve failed
    minor = load_profile("default").levels["minor"]
    assert tiles_left(rgb, out) >= minor


def test_a_clean_smooth_picture_gives_no_finding():
    rgb = np.rint(smooth()).astype(np.uint8)
    assert tiles_left(rgb, degrid(rgb)) == 0.0
    tiled_rgb = tiled(smooth(), 3.0)
    out = degrid(tiled_rgb)
    assert tile_step_left(out, np.rint(smooth()).astype(np.uint8)) < 1.0    # mended
    assert tiles_left(tiled_rgb, out) == 0.0


def test_severity_grows_with_the_offsets_left():
    """Finer texture of more contrast leaves more of the tiles' offsets; the severity follows."""
    sev, left = [], []
    for sd in (10.0, 20.0, 30.0, 45.0, 60.0):
        clean = texture(256, sd)
        rgb = tiled(clean, 4.0)
        out = degrid(rgb)
        sev.append(inspect_tiles(rgb, out, **GRID)[0].severity)
        left.append(tile_step_left(out, np.rint(clean).astype(np.uint8)))
    assert sev == sorted(sev) and sev[0] == 0.0 and sev[-1] == 1.0
    assert left[0] < 1.0 < left[-1]


def test_nothing_changed_and_fine_periods_are_not_inspected():
    rgb = tiled(texture(256, 45.0), 4.0)
    assert inspect_tiles(rgb, rgb, **GRID) == []
    fine = make_step("degrid", {"period_x": 2, "period_y": 2})
    assert inspect_step(fine, rgb, Degrid().apply(rgb, fine.params)) == []


@pytest.mark.parametrize("stem", ["00050180"])
def test_freihand_foliage_degrid_is_rolled_back(shared_data, stem):
    """A 224-px FreiHAND hand photo over foliage with 64-px tiles of +-3: degrid leaves the
    tiles 2.2 grey levels off their neighbours (docs/gate.md), and the inspection says so."""
    from keyframe.gate import gate
    from keyframe.image import from_array, load

    path = shared_data / "mmpose_testdata/tests/data/freihand" / f"{stem}.jpg"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    clean = load(path).rgb
    rgb = tiled(clean.astype(np.float32), 3.0)
    out = degrid(rgb)
    assert tile_step_left(out, clean) > 1.5               # what certifying it would leave
    profile = load_profile("default")
    assert tiles_left(rgb, out) >= profile.levels["minor"]
    res = gate(from_array(rgb, name=f"{stem}.png"), profile=profile)
    assert res.verdict == "review" and "tiles_left" in res.reason
