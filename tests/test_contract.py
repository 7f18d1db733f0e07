"""The plug-in contract (keyframe.registry): a new fix is one class plus one profile line, a
fix declares its place in a plan, a check may only measure the codes it declares."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest

from keyframe import registry
from keyframe.assess import assess
from keyframe.gate import gate
from keyframe.image import from_array
from keyframe.profiles import load_profile
from keyframe.registry import Check, Fix
from keyframe.report import Measurement


class Dim(Check):
    """A test family: ``dim`` rises as the mean grey level falls below 100."""

    name = "dimness"
    codes = ("dim",)

    def measure(self, image, ctx=None):
        mean = float(image.rgb.mean())
        return [Measurement("dim", float(np.clip((100 - mean) / 60, 0, 1)),
                            f"mean grey level {mean:.0f}")]


class Brighten(Fix):
    """A test fix: adds ``amount`` grey levels."""

    name = "brighten"
    mends = ("dim",)
    stage = 5                    # before every built-in (erase is 10)

    @dataclass(frozen=True)
    class Params:
        amount: int = field(default=60, metadata={"min": 0, "max": 255})

    def apply(self, rgb, params):
        return np.clip(rgb.astype(np.int16) + params.amount, 0, 255).astype(np.uint8)


class Typo(Check):
    name = "typo"
    codes = ("banding",)

    def measure(self, image, ctx=None):
        return [Measurement("bandng", 0.9, "misspelt")]


#: the one profile line a new fix needs (and no required artifact check: the tests measure
#: with the test family alone)
PROFILE = 'name = "p"\nextends = "default"\nrequired_checks = []\n\n[codes.dim]\nfix = "brighten"\n'


class _EntryPoint:
    def __init__(self, cls):
        self.cls = cls

    def load(self):
        return self.cls


@pytest.fixture()
def brighten_plugin(monkeypatch):
    """Brighten registered the way a package would: an entry point in ``keyframe.fixes``."""
    monkeypatch.setattr(registry, "_registries", {})
    monkeypatch.setattr(registry.metadata, "entry_points",
                        lambda group: [_EntryPoint(Brighten)]
                        if group == registry.FIX_ENTRY_POINT_GROUP else [])
    yield
    registry._registries.clear()


def test_a_new_fix_is_one_class_and_one_profile_line(brighten_plugin, tmp_path):
    """A fix defined here, found through the entry-point group, routed by one profile line
    and applied by the gate until the picture certifies."""
    profile = tmp_path / "p.toml"
    profile.write_text(PROFILE)
    prof = load_profile(profile)
    dark = from_array(np.full((96, 96, 3), 30, np.uint8), name="dark.png")
    before = assess(dark, profile=prof, checks=[Dim()])
    assert before.verdict == "fix" and [s.fix for s in before.plan] == ["brighten"]
    result = gate(dark, profile=prof, checks=[Dim()])
    assert [(a.step.fix, a.kept) for a in result.attempts] == [("brighten", True)]
    assert result.verdict == "certified", result.reason


def test_a_plan_follows_the_fixes_declared_stages(brighten_plugin, tmp_path):
    """Brighten declares stage 5: planned before erase (10) and sharpen (140) whatever the
    order of the findings; the built-ins' stages put geometry before artefact removal."""
    from keyframe.report import Report
    from keyframe.router import route

    profile = tmp_path / "p.toml"
    profile.write_text(PROFILE)
    prof = load_profile(profile)
    found = {"blur": Measurement("blur", 0.6, "soft", check="artifact"),
             "stray_text": Measurement("stray_text", 0.6, "text", region=(1, 1, 8, 8),
                                       check="text"),
             "dim": Measurement("dim", 0.6, "dark", check="dimness")}
    plan = route(Report(path="x.png", measurements=found), prof).plan
    assert [s.fix for s in plan] == ["brighten", "erase", "sharpen"]
    fixes = registry.fix_classes()
    assert fixes["crop_border"].stage < fixes["reframe"].stage < fixes["denoise"].stage
    assert fixes["flatten"].stage == max(f.stage for f in fixes.values())


def test_a_check_measuring_a_code_it_does_not_declare_is_skipped_with_the_reason():
    """A typo in Measurement("code") would become a code no profile knows: the check is
    reported as broken, and nothing it measured is routed."""
    image = from_array(np.full((64, 64, 3), 128, np.uint8), name="x.png")
    report = assess(image, profile=load_profile("default"), checks=[Typo()])
    assert report.scores == {}
    assert "measured bandng, which it does not declare" in report.skipped[0].reason


def test_every_builtin_declares_the_contract():
    """Every fix's stage is unique (a plan's order never depends on a dict's order), its
    mended codes belong to some check, its keep rule is one the gate knows; every check
    that declares supports_masks takes with_mask."""
    fixes = registry.fix_classes()
    stages = [f.stage for f in fixes.values()]
    assert len(stages) == len(set(stages))
    codes = registry.all_codes()
    for name, fix in fixes.items():
        assert set(fix.mends) <= set(codes), name
        assert fix.keep_rule in ("level", "mended"), name
    for cls in registry.check_classes().values():
        if cls.supports_masks:
            assert cls(with_mask=True).with_mask


def test_every_key_a_fix_plans_from_is_one_its_checks_emit(samples_dir, tmp_path):
    """Fix.reads against what the checks emit: every measurement key a fix's plan_params
    reads appears in the measurements of a code routed to that fix (default profile) or that
    it mends, over the samples, an RGBA cut-out and a composite with its matte file. A key
    renamed on one side would otherwise turn a planned step into its defaults, silently."""
    import cv2
    from PIL import Image
    from keyframe.assess import assess_path
    from keyframe.registry import fix_classes

    rgb = cv2.resize(np.asarray(Image.open(samples_dir / "clean_coffee.png").convert("RGB")),
                     (300, 200), interpolation=cv2.INTER_AREA).astype(np.float32)
    yy, xx = np.mgrid[0:200, 0:300]
    alpha = np.clip((80 - np.hypot(yy - 100, xx - 150)) / 3.0, 0, 1)
    cutout = np.dstack([rgb * alpha[..., None], alpha * 255]).round().astype(np.uint8)
    Image.fromarray(cutout, "RGBA").save(tmp_path / "cutout.png")
    mattes = tmp_path / "mattes"
    mattes.mkdir()
    composite = rgb * alpha[..., None] + np.array([20.0, 200, 60]) * (1 - alpha[..., None])
    Image.fromarray(composite.round().astype(np.uint8)).save(tmp_path / "composite.png")
    Image.fromarray((alpha * 255).round().astype(np.uint8)).save(mattes / "composite.png")
    prof = load_profile("default")
    pictures = [p for p in sorted(samples_dir.iterdir())
                if p.suffix in (".png", ".jpg") and p.name != "broken.png"]
    emitted: dict[str, set[str]] = {}
    for path in [*pictures, tmp_path / "cutout.png", tmp_path / "composite.png"]:
        report, _ = assess_path(path, profile=prof, mattes=mattes)
        for code, m in report.measurements.items():
            emitted.setdefault(code, set()).update(m.measurements)
    for name, fix in fix_classes().items():
        codes = {c for c in emitted if prof.rule(c).fix == name} | set(fix.mends)
        keys = set().union(*(emitted.get(c, set()) for c in codes))
        assert set(fix.reads) <= keys, (name, sorted(set(fix.reads) - keys))


class Seen(Check):
    """Records the context it was given; measures nothing."""

    name = "seen"
    codes = ("seen_code",)
    contexts: list = []

    def measure(self, image, ctx=registry.NO_CONTEXT):
        type(self).contexts.append(ctx)
        return [Measurement("seen_code", 0.0, "nothing")]


class SeenLate(Seen):
    name = "seen_late"
    codes = ("seen_late_code",)
    stage = registry.LATE_STAGE

    def measure(self, image, ctx=registry.NO_CONTEXT):
        type(self).contexts.append(ctx)
        return [Measurement("seen_late_code", 0.0, "nothing")]


def test_every_check_gets_one_context_of_target_and_earlier_stages():
    """assess calls every check as measure(image, ctx): the target, and in ctx.prior the
    measurements of earlier stages only (a late check sees Dim's, Dim's stage-mate does not
    see Dim's, whichever runs first); the prior is a read-only copy."""
    Seen.contexts, SeenLate.contexts = [], []
    image = from_array(np.full((64, 64, 3), 40, np.uint8), name="x.png")
    for order in ([SeenLate(), Seen(), Dim()], [Dim(), Seen(), SeenLate()]):
        report = assess(image, profile=load_profile("default"), target="kling", checks=order)
        assert set(report.scores) == {"dim", "seen_code", "seen_late_code"}
    assert [c.target for c in Seen.contexts + SeenLate.contexts] == ["kling"] * 4
    assert all(dict(c.prior) == {} for c in Seen.contexts)
    assert all(set(c.prior) == {"dim", "seen_code"} for c in SeenLate.contexts)
    with pytest.raises(TypeError):
        SeenLate.contexts[0].prior["dim"] = None
    assert registry.Context(target="kling") == registry.Context(target="kling", prior={})


def test_every_builtin_check_takes_the_context():
    """No built-in goes through the deprecated adapter of context-free measure methods."""
    for name, cls in registry.check_classes().items():
        assert registry._takes_context(cls.measure), name
        assert not hasattr(cls.measure, "__wrapped__"), name


def test_a_plugin_with_the_old_signature_still_measures_with_a_deprecation_warning(
        monkeypatch):
    """A check written before Context (measure(image), or measure(image, *, target, prior)
    with wants_context) is adapted when its class is defined, with a DeprecationWarning
    naming the new signature; found through the entry-point group it measures as before,
    and the wants_context one still runs after the others with the target and their
    measurements."""
    with pytest.warns(DeprecationWarning, match=r"define measure\(self, image, ctx"):
        class OldDim(Check):
            name = "old_dimness"
            codes = ("old_dim",)

            def measure(self, image):
                return [Measurement("old_dim", 0.75, "dark")]

    with pytest.warns(DeprecationWarning, match="instead of wants_context"):
        class OldFraming(Check):
            name = "old_framing"
            codes = ("old_edge",)
            wants_context = True
            got: dict = {}

            def measure(self, image, *, target=None, prior=None):
                OldFraming.got = {"target": target, "prior": sorted(prior or {})}
                return [Measurement("old_edge", 0.0, "fine")]

    assert OldFraming.stage == registry.LATE_STAGE > OldDim.stage
    monkeypatch.setattr(registry, "_registries", {})
    monkeypatch.setattr(registry.metadata, "entry_points",
                        lambda group: [_EntryPoint(OldFraming), _EntryPoint(OldDim)]
                        if group == registry.ENTRY_POINT_GROUP else [])
    try:
        classes = registry.check_classes()
        checks = [classes["old_framing"](), classes["old_dimness"]()]
        image = from_array(np.full((64, 64, 3), 40, np.uint8), name="x.png")
        report = assess(image, profile=load_profile("default"), target="veo", checks=checks)
    finally:
        registry._registries.clear()
    assert report.skipped == []
    assert report.scores == {"old_dim": 0.75, "old_edge": 0.0}
    assert OldFraming.got == {"target": "veo", "prior": ["old_dim"]}
