"""Registries: built-ins, entry-point plug-ins, and checks that skip or fail mid-batch."""
from __future__ import annotations

import numpy as np
import pytest

from keyframe import registry
from keyframe.assess import assess
from keyframe.image import LoadedImage
from keyframe.profiles import load_profile
from keyframe.registry import Check, CheckSkipped
from keyframe.report import Measurement


class Dummy(Check):
    name = "dummy"
    codes = ("dummy_code",)

    def measure(self, image, ctx=None):
        return [Measurement("dummy_code", 0.7, "dummy says so")]


class Skips(Check):
    name = "needs_model"
    codes = ("face_soft",)

    def measure(self, image, ctx=None):
        raise CheckSkipped("model 'face-yunet' is not installed: run `keyframe models pull face-yunet`")


class Breaks(Check):
    name = "broken"
    codes = ("oops",)

    def measure(self, image, ctx=None):
        raise ZeroDivisionError("division by zero\nsecond line")


class FakeEntryPoint:
    def __init__(self, cls=Dummy):
        self.cls = cls
        self.name = cls.name
        self.value = f"{cls.__module__}:{cls.__qualname__}"

    def load(self):
        return self.cls


class FakeArtifact(Dummy):
    name = "artifact"


@pytest.fixture()
def image():
    return LoadedImage(rgb=np.full((64, 64, 3), 128, np.uint8), sha256="0" * 64)


def test_builtins_registered():
    assert "artifact" in registry.check_classes()
    assert {"sharpen", "denoise", "deblock", "deband", "crop_border", "upscale",
            "degrid"} <= set(registry.fix_classes())
    assert registry.all_codes()["blur"] == "artifact"


def test_entry_point_plugins_join_the_registry(monkeypatch):
    monkeypatch.setattr(registry, "_registries", {})
    monkeypatch.setattr(registry.metadata, "entry_points",
                        lambda group: [FakeEntryPoint()] if group == registry.ENTRY_POINT_GROUP else [])
    classes = registry.check_classes()
    assert classes["dummy"] is Dummy and "artifact" in classes
    monkeypatch.setattr(registry, "_registries", {})  # leave no trace for other tests


def plugins(monkeypatch, *eps):
    monkeypatch.setattr(registry, "_registries", {})
    monkeypatch.setattr(registry.metadata, "entry_points",
                        lambda group: list(eps) if group == registry.ENTRY_POINT_GROUP else [])


def test_a_plugin_named_like_a_builtin_is_an_error(monkeypatch):
    plugins(monkeypatch, FakeEntryPoint(FakeArtifact))
    with pytest.raises(registry.RegistryError, match="'artifact'.*checks.artifact:ArtifactCheck"):
        registry.check_classes()
    plugins(monkeypatch, FakeEntryPoint(), FakeEntryPoint(type("Dummy2", (Dummy,), {})))
    with pytest.raises(registry.RegistryError, match="'dummy'"):
        registry.check_classes()
    monkeypatch.setattr(registry, "_registries", {})


def test_an_entry_point_naming_the_builtin_itself_is_no_clash(monkeypatch):
    # an older install's metadata listed the artifact built-in as an entry point
    from checks.artifact import ArtifactCheck

    plugins(monkeypatch, FakeEntryPoint(ArtifactCheck))
    assert registry.check_classes()["artifact"] is ArtifactCheck
    monkeypatch.setattr(registry, "_registries", {})


def test_plugin_code_is_routed_with_default_levels(image):
    report = assess(image, profile=load_profile("default"), checks=[Dummy()])
    assert report.scores == {"dummy_code": 0.7}
    assert report.findings[0].level == "major" and report.findings[0].fix is None
    assert report.verdict == "review"  # major, and no fix the profile knows


def test_skipped_and_failing_checks_do_not_stop_assessment(image):
    prof = load_profile("default")
    report = assess(image, profile=prof, checks=[Skips(), Breaks(), Dummy()])
    reasons = {s.check: s.reason for s in report.skipped}
    assert "keyframe models pull face-yunet" in reasons["needs_model"]
    assert reasons["broken"].startswith("check failed: ZeroDivisionError")
    assert "\n" not in reasons["broken"]
    assert "dummy_code" in report.scores
