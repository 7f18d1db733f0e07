"""Verify a certified keyframe package: the reading half of :mod:`keyframe.package`.

:func:`verify` re-hashes ``keyframe.png``, ``manifest.json`` (its self-hash and its exact
layout) and every export, checks the manifest against its schema and each export against
its target's limits, and re-assesses the pixels under the profile they were certified with.
Every problem is one line led by the file it concerns.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from keyframe.assess import assess
from keyframe.exports import limit_problems
from keyframe.image import ImageError, LoadedImage, load_bytes, sha256_bytes
from keyframe.manifest import KEYFRAME_FILE, MANIFEST_FILE, SCHEMA, manifest_hash, manifest_text
from keyframe.profiles import Profile, ProfileError, load_profile
from keyframe.registry import Check
from keyframe.report import Report, first_line
from keyframe.targets import TargetError, load_target

#: largest difference between a re-checked score and the recorded one that is not drift
SCORE_TOLERANCE = 0.02


@dataclass
class VerifyResult:
    """What :func:`verify` found: ``ok`` (no problem), ``problems`` (one line each, led by the
    file concerned, ``"keyframe.png: …"``) and ``report`` (the re-check, when it ran)."""

    ok: bool
    problems: list[str] = field(default_factory=list)
    report: Report | None = None


def _schema_problems(manifest: dict[str, Any]) -> list[str]:
    from keyframe.schemas import validation_errors
    return validation_errors("manifest", manifest)


def _read_manifest(path: Path, problems: list[str]) -> dict[str, Any] | None:
    if not path.is_file():
        problems.append(f"{MANIFEST_FILE}: missing")
        return None
    raw = path.read_bytes()
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
        path = folder / str(rec.get("file", ""))
        if not path.is_file():
            problems.append(f"{rec.get('file')}: missing")
            continue
        blob = path.read_bytes()
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


def _recheck(image: LoadedImage, manifest: dict[str, Any], profile: Profile | None,
             checks: Sequence[Check] | None, problems: list[str]) -> Report | None:
    if profile is None:
        try:
            profile = _manifest_profile(manifest)
        except (ProfileError, TargetError) as exc:
            problems.append(f"{MANIFEST_FILE}: cannot re-check: {exc} (pass profile=)")
            return None
    before = manifest.get("report_after")
    before = before if isinstance(before, dict) else {}
    now = assess(image, profile=profile, target=manifest.get("target"), checks=checks)
    if now.verdict != before.get("verdict"):
        problems.append(f"{KEYFRAME_FILE}: re-check verdict {now.verdict!r} differs from "
                        f"report_after's {before.get('verdict')!r} ({first_line(now.reason)})")
    scores = now.scores
    recorded = before.get("scores")
    for code, value in (recorded if isinstance(recorded, dict) else {}).items():
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
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"cannot read {MANIFEST_FILE}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{MANIFEST_FILE} is not valid JSON: {exc}") from None
    if not isinstance(manifest, dict):
        raise ValueError(f"{MANIFEST_FILE} is not a JSON object")
    return manifest


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
        Not ``ok`` when any byte of either file changed, a file is missing, the manifest
        breaks its schema, or the re-check drifted.
    """
    folder = Path(package_dir)
    if not folder.is_dir():
        return VerifyResult(ok=False, problems=[f"{folder}: not a package folder"])
    problems: list[str] = []
    manifest = _read_manifest(folder / MANIFEST_FILE, problems)
    png_path = folder / KEYFRAME_FILE
    if not png_path.is_file():
        problems.append(f"{KEYFRAME_FILE}: missing")
        return VerifyResult(ok=False, problems=problems)
    png = png_path.read_bytes()
    output = manifest.get("output") if manifest is not None else None
    if not isinstance(output, dict):
        problems.append(f"{MANIFEST_FILE}: no usable output record; {KEYFRAME_FILE} not checked")
        return VerifyResult(ok=False, problems=problems)
    image = _check_output(png, png_path, output, problems)
    _check_exports(folder, manifest.get("exports"), problems)
    report = None
    if recheck and image is not None:
        report = _recheck(image, manifest, profile, checks, problems)
    return VerifyResult(ok=not problems, problems=problems, report=report)
