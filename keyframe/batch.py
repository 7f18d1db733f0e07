"""Many images: find them, assess them in a process pool, summarise; resumable triage.

Every input gives exactly one report, in input order; an unreadable file gives an error
report and the batch goes on. Workers load the profile once and keep their check instances
(and any model sessions) for the life of the pool.

:func:`triage` is the resumable form behind ``keyframe triage``: each finished image is
appended to the output folder's :class:`~keyframe.store.ResultStore` as soon as it exists,
work runs on any executor of :mod:`keyframe.executors`, and ``report.jsonl`` is streamed
from the store in input order at the end, so no list of reports is ever held in memory.
:func:`sort_into` links or copies the originals into one folder per verdict.
"""
from __future__ import annotations

import contextlib
import json
import os
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache, partial
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np

from keyframe.allocator import keep_freed_memory
from keyframe.assess import assess_path
from keyframe.executors import ordered_pool
from keyframe.fileio import (ReadError, atomic_text_writer, copy_atomic, is_output_folder,
                             sha256_file, write_atomic)
from keyframe.image import DEFAULT_MAX_PIXELS, encode_jpeg, scan_suffixes
from keyframe.masks import masking_checks, write_masks
from keyframe.profiles import Profile, load_profile
from keyframe.registry import Check, check_classes
from keyframe.report import VERDICTS, Report
from keyframe.store import ResultStore, run_id
from keyframe.views import fit

#: file endings a folder walk picks up (every format the loader opens here: PNG, JPEG, WebP,
#: TIFF, BMP, GIF, AVIF, HEIC with its plug-in); files named explicitly are always tried
IMAGE_SUFFIXES = scan_suffixes()


def iter_images(paths: Iterable[str | os.PathLike], *,
                exclude: Iterable[str | os.PathLike] = ()) -> Iterator[Path]:
    """Files to assess: each file as given, each folder walked (sorted) for image endings.

    A walk skips hidden entries (``.keyframe/`` among them), the ``exclude`` folders (the
    command's own output, mattes, masks) and every folder below the one given that is
    another keyframe output (it holds a ``.keyframe/`` folder: thumbnails, sorted copies,
    packages of an earlier run). Symbolic links to files are yielded like files (a dangling
    one or a loop then gets its own error report); links to folders are not followed. A path
    that does not exist is yielded as is, so that it gets its own error report."""
    skip = {os.path.realpath(p) for p in exclude}
    for p in map(Path, paths):
        if not p.is_dir():
            yield p
            continue
        for root, dirs, files in os.walk(p):
            dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                             and os.path.realpath(os.path.join(root, d)) not in skip
                             and not is_output_folder(os.path.join(root, d)))
            for f in sorted(files):
                if not f.startswith(".") and Path(f).suffix.lower() in IMAGE_SUFFIXES:
                    yield Path(root) / f


@dataclass(frozen=True)
class BatchOptions:
    profile: str = "default"
    target: str | None = None
    max_pixels: int = DEFAULT_MAX_PIXELS
    #: check names to run (None: every registered check); part of the store's run id
    checks: tuple[str, ...] | None = None
    #: folder of subject mattes for opaque composites (keyframe.matte), or None
    mattes: str | None = None
    #: folder the masks of each image's findings are written to (keyframe.masks), or None
    masks: str | None = None


def select_checks(names: Iterable[str] | None) -> tuple[Check, ...] | None:
    """Instances of the named checks, or None for all; ValueError names the unknown ones."""
    if names is None:
        return None
    classes = check_classes()
    unknown = sorted(set(names) - set(classes))
    if unknown:
        raise ValueError(f"unknown check {', '.join(map(repr, unknown))}; "
                         f"registered: {', '.join(sorted(classes))}")
    return tuple(classes[n]() for n in names)


def assess_many(paths: Iterable[Path], *, options: BatchOptions, jobs: int = 1) -> Iterator[Report]:
    """Assess ``paths`` with ``jobs`` processes (the executors' local pool, the one batch
    runner triage uses too); yields reports in input order."""
    items = list(enumerate(str(p) for p in paths))
    task = partial(assess_task, options=options, thumb_side=0)
    with ordered_pool(task, items, jobs=jobs) as outcomes:
        for outcome in outcomes:
            yield Report.from_json(outcome.report_json)


def summarise(reports: Iterable[Report]) -> dict[str, int]:
    """Count of reports per verdict, every verdict present (0 when none)."""
    counts = Counter(r.verdict for r in reports)
    return {v: counts.get(v, 0) for v in VERDICTS}


def exit_code(counts: dict[str, int]) -> int:
    """DESIGN.md exit codes: 0 all certified, 1 some not certified, 2 input errors."""
    if counts.get("error"):
        return 2
    if sum(counts.values()) - counts.get("certified", 0):
        return 1
    return 0


# ------------------------------------------------------------------ resumable triage

#: long side (px) of the thumbnails ``report.html`` shows (OUT/thumbs/<sha256>.jpg)
THUMB_LONG_SIDE = 320
THUMB_QUALITY = 82
SORT_MODES = ("link", "copy")


@dataclass(frozen=True)
class Outcome:
    """What a worker sends back for one input: the report as JSON and a JPEG thumbnail."""

    index: int
    sha256: str | None
    report_json: str
    thumb: bytes | None = None


@lru_cache(maxsize=4)
def _profile_for(options: BatchOptions) -> Profile:
    return load_profile(options.profile)


@lru_cache(maxsize=4)
def _checks_for(options: BatchOptions) -> tuple[Check, ...] | None:
    if options.masks is not None:
        return masking_checks(options.checks)
    return select_checks(options.checks)


def assess_task(item: tuple[int, str], *, options: BatchOptions, thumb_side: int) -> Outcome:
    """Assess one ``(index, path)`` in a worker (local pool or Dask): report JSON and, when
    ``thumb_side`` > 0 and the file decoded, a thumbnail at that long side. Top-level and
    picklable; the profile is loaded once per worker process, and the worker's allocator
    keeps freed planes for the next image (:mod:`keyframe.allocator`)."""
    keep_freed_memory()
    index, path = item
    report, image = assess_path(path, profile=_profile_for(options), target=options.target,
                                max_pixels=options.max_pixels, checks=_checks_for(options),
                                mattes=options.mattes)
    if options.masks is not None and image is not None:
        write_masks(report, options.masks)
    thumb = None
    if image is not None and thumb_side > 0:
        thumb = encode_jpeg(thumbnail(image.rgb, thumb_side), quality=THUMB_QUALITY)
    return Outcome(index=index, sha256=report.sha256, report_json=report.to_json(),
                   thumb=thumb)


def thumbnail(rgb: np.ndarray, long_side: int) -> np.ndarray:
    """The triage thumbnail of ``rgb``: :func:`keyframe.views.fit`, halved first (only
    ``report.html`` shows it; no check reads it)."""
    return fit(rgb, long_side, halve_first=True)


@dataclass
class TriageSummary:
    """What :func:`triage` did: verdict counts, images assessed now vs. found in the store
    from earlier runs vs. identical (same bytes) to another input of this run."""

    counts: dict[str, int]
    assessed: int = 0
    reused: int = 0
    identical: int = 0
    torn: int = 0
    report: Path = field(default_factory=Path)


def triage(paths: Sequence[Path], out: str | os.PathLike, *, options: BatchOptions,
           executor: Any, thumbs: bool = True,
           progress: Callable[[str], None] | None = None) -> TriageSummary:
    """Assess ``paths`` resumably into ``out``: journal, thumbnails, ``report.jsonl``.

    Each input is hashed (or its hash reused when its size and mtime are unchanged); inputs
    whose ``<sha256>:<run id>`` key is already in ``out/.keyframe/results.jsonl`` are not
    assessed again, and identical files are assessed once. Finished images are journaled
    as they arrive, in any order, the ones that finished together with one fsync, and an
    image is reported done (``progress``) only after the fsync covering its line.
    ``out/report.jsonl`` is then written atomically in input order, one
    ``keyframe.report/1`` line per path.

    Parameters
    ----------
    paths : sequence of Path
        The inputs, in report order.
    out : path-like
        Output folder (created).
    options : BatchOptions, keyword-only
    executor : LocalExecutor or DaskExecutor, keyword-only
        An entered executor (:mod:`keyframe.executors`).
    thumbs : bool, keyword-only
        Write ``out/thumbs/<sha256>.jpg`` for ``report.html``.
    progress : callable, keyword-only
        Called with each path once it is done (reused or assessed).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    thumb_dir = out / "thumbs"
    if thumbs:
        thumb_dir.mkdir(exist_ok=True)
    profile = _profile_for(options)
    rid = run_id(profile.raw, target=options.target, max_pixels=options.max_pixels,
                 checks=options.checks, mattes=options.mattes)
    tick = progress or (lambda _path: None)
    keys: list[str | None] = [None] * len(paths)
    transient: dict[int, str] = {}                # unreadable inputs: never journaled
    stats: dict[int, tuple[int, int, str]] = {}   # in flight: size, mtime, dispatcher's hash
    summary = TriageSummary(counts={}, report=out / "report.jsonl")

    with ResultStore(out / ".keyframe") as store:
        summary.torn = store.torn

        def items() -> Iterator[tuple[int, str]]:
            flight: set[str] = set()
            for i, p in enumerate(paths):
                sp = str(p)
                try:
                    st = os.stat(p)
                except OSError:
                    yield i, sp                   # its own error report, quickly
                    continue
                sha = store.known_sha(sp, st.st_size, st.st_mtime_ns) or sha256_file(p)
                if sha is None:
                    yield i, sp
                    continue
                keys[i] = key = f"{sha}:{rid}"
                if key in store or key in flight:
                    if key in flight:
                        summary.identical += 1
                    else:
                        summary.reused += 1
                    tick(sp)
                    continue
                flight.add(key)
                stats[i] = (st.st_size, st.st_mtime_ns, sha)
                yield i, sp

        work = partial(assess_task, options=options, thumb_side=THUMB_LONG_SIDE if thumbs else 0)
        for batch in executor.imap_batches(work, items()):
            for o in batch:                       # group commit: one fsync per batch
                summary.assessed += 1
                size, mtime, sha = stats.pop(o.index, (-1, -1, None))
                if sha is None:
                    transient[o.index] = o.report_json
                    continue
                if o.sha256 and o.sha256 != sha:  # the file changed after it was hashed
                    keys[o.index] = f"{o.sha256}:{rid}"
                    size, mtime, sha = -1, -1, o.sha256
                if o.thumb is not None:
                    thumb = thumb_dir / f"{sha}.jpg"
                    if not thumb.exists():
                        write_atomic(thumb, o.thumb)
                store.add(keys[o.index], sha256=sha, path=str(paths[o.index]), size=size,
                          mtime_ns=mtime, report_json=o.report_json, sync=False)
            store.sync()                          # every line on disk before it is reported
            for o in batch:
                tick(str(paths[o.index]))

        counts: Counter = Counter()
        with atomic_text_writer(summary.report) as fh:
            for i, p in enumerate(paths):
                key = keys[i]
                d = json.loads(transient[i]) if key is None else store.get(key)
                d["path"] = str(p)
                counts[d["verdict"]] += 1
                fh.write(json.dumps(d, ensure_ascii=False) + "\n")
    summary.counts = {v: counts.get(v, 0) for v in VERDICTS}
    return summary


#: what ``keyframe triage`` writes directly inside OUT (besides its ``.keyframe/`` state)
TRIAGE_OUTPUTS = ("report.jsonl", "report.html", "thumbs", *VERDICTS)


def out_folder_problem(out: str | os.PathLike, folder: str | os.PathLike, *,
                       overwrite: bool = False) -> str | None:
    """Why ``keyframe triage FOLDER -o OUT`` must not write into ``out``, or None.

    ``out`` may not be the input folder (its outputs would become inputs), and a folder
    that is not a keyframe output (no ``.keyframe/``) but already holds one of
    :data:`TRIAGE_OUTPUTS` is someone else's: it is written only with ``overwrite``.
    """
    if os.path.realpath(out) == os.path.realpath(folder):
        return (f"-o {out} is the input folder: write the report into another folder "
                "(a new one inside it is fine)")
    if overwrite or not os.path.isdir(out) or is_output_folder(out):
        return None
    taken = [n for n in TRIAGE_OUTPUTS if os.path.lexists(os.path.join(out, n))]
    if taken:
        return (f"-o {out} was not written by keyframe triage but holds {', '.join(taken)}: "
                "choose another folder, or pass --overwrite to replace them")
    return None


def read_reports(path: str | os.PathLike) -> Iterator[dict]:
    """Stream the ``keyframe.report/1`` dicts of a JSON Lines file, one at a time."""
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def sort_name(path: str | os.PathLike, root: str | os.PathLike) -> str:
    """Entry name of ``path`` in a verdict folder: its path under ``root`` with separators
    as ``__`` (unique within one triage), or its file name when it is not under ``root``.
    Links are not resolved: an input that is a symbolic link keeps its own name."""
    p, r = Path(os.path.abspath(path)), Path(os.path.abspath(root))
    try:
        return "__".join(p.relative_to(r).parts)
    except ValueError:
        return p.name


def sort_into(reports: Iterable[dict], out: str | os.PathLike, *, root: str | os.PathLike,
              mode: str = "link") -> dict[str, int]:
    """Put a symlink (``mode="link"``) or a copy (``"copy"``) of each original into
    ``out/<verdict>/``; originals are never moved or changed.

    An entry of the same name in another verdict folder (a previous run decided otherwise)
    is removed, so each input appears in exactly one folder. Links are relative and point
    at the input as it was named (a link input gets a link to the link), so the output and
    input folders can move together. Each entry is created under a temp name and renamed
    into place; a copy that fails (a full disk) leaves nothing. Only regular files are
    copied (a FIFO, a dangling link or a loop gets no copy). Returns the number of entries
    per verdict.
    """
    if mode not in SORT_MODES:
        raise ValueError(f"sort mode must be one of {SORT_MODES}, got {mode!r}")
    out = Path(out)
    counts: Counter = Counter()
    for d in reports:
        src = Path(d["path"])
        verdict = d["verdict"]
        name = sort_name(src, root)
        folder = out / verdict
        folder.mkdir(parents=True, exist_ok=True)
        for other in VERDICTS:
            stale = out / other / name
            if other != verdict and (stale.is_symlink() or stale.is_file()):
                stale.unlink()
        dest = folder / name
        if mode == "link":
            tmp = folder / f".{name}.{os.getpid()}.tmp"
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            os.symlink(os.path.relpath(os.path.abspath(src), os.path.realpath(folder)), tmp)
            os.replace(tmp, dest)
        else:
            with contextlib.suppress(OSError):
                st, have = os.stat(src), os.lstat(dest)
                if not dest.is_symlink() and have.st_size == st.st_size \
                        and have.st_mtime_ns == st.st_mtime_ns:
                    counts[verdict] += 1
                    continue
            try:
                copy_atomic(src, dest)
            except ReadError:                     # nothing (regular) to copy: no entry
                if dest.is_symlink():
                    dest.unlink()                 # a link of an earlier run in link mode
                continue
        counts[verdict] += 1
    return {v: counts.get(v, 0) for v in VERDICTS}
