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

    def measure(self, image):
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

    def measure(self, image):
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
