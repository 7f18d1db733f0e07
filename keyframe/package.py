"""The certified keyframe package: one folder per image, written atomically.

::

    <out>/<name>/keyframe.png     sRGB, 8-bit, RGB, no alpha (the source's pixels, re-encoded)
    <out>/<name>/manifest.json    schema "keyframe.manifest/1" (keyframe/schemas/)
    <out>/<name>/exports/…        per-target files within each target's limits (optional)

The whole folder is built in a hidden temp folder inside ``<out>`` and renamed into place, so a
reader sees either no package, the old one or the new one, never half of one. Replacing a
package of the same source renames the old one aside first and deletes it last.

``manifest.json`` carries ``manifest_sha256`` and is written byte-exactly
(:mod:`keyframe.manifest`), so :func:`keyframe.verify.verify` catches any changed byte: an
edit of the content breaks the hash, an edit of the layout breaks the layout.
``keyframe.png`` and every export are pinned by their sha256.

File writes go through :mod:`keyframe.fileio` (atomic, umask-following); :mod:`keyframe.verify`
reads packages back.
"""
from __future__ import annotations

import dataclasses
import json
import os
import secrets
import shutil
import unicodedata
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

from keyframe import __version__
from keyframe.assess import assess, default_checks, measure
from keyframe.exports import Export, ExportError, export_subject, make_export
from keyframe.fileio import fsync_dir as _fsync_dir
from keyframe.fileio import make_temp_dir, read_bytes
from keyframe.fileio import write_atomic  # noqa: F401 - re-exported for callers
from keyframe.fileio import write_synced as _write_synced
from keyframe.image import LoadedImage, encode_png, load_bytes, pixel_sha256, sha256_bytes
from keyframe.manifest import (KEYFRAME_FILE, MANIFEST_FILE, SCHEMA, library_versions,
                               manifest_hash, manifest_text)
from keyframe.profiles import Profile
from keyframe.registry import Check
from keyframe.report import Report, first_line
from keyframe.router import route
from keyframe.step_geometry import History
from keyframe.targets import Target, shared_orientations


class PackageError(Exception):
    """A package that cannot be written; the message is one line.

    ``reason`` is that line without the file it is about (``where``), for callers that
    already name the file, such as a command's output line or a gate record."""

    def __init__(self, reason: str, where: str | None = None):
        super().__init__(f"{where}: {reason}" if where else reason)
        self.reason = reason
        self.where = where


def _exports(image: LoadedImage, after: Report, targets: Sequence[Target], *,
              profile: Profile, where: str, history: History) -> list[Export]:
    """Every target's export of the keyframe, or :class:`PackageError` naming each target
    that cannot be exported (with the figure) and those that could."""
    made, refused = [], []
    orientations = shared_orientations(targets)
    for t in targets:
        try:
            made.append(make_export(image.rgb, t, protect=export_subject(image, after, t),
                                    orientations=orientations, history=history,
                                    max_enlarge=profile.gate.max_enlarge,
                                    max_invented=profile.gate.max_invented))
        except ExportError as exc:
            refused.append(str(exc))
    if refused:
        fine = [e.target for e in made]
        also = f" (the export for {', '.join(fine)} can be made)" if fine else ""
        raise PackageError("; ".join(refused) + also + "; not packaged", where)
    return made


def _name_ok(ch: str) -> bool:
    """A letter, mark or digit of any script, or one of ``._-``."""
    return ch in "._-" or unicodedata.category(ch)[0] in "LMN"


def sanitise_name(stem: str) -> str:
    """A safe, readable folder name from a file stem: letters, marks and digits of any script
    (NFC) and ``._-`` kept, each run of anything else (spaces, separators, control characters,
    punctuation) as one ``_``; no leading dot or dash; at most 100 characters and 200 bytes."""
    parts: list[str] = []
    for ch in unicodedata.normalize("NFC", stem):
        if _name_ok(ch):
            parts.append(ch)
        elif not parts or parts[-1] != "\0":
            parts.append("\0")
    name = "".join(parts).replace("\0", "_").lstrip(".-")[:100]
    while len(name.encode("utf-8")) > 200:
        name = name[:-1]
    return name.rstrip(".") or "keyframe"


def _package_source_sha(folder: Path) -> str | None:
    """``source.sha256`` of the package in ``folder``, or None when it is not a package."""
    try:
        data = json.loads(read_bytes(folder / MANIFEST_FILE).decode("utf-8"))
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


def _files_read(recipe: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """``{"files": {path: sha256}}`` for the files the recipe's steps read (a matte, a
    background image, a mask), so a replay from the manifest refuses a changed file; empty
    when no step reads one."""
    from keyframe.recipe import DEFAULT_FEATHER, RecipeError, file_sha256s, make_step

    try:
        files = file_sha256s([make_step(d["fix"], d.get("params"), region=d.get("region"),
                                        feather=d.get("feather", DEFAULT_FEATHER))
                                for d in recipe])
    except (RecipeError, KeyError) as exc:
        raise PackageError(f"the recipe's files: {exc}") from None
    return {"files": files} if files else {}


#: checks that read the file, not only its pixels: framing reads ``file_size`` against the
#: target's byte cap (every target has one; without a target, ``generic``'s)
FILE_CHECKS = ("framing",)


def reusable(image: LoadedImage, assessed: Report, *, profile: Profile,
             target: str | None) -> bool:
    """Whether ``assessed`` (a report of ``image``'s pixels) can stand for a re-check of the
    written ``keyframe.png``: the same profile and target, the same pixels (by hash), no
    alpha (``keyframe.png`` drops it) and no subject matte (the file carries none)."""
    if image.alpha is not None or image.matte is not None:
        return False
    if assessed.error or assessed.profile != profile.name or assessed.target != target:
        return False
    if (assessed.width, assessed.height, assessed.has_alpha) != (image.width, image.height,
                                                                 False):
        return False
    return assessed.sha256 == image.sha256 or assessed.sha256 == pixel_sha256(image.rgb)


def recheck(image: LoadedImage, assessed: Report, png: bytes, *, profile: Profile,
            checks: Sequence[Check] | None = None, png_sha256: str | None = None) -> Report:
    """The re-check of ``keyframe.png`` (``png``, the encoding of ``image``; ``png_sha256``
    its hash when already made) built from ``assessed`` (:func:`reusable` must hold): the
    checks of :data:`FILE_CHECKS` measure again on the file's name, size and hash, every
    other measurement is ``assessed``'s (a PNG decodes to the very pixels it was measured
    on), and the router decides again."""
    written = dataclasses.replace(image, path=KEYFRAME_FILE,
                                  sha256=png_sha256 or sha256_bytes(png),
                                  file_size=len(png), format="PNG", notes=[], provenance={})
    todo = [c for c in (default_checks() if checks is None else checks)
            if c.name in FILE_CHECKS]
    own = {code for c in todo for code in c.codes}
    prior = {c: m for c, m in assessed.measurements.items() if c not in own}
    fresh, skipped = measure(written, checks=todo, target=assessed.target, prior=prior)
    report = dataclasses.replace(
        assessed, path=written.path, sha256=written.sha256, notes=[], provenance={},
        measurements=fresh,
        skipped=[s for s in assessed.skipped if s.check not in FILE_CHECKS] + skipped)
    return report.apply(route(report, profile), profile=profile.name, target=assessed.target)


def write_package(out_dir: str | os.PathLike, *, image: LoadedImage, report: Report,
                  profile: Profile, forced: bool = False, name: str | None = None,
                  checks: Sequence[Check] | None = None, source: LoadedImage | None = None,
                  recipe: Sequence[dict[str, Any]] = (),
                  models: dict[str, str] | None = None,
                  notes: Sequence[str] = (), targets: Sequence[Target] = (),
                  review: dict[str, str] | None = None, stem: str | None = None,
                  assessed: Report | None = None, history: History | None = None) -> Path:
    """Write the certified keyframe package of ``image`` into ``out_dir``, atomically.

    Parameters
    ----------
    out_dir : path-like
        Folder that receives ``<name>/``; created when missing.
    image : LoadedImage
        The pixels to package (the source, or the gate's fixed image).
    report : Report
        ``report_before``: the report of the source (of ``image`` when ``source`` is None).
    profile : Profile
        Profile of the re-check of the written pixels (``report_after``).
    forced : bool
        Package a verdict other than ``certified`` (never ``error``); recorded.
    name : str, optional
        Folder name; default: the source's stem, sanitised, plus ``-<sha8>`` when that folder
        holds another source's package. An explicit name is never suffixed.
    checks : sequence of Check, optional
        Checks of the re-check (default: every registered check).
    source : LoadedImage, optional
        The original the fixed ``image`` was made from (keyframe.gate). ``source`` and
        ``report_before`` then describe it, and the package is written under the re-check
        of the fixed pixels (``report_after``), which must be certified unless forced.
    recipe : sequence of dict
        The steps that made ``image`` from the source (:meth:`RecipeStep.to_dict` each).
    models : dict, optional
        Model name -> sha256 of every model file the recipe used.
    notes : sequence of str
        Extra lines for the manifest's ``notes`` (e.g. the steps the gate rolled back).
    targets : sequence of Target
        Video targets to export for: ``exports/<target>.<ext>`` meeting each target's limits
        (:func:`keyframe.exports.make_export`), recorded with its sha256 in ``exports``.
    review : dict, optional
        A person's decision (``keyframe review``): ``{decision, reviewer, at, note}``,
        recorded as the manifest's ``review`` and covered by ``manifest_sha256``.
    stem : str, optional
        The default folder name's base instead of the source's file stem (re-certifying a
        package's ``keyframe.png`` keeps the package's name); suffixed like a stem.
    assessed : Report, optional
        The report of exactly ``image``'s pixels (the gate's ``after``), measured under
        ``profile`` with ``checks``: it becomes ``report_after`` instead of measuring the written pixels
        again, when that is provably the same measurement (:func:`reusable`); otherwise
        the written pixels are measured as without it.
    history : History, optional
        What the gate's kept geometry steps did to ``image`` (``GateResult.history``): the
        exports' limits count it (:func:`keyframe.exports.make_export`).

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
    origin = source if source is not None else image
    if report.verdict == "error" or report.error:
        raise PackageError("an error report cannot be packaged", where)
    if source is None and report.verdict != "certified" and not forced:
        raise PackageError(f"verdict is {report.verdict!r}, not certified "
                           f"({first_line(report.reason)}); pass forced=True to package anyway",
                           where)
    if report.sha256 and origin.sha256 and report.sha256 != origin.sha256:
        raise PackageError(f"the report is of another image (sha256 {report.sha256[:12]}… "
                           f"vs {origin.sha256[:12]}…)", where)
    if name is not None and (sanitise_name(name) != name or name in (".", "..")):
        raise PackageError(f"invalid package name {name!r}: use letters, digits, '.', '_', '-' "
                           "(not first: '.', '-')")

    png = encode_png(image.rgb)
    out_sha = sha256_bytes(png)
    if assessed is not None and reusable(image, assessed, profile=profile,
                                         target=report.target):
        after = recheck(image, assessed, png, profile=profile, checks=checks,
                        png_sha256=out_sha)
    else:
        written = load_bytes(png, name=KEYFRAME_FILE, max_pixels=None)
        after = assess(written, profile=profile, target=report.target, checks=checks)
    width, height = image.width, image.height
    if after.verdict != "certified" and not forced:
        raise PackageError(f"re-check of the written pixels gave {after.verdict!r} "
                           f"({first_line(after.reason)}); not packaged", where)
    exports = _exports(image, after, targets, profile=profile, where=where,
                       history=history or History())

    verdict = report.verdict if source is None else after.verdict
    extra_notes = list(notes)
    notes = []
    source_sha = origin.sha256 or report.sha256 or ""
    if not source_sha:
        source_sha = out_sha
        notes.append("source had no file bytes: source.sha256 is that of keyframe.png")
    if image.has_alpha:
        notes.append("source alpha plane dropped: keyframe.png is opaque 8-bit sRGB RGB")
    if forced:
        why = report.reason if source is None else after.reason
        notes.append(f"forced: packaged with verdict {verdict!r}: {first_line(why)}")
    if source is not None:
        notes.append(f"fixed: {len(recipe)} recipe step(s) applied to the source; "
                     "report_before is of the source, report_after of keyframe.png")
    notes.extend(first_line(n) for n in extra_notes)
    if after.verdict != report.verdict and source is None:
        notes.append(f"re-check of keyframe.png gave verdict {after.verdict!r} "
                     f"(source report: {report.verdict!r})")

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    explicit = name is not None
    base = name if explicit else sanitise_name(stem or Path(origin.path).stem)
    final = _choose_folder(out, base, source_sha, explicit)

    manifest: dict[str, Any] = {
        "schema": SCHEMA,
        "keyframe_version": __version__,
        "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "name": final.name,
        "source": {"path": origin.path, "sha256": source_sha, "width": origin.width,
                   "height": origin.height, "format": origin.format or ""},
        "output": {"file": KEYFRAME_FILE, "sha256": out_sha, "width": width,
                   "height": height, "bytes": len(png)},
        "verdict": verdict,
        "forced": bool(forced),
        "profile": profile.name,
        "target": report.target,
        "report_before": report.to_dict(),
        "report_after": after.to_dict(),
        "recipe": [dict(step) for step in recipe],
        "models": dict(sorted((models or {}).items())),
        **_files_read(recipe),
        "versions": library_versions(),
        "provenance": dict(report.provenance or origin.provenance),
        "notes": notes,
        "exports": {e.target: e.record() for e in exports},
    }
    if review is not None:
        manifest["review"] = dict(review)
    manifest["manifest_sha256"] = manifest_hash(manifest)

    tmp = make_temp_dir(out, prefix=f".{final.name}.tmp-")
    try:
        _write_synced(tmp / KEYFRAME_FILE, png)
        if exports:
            (tmp / "exports").mkdir()
            for e in exports:
                _write_synced(tmp / "exports" / e.filename, e.data)
        _write_synced(tmp / MANIFEST_FILE, manifest_text(manifest).encode("utf-8"))
        _fsync_dir(tmp)
        _install(tmp, final)
    except BaseException:
        if tmp.exists():
            shutil.rmtree(tmp)
        raise
    _fsync_dir(out)
    return final
