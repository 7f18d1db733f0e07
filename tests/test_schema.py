"""The report contract: Report.to_dict() against keyframe/schemas/report.schema.json."""
from __future__ import annotations

import copy

import pytest
from jsonschema import Draft202012Validator

from keyframe.assess import error_report
from keyframe.image import ImageError
from keyframe.profiles import load_profile
from keyframe.report import Finding, Measurement, Report, Skipped, Step
from keyframe.router import reroute
from keyframe.schemas import load_schema, validation_errors, validator

SHA = "ab" * 32


@pytest.fixture(scope="module")
def report_validator() -> Draft202012Validator:
    return validator("report")


def _measurements() -> dict[str, Measurement]:
    return {
        "blur": Measurement("blur", 0.62, "image is soft: edges 4.1 px wide",
                            measurements={"edge_width": 4.1, "n_edges": 1200}, check="artifact"),
        "noise": Measurement("noise", 0.04, "little noise", measurements={"sigma": 0.8},
                             check="artifact"),
        "border": Measurement("border", 0.3, "dark border at the top", region=(0, 0, 640, 12),
                              measurements={"top": 12, "bottom": 0, "left": 0, "right": 0,
                                            "uniform": True, "side": "top", "none": None},
                              check="artifact"),
    }


def _report(**over) -> Report:
    fields = dict(path="samples/soft.png", sha256=SHA, width=640, height=480,
                  profile="default", measurements=_measurements(), keyframe_version="0.1.0",
                  provenance={"generator": "ComfyUI", "seed": 42},
                  notes=["EXIF orientation applied: rotated 180°"])
    fields.update(over)
    return Report(**fields)


def _by_hand() -> Report:
    """A report assembled from the classes, without the router."""
    r = _report(verdict="fix", quality=35.1, reason="fix: blur → sharpen")
    r.findings = [Finding(code="blur", check="artifact", level="major", severity=0.62,
                          message="image is soft", region=None, fix="sharpen",
                          measurements={"edge_width": 4.1}),
                  Finding(code="border", check="artifact", level="minor", severity=0.3,
                          message="dark border", region=(0, 0, 640, 12), fix=None)]
    r.plan = [Step("sharpen", {"amount": 0.8})]
    r.skipped = [Skipped("anatomy", "model 'face-yunet' is not installed: run "
                                    "`keyframe models pull face-yunet`")]
    return r


def _routed() -> Report:
    return reroute(_report(), load_profile("default"))


def _error() -> Report:
    exc = ImageError("not_found", "missing.png: file not found: check the path")
    return error_report("missing.png", exc, profile=load_profile("default"))


def test_schemas_are_valid_draft_2020_12():
    for name in ("report", "manifest"):
        schema = load_schema(name)
        Draft202012Validator.check_schema(schema)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert load_schema("report")["properties"]["schema"]["const"] == "keyframe.report/1"
    with pytest.raises(ValueError, match="unknown schema"):
        load_schema("nope")


def test_schema_keys_are_exactly_the_emitted_keys():
    schema = load_schema("report")
    emitted = set(_by_hand().to_dict())
    assert set(schema["properties"]) == emitted
    assert set(schema["required"]) == emitted
    finding = schema["$defs"]["finding"]
    assert set(finding["properties"]) == set(_by_hand().findings[0].to_dict())
    assert set(finding["required"]) == set(finding["properties"])
    assert schema["additionalProperties"] is False and finding["additionalProperties"] is False


@pytest.mark.parametrize("make", [_by_hand, _routed, _error], ids=["by_hand", "routed", "error"])
def test_reports_validate(make, report_validator):
    d = make().to_dict()
    errors = list(report_validator.iter_errors(d))
    assert errors == [], [e.message for e in errors]


def test_routed_report_has_findings_and_plan():
    d = _routed().to_dict()
    assert d["verdict"] == "fix"
    assert {f["code"] for f in d["findings"]} >= {"blur", "border"}
    assert d["plan"] and d["plan"][0]["fix"]


def test_error_report_may_lack_identity():
    d = _error().to_dict()
    assert d["verdict"] == "error" and d["sha256"] is None and d["width"] is None
    assert validation_errors("report", d) == []


def _mutations():
    def verdict(d): d["verdict"] = "maybe"
    def score(d): d["scores"]["blur"] = 1.5
    def negative(d): d["scores"]["noise"] = -0.1
    def missing(d): del d["evidence"]
    def extra(d): d["colour"] = "blue"
    def finding_extra(d): d["findings"][0]["confidence"] = 0.9
    def finding_level(d): d["findings"][0]["level"] = "huge"
    def finding_missing(d): del d["findings"][0]["fix"]
    def region_zero(d): d["findings"][1]["region"] = [0, 0, 0, 12]
    def region_three(d): d["findings"][1]["region"] = [0, 0, 12]
    def region_negative(d): d["evidence"]["border"]["region"] = [-1, 0, 5, 5]
    def bad_code(d): d["scores"]["Blur!"] = 0.1
    def no_sha(d): d["sha256"] = None
    def short_sha(d): d["sha256"] = "abc"
    def quality(d): d["quality"] = 101
    def schema(d): d["schema"] = "keyframe.report/2"
    def plan_item(d): d["plan"][0] = {"fix": "sharpen"}
    def skipped_item(d): d["skipped"][0]["why"] = "x"
    def error_on_fix(d): d["error"] = {"type": "corrupt", "message": "x"}
    def evidence_extra(d): d["evidence"]["blur"]["level"] = "major"
    return [verdict, score, negative, missing, extra, finding_extra, finding_level,
            finding_missing, region_zero, region_three, region_negative, bad_code, no_sha,
            short_sha, quality, schema, plan_item, skipped_item, error_on_fix, evidence_extra]


@pytest.mark.parametrize("mutate", _mutations(), ids=lambda f: f.__name__)
def test_schema_rejects_broken_reports(mutate, report_validator):
    d = copy.deepcopy(_by_hand().to_dict())
    assert report_validator.is_valid(d)
    mutate(d)
    assert not report_validator.is_valid(d)


def test_error_verdict_needs_an_error():
    d = _error().to_dict()
    d["error"] = None
    assert validation_errors("report", d)


@pytest.mark.parametrize("make", [_by_hand, _routed, _error], ids=["by_hand", "routed", "error"])
def test_round_trip(make):
    d = make().to_dict()
    assert Report.from_dict(d).to_dict() == d
    assert Report.from_json(make().to_json(indent=2)).to_dict() == d


def test_manifest_schema_refuses_unforced_non_certified():
    schema = load_schema("manifest")
    assert schema["properties"]["report_after"]["$ref"] == load_schema("report")["$id"]
    v = validator("manifest")
    assert not v.is_valid({"schema": "keyframe.manifest/1"})
    errors = validation_errors("manifest", {"schema": "keyframe.manifest/1"})
    assert errors and all("\n" not in e for e in errors)
