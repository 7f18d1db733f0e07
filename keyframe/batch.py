"""Many images: find them, assess them in a process pool, summarise.

Every input gives exactly one report, in input order; an unreadable file gives an error
report and the batch goes on. Workers load the profile once and keep their check instances
(and any model sessions) for the life of the pool.
"""
from __future__ import annotations

import os
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from keyframe.assess import assess_path
from keyframe.image import DEFAULT_MAX_PIXELS
from keyframe.profiles import Profile, load_profile
from keyframe.report import VERDICTS, Report

#: file endings a folder walk picks up; files named explicitly are always tried
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp", ".gif"})


def iter_images(paths: Iterable[str | os.PathLike], *,
                exclude: Iterable[str | os.PathLike] = ()) -> Iterator[Path]:
    """Files to assess: each file as given, each folder walked (sorted, hidden entries and
    ``exclude`` folders skipped) for image endings. A path that does not exist is yielded
    as is, so that it gets its own error report."""
    skip = {Path(p).resolve() for p in exclude}
    for p in map(Path, paths):
        if not p.is_dir():
            yield p
            continue
        for root, dirs, files in os.walk(p):
            dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                             and (Path(root) / d).resolve() not in skip)
            for f in sorted(files):
                if not f.startswith(".") and Path(f).suffix.lower() in IMAGE_SUFFIXES:
                    yield Path(root) / f


@dataclass(frozen=True)
class BatchOptions:
    profile: str = "default"
    target: str | None = None
    max_pixels: int = DEFAULT_MAX_PIXELS


_worker_profile: Profile | None = None
_worker_options: BatchOptions | None = None


def _init_worker(options: BatchOptions) -> None:
    global _worker_profile, _worker_options
    _worker_options = options
    _worker_profile = load_profile(options.profile)


def _assess_one(path: str) -> dict:
    assert _worker_profile is not None and _worker_options is not None
    report, _ = assess_path(path, profile=_worker_profile, target=_worker_options.target,
                            max_pixels=_worker_options.max_pixels)
    return report.to_dict()


def assess_many(paths: Iterable[Path], *, options: BatchOptions, jobs: int = 1) -> Iterator[Report]:
    """Assess ``paths`` with ``jobs`` processes; yields reports in input order."""
    items = [str(p) for p in paths]
    if jobs <= 1 or len(items) <= 1:
        _init_worker(options)
        for item in items:
            yield Report.from_dict(_assess_one(item))
        return
    with ProcessPoolExecutor(max_workers=jobs, initializer=_init_worker,
                             initargs=(options,)) as pool:
        for d in pool.map(_assess_one, items, chunksize=1):
            yield Report.from_dict(d)


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
