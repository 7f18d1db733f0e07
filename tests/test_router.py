"""Router and profiles: severities -> levels -> verdicts, pure and re-decidable."""
from __future__ import annotations

import numpy as np
import pytest

from keyframe.profiles import ProfileError, builtin_names, load_profile
from keyframe.report import Measurement, Report, Skipped
from keyframe.router import reroute, route

CODES = ("blur", "noise", "jpeg_blocking", "banding", "clipped_highlights", "clipped_shadows",
         "border", "grid_artifact", "oversharpened")
BADNESS = {"certified": 0, "fix": 1, "review": 2, "trash": 3}


def make_report(**severities: float) -> Report:
    ms = {c: Measurement(code=c, severity=severities.get(c, 0.0), message=f"{c} measured",
                         check="artifact",
                         measurements={"sigma": 10.0, "top": 5, "bottom": 5, "left": 0,
                                       "right": 0, "edge_width": 2.0, "period_x": 2,
                                       "period_y": 2})
          for c in CODES}
    return Report(path="x.png", sha256="0" * 64, width=100, height=100, measurements=ms)


@pytest.fixture(scope="module")
def default():
    return load_profile("default")


def test_all_clean_certifies_with_full_quality(default):
    d = route(make_report(), default)
    assert d.verdict == "certified" and d.findings == [] and d.plan == []
    assert d.quality == 100.0


def test_minor_finding_is_reported_but_certified(default):
    d = route(make_report(noise=0.3), default)
    assert d.verdict == "certified"
    assert [(f.code, f.level) for f in d.findings] == [("noise", "minor")]
    assert "noise" in d.reason


def test_major_fixable_goes_to_fix_with_a_plan(default):
    d = route(make_report(noise=0.6, border=0.55), default)
    assert d.verdict == "fix"
    assert [s.fix for s in d.plan] == ["crop_border", "denoise"]  # geometry first
    assert "noise" in d.reason and "border" in d.reason


def test_critical_blur_is_trash_in_one_sentence(default):
    d = route(make_report(blur=0.9, noise=0.6), default)
    assert d.verdict == "trash"
    assert d.reason.startswith("trash: blur measured (blur 0.90, critical)")
    assert d.reason.count(". ") == 0 and "\n" not in d.reason


def test_unfixable_major_goes_to_review(default):
    d = route(make_report(clipped_highlights=0.6, noise=0.6), default)
    assert d.verdict == "review"
    assert "clipped_highlights" in d.reason and "no automatic fix" in d.reason


def test_skipped_required_check_goes_to_review(default):
    r = make_report()
    r.skipped.append(Skipped(check="artifact", reason="boom"))
    r.measurements.clear()
    d = route(r, default)
    assert d.verdict == "review" and "artifact" in d.reason and "boom" in d.reason


def test_error_report_stays_error(default):
    r = Report(path="bad.png", error={"type": "truncated", "message": "bad.png: truncated"})
    assert route(r, default).verdict == "error"


def test_reroute_under_strict_without_remeasuring(default):
    r = reroute(make_report(blur=0.4), default)
    assert r.verdict == "certified"
    strict = reroute(r, load_profile("strict"))
    assert strict.verdict == "fix" and strict.profile == "strict"
    assert strict.scores == r.scores  # nothing re-measured
    again = reroute(Report.from_json(strict.to_json()), default)
    assert again.verdict == "certified"


@pytest.mark.parametrize("profile", builtin_names())
def test_raising_a_severity_never_improves_the_verdict_or_quality(profile):
    prof = load_profile(profile)
    rng = np.random.default_rng(1)
    for _ in range(150):
        sev = {c: float(rng.uniform(0, 0.7)) for c in CODES}
        code = CODES[rng.integers(len(CODES))]
        before = route(make_report(**sev), prof)
        sev[code] = min(1.0, sev[code] + float(rng.uniform(0.01, 0.5)))
        after = route(make_report(**sev), prof)
        assert BADNESS[after.verdict] >= BADNESS[before.verdict], (code, sev)
        assert after.quality <= before.quality


def test_builtin_profiles_load_and_strict_is_stricter():
    d, s, l = (load_profile(n) for n in ("default", "strict", "lenient"))
    for level in ("minor", "major", "critical"):
        assert s.levels[level] < d.levels[level] < l.levels[level]
    assert s.rule("blur").fix == "sharpen"  # inherited through extends


@pytest.mark.parametrize("body, words", [
    ("[levels]\nminor = 0.6\nmajor = 0.5\ncritical = 0.8\n", "minor <= major"),
    ("[levels]\nmajor = 1.5\n", "[0, 1]"),
    ('[codes.blur]\nfix = "magic"\n', "not a registered fix"),
    ('[codes.blur]\nfxi = "sharpen"\n', "unknown key"),
    ('[codes.blur]\ntrash_at = "awful"\n', "trash_at"),
    ('[codes.blur]\nmax_level = "severe"\n', "max_level"),
    ('extends = "nope"\n', "unknown profile"),
    ("this is = not toml =\n", "not valid TOML"),
])
def test_bad_profiles_fail_with_one_line(tmp_path, body, words):
    p = tmp_path / "p.toml"
    p.write_text(body)
    with pytest.raises(ProfileError) as exc:
        load_profile(p)
    assert words in str(exc.value) and "\n" not in str(exc.value)


def test_extends_loop_is_reported(tmp_path):
    (tmp_path / "a.toml").write_text(f'extends = "{tmp_path / "b.toml"}"\n')
    (tmp_path / "b.toml").write_text(f'extends = "{tmp_path / "a.toml"}"\n')
    with pytest.raises(ProfileError, match="loops"):
        load_profile(tmp_path / "a.toml")


def test_max_level_caps_a_code_and_keeps_its_severity(tmp_path):
    """A profile's ceiling: critical blur under a profile that caps blur at major is a
    review-level finding (never trash), its severity untouched; without the cap, trash."""
    p = tmp_path / "capped.toml"
    p.write_text('extends = "default"\n[codes.blur]\nfix = "sharpen"\ntrash_at = "critical"\n'
                 'max_level = "major"\n')
    capped = load_profile(p)
    report = make_report(blur=0.95)
    assert route(report, load_profile("default")).verdict == "trash"
    d = route(report, capped)
    assert d.verdict == "fix"
    assert [(f.code, f.level, f.severity) for f in d.findings] == [("blur", "major", 0.95)]
    p.write_text('extends = "default"\n[codes.blur]\nmax_level = "minor"\n')
    d = route(report, load_profile(p))
    assert d.verdict == "certified" and d.findings[0].level == "minor"
