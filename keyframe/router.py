"""Report + profile -> Decision. Pure: no I/O, no pixels, no measuring.

Rules (DESIGN.md, "Verdicts"), in order:

1. an unreadable input is ``error``;
2. a finding at or above its code's ``trash_at`` level is ``trash`` (no fix can mend it);
3. a major/critical finding without a fix, or a required check that was skipped, is
   ``review``;
4. major/critical findings that all have a fix make the verdict ``fix``, with a plan;
5. otherwise ``certified`` (minor findings are reported, not acted on).

The reason is one sentence led by the finding that decided the verdict. Quality is
``100 × Π(1 − severity²)`` over every score: 100 for an image with no sign of any defect, 0
when any defect is as bad as it gets. Squaring keeps the faint traces every real image shows
(severities around 0.1–0.2) from dragging a clean image down (0.2 costs 4 points, 0.5 costs 25,
0.8 costs 64), so sorting by quality puts the worst defects last.
"""
from __future__ import annotations

import math

from keyframe.profiles import Profile
from keyframe.registry import fix_classes
from keyframe.report import Decision, Finding, Report, Step, level_rank


def _quality(scores: dict[str, float]) -> float:
    q = 100.0 * math.prod(1.0 - s * s for s in scores.values())
    return round(q, 1)


def _findings(report: Report, profile: Profile) -> list[Finding]:
    fixes = fix_classes()
    out = []
    for code, m in report.measurements.items():
        rule = profile.rule(code)
        level = rule.level(m.severity)
        if level is None:
            continue
        fix = rule.fix if rule.fix in fixes else None
        out.append(Finding(code=code, check=m.check, level=level, severity=m.severity,
                           message=m.message, region=m.region, fix=fix,
                           measurements=dict(m.measurements)))
    out.sort(key=lambda f: (-level_rank(f.level), -f.severity))
    return out


def _plan(findings: list[Finding], report: Report) -> list[Step]:
    fixes = fix_classes()
    chosen: dict[str, Step] = {}
    for f in findings:
        if level_rank(f.level) < level_rank("major") or f.fix is None or f.fix in chosen:
            continue
        params = fixes[f.fix].plan_params(report.measurements[f.code])
        chosen[f.fix] = Step(fix=f.fix, params=params)
    # each fix declares its place (Fix.stage): local repairs, geometry, artefact removal,
    # detail restoration, flatten; ties in a stable order by name
    return sorted(chosen.values(), key=lambda s: (fixes[s.fix].stage, s.fix))


def _describe(f: Finding) -> str:
    return f"{f.message} ({f.code} {f.severity:.2f}, {f.level})"


def route(report: Report, profile: Profile) -> Decision:
    """Decide verdict, findings, plan and quality for ``report`` under ``profile``."""
    if report.error:
        return Decision(verdict="error", quality=None, findings=[], plan=[],
                        reason=f"error: {report.error.get('message', '')}")
    findings = _findings(report, profile)
    quality = _quality(report.scores)
    blocking = [f for f in findings if level_rank(f.level) >= level_rank("major")]
    trash = [f for f in findings
             if (t := profile.rule(f.code).trash_at) and level_rank(f.level) >= level_rank(t)]
    if trash:
        return Decision("trash", quality, findings, [],
                        f"trash: {_describe(trash[0])}; no automatic fix can mend it")
    plan = _plan(findings, report)
    unfixable = [f for f in blocking if f.fix is None]
    ran = {m.check for m in report.measurements.values()}
    skipped = {s.check: s.reason for s in report.skipped}
    missing = [(c, skipped.get(c, "it did not run")) for c in profile.required_checks
               if c not in ran]
    if unfixable:
        extra = f" (and {len(unfixable) - 1} more)" if len(unfixable) > 1 else ""
        return Decision("review", quality, findings, plan,
                        f"review: {_describe(unfixable[0])} has no automatic fix{extra}")
    if missing:
        return Decision("review", quality, findings, plan,
                        f"review: required check '{missing[0][0]}' was skipped: "
                        f"{missing[0][1]}")
    if blocking:
        what = ", ".join(f"{f.code} → {f.fix}" for f in blocking)
        return Decision("fix", quality, findings, plan, f"fix: {what}")
    minors = ", ".join(f.code for f in findings)
    tail = f" (minor: {minors})" if minors else ""
    return Decision("certified", quality, findings, [],
                    f"certified: no finding at major or above{tail}")


def reroute(report: Report, profile: Profile, *, target: str | None = None) -> Report:
    """The same measurements decided again under ``profile`` (``keyframe route``)."""
    return report.apply(route(report, profile), profile=profile.name,
                        target=target if target is not None else report.target)
