"""Measure an image with every registered check, then route: image -> Report.

Check instances are created once per process and reused (a check that holds an ONNX session
keeps it). A check that cannot run lands in ``skipped`` with its reason; a check that fails
unexpectedly lands there too, with the exception in one line, so one broken check never
stops a batch — and a required check that did not run makes the verdict ``review``.
"""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Sequence

from keyframe import __version__, views
from keyframe.image import DEFAULT_MAX_PIXELS, ImageError, LoadedImage, load
from keyframe.matte import attach_from_folder
from keyframe.profiles import Profile
from keyframe.registry import NO_CONTEXT, Check, CheckSkipped, Context, check_classes
from keyframe.report import Measurement, Report, Skipped
from keyframe.router import route


@lru_cache(maxsize=1)
def default_checks() -> tuple[Check, ...]:
    """One instance of every registered check, created once per process."""
    return tuple(cls() for cls in check_classes().values())


def measure(image: LoadedImage, *, checks: Sequence[Check] | None = None,
            target: str | None = None, prior: dict[str, Measurement] | None = None,
            orientations: tuple[str, ...] = ()
            ) -> tuple[dict[str, Measurement], list[Skipped]]:
    """Run ``checks`` (default: all registered) and collect measurements and skips.

    ``prior``: measurements of the same pixels already made by other checks (the package's
    re-check of a file measures only the checks that read the file); they are returned
    with the new ones and the checks read them as they would their own run's.

    Every check is called as ``check.measure(image, ctx)`` with a
    :class:`~keyframe.registry.Context`: the video ``target`` (and the ``orientations``
    every requested target accepts) and, in ``ctx.prior``, the
    measurements of ``prior`` and of the checks of earlier stages (``Check.stage``, lower
    first; framing runs last and reads the faces and persons the others found). Checks of
    one stage get the same context, so their order among themselves changes nothing. Checks
    that do not read alpha see an RGBA input flattened onto mid-grey
    (:func:`keyframe.views.flattened`).
    """
    measurements: dict[str, Measurement] = dict(prior or {})
    skipped: list[Skipped] = []
    todo = default_checks() if checks is None else checks
    ctx, stage = NO_CONTEXT, None
    for check in sorted(todo, key=lambda c: c.stage):
        if check.stage != stage:
            ctx, stage = Context(target=target, prior=measurements,
                                         orientations=tuple(orientations)), check.stage
        seen = image if check.reads_alpha else views.flattened(image)
        try:
            found = check.measure(seen, ctx)
        except CheckSkipped as exc:
            skipped.append(Skipped(check=check.name, reason=str(exc)))
            continue
        except Exception as exc:  # noqa: BLE001 - one broken check must not stop a batch
            reason = f"check failed: {type(exc).__name__}: {exc}".splitlines()[0]
            skipped.append(Skipped(check=check.name, reason=reason))
            continue
        undeclared = sorted({m.code for m in found} - set(check.codes))
        if undeclared:
            # a typo in Measurement("code") would otherwise become a new code no profile knows
            skipped.append(Skipped(check=check.name, reason=(
                f"check broke its contract: measured {', '.join(undeclared)}, which it does "
                f"not declare (its codes: {', '.join(check.codes)})")))
            continue
        for m in found:
            m.check = m.check or check.name
            measurements[m.code] = m
    return measurements, skipped


def assess(image: LoadedImage, *, profile: Profile, target: str | None = None,
           checks: Sequence[Check] | None = None,
           prior: dict[str, Measurement] | None = None,
           orientations: tuple[str, ...] = ()) -> Report:
    """Measure ``image`` and decide under ``profile``: the full ``keyframe.report/1`` record.
    ``prior``: measurements that stand for these pixels already (see :func:`measure`); the
    checks that made them should not be in ``checks``. ``orientations``: see
    :class:`~keyframe.registry.Context`."""
    measurements, skipped = measure(image, checks=checks, target=target, prior=prior,
                                    orientations=orientations)
    report = Report(path=image.path, sha256=image.sha256, width=image.width,
                    height=image.height, has_alpha=image.has_alpha, measurements=measurements,
                    skipped=skipped, provenance=dict(image.provenance), notes=list(image.notes),
                    keyframe_version=__version__)
    return report.apply(route(report, profile), profile=profile.name, target=target)


def error_report(path: str | os.PathLike, error: ImageError, *, profile: Profile,
                 target: str | None = None) -> Report:
    """The record of an input that could not be read: verdict ``error``, one-line message."""
    return Report(path=str(path), profile=profile.name, target=target, verdict="error",
                  reason=f"error: {error}", error={"type": error.kind, "message": str(error)},
                  keyframe_version=__version__)


def assess_path(path: str | os.PathLike, *, profile: Profile, target: str | None = None,
                max_pixels: int = DEFAULT_MAX_PIXELS, checks: Sequence[Check] | None = None,
                mattes: str | os.PathLike | None = None,
                orientations: tuple[str, ...] = ()) -> tuple[Report, LoadedImage | None]:
    """Load and assess one file; an unreadable file gives an error report, never a raise.

    ``mattes``: a folder of subject mattes of opaque composites (``<stem>.png`` …, see
    :mod:`keyframe.matte`); an unreadable or mis-sized matte is this file's error."""
    try:
        image = attach_from_folder(load(Path(path), max_pixels=max_pixels), mattes,
                                   max_pixels=max_pixels)
    except ImageError as exc:
        return error_report(path, exc, profile=profile, target=target), None
    return assess(image, profile=profile, target=target, checks=checks,
                  orientations=orientations), image
