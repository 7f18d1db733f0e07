"""Verify a certified keyframe package: the reading half of :mod:`keyframe.package`.

:func:`verify` re-hashes ``keyframe.png``, ``manifest.json`` (its self-hash and its exact
layout) and every export, checks the manifest against its schema and each export against
its target's limits, and re-assesses the pixels under the profile they were certified with.
Every problem is one line led by the file it concerns. A file in the package folder that the
manifest does not list is a problem too.

A re-check that cannot measure what the package recorded because a check did not run here (its
model is not installed) is not a mismatch: those codes go to ``unchecked`` with the reason and
the command that fixes it, so "tampered" and "could not re-check" stay apart. Files are read
through :mod:`keyframe.fileio` (regular files only: a FIFO planted in a package cannot hang a
verify).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from keyframe.assess import assess
from keyframe.exports import limit_problems
from keyframe.fileio import ReadError, read_bytes
from keyframe.image import ImageError, LoadedImage, load_bytes, sha256_bytes
from keyframe.manifest import KEYFRAME_FILE, MANIFEST_FILE, SCHEMA, manifest_hash, manifest_text
from keyframe.profiles import Profile, ProfileError, load_profile
from keyframe.registry import Check
from keyframe.report import Report, first_line, not_run
from keyframe.targets import TargetError, load_target

#: largest difference between a re-checked score and the recorded one that is not drift
SCORE_TOLERANCE = 0.02


@dataclass
class VerifyResult:
    """What :func:`verify` found: ``ok`` (no problem), ``problems`` (one line each, led by the
    file concerned, ``"keyframe.png: …"``), ``unchecked`` (what the re-check could not
    measure here and why: a model not installed; not a problem) and ``report`` (the
    re-check, when it ran)."""

    ok: bool
    problems: list[str] = field(default_factory=list)
    report: Report | None = None
    unchecked: list[str] = field(default_factory=list)


def _schema_problems(manifest: dict[str, Any]) -> list[str]:
    from keyframe.schemas import validation_errors
    return validation_errors("manifest", manifest)


def _read(path: Path, name: str, problems: list[str]) -> bytes | None:
    """The bytes of a package file, or None with ``missing`` / the reason in ``problems``."""
    try:
        return read_bytes(path)
    except ReadError as exc:
        problems.append(f"{name}: missing" if exc.kind == "not_found"
                        else f"{name}: {exc.strerror}")
        return None


def _read_manifest(path: Path, problems: list[str]) -> dict[str, Any] | None:
    raw = _read(path, MANIFEST_FILE, problems)
    if raw is None:
        return None
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        problems.append(f"{MANIFEST_FILE}: not valid JSON: {first_line(str(exc))}")
        return None
    if not isinstance(manifest, dict):
        problems.append(f"{MANIFEST_FILE}: not a JSON object")
        return None
    try:
        layout_ok = raw == manifest_text(manifest).encode("utf-8")
    except ValueError:  # NaN / Infinity cannot be written back
        layout_ok = False
    if not layout_ok:
        problems.append(f"{MANIFEST_FILE}: bytes differ from the layout keyframe writes "
                        f"(edited after packaging?)")
    problems.extend(f"{MANIFEST_FILE}: schema: {e}" for e in _schema_problems(manifest))
    if manifest.get("schema") != SCHEMA:
        return None
    try:
        hash_ok = manifest.get("manifest_sha256") == manifest_hash(manifest)
    except ValueError:
        hash_ok = False
    if not hash_ok:
        problems.append(f"{MANIFEST_FILE}: manifest_sha256 does not match the content "
                        f"(edited after packaging?)")
    return manifest


def _check_output(png: bytes, path: Path, output: dict[str, Any],
                  problems: list[str]) -> LoadedImage | None:
    sha = sha256_bytes(png)
    if sha != output.get("sha256"):
        problems.append(f"{KEYFRAME_FILE}: sha256 {sha[:12]}… does not match the manifest "
                        f"({str(output.get('sha256'))[:12]}…)")
    if len(png) != output.get("bytes"):
        problems.append(f"{KEYFRAME_FILE}: {len(png)} bytes, the manifest says "
                        f"{output.get('bytes')}")
    try:
        image = load_bytes(png, name=str(path), max_pixels=None)
    except ImageError as exc:
        problems.append(f"{KEYFRAME_FILE}: cannot be decoded: {first_line(str(exc))}")
        return None
    if (image.width, image.height) != (output.get("width"), output.get("height")):
        problems.append(f"{KEYFRAME_FILE}: {image.width}x{image.height}, the manifest says "
                        f"{output.get('width')}x{output.get('height')}")
    if image.has_alpha:
        problems.append(f"{KEYFRAME_FILE}: has an alpha plane")
    return image


def _check_exports(folder: Path, exports: Any, problems: list[str]) -> None:
    """Re-hash every export the manifest records and re-check it against its target."""
    for name, rec in (exports if isinstance(exports, dict) else {}).items():
        blob = _read(folder / str(rec.get("file", "")), str(rec.get("file")), problems)
        if blob is None:
            continue
        if sha256_bytes(blob) != rec.get("sha256"):
            problems.append(f"{rec.get('file')}: sha256 differs from the manifest")
            continue
        try:
            problems.extend(f"{rec.get('file')}: {p}"
                            for p in limit_problems(blob, load_target(name)))
        except TargetError as exc:
            problems.append(f"{rec.get('file')}: cannot re-check: {exc}")


def _manifest_profile(manifest: dict[str, Any]) -> Profile:
    """The profile a package was certified under: a built-in or a target's own profile."""
    name = str(manifest.get("profile", "default"))
    try:
        return load_profile(name)
    except ProfileError:
        target = manifest.get("target")
        if target:
            t = load_target(str(target))
            if t.profile.name == name:
                return t.profile
        raise


def _unlisted(folder: Path, manifest: dict[str, Any] | None) -> list[str]:
    """One problem per file or folder in the package that the manifest does not list."""
    exports = manifest.get("exports") if isinstance(manifest, dict) else None
    exports = exports if isinstance(exports, dict) else {}
    listed = {KEYFRAME_FILE, MANIFEST_FILE}
    listed.update(str(rec.get("file", "")) for rec in exports.values()
                  if isinstance(rec, dict))
    found = []
    for root, dirs, files in os.walk(folder):
        rel = Path(root).relative_to(folder)
        found.extend((rel / name).as_posix() for name in files)
        descend = [d for d in dirs if rel == Path(".") and d == "exports"]
        found.extend((rel / d).as_posix() + "/" for d in dirs if d not in descend)
        dirs[:] = descend
    return [f"{name}: not listed in the manifest (added after packaging?)"
            for name in found if name not in listed]


def _recheck(image: LoadedImage, manifest: dict[str, Any], profile: Profile | None,
             checks: Sequence[Check] | None, problems: list[str],
             unchecked: list[str]) -> Report | None:
    if profile is None:
        try:
            profile = _manifest_profile(manifest)
        except (ProfileError, TargetError) as exc:
            problems.append(f"{MANIFEST_FILE}: cannot re-check: {exc} (pass profile=)")
            return None
    before = manifest.get("report_after")
    before = before if isinstance(before, dict) else {}
    now = assess(image, profile=profile, target=manifest.get("target"), checks=checks)
    missing = {s.check: s.reason for s in not_run(now.skipped)}
    scores = now.scores
    recorded = before.get("scores")
    recorded = recorded if isinstance(recorded, dict) else {}
    evidence = before.get("evidence") if isinstance(before.get("evidence"), dict) else {}
    lost = {}
    for code in recorded:
        ev = evidence.get(code)
        check = ev.get("check") if isinstance(ev, dict) else None
        if code not in scores and check in missing:
            lost.setdefault(check, []).append(code)
    for check, codes in lost.items():
        unchecked.append(f"{KEYFRAME_FILE}: could not re-check {', '.join(codes)}: {check} did "
                         f"not run here: {missing[check]}")
    if now.verdict != before.get("verdict") and not lost:
        problems.append(f"{KEYFRAME_FILE}: re-check verdict {now.verdict!r} differs from "
                        f"report_after's {before.get('verdict')!r} ({first_line(now.reason)})")
    skip = {c for codes in lost.values() for c in codes}
    for code, value in recorded.items():
        if code in skip:
            continue
        if code not in scores:
            problems.append(f"{KEYFRAME_FILE}: re-check did not measure {code!r} "
                            f"(report_after: {value})")
        elif not isinstance(value, (int, float)) or abs(scores[code] - value) > SCORE_TOLERANCE:
            problems.append(f"{KEYFRAME_FILE}: re-check score {code} = {scores[code]:.4f}, "
                            f"report_after has {value} (drift > {SCORE_TOLERANCE})")
    return now


def read_manifest(package_dir: str | os.PathLike) -> dict[str, Any]:
    """The parsed ``manifest.json`` of a package folder (no checks: see :func:`verify`).

    Raises
    ------
    ValueError
        One line: the file is missing, unreadable, not JSON, or not a JSON object.
    """
    path = Path(package_dir) / MANIFEST_FILE
    try:
        manifest = json.loads(read_bytes(path).decode("utf-8"))
    except OSError as exc:
        raise ValueError(f"cannot read {MANIFEST_FILE}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ValueError(f"{MANIFEST_FILE} is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{MANIFEST_FILE} is not valid JSON: {exc}") from None
    if not isinstance(manifest, dict):
        raise ValueError(f"{MANIFEST_FILE} is not a JSON object")
    return manifest


def package_origin(path: str | os.PathLike) -> dict[str, Any] | None:
    """When ``path`` is the ``keyframe.png`` of a package whose manifest pins these very
    bytes: the package's ``name``, the generator's ``provenance`` and a note naming the
    package and its original source, so that re-certifying a package's keyframe (for another
    target) keeps them; else None (any other file, or a keyframe.png that was edited)."""
    path = Path(path)
    if path.name != KEYFRAME_FILE:
        return None
    try:
        manifest = read_manifest(path.parent)
        digest = sha256_bytes(path.read_bytes())
    except (ValueError, OSError):
        return None
    output, source = manifest.get("output"), manifest.get("source")
    if not isinstance(output, dict) or output.get("sha256") != digest:
        return None
    name = manifest.get("name")
    provenance = manifest.get("provenance")
    origin = source.get("path", "?") if isinstance(source, dict) else "?"
    return {"name": name if isinstance(name, str) and name else path.parent.name,
            "provenance": provenance if isinstance(provenance, dict) else {},
            "notes": [f"keyframe.png of package {path.parent} (made from {origin}); its name "
                      "and provenance carried over"]}


def verify(package_dir: str | os.PathLike, *, profile: Profile | None = None,
           recheck: bool = True, checks: Sequence[Check] | None = None) -> VerifyResult:
    """Re-hash and (optionally) re-check a package folder.

    Parameters
    ----------
    package_dir : path-like
        A folder written by :func:`write_package`.
    profile : Profile, optional
        Profile of the re-check; default: the manifest's ``profile``, loaded by name.
    recheck : bool
        Re-assess ``keyframe.png``: same verdict as ``report_after``, every recorded score
        within :data:`SCORE_TOLERANCE`.
    checks : sequence of Check, optional
        Checks of the re-check (default: every registered check).

    Returns
    -------
    VerifyResult
        Not ``ok`` when any byte of either file changed, a file is missing or unlisted, the
        manifest breaks its schema, or the re-check drifted; ``unchecked`` lists what the
        re-check could not measure here (not a problem).
    """
    folder = Path(package_dir)
    if not folder.is_dir():
        return VerifyResult(ok=False, problems=[f"{folder}: not a package folder"])
    problems: list[str] = []
    unchecked: list[str] = []
    manifest = _read_manifest(folder / MANIFEST_FILE, problems)
    problems.extend(_unlisted(folder, manifest))
    png_path = folder / KEYFRAME_FILE
    png = _read(png_path, KEYFRAME_FILE, problems)
    if png is None:
        return VerifyResult(ok=False, problems=problems)
    output = manifest.get("output") if manifest is not None else None
    if not isinstance(output, dict):
        problems.append(f"{MANIFEST_FILE}: no usable output record; {KEYFRAME_FILE} not checked")
        return VerifyResult(ok=False, problems=problems)
    image = _check_output(png, png_path, output, problems)
    _check_exports(folder, manifest.get("exports"), problems)
    report = None
    if recheck and image is not None:
        report = _recheck(image, manifest, profile, checks, problems, unchecked)
    return VerifyResult(ok=not problems, problems=problems, report=report, unchecked=unchecked)
