"""The report contract: what a check measured, what the router decided, and their JSON form.

Three layers, kept apart so that a saved report can be re-decided without re-measuring:

* :class:`Measurement` — what one check says about one finding code: a severity in [0, 1]
  plus evidence (a one-sentence message, a region, named measurements). Never a level.
* :class:`Decision` — what the router made of the measurements under a profile: findings
  with levels, a verdict, a fix plan, a quality score.
* :class:`Report` — one image: identity (path, hash, size), the measurements (``scores``
  and ``evidence``), the decision, skipped checks, provenance and loader notes, or an error.

The JSON form is schema ``keyframe.report/1`` (``keyframe/schemas/report.schema.json``).
``evidence`` and ``notes`` extend the DESIGN.md example: ``evidence`` keeps, for every code
that ran, the message, region and measurements the router needs to re-decide under a stricter
profile (``scores`` alone would lose them); ``notes`` records the loader's conversions.
"""
from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np

SCHEMA = "keyframe.report/1"
LEVELS = ("minor", "major", "critical")
VERDICTS = ("certified", "fix", "review", "trash", "error")

Region = tuple[int, int, int, int]


def first_line(text: object) -> str:
    """The first line of ``text`` (messages in reports and manifests are one line each)."""
    lines = str(text).splitlines()
    return lines[0] if lines else ""


def level_rank(level: str | None) -> int:
    """Order of a finding level: 0 for none, 1 minor, 2 major, 3 critical."""
    return 0 if level is None else LEVELS.index(level) + 1


@dataclass
class Measurement:
    """One check's measurement of one finding code.

    Parameters
    ----------
    code : str
        Stable finding code (DESIGN.md table), e.g. ``"blur"``.
    severity : float
        0 = no sign of the defect, 1 = as bad as it gets. Monotone in the defect's strength.
    message : str
        One sentence saying what was measured, in the user's words (``"image is soft: …"``).
    region : (x, y, w, h) or None
        Where the defect is, in source pixels, when it is local.
    measurements : dict
        Named raw measurements (physical units, documented by the check).
    mask : ndarray or None
        Optional boolean mask of the affected pixels; kept in memory, never serialised.
    check : str
        Family that measured it; filled in by the assessor.
    """

    code: str
    severity: float
    message: str
    region: Region | None = None
    measurements: dict[str, float] = field(default_factory=dict)
    mask: np.ndarray | None = field(default=None, repr=False, compare=False)
    check: str = ""

    def __post_init__(self) -> None:
        s = float(self.severity)
        if not np.isfinite(s):
            raise ValueError(f"severity of {self.code!r} is not finite")
        self.severity = round(min(max(s, 0.0), 1.0), 4)
        if self.region is not None:
            self.region = tuple(int(v) for v in self.region)  # type: ignore[assignment]
        self.measurements = {k: _num(v) for k, v in self.measurements.items()}

    def evidence(self) -> dict[str, Any]:
        return {"check": self.check, "severity": self.severity, "message": self.message,
                "region": list(self.region) if self.region else None,
                "measurements": dict(self.measurements)}

    @classmethod
    def from_evidence(cls, code: str, ev: dict[str, Any]) -> "Measurement":
        region = ev.get("region")
        return cls(code=code, severity=ev["severity"], message=ev.get("message", ""),
                   region=tuple(region) if region else None,
                   measurements=dict(ev.get("measurements") or {}), check=ev.get("check", ""))


def _num(v: Any) -> Any:
    """JSON-friendly measurement value: ints stay ints, floats keep 5 decimals."""
    if isinstance(v, (bool, str)) or v is None:
        return v
    if isinstance(v, (int, np.integer)):
        return int(v)
    return round(float(v), 5)


@dataclass
class Finding:
    """A measurement the router flagged at a level, with the fix it routes to (or None)."""

    code: str
    check: str
    level: str
    severity: float
    message: str
    region: Region | None = None
    fix: str | None = None
    measurements: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["region"] = list(self.region) if self.region else None
        return d


@dataclass
class Step:
    """One step of a fix plan (and later of a recipe): a registered fix and its params."""

    fix: str
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"fix": self.fix, "params": dict(self.params)}


@dataclass
class Decision:
    """The router's output for one image under one profile."""

    verdict: str
    quality: float
    findings: list[Finding]
    plan: list[Step]
    reason: str


@dataclass
class Skipped:
    check: str
    reason: str


#: a skip reason that means "could not run here" (a model or package is missing, or the check
#: failed) rather than "chose not to measure" (e.g. edge_halo on an opaque picture without a
#: matte): the words the model table, the text check and :func:`keyframe.assess.measure` use
_NOT_RUN = re.compile(r"keyframe models pull|is not installed|is damaged|^check failed:")
_PULL = re.compile(r"`keyframe models pull ([^`]+)`")


def not_run(skipped: Iterable[Skipped | dict[str, str]]) -> list[Skipped]:
    """The skips a person must be told about: checks that could not run here (a missing or
    damaged model, a missing package, a failure), each as a :class:`Skipped`."""
    out = []
    for s in skipped:
        check, reason = (s.get("check", "?"), s.get("reason", "")) if isinstance(s, dict) \
            else (s.check, s.reason)
        if _NOT_RUN.search(str(reason)):
            out.append(Skipped(check=str(check), reason=str(reason)))
    return out


def not_run_note(skipped: Iterable[Skipped | dict[str, str]]) -> str:
    """One clause for a table row: ``"anatomy not run (model 'yunet-s' is not installed)"``,
    or "" when every check ran (or chose not to measure)."""
    parts = [f"{s.check} not run ({s.reason.split(': run ')[0]})" for s in not_run(skipped)]
    return "; ".join(parts)


def not_run_summary(skips: Iterable[Iterable[Skipped | dict[str, str]]]) -> list[str]:
    """One line per check that did not run on some images, with the command that fixes it:
    ``"anatomy skipped on 31 images: run `keyframe models pull --all` (missing: yunet-s)"``."""
    count: dict[str, int] = {}
    models: dict[str, set[str]] = {}
    other: dict[str, str] = {}
    for skipped in skips:
        for s in not_run(skipped):
            count[s.check] = count.get(s.check, 0) + 1
            found = _PULL.search(s.reason)
            if found:
                models.setdefault(s.check, set()).update(found.group(1).split())
            else:
                other.setdefault(s.check, s.reason)
    lines = []
    for check, n in count.items():
        head = f"{check} skipped on {n} image{'s' if n != 1 else ''}"
        if check in models:
            names = " ".join(sorted(models[check]))
            lines.append(f"{head}: run `keyframe models pull --all` (missing: {names})")
        else:
            lines.append(f"{head}: {first_line(other[check])}")
    return lines


@dataclass
class Report:
    """Everything keyframe knows about one image. ``to_dict`` gives ``keyframe.report/1``."""

    path: str
    sha256: str | None = None
    width: int | None = None
    height: int | None = None
    has_alpha: bool = False
    profile: str = "default"
    target: str | None = None
    verdict: str = "error"
    quality: float | None = None
    reason: str = ""
    measurements: dict[str, Measurement] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    plan: list[Step] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    error: dict[str, str] | None = None
    keyframe_version: str = ""

    @property
    def scores(self) -> dict[str, float]:
        return {code: m.severity for code, m in self.measurements.items()}

    def apply(self, decision: Decision, *, profile: str, target: str | None) -> "Report":
        """Return a copy carrying ``decision`` (measurements untouched)."""
        return dataclasses.replace(
            self, verdict=decision.verdict, quality=decision.quality, reason=decision.reason,
            findings=list(decision.findings), plan=list(decision.plan), profile=profile,
            target=target)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "keyframe_version": self.keyframe_version,
            "path": self.path,
            "sha256": self.sha256,
            "width": self.width,
            "height": self.height,
            "has_alpha": self.has_alpha,
            "profile": self.profile,
            "target": self.target,
            "verdict": self.verdict,
            "reason": self.reason,
            "quality": self.quality,
            "scores": self.scores,
            "findings": [f.to_dict() for f in self.findings],
            "plan": [s.to_dict() for s in self.plan],
            "skipped": [dataclasses.asdict(s) for s in self.skipped],
            "evidence": {c: m.evidence() for c, m in self.measurements.items()},
            "provenance": self.provenance,
            "notes": list(self.notes),
            "error": self.error,
        }

    def to_json(self, *, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, sort_keys=False)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Report":
        if d.get("schema") != SCHEMA:
            raise ValueError(f"not a {SCHEMA} object (schema={d.get('schema')!r})")
        evidence = d.get("evidence") or {}
        measurements = {}
        for code, sev in (d.get("scores") or {}).items():
            ev = evidence.get(code) or {"severity": sev, "message": "", "check": ""}
            measurements[code] = Measurement.from_evidence(code, {**ev, "severity": sev})
        findings = [Finding(**{**f, "region": tuple(f["region"]) if f.get("region") else None})
                    for f in d.get("findings", [])]
        return cls(
            path=d["path"], sha256=d.get("sha256"), width=d.get("width"), height=d.get("height"),
            has_alpha=bool(d.get("has_alpha")), profile=d.get("profile", "default"),
            target=d.get("target"), verdict=d.get("verdict", "error"),
            quality=d.get("quality"), reason=d.get("reason", ""), measurements=measurements,
            findings=findings, plan=[Step(**s) for s in d.get("plan", [])],
            skipped=[Skipped(**s) for s in d.get("skipped", [])],
            provenance=d.get("provenance") or {}, notes=list(d.get("notes") or []),
            error=d.get("error"), keyframe_version=d.get("keyframe_version", ""))

    @classmethod
    def from_json(cls, text: str) -> "Report":
        return cls.from_dict(json.loads(text))
