"""The certified keyframe package: one folder per image, written atomically, and its verifier.

::

    <out>/<name>/keyframe.png     sRGB, 8-bit, RGB, no alpha (the source's pixels, re-encoded)
    <out>/<name>/manifest.json    schema "keyframe.manifest/1" (keyframe/schemas/)

The whole folder is built in a hidden temp folder inside ``<out>`` and renamed into place, so a
reader sees either no package, the old one or the new one, never half of one. Replacing a
package of the same source renames the old one aside first and deletes it last.

``manifest.json`` carries ``manifest_sha256``: the sha256 of the canonical JSON (sorted keys,
no spaces, UTF-8) of the manifest without that key. The file itself is exactly
``json.dumps(manifest, indent=2, ensure_ascii=False) + "\\n"``, so :func:`verify` catches any
changed byte: an edit of the content breaks the hash, an edit of the layout breaks the layout.
``keyframe.png`` is pinned by ``output.sha256``, and :func:`verify` can re-check its pixels.

This module and :mod:`keyframe.image` are the only ones that write files.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import re
import secrets
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Sequence

from keyframe import __version__
from keyframe.assess import assess
from keyframe.image import ImageError, LoadedImage, encode_png, load_bytes, sha256_bytes
from keyframe.profiles import Profile, ProfileError, load_profile
from keyframe.registry import Check
from keyframe.report import Report

SCHEMA = "keyframe.manifest/1"
KEYFRAME_FILE = "keyframe.png"
MANIFEST_FILE = "manifest.json"
#: largest difference between a re-checked score and the recorded one that is not drift
SCORE_TOLERANCE = 0.02

_NAME_OK = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")


class PackageError(Exception):
    """A package that cannot be written; the message is one line."""


@dataclass
class VerifyResult:
    """What :func:`verify` found: ``ok`` (no problem), ``problems`` (one line each, led by the
    file concerned, ``"keyframe.png: …"``) and ``report`` (the re-check, when it ran)."""

    ok: bool
    problems: list[str] = field(default_factory=list)
    report: Report | None = None


def _fsync_dir(path: Path) -> None:
    """Make a rename inside ``path`` durable (POSIX; Windows has no directory handles)."""
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_synced(path: Path, data: bytes, mode: str = "xb") -> None:
    with open(path, mode) as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def write_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` (whose folder must exist): readers see the old file or the
    new one, never half. A temp file in the same folder is written, fsynced and renamed over
    ``path`` with :func:`os.replace`; on any failure it is removed and ``path`` is untouched.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        _write_synced(Path(tmp), data, "wb")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def canonical_json(obj: Any) -> bytes:
    """The canonical UTF-8 JSON of ``obj``: sorted keys, no whitespace."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def manifest_text(manifest: dict[str, Any]) -> str:
    """The exact text of ``manifest.json`` for ``manifest``."""
    return json.dumps(manifest, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def manifest_hash(manifest: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of ``manifest`` without its ``manifest_sha256`` key."""
    body = {k: v for k, v in manifest.items() if k != "manifest_sha256"}
    return hashlib.sha256(canonical_json(body)).hexdigest()


def _dist_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def library_versions() -> dict[str, str | None]:
    """Versions of what produced the pixels and the measurements (None = not installed)."""
    import cv2
    import numpy
    import PIL

    return {"python": platform.python_version(), "numpy": numpy.__version__,
            "opencv": cv2.__version__, "pillow": PIL.__version__,
            "onnxruntime": _dist_version("onnxruntime"),
            "scikit-image": _dist_version("scikit-image"), "platform": platform.platform()}


def _one_line(text: str) -> str:
    lines = str(text).splitlines()
    return lines[0] if lines else ""


def sanitise_name(stem: str) -> str:
    """A safe folder name from a file stem: ``[A-Za-z0-9._-]``, no leading dot, ≤ 100 chars."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).lstrip(".-")[:100].rstrip(".")
    return name or "keyframe"


def _package_source_sha(folder: Path) -> str | None:
    """``source.sha256`` of the package in ``folder``, or None when it is not a package."""
    try:
        data = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # no readable manifest: a foreign folder, never ours to replace
    source = data.get("source") if isinstance(data, dict) else None
    return source.get("sha256") if isinstance(source, dict) else None


def _choose_folder(out: Path, base: str, source_sha: str, explicit: bool) -> Path:
    """The package folder for this source: free, or holding a package of the same source."""
    candidates = [base] if explicit else [base, f"{base}-{source_sha[:8]}"]
    for candidate in candidates:
        folder = out / candidate
        if not folder.exists() and not folder.is_symlink():
            return folder
        if folder.is_dir() and not folder.is_symlink() \
                and _package_source_sha(folder) == source_sha:
            return folder
    if explicit:
        raise PackageError(f"{out / base} already exists and is not a package of this source "
                           f"(sha256 {source_sha[:12]}…); choose another name")
    raise PackageError(f"{out / candidates[0]} and {out / candidates[1]} already exist and "
                       f"hold other content; pass name= to choose a folder")


def _install(tmp: Path, final: Path) -> None:
    """Rename the finished ``tmp`` folder to ``final``, replacing a same-source package."""
    if not final.exists():
        try:
            os.rename(tmp, final)
        except OSError as exc:
            raise PackageError(f"cannot move the package into {final}: {exc.strerror}") from None
        return
    old = final.with_name(f".{final.name}.old-{secrets.token_hex(4)}")
    os.rename(final, old)
    try:
        os.rename(tmp, final)
    except BaseException:
        os.rename(old, final)
        raise
    shutil.rmtree(old)


def write_package(out_dir: str | os.PathLike, *, image: LoadedImage, report: Report,
                  profile: Profile, forced: bool = False, name: str | None = None,
                  checks: Sequence[Check] | None = None) -> Path:
    """Write the certified keyframe package of ``image`` into ``out_dir``, atomically.

    Parameters
    ----------
    out_dir : path-like
        Folder that receives ``<name>/``; created when missing.
    image : LoadedImage
        The pixels to package (the source, or the gate's fixed image).
    report : Report
        The report the package is written under (``report_before``).
    profile : Profile
        Profile of the re-check of the written pixels (``report_after``).
    forced : bool
        Package a verdict other than ``certified`` (never ``error``); recorded.
    name : str, optional
        Folder name; default: the source's stem, sanitised, plus ``-<sha8>`` when that folder
        holds another source's package. An explicit name is never suffixed.
    checks : sequence of Check, optional
        Checks of the re-check (default: every registered check).

    Returns
    -------
    Path
        The package folder; a package of the same source already there is replaced.

    Raises
    ------
    PackageError
        Not certified and not forced (either verdict), an error report, a report of another
        image, or no usable folder name.
    """
    where = image.path
    if report.verdict == "error" or report.error:
        raise PackageError(f"{where}: an error report cannot be packaged")
    if report.verdict != "certified" and not forced:
        raise PackageError(f"{where}: verdict is {report.verdict!r}, not certified "
                           f"({_one_line(report.reason)}); pass forced=True to package anyway")
    if report.sha256 and image.sha256 and report.sha256 != image.sha256:
        raise PackageError(f"{where}: the report is of another image (sha256 "
                           f"{report.sha256[:12]}… vs {image.sha256[:12]}…)")
    if name is not None and (not _NAME_OK.match(name) or name in (".", "..")):
        raise PackageError(f"invalid package name {name!r}: use letters, digits, '.', '_', '-'")

    png = encode_png(image.rgb)
    out_sha = sha256_bytes(png)
    written = load_bytes(png, name=KEYFRAME_FILE, max_pixels=None)
    after = assess(written, profile=profile, target=report.target, checks=checks)
    if after.verdict != "certified" and not forced:
        raise PackageError(f"{where}: re-check of the written pixels gave {after.verdict!r} "
                           f"({_one_line(after.reason)}); not packaged")

    notes = []
    source_sha = image.sha256 or report.sha256 or ""
    if not source_sha:
        source_sha = out_sha
        notes.append("source had no file bytes: source.sha256 is that of keyframe.png")
    if image.has_alpha:
        notes.append("source alpha plane dropped: keyframe.png is opaque 8-bit sRGB RGB")
    if forced:
        notes.append(f"forced: packaged with verdict {report.verdict!r}: "
                     f"{_one_line(report.reason)}")
    if after.verdict != report.verdict:
        notes.append(f"re-check of keyframe.png gave verdict {after.verdict!r} "
                     f"(source report: {report.verdict!r})")

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    explicit = name is not None
    base = name if explicit else sanitise_name(Path(image.path).stem)
    final = _choose_folder(out, base, source_sha, explicit)

    manifest: dict[str, Any] = {
        "schema": SCHEMA,
        "keyframe_version": __version__,
        "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "name": final.name,
        "source": {"path": image.path, "sha256": source_sha, "width": image.width,
                   "height": image.height, "format": image.format or ""},
        "output": {"file": KEYFRAME_FILE, "sha256": out_sha, "width": written.width,
                   "height": written.height, "bytes": len(png)},
        "verdict": report.verdict,
        "forced": bool(forced),
        "profile": profile.name,
        "target": report.target,
        "report_before": report.to_dict(),
        "report_after": after.to_dict(),
        "recipe": [],
        "models": {},
        "versions": library_versions(),
        "provenance": dict(report.provenance or image.provenance),
        "notes": notes,
        "exports": {},
    }
    manifest["manifest_sha256"] = manifest_hash(manifest)

    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=out))
    try:
        _write_synced(tmp / KEYFRAME_FILE, png)
        _write_synced(tmp / MANIFEST_FILE, manifest_text(manifest).encode("utf-8"))
        _fsync_dir(tmp)
        _install(tmp, final)
    except BaseException:
        if tmp.exists():
            shutil.rmtree(tmp)
        raise
    _fsync_dir(out)
    return final


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
        problems.append(f"{MANIFEST_FILE}: not valid JSON: {_one_line(str(exc))}")
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
        problems.append(f"{KEYFRAME_FILE}: cannot be decoded: {_one_line(str(exc))}")
        return None
    if (image.width, image.height) != (output.get("width"), output.get("height")):
        problems.append(f"{KEYFRAME_FILE}: {image.width}x{image.height}, the manifest says "
                        f"{output.get('width')}x{output.get('height')}")
    if image.has_alpha:
        problems.append(f"{KEYFRAME_FILE}: has an alpha plane")
    return image


def _recheck(image: LoadedImage, manifest: dict[str, Any], profile: Profile | None,
             checks: Sequence[Check] | None, problems: list[str]) -> Report | None:
    if profile is None:
        try:
            profile = load_profile(str(manifest.get("profile", "default")))
        except ProfileError as exc:
            problems.append(f"{MANIFEST_FILE}: cannot re-check: {exc} (pass profile=)")
            return None
    before = manifest.get("report_after")
    before = before if isinstance(before, dict) else {}
    now = assess(image, profile=profile, target=manifest.get("target"), checks=checks)
    if now.verdict != before.get("verdict"):
        problems.append(f"{KEYFRAME_FILE}: re-check verdict {now.verdict!r} differs from "
                        f"report_after's {before.get('verdict')!r} ({_one_line(now.reason)})")
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
    report = None
    if recheck and image is not None:
        report = _recheck(image, manifest, profile, checks, problems)
    return VerifyResult(ok=not problems, problems=problems, report=report)
