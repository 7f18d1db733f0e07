"""Profiles: where severities become levels, which fix mends each code, when nothing can.

A profile is a TOML file (built-ins in ``keyframe/profiles/``; any path works too)::

    name = "strict"
    extends = "default"            # optional: start from another profile
    required_checks = ["artifact"] # a skipped required check makes the verdict "review"
    [levels]                       # thresholds for every code ...
    minor = 0.15
    major = 0.35
    critical = 0.7
    [codes.blur]                   # ... and per code: fix, trash level, own thresholds
    fix = "sharpen"
    trash_at = "critical"
    major = 0.4
    [codes.anatomy_uncertain]
    max_level = "major"            # a ceiling: this code never reads above major here

A ``[gate]`` table holds the keep rule of ``keyframe gate`` (:mod:`keyframe.gate`)::

    [gate]
    min_gain = 0.01        # a planned code must fall by this much for a step to lower it
    level_margin = 0.03    # a rise past a level threshold by less than this is wobble
    max_enlarge = 2.0      # a step may enlarge the picture's content at most this much
    max_invented = 0.5     # a canvas extension may invent at most this share of the frame
    rollback_at = "minor"  # an inspection of a changed region at this level rolls it back

``max_level`` is how a profile says what a code can mean, instead of a check capping its own
number: a measure that is only ever grounds for a look ("the detectors cannot verify these
people") is capped at ``major`` (review) in ``default`` and ``strict`` and at ``minor``
(reported, certified) in ``lenient``, while its severity stays the measured one, so
``keyframe route`` re-decides it under any profile.

Loading validates the whole file (ordered thresholds in [0, 1], known fixes, known levels)
and fails with one clear line. Thresholds are calibrated in one place: here.
"""
from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from keyframe.fileio import read_text
from keyframe.report import LEVELS, level_rank

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

BUILTIN_DIR = Path(__file__).with_name("profiles")


class ProfileError(ValueError):
    """A profile that cannot be used; the message is one line."""


@dataclass(frozen=True)
class CodeRule:
    """What the profile says about one finding code."""

    minor: float
    major: float
    critical: float
    fix: str | None = None
    trash_at: str | None = None
    max_level: str | None = None

    def level(self, severity: float) -> str | None:
        """The highest level whose threshold ``severity`` reaches, capped at ``max_level``;
        None below ``minor``."""
        for name in reversed(LEVELS):
            if severity >= getattr(self, name):
                if self.max_level is not None and level_rank(name) > level_rank(self.max_level):
                    return self.max_level
                return name
        return None


@dataclass(frozen=True)
class GateRule:
    """How ``keyframe gate`` keeps or rolls back a step (:func:`keyframe.gate.judge`).

    A step is kept when it lowers a code it was planned for by at least ``min_gain`` and no
    code ends at a higher level than it had; a rise that stays below ``minor`` is no damage,
    and one that passes a level threshold by less than ``level_margin`` is measurement
    wobble (``scripts/calibrate/stability.py`` measures it), not damage. A step that enlarges the
    picture's content by more than ``max_enlarge``, or extends the canvas so that more than
    ``max_invented`` of the frame is invented (blurred mirror bands), is rolled back before it
    runs, and so is a step whose
    changed region the gate's inspection (:mod:`keyframe.inspect`) reads at ``rollback_at``
    or above.
    """

    min_gain: float = 0.01
    level_margin: float = 0.03
    max_enlarge: float = 2.0
    #: 0.5: a square picture reaches 16:9 with 44 % invented (what a Veo package of a 1:1
    #: generation takes when its subject does not fit a crop); a portrait reaching 16:9
    #: (68 %) is a strip in a blurred frame. ``strict`` allows 0.25, the 4:3 -> 16:9
    #: pillarbox broadcast makes with side bars (docs/gate.md, "Invented canvas")
    max_invented: float = 0.5
    rollback_at: str = "minor"


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    levels: dict[str, float]
    codes: dict[str, CodeRule]
    required_checks: tuple[str, ...] = ()
    source: str = ""
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    gate: GateRule = GateRule()

    def rule(self, code: str) -> CodeRule:
        """The rule for ``code``; codes the profile does not name use the default levels."""
        return self.codes.get(code) or CodeRule(**self.levels)


def builtin_names() -> list[str]:
    """Names of the profiles shipped with keyframe."""
    return sorted(p.stem for p in BUILTIN_DIR.glob("*.toml"))


def toml_path(name_or_path: str | Path, folder: Path) -> Path | None:
    """A ``.toml`` path as given, or the built-in ``folder/<name>.toml`` for a bare name;
    None when no such built-in exists (the caller names what is missing)."""
    path = Path(name_or_path)
    if path.suffix == ".toml":
        return path
    builtin = folder / f"{name_or_path}.toml"
    return builtin if builtin.is_file() else None


def _read(name_or_path: str | Path) -> tuple[dict[str, Any], str]:
    path = toml_path(name_or_path, BUILTIN_DIR)
    if path is None:
        raise ProfileError(f"unknown profile {name_or_path!r}; built-in profiles: "
                           f"{', '.join(builtin_names())}, or give a .toml path")
    try:
        return tomllib.loads(read_text(path)), str(path)
    except OSError as exc:
        raise ProfileError(f"cannot read profile {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ProfileError(f"profile {path} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"profile {path} is not valid TOML: {exc}") from None


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _resolve(name_or_path: str | Path, seen: tuple[str, ...] = ()) -> tuple[dict, str]:
    raw, source = _read(name_or_path)
    parent = raw.get("extends")
    if parent is None:
        return raw, source
    if parent in seen:
        raise ProfileError(f"profile {source}: 'extends' loops through {parent!r}")
    base, _ = _resolve(parent, seen + (str(name_or_path),))
    base.pop("name", None)
    base.pop("description", None)
    return _merge(base, {k: v for k, v in raw.items() if k != "extends"}), source


def load_profile(name_or_path: str | Path = "default", *,
                 known_fixes: tuple[str, ...] | None = None) -> Profile:
    """Load and validate a profile by built-in name or TOML path.

    ``known_fixes`` defaults to the fix registry; a profile naming an unregistered fix is
    rejected, so that a verdict of "fix" always means a fix that exists.
    """
    raw, source = _resolve(name_or_path)
    where = f"profile {source}"
    if known_fixes is None:
        from keyframe.registry import fix_classes
        known_fixes = tuple(fix_classes())
    levels = _levels(raw.get("levels") or {}, {"minor": 0.25, "major": 0.5, "critical": 0.8},
                     where)
    codes: dict[str, CodeRule] = {}
    for code, spec in (raw.get("codes") or {}).items():
        if not isinstance(spec, dict):
            raise ProfileError(f"{where}: [codes.{code}] must be a table")
        unknown = set(spec) - {"fix", "trash_at", "max_level", *LEVELS}
        if unknown:
            raise ProfileError(f"{where}: [codes.{code}] has unknown key(s) "
                               f"{', '.join(sorted(unknown))}")
        fix = spec.get("fix")
        if fix is not None and fix not in known_fixes:
            raise ProfileError(f"{where}: [codes.{code}] fix {fix!r} is not a registered fix "
                               f"({', '.join(sorted(known_fixes))})")
        trash_at = spec.get("trash_at")
        if trash_at is not None and trash_at not in LEVELS:
            raise ProfileError(f"{where}: [codes.{code}] trash_at must be one of "
                               f"{', '.join(LEVELS)}")
        max_level = spec.get("max_level")
        if max_level is not None and max_level not in LEVELS:
            raise ProfileError(f"{where}: [codes.{code}] max_level must be one of "
                               f"{', '.join(LEVELS)}")
        own = _levels({k: spec[k] for k in LEVELS if k in spec}, levels, f"{where} [codes.{code}]")
        codes[code] = CodeRule(**own, fix=fix, trash_at=trash_at, max_level=max_level)
    required = raw.get("required_checks", [])
    if not isinstance(required, list) or not all(isinstance(c, str) for c in required):
        raise ProfileError(f"{where}: required_checks must be a list of check names")
    name = raw.get("name") or Path(source).stem
    return Profile(name=str(name), description=str(raw.get("description", "")), levels=levels,
                   codes=codes, required_checks=tuple(required), source=source, raw=raw,
                   gate=_gate_rule(raw.get("gate") or {}, where))


def _gate_rule(spec: Any, where: str) -> GateRule:
    """The ``[gate]`` table, validated: numbers in range, a known level."""
    if not isinstance(spec, dict):
        raise ProfileError(f"{where}: [gate] must be a table")
    fields = {f.name: f.default for f in dataclasses.fields(GateRule)}
    unknown = set(spec) - set(fields)
    if unknown:
        raise ProfileError(f"{where}: [gate] has unknown key(s) {', '.join(sorted(unknown))}")
    bounds = {"min_gain": (0.0, 1.0), "level_margin": (0.0, 0.25), "max_enlarge": (1.0, 16.0),
              "max_invented": (0.0, 1.0)}
    for key, (lo, hi) in bounds.items():
        value = spec.get(key, fields[key])
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not lo <= value <= hi:
            raise ProfileError(f"{where}: [gate] {key} must be a number in [{lo:g}, {hi:g}]")
    if spec.get("rollback_at", fields["rollback_at"]) not in LEVELS:
        raise ProfileError(f"{where}: [gate] rollback_at must be one of {', '.join(LEVELS)}")
    return GateRule(**{k: (float(v) if k in bounds else v) for k, v in spec.items()})


def _levels(spec: dict[str, Any], defaults: dict[str, float], where: str) -> dict[str, float]:
    out = {}
    for name in LEVELS:
        value = spec.get(name, defaults[name])
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise ProfileError(f"{where}: {name} threshold must be a number in [0, 1]")
        out[name] = float(value)
    if not out["minor"] <= out["major"] <= out["critical"]:
        raise ProfileError(f"{where}: thresholds must satisfy minor <= major <= critical")
    return out
