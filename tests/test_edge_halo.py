"""Edge-halo check: alpha fringe, edge halo and hard edge on cut-outs and composites."""
from __future__ import annotations

import numpy as np
import pytest

from checks.edge_halo import EdgeHaloCheck
from keyframe_dev.edge_halo_data import composite, matting_sets, rgba_image, variants
from helpers import img, photo
from keyframe.assess import assess
from keyframe.profiles import load_profile
from keyframe.registry import CheckSkipped, check_classes

CHECK = EdgeHaloCheck()


def sev(image, code: str) -> float:
    return {m.code: m for m in CHECK.measure(image)}[code].severity


def disc_cutout(n=256, fringe=0.0, soft=2.0, hair=False):
    """A red disc on transparency; ``fringe`` mixes green into the soft band (0..1)."""
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32)
    r = np.hypot(yy - n / 2, xx - n / 2)
    radius = n * 0.3 + (6 * np.sin(np.arctan2(yy - n / 2, xx - n / 2) * 40) if hair else 0)
    a = np.clip((radius - r) / soft + 0.5, 0, 1) if soft > 0 else (r < radius).astype(np.float32)
    fg = np.array([200, 40, 40], np.float32)
    green = np.array([30, 220, 30], np.float32)
    mix = fringe * (1 - a)[..., None]
    rgb = fg * (1 - mix) + green * mix
    return rgba_image(np.clip(rgb, 0, 255).astype(np.uint8), a)


def test_registered_and_codes():
    assert check_classes()["edge_halo"] is EdgeHaloCheck
    ms = CHECK.measure(disc_cutout())
    assert {m.code for m in ms} == {"edge_halo", "hard_edge", "alpha_fringe", "alpha_specks"}
    assert all(0.0 <= m.severity <= 1.0 and m.check == "edge_halo" for m in ms)


def test_alpha_fringe_monotone_in_contamination():
    values = [sev(disc_cutout(fringe=f, soft=4.0), "alpha_fringe") for f in (0.0, 0.3, 0.6, 1.0)]
    assert values[0] < 0.05
    assert all(b >= a for a, b in zip(values, values[1:])) and values[-1] > 0.5


def test_alpha_fringe_region_on_the_rim():
    m = {m.code: m for m in CHECK.measure(disc_cutout(fringe=1.0, soft=4.0))}["alpha_fringe"]
    x, y, w, h = m.region
    assert w > 0 and h > 0 and x + w <= 256 and y + h <= 256


def test_hard_edge_binary_hairy_contour_only():
    assert sev(disc_cutout(soft=0, hair=True), "hard_edge") > 0.5
    # soft=8 radial px is ~2.5 px along the normal on the steep spikes
    assert sev(disc_cutout(soft=8.0, hair=True), "hard_edge") < 0.1
    assert sev(disc_cutout(soft=0, hair=False), "hard_edge") < 0.25   # a binary disc is fine


def test_with_mask_source_size():
    ms = EdgeHaloCheck(with_mask=True).measure(disc_cutout(fringe=1.0, soft=4.0))
    m = {m.code: m for m in ms}["alpha_fringe"]
    assert m.mask is not None and m.mask.shape == (256, 256) and m.mask.any()


def test_opaque_picture_without_a_matte_is_skipped_with_the_way_to_measure_it():
    with pytest.raises(CheckSkipped, match="--mattes"):
        CHECK.measure(img(photo("astronaut")))
    report = assess(img(photo("astronaut")), profile=load_profile("default"))
    assert [s.check for s in report.skipped if "--mattes" in s.reason] == ["edge_halo"]
    assert not any(c in report.scores for c in CHECK.codes)
    assert report.verdict == "certified"              # not a required check


def _auc(pos, neg):
    p, n = np.asarray(pos)[:, None], np.asarray(neg)[None, :]
    return ((p > n).sum() + 0.5 * (p == n).sum()) / (p.size * n.size)


@pytest.fixture(scope="module")
def cutout_scores(shared_data):
    pytest.importorskip("pymatting")
    out = {}
    for s in matting_sets(shared_data):
        for kind, (colour, alpha) in variants(shared_data, s).items():
            out[(s.name, kind)] = {m.code: m.severity
                                   for m in CHECK.measure(rgba_image(colour, alpha))}
    return out


@pytest.mark.slow  # cutout_scores: ~60 s (every matting set, pymatting's foreground)
def test_alpha_fringe_separates_contaminated_cutouts(cutout_scores):
    pos = [v["alpha_fringe"] for (_, k), v in cutout_scores.items() if k in ("photo", "premultiplied")]
    neg = [v["alpha_fringe"] for (_, k), v in cutout_scores.items() if k == "clean"]
    assert _auc(pos, neg) >= 0.93
    assert max(neg) < 0.5          # clean cut-outs never reach major


@pytest.mark.slow  # cutout_scores: ~60 s (every matting set, pymatting's foreground)
def test_hard_edge_separates_binary_mattes(cutout_scores):
    pos = [v["hard_edge"] for (_, k), v in cutout_scores.items() if k == "binary"]
    neg = [v["hard_edge"] for (_, k), v in cutout_scores.items() if k in ("clean", "photo")]
    assert _auc(pos, neg) >= 0.9 and max(neg) == 0.0


def test_lemur_color_bleeding_sides(shared_data):
    """The ready halo from pymatting: left half bleeds, right half is clean; as cut-outs with
    the lemur alpha the left must read worse."""
    from keyframe_dev.edge_halo_data import _gray, _rgb
    lem = shared_data / "pymatting" / "data" / "lemur"
    both = _rgb(lem / "lemur_color_bleeding.png")
    a = _gray(lem / "lemur_alpha.png").astype(np.float32) / 255
    w = both.shape[1] // 2
    left = sev(rgba_image(both[:, :w], a), "alpha_fringe")
    right = sev(rgba_image(both[:, w:], a), "alpha_fringe")
    assert left > right


def test_clean_composites_certify(shared_data):
    """Clean composites with their matte: no edge finding, and nothing major the cut-out
    brings beyond what the background plate itself triggers."""
    pytest.importorskip("pymatting")
    from keyframe.matte import with_matte
    profile = load_profile("default")
    for s in matting_sets(shared_data)[:6]:
        f, a = variants(shared_data, s)["clean"]
        m8 = np.clip(a * 255 + 0.5, 0, 255).astype(np.uint8)
        report = assess(with_matte(img(composite(f, a, s.background)), m8), profile=profile)
        edge = {c: report.measurements[c].severity for c in CHECK.codes}
        assert max(edge.values()) < 0.25, (s.name, edge)
        blocking = {f.code for f in report.findings if f.level in ("major", "critical")
                    and f.check in ("edge_halo", "artifact")}
        plate = {f.code for f in assess(img(s.background), profile=profile).findings
                 if f.level in ("major", "critical") and f.check in ("edge_halo", "artifact")}
        assert not blocking - plate, (s.name, blocking, plate)   # nothing the cut-out brings


def loose_cutout(n=400, ring_px=0.0, strength=1.0):
    """A textured red disc cut out with a matte ``ring_px`` px too loose: the ring keeps the
    old (green) background, mixed in by ``strength``."""
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32)
    r = np.hypot(yy - n / 2, xx - n / 2)
    inner = np.clip(n * 0.3 - r + 0.5, 0, 1)
    outer = np.clip(n * 0.3 + ring_px - r + 0.5, 0, 1)
    red = np.array([200, 50, 40], np.float32) + rng.normal(0, 6, (n, n, 1)).astype(np.float32)
    green = np.array([40, 200, 60], np.float32)
    ring = (outer - inner)[..., None] * strength
    colour = red * (1 - ring) + green * ring
    return rgba_image(np.clip(colour, 0, 255).astype(np.uint8), outer)


def test_cutout_edge_halo_monotone_in_ring_width_and_strength():
    by_width = [sev(loose_cutout(ring_px=w, strength=0.3), "edge_halo")
                for w in (0.0, 0.5, 1.0, 2.0)]
    assert by_width[0] < 0.1 and by_width[-1] > 0.5
    assert all(b > a for a, b in zip(by_width, by_width[1:]))
    by_strength = [sev(loose_cutout(ring_px=2.0, strength=s), "edge_halo")
                   for s in (0.0, 0.05, 0.1, 0.2)]
    assert by_strength[0] < 0.1 and by_strength[-1] > 0.5
    assert all(b > a for a, b in zip(by_strength, by_strength[1:]))


def test_cutout_edge_halo_comparable_across_sizes():
    """The same loose-matte cut-out at 1024, 2048 and 3072 px (the ring scaled with it) reads
    alike: the measure runs at the 1024-px canonical scale."""
    values = [sev(loose_cutout(n=n, ring_px=n / 1024, strength=0.3), "edge_halo")
              for n in (1024, 2048, 3072)]
    assert max(values) - min(values) < 0.2 and min(values) > 0.3


@pytest.mark.parametrize("alpha", [0, 127, 128, 255])
def test_alpha_that_never_crosses_half_has_no_edge_to_measure(alpha):
    # a fully transparent layer made the halo statistic crash on an empty boundary box
    rgb = np.full((120, 200, 3), 200, np.uint8)
    ms = CHECK.measure(rgba_image(rgb, np.full((120, 200), alpha / 255, np.float32)))
    assert {m.code for m in ms} == {"edge_halo", "hard_edge", "alpha_fringe", "alpha_specks"}
    assert all(m.severity == 0.0 for m in ms)
