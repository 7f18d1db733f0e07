"""The library's front door: one function per job, each returning a result (never printing).

``keyframe check``, ``gate``, ``certify`` and ``verify`` are thin layers over these; a
pipeline calls them directly::

    from keyframe.workflows import certify, check, gate, verify

    report = check("render.png", target="kling")          # a keyframe.report/1 Report
    if report.verdict == "fix":
        result = gate("render.png", target="kling")        # mended pixels + recipe
    done = certify("render.png", "packages/", targets=["kling"])
    if done.package:
        assert verify(done.package).ok

(They live here rather than on the ``keyframe`` package itself, whose ``keyframe.gate`` and
``keyframe.verify`` are the modules these functions wrap.) Profiles and targets are given by
name (or .toml path) or as loaded objects; an unreadable
file is a report with verdict ``error`` (``check``, ``certify``) or an
:class:`keyframe.image.ImageError` (``gate``, which needs pixels), never a traceback.
"""
from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

from keyframe.image import DEFAULT_MAX_PIXELS, LoadedImage
from keyframe.profiles import Profile, load_profile
from keyframe.registry import Check
from keyframe.report import Report

PathLike = str | os.PathLike


def _profile(profile: str | Profile) -> Profile:
    return profile if isinstance(profile, Profile) else load_profile(profile)


def check(source: PathLike | LoadedImage, *, profile: str | Profile = "default",
          target: str | None = None, checks: Sequence[Check] | None = None,
          max_pixels: int = DEFAULT_MAX_PIXELS, mattes: PathLike | None = None) -> Report:
    """Measure one picture and decide its verdict.

    Parameters
    ----------
    source : path-like or LoadedImage
        A file (decoded here, under ``max_pixels``) or pixels already loaded.
    profile : str or Profile, keyword-only
        Thresholds and fixes per code (a built-in name, a .toml path, or a loaded profile).
    target : str, optional
        Video target (name, alias or .toml path) the framing codes measure against.
    checks : sequence of Check, optional
        The checks to run (default: every registered check).
    mattes : path-like, optional
        Folder of subject mattes of opaque composites (``<stem>.png``).

    Returns
    -------
    Report
        ``verdict`` certified / fix / review / trash, or ``error`` for a file that cannot be
        read (with the reason in one line).
    """
    from keyframe.assess import assess, assess_path
    from keyframe.targets import canonical_name

    prof = _profile(profile)
    target = canonical_name(target) if target else None
    if isinstance(source, LoadedImage):
        return assess(source, profile=prof, target=target, checks=checks)
    return assess_path(source, profile=prof, target=target, max_pixels=max_pixels,
                       checks=checks, mattes=mattes)[0]


def gate(source: PathLike | LoadedImage, *, profile: str | Profile = "default",
         target: str | None = None, background: str | None = None, rounds: int = 3,
         checks: Sequence[Check] | None = None, max_pixels: int = DEFAULT_MAX_PIXELS):
    """Check, mend with the automatic fixes and re-check until the picture settles
    (:func:`keyframe.gate.gate`): a :class:`keyframe.gate.GateResult` with the verdict, the
    mended pixels (``image``), the kept ``recipe`` and every attempt. Raises
    :class:`keyframe.image.ImageError` for a file that cannot be read."""
    from keyframe.gate import gate as run_gate
    from keyframe.image import load
    from keyframe.targets import canonical_name

    image = source if isinstance(source, LoadedImage) else load(source, max_pixels=max_pixels)
    return run_gate(image, profile=_profile(profile),
                    target=canonical_name(target) if target else None, max_rounds=rounds,
                    checks=checks, background=background)


@dataclass(frozen=True)
class Certified:
    """What :func:`certify` did with one picture: its report (``verdict`` certified when a
    package was written, or ``forced``), the package folder or None, and why it was not
    packaged when the report's reason does not say so (an unreadable file's or a refused
    package's reason does)."""

    report: Report
    package: Path | None
    message: str = ""


def certify(source: PathLike, out: PathLike, *, profile: str | Profile = "default",
            targets: Sequence = (), background: str | None = None, force: bool = False,
            max_pixels: int = DEFAULT_MAX_PIXELS, mattes: PathLike | None = None,
            checks: Sequence[Check] | None = None) -> Certified:
    """Write the certified keyframe package of one picture into ``out``.

    A package's own ``keyframe.png`` keeps its package name and the generator's provenance
    (re-certifying for another target). A cut-out is flattened onto ``background`` when that
    is all it needs (anything else is the gate's job: the message says so). A picture that
    is not certified is not packaged unless ``force`` (recorded in the manifest).

    Parameters
    ----------
    source : path-like
        The picture.
    out : path-like
        Folder receiving ``<name>/keyframe.png``, ``manifest.json`` and the exports.
    profile : str or Profile, keyword-only
        Used as given. (The CLI lets the first target's profile decide unless ``--profile``
        is given: pass ``load_target(t).profile`` for that.)
    targets : sequence of str or Target
        Video targets to export for — names, aliases or .toml paths, or loaded
        :class:`keyframe.targets.Target` objects (a batch loads them once); the first one's
        framing is measured.
    """
    from keyframe.assess import assess_path
    from keyframe.gate import flatten_onto
    from keyframe.package import PackageError, write_package
    from keyframe.targets import Target, load_target
    from keyframe.verify import package_origin

    prof = _profile(profile)
    loaded = [t if isinstance(t, Target) else load_target(t) for t in targets]
    target = loaded[0].name if loaded else None
    report, image = assess_path(source, profile=prof, target=target, max_pixels=max_pixels,
                                checks=checks, mattes=Path(mattes).resolve() if mattes else None)
    if image is None:
        return Certified(report, None)
    origin = package_origin(source)
    if origin is not None:
        image = dataclasses.replace(image, provenance=origin["provenance"])
        report = dataclasses.replace(report, provenance=origin["provenance"])
    cutout, recipe = None, []
    if background is not None and image.has_alpha:
        flat = flatten_onto(image, report, profile=prof, background=background)
        if isinstance(flat, str) and not force:
            return Certified(report, None, f"not packaged: {flat}")
        if not isinstance(flat, str):
            cutout, (image, step) = image, flat
            recipe = [step.to_dict()]
            report = dataclasses.replace(
                report, verdict="certified",
                reason=f"certified: flattened onto {background}; {report.reason}")
    if report.verdict != "certified" and cutout is None and not force:
        return Certified(report, None, "not packaged (use --force)")
    try:
        where = write_package(out, image=image, report=report, profile=prof, forced=force,
                              targets=loaded, source=cutout, recipe=recipe,
                              stem=origin["name"] if origin is not None else None,
                              notes=origin["notes"] if origin is not None else (),
                              checks=checks)
    except PackageError as exc:
        return Certified(dataclasses.replace(report, verdict="review",
                                             reason=f"review: {exc.reason}"), None)
    return Certified(report, where)


@dataclass(frozen=True)
class Gated:
    """What :func:`gate_and_package` did with one picture: the gate's record
    (``GateResult.to_dict()`` plus the ``package`` folder or None), the final report (the
    gate's verdict and reason on the mended pixels), the report before, and the attempts."""

    record: dict
    final: Report
    before: Report
    attempts: tuple = ()


def gate_and_package(source: PathLike, out: PathLike, *, profile: Profile,
                     targets: Sequence = (), rounds: int = 3, background: str | None = None,
                     max_pixels: int = DEFAULT_MAX_PIXELS,
                     mattes: PathLike | None = None) -> Gated:
    """``keyframe gate`` for one file: check, mend, re-check, and write the package of what
    ends certified into ``out`` (its exports for ``targets``, loaded
    :class:`keyframe.targets.Target` objects, the first one's framing measured). A package's
    own keyframe.png keeps its name and provenance. An unreadable file is an ``error``
    record; a package that cannot be written turns the verdict into ``review``."""
    from keyframe.assess import assess_path
    from keyframe.gate import gate as run_gate
    from keyframe.package import PackageError, write_package
    from keyframe.report import Decision
    from keyframe.targets import shared_orientations
    from keyframe.verify import package_origin

    target = targets[0].name if targets else None
    shared = shared_orientations(targets)
    report, image = assess_path(source, profile=profile, target=target, max_pixels=max_pixels,
                                mattes=Path(mattes).resolve() if mattes else None,
                                orientations=shared)
    if image is None:
        return Gated({"path": str(source), "verdict": "error", "reason": report.reason},
                     report, report)
    origin = package_origin(source)
    if origin is not None:          # a package's keyframe.png: keep its name and provenance
        image = dataclasses.replace(image, provenance=origin["provenance"])
        report = dataclasses.replace(report, provenance=origin["provenance"])
    result = run_gate(image, profile=profile, target=target, max_rounds=rounds,
                      report=report, background=background, orientations=shared)
    record = {**result.to_dict(), "package": None}
    final = result.after.apply(
        Decision(result.verdict, result.after.quality, list(result.after.findings), [],
                 result.reason), profile=profile.name, target=target)
    if result.verdict == "certified":
        try:
            pkg = write_package(out, image=result.image, report=result.before, profile=profile,
                                source=image if result.recipe.steps else None,
                                recipe=[s.to_dict() for s in result.recipe.steps],
                                models=result.recipe.models, targets=list(targets),
                                notes=result.notes() + (origin or {}).get("notes", []),
                                stem=origin["name"] if origin else None,
                                assessed=result.after, history=result.history)
            record["package"] = str(pkg)
        except PackageError as exc:
            final.verdict, final.reason = "review", f"review: {exc.reason}"
            record["verdict"], record["reason"] = final.verdict, final.reason
    return Gated(record, final, result.before, tuple(result.attempts))


def package_group(source: PathLike) -> str:
    """Which pictures of a batch compete for one package folder name: the default name of
    ``source``'s package (``write_package``: its sanitised stem, or the package's own name
    for a package's keyframe.png; ``-<sha8>`` appended when that folder is taken),
    casefolded and without a trailing ``-<8 hex digits>``, so that ``x.png``, ``X.png`` and
    ``x-1a2b3c4d.png`` share one group. The pictures of one group are packaged one after
    another in input order (:func:`keyframe.executors.imap_ordered`): ``gate`` and
    ``certify`` on many workers name them as one process does, and never race."""
    from keyframe.package import sanitise_name
    from keyframe.verify import package_origin

    origin = package_origin(source)
    base = sanitise_name(origin["name"] if origin is not None else Path(source).stem)
    return re.sub(r"-[0-9a-f]{8}$", "", base.casefold())


def package_exports(package: PathLike) -> list[str]:
    """One line per export of a written package, saying how it was reframed."""
    from keyframe.verify import read_manifest

    lines = []
    for _, rec in sorted((read_manifest(Path(package)).get("exports") or {}).items()):
        how = rec.get("note") or "same framing as keyframe.png"
        lines.append(f"export {rec.get('file')} {rec.get('width')}x{rec.get('height')}: {how}")
    return lines


@dataclass(frozen=True)
class GateLine:
    """One input of a gate batch: ``line`` is its OUT/gate.jsonl record (the gate's record,
    its reports before and after), ``final`` the report it ends with, ``attempts`` the steps
    tried (none for a result taken from the journal), ``reused`` why it was not gated again
    (None when it was)."""

    path: Path
    line: dict
    final: Report
    attempts: tuple = ()
    reused: str | None = None


def _still_there(done: dict) -> bool:
    """A journaled gate result counts when the package it wrote (if any) is still there."""
    package = done.get("package")
    return package is None or Path(package, "manifest.json").is_file()


def gate_batch(found: Sequence[Path], out: PathLike, *, journal: Any, jobs: int,
               profile: Profile, targets: Sequence[Any] = (), rounds: int = 3,
               background: str | None = None, max_pixels: int = DEFAULT_MAX_PIXELS,
               mattes: PathLike | None = None) -> Iterator[GateLine]:
    """Gate and package every picture of ``found`` into ``out``, in input order: one
    :class:`GateLine` each, as soon as it and every earlier one are done.

    ``journal`` (:class:`keyframe.store.Resumable`) resumes an interrupted run: a picture it
    holds whose package is still there is reported again, not gated; a picture identical to
    an earlier input of this run is looked up again when its turn comes, as one process
    would. The rest run on ``jobs`` workers (:func:`keyframe.executors.imap_ordered`),
    pictures competing for one package name (:func:`package_group`) one after another; each
    result is journaled before it is yielded."""
    from functools import partial

    from keyframe.executors import ordered_pool

    work = partial(gate_and_package, out=out, profile=profile, targets=targets, rounds=rounds,
                   background=background, max_pixels=max_pixels, mattes=mattes)
    todo, dispatched = [], set()                # indices into found the workers gate
    for i, path in enumerate(found):
        key, done = journal.lookup(path)
        if (done is None or not _still_there(done)) and (key is None or key not in dispatched):
            todo.append(i)
            dispatched.add(key)
    fresh = set()                               # keys gated by this run
    with ordered_pool(work, [found[i] for i in todo], jobs=jobs,
                      group=package_group) as gated_now:
        following = iter(todo)
        upcoming = next(following, None)
        for i, path in enumerate(found):
            if i == upcoming:
                gated = next(gated_now)
                key = journal.lookup(path)[0]   # journal.add takes the last lookup's
                upcoming = next(following, None)
            else:
                key, done = journal.lookup(path)
                if done is not None and _still_there(done):
                    how = ("identical to another input" if key in fresh
                           else "done by an earlier run")
                    line = {**done, "path": str(path),
                            **{k: {**done[k], "path": str(path)}
                               for k in ("report_before", "report_after")}}
                    yield GateLine(path, line, Report.from_dict(
                        {**line["report_after"], "path": str(path)}), reused=how)
                    continue
                gated = work(path)              # an identical earlier input ended unreadable
            fresh.add(key)
            record, final = gated.record, gated.final
            if record.get("package"):
                record["exports"] = package_exports(record["package"])
            line = {**record, "report_before": gated.before.to_dict()}
            if record["verdict"] != "error":    # an unreadable file has no after, no key
                line["report_after"] = final.to_dict()
                if key is not None:
                    journal.add(key, path, line)
            yield GateLine(path, line, final, tuple(gated.attempts))


def verify(package: PathLike, *, recheck: bool = True):
    """Re-hash and re-check a package folder (:func:`keyframe.verify.verify`): a
    :class:`keyframe.verify.VerifyResult` (``ok``, ``problems``, ``unchecked``)."""
    from keyframe.verify import verify as run_verify

    return run_verify(package, recheck=recheck)


def error_line(path: PathLike, exc: Exception) -> str:
    """One line naming the file once (loader errors already start with it)."""
    text = str(exc)
    return text if text.startswith(str(path)) else f"{path}: {text}"


def replay_file(item: tuple) -> dict:
    """Replay a recipe on one file and write the PNG atomically (``keyframe apply``; one
    picklable argument so an executor's worker can run it).

    ``item`` is ``(recipe, input path, output path, max_pixels)``, the recipe a validated
    :class:`keyframe.recipe.Recipe` (its models and files were checked when it was loaded).
    Returns the record of ``apply.jsonl``: ``path``, ``output``, ``sha256``, ``error`` (one
    line, naming the file) — a bad file is a record, never a raise — and ``notes``: what was
    re-measured because the file is not the picture the recipe was made on
    (:func:`keyframe.recipe.replay_noted`).
    """
    from keyframe.fileio import write_atomic
    from keyframe.image import ImageError, encode_png, load, sha256_bytes
    from keyframe.recipe import RecipeError, replay_noted

    recipe, path, out, max_pixels = item
    record = {"path": path, "output": None, "sha256": None, "error": None, "notes": []}
    try:
        image = load(path, max_pixels=max_pixels)
        done = replay_noted(recipe, image.rgb, sha256=image.sha256)
        png = encode_png(done.rgb)
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        write_atomic(out, png)
        record.update(output=out, sha256=sha256_bytes(png), notes=list(done.notes))
    except (ImageError, RecipeError) as exc:
        record["error"] = error_line(path, exc)
    return record
