"""Stray specks of alpha: the ``alpha_specks`` measure and the ``despeck`` fix."""
from __future__ import annotations

import numpy as np
import pytest

from checks.edge_halo import EdgeHaloCheck
from keyframe_dev.edge_halo_data import matting_sets, rgba_image, variants
from keyframe.fixes.despeck import Despeck
from keyframe.gate import gate
from keyframe.image import from_array
from keyframe.matte import find_specks, with_matte
from keyframe.profiles import load_profile
from keyframe.registry import check_classes

CHECK = EdgeHaloCheck()
FIX = Despeck()


def specks_of(colour, alpha):
    return {m.code: m for m in CHECK.measure(rgba_image(colour, alpha))}["alpha_specks"]


def disc(n=400):
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32)
    a = np.clip(n * 0.25 - np.hypot(yy - n / 2, xx - n / 2) + 0.5, 0, 1)
    colour = np.zeros((n, n, 3), np.uint8)
    colour[...] = (200, 120, 60)
    return colour, a


def add_specks(alpha, k, *, peak=0.5, sigma=2.0, seed=0):
    """``k`` Gaussian islands (peak alpha, sigma px) at least 25 px from any alpha."""
    rng = np.random.default_rng(seed)
    a = alpha.copy()
    h, w = a.shape
    yy, xx = np.mgrid[0:h, 0:w]
    placed = 0
    while placed < k:
        y, x = int(rng.integers(0, h)), int(rng.integers(0, w))
        if a[max(0, y - 25):y + 25, max(0, x - 25):x + 25].max() > 0.01:
            continue
        a = np.maximum(a, peak * np.exp(-((yy - y) ** 2 + (xx - x) ** 2) / (2 * sigma ** 2)))
        placed += 1
    return a.astype(np.float32)


def test_registered_code_and_zero_on_a_clean_cutout_or_a_matted_composite():
    assert "alpha_specks" in EdgeHaloCheck.codes
    colour, a = disc()
    assert specks_of(colour, a).severity == 0.0
    a8 = np.clip(a * 255 + 0.5, 0, 255).astype(np.uint8)
    opaque = {m.code: m for m in CHECK.measure(with_matte(from_array(colour), a8))}
    assert opaque["alpha_specks"].severity == 0.0


def test_monotone_in_number_size_and_opacity():
    colour, a = disc()
    by_count = [specks_of(colour, add_specks(a, k)).severity for k in (0, 1, 3, 8)]
    assert by_count[0] == 0.0 and by_count[-1] > 0.5
    assert all(y > x for x, y in zip(by_count, by_count[1:]))
    by_peak = [specks_of(colour, add_specks(a, 3, peak=p)).severity for p in (0.2, 0.5, 1.0)]
    assert all(y >= x for x, y in zip(by_peak, by_peak[1:])) and by_peak[-1] > by_peak[0]
    by_size = [specks_of(colour, add_specks(a, 3, sigma=s)).severity for s in (1.0, 2.0, 3.0)]
    assert all(y >= x for x, y in zip(by_size, by_size[1:])) and by_size[-1] > by_size[0]


def test_comparable_across_sizes():
    import cv2
    colour, a = disc(512)
    a = add_specks(a, 4, sigma=3.0)
    sev = []
    for n in (512, 1024, 2048):
        ai = cv2.resize(a, (n, n), interpolation=cv2.INTER_LINEAR)
        ci = cv2.resize(colour, (n, n), interpolation=cv2.INTER_LINEAR)
        sev.append(specks_of(ci, ai).severity)
    assert max(sev) - min(sev) < 0.15 and min(sev) > 0.3


def test_region_covers_the_specks():
    colour, a = disc()
    a[10:16, 10:16] = 0.8
    m = specks_of(colour, a)
    x, y, w, h = m.region
    assert x <= 10 and y <= 10 and x + w >= 16 and y + h >= 16 and w < 40


def test_despeck_clears_specks_and_keeps_the_subject():
    colour, a = disc()
    specked = add_specks(a, 5)
    a8 = np.clip(specked * 255 + 0.5, 0, 255).astype(np.uint8)
    rgb, out = FIX.apply_rgba(colour, a8, FIX.validate({}))
    assert np.array_equal(rgb, colour)
    assert specks_of(colour, out.astype(np.float32) / 255).severity == 0.0
    clean8 = np.clip(a * 255 + 0.5, 0, 255).astype(np.uint8)
    assert np.array_equal(out[clean8 > 0], a8[clean8 > 0])     # the subject is untouched
    _, same = FIX.apply_rgba(colour, clean8, FIX.validate({}))
    assert np.array_equal(same, clean8)


def test_clean_mattes_read_no_specks_and_despeck_keeps_them(shared_data):
    for s in matting_sets(shared_data):
        colour, a = variants(shared_data, s)["clean"]
        assert specks_of(colour, a).severity < 0.25, s.name
        a8 = np.clip(a * 255 + 0.5, 0, 255).astype(np.uint8)
        specked = np.clip(add_specks(a, 3, seed=1) * 255 + 0.5, 0, 255).astype(np.uint8)
        assert specks_of(colour, specked.astype(np.float32) / 255).severity >= 0.4, s.name
        _, out = FIX.apply_rgba(colour, specked, FIX.validate({}))
        assert specks_of(colour, out.astype(np.float32) / 255).severity < 0.25, s.name
        labels, speck, _ = find_specks(a)      # far islands already in the true matte
        changed = out != specked
        assert not (changed & (a8 > 12) & ~speck[labels]).any(), s.name   # the subject stays


def test_gate_despecks_then_flattens(tmp_path):
    colour, a = disc()
    specked = np.clip(add_specks(a, 8, peak=0.9, sigma=2.5) * 255 + 0.5, 0, 255).astype(np.uint8)
    image = from_array(colour, alpha=specked, name="cut.png")
    profile = tmp_path / "edges.toml"            # a flat synthetic picture: edges only
    profile.write_text('name = "edges"\nextends = "default"\nrequired_checks = []\n')
    checks = [CHECK, check_classes()["framing"]()]     # framing owns has_alpha -> flatten
    result = gate(image, profile=load_profile(str(profile)), checks=checks,
                  background="#202020")
    assert result.before.scores["alpha_specks"] >= 0.5
    assert [s.fix for s in result.recipe.steps] == ["despeck", "flatten"], result.attempts
    assert result.verdict == "certified" and result.image.alpha is None


@pytest.mark.parametrize("bad", [{"reach": -1}, {"max_share": 2}])
def test_params_validated(bad):
    with pytest.raises(ValueError):
        FIX.validate(bad)


def test_a_flattened_cutout_keeps_its_edge_measured(tmp_path):
    """Flattening must not hide a rim: in the gate the cut-out's alpha becomes the flattened
    picture's subject matte, so a halo that could not be mended keeps the image out of
    certified (here the profile routes edge_halo to a fix that cannot mend it)."""
    import dataclasses
    colour, a = disc()
    ring = (a < 0.5) & (a > 0) | (np.abs(np.hypot(*np.mgrid[-200:200, -200:200]) - 101) < 2.5)
    colour = colour.copy()
    colour[ring] = (40, 220, 40)                       # a green rim of old background...
    loose = np.maximum(a, ring.astype(np.float32))     # ...kept opaque by a loose matte
    a8 = np.clip(loose * 255 + 0.5, 0, 255).astype(np.uint8)
    base = load_profile("default")
    profile = dataclasses.replace(
        base, required_checks=(),
        codes={**base.codes,
               "edge_halo": dataclasses.replace(base.rule("edge_halo"), fix="despeck")})
    checks = [CHECK, check_classes()["framing"]()]
    result = gate(from_array(colour, alpha=a8, name="cut.png"), profile=profile,
                  checks=checks, background="#202020")
    assert result.before.scores["edge_halo"] >= 0.5
    assert [s.fix for s in result.recipe.steps] == ["flatten"]
    assert [x.step.fix for x in result.attempts if not x.kept] == ["despeck"]
    assert result.after.scores["edge_halo"] >= 0.5 and result.verdict != "certified"
