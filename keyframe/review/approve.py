"""From a person's ``keep`` to a package: the library half of ``keyframe certify --approved``.

Each picture whose live decision in ``OUT/decisions.jsonl`` is ``keep`` is packaged:

* from a triage output, the original as it is (re-assessed now, so the manifest's reports
  describe these pixels under the profile given);
* from a gate output, the original with the gate's recipe replayed on it (the recipe is
  replayable: the same input, steps and models give the same bytes), packaged with
  ``source=`` and ``recipe=`` as the gate itself does.

The manifest records ``review: {decision, reviewer, at, note}``, inside the content that
``manifest_sha256`` covers, so ``keyframe verify`` rejects an edited review. A picture the
machine did not certify is packaged ``forced`` — the person's keep is the force, and the
manifest says both. A source whose bytes changed since the decision (another sha256) is
refused: the person approved other pixels.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

from keyframe.assess import assess_path
from keyframe.decisions import read_decisions, review_record
from keyframe.image import LoadedImage, from_array
from keyframe.package import PackageError, write_package
from keyframe.profiles import Profile
from keyframe.recipe import RecipeError, parse
from keyframe.recipe_steps import run_step_rgba
from keyframe.report import Report
from keyframe.review.queue import Queue
from keyframe.targets import Target


@dataclass
class Approved:
    """What became of one kept picture: its report, the package (None when refused), why."""

    report: Report
    package: Path | None
    message: str


def replay_line(image: LoadedImage, line: dict[str, Any]) -> LoadedImage:
    """The gate's pixels again: the recipe of a ``gate.jsonl`` line replayed on its source.

    Colour and alpha travel together step by step (:func:`keyframe.recipe_steps.run_step_rgba`),
    as in the gate, so a defringe → flatten recipe of a cut-out replays too.

    Raises
    ------
    RecipeError
        The recipe is invalid here (a model missing or changed) or a step failed.
    """
    recipe = parse(line.get("recipe") or {"steps": []})
    rgb, alpha = image.rgb, image.alpha
    for n, step in enumerate(recipe.steps, 1):
        try:
            rgb, alpha = run_step_rgba(step, rgb, alpha)
        except (ValueError, RuntimeError, OSError) as exc:
            raise RecipeError(f"step {n} ({step.fix}): {exc}") from None
    return from_array(rgb, alpha=alpha, name=image.path, notes=image.notes,
                      provenance=image.provenance)


def certify_approved(out: str | os.PathLike, dest: str | os.PathLike, *, profile: Profile,
                     targets: Sequence[Target] = (), max_pixels: int,
                     mattes: str | os.PathLike | None = None) -> Iterator[Approved]:
    """Package every picture of ``out`` a person kept; one :class:`Approved` per picture.

    Parameters
    ----------
    out : path-like
        A triage or gate output folder that ``keyframe review`` wrote decisions into.
    dest : path-like
        Folder receiving ``<name>/keyframe.png`` + ``manifest.json`` (+ exports).
    profile : Profile, keyword-only
        Profile of the re-assessment and of the package's re-check.
    targets : sequence of Target, keyword-only
        Video targets to export for (the first one is the assessment's target).
    max_pixels : int, keyword-only
    mattes : path-like, optional
        Folder of subject mattes, as for ``keyframe certify``.
    """
    queue = Queue(out)
    journal = read_decisions(queue.out)
    target = targets[0].name if targets else None
    for entry in list(journal.current()):
        if entry["decision"] != "keep":
            continue
        index = queue.index_of(entry.get("sha256"), entry["path"])
        path = queue.source_path(entry["path"])
        report, image = assess_path(path, profile=profile, target=target,
                                    max_pixels=max_pixels, mattes=mattes)
        if image is None:
            yield Approved(report, None, "not packaged: the source cannot be read")
            continue
        if entry.get("sha256") and image.sha256 != entry["sha256"]:
            yield Approved(report, None, f"not packaged: the file changed since it was "
                           f"reviewed (sha256 {image.sha256[:12]}…, kept "
                           f"{entry['sha256'][:12]}…)")
            continue
        review = review_record(entry)
        line = queue.line(index) if index is not None and queue.kind == "gate" else None
        steps = (line.get("recipe") or {}).get("steps") if line else None
        try:
            if steps:
                fixed = replay_line(image, line)
                where = write_package(
                    dest, image=fixed, report=report, profile=profile, source=image,
                    recipe=steps, models=(line.get("recipe") or {}).get("models") or {},
                    forced=line.get("verdict") != "certified", targets=targets,
                    review=review)
            else:
                where = write_package(dest, image=image, report=report, profile=profile,
                                      forced=report.verdict != "certified", targets=targets,
                                      review=review)
        except (PackageError, RecipeError) as exc:
            yield Approved(report, None, f"not packaged: {exc}")
            continue
        yield Approved(report, where, f"kept by {entry['reviewer']} at {entry['at']}")
