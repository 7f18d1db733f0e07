"""The closed loop: assess -> route -> apply the plan step by step -> re-assess, bounded.

:func:`gate` takes one image through the router's plan. Every step is applied to the current
pixels; before the result is measured again with every check, the gate **inspects what the
step changed** (:mod:`keyframe.inspect`, :func:`inspect_step`): a fill (``erase``) for
text-like strokes, cloned detail, a colour or texture that does not continue its
surroundings and a seam; a local edit (``face_detail``, a step with a region) for a seam
along its border; a geometry step for how much it, with the kept ones before it
(:class:`keyframe.step_geometry.History`), enlarges and invents (``[gate] max_enlarge``,
``max_invented``, read before it runs) and, for a canvas extension, for mirrored or
repeated detail and a seam. An inspection at the profile's ``rollback_at``
level rolls the step back whatever the global scores say: a local defect moves no global
score.

Then the keep rule (:func:`judge`, margins in the profile's ``[gate]`` table,
:class:`keyframe.profiles.GateRule`): the step is **kept** when

* it lowered at least one code it was planned for (the codes whose major finding routes to
  that fix) by ``min_gain``, and
* no code ends at a higher level than it had: a rise that stays below ``minor`` is no damage,
  and one that passes a level threshold by less than ``level_margin`` is measurement wobble.

``flatten`` is the exception: it is kept whenever it removed the transparency (the checks
then see the chosen background, not mid-grey); the flattened picture's verdict decides.

Otherwise it is **rolled back** (the pixels before it are kept) and the attempt is recorded
with the reason; every attempt records the codes that moved and their levels before and
after. Rounds repeat while the verdict is ``fix`` (or ``review`` with fixes planned for its
other findings) and the last round kept a step, up to ``max_rounds``; a kept step that
changes the geometry ends its round, so the regions of the remaining steps are measured
again on the new frame; a step identical to one already rolled back is not tried again.

The end state is the router's verdict on the final pixels, except that a plan the loop could
not complete (still ``fix``) becomes ``review``: ``certified`` pixels can be packaged
(:func:`keyframe.package.write_package` with ``source=`` and ``recipe=``), the rest carry
the reason in one sentence. The gate never writes files, and never encodes one: a candidate
is identified by its pixels (:func:`keyframe.image.pixel_sha256`), and the PNG is encoded
once, by the package; ``after`` can be handed to the package as the re-check of the final
pixels (:func:`keyframe.package.write_package`'s ``assessed``).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from keyframe.assess import assess, default_checks
from keyframe.carry import carried_over
from keyframe.image import LoadedImage, from_array
from keyframe.inspect import Inspection
from keyframe.profiles import Profile
from keyframe.recipe import (Recipe, RecipeStep, from_steps, make_step, params_dict,
                             run_step_plane, run_step_rgba)
from keyframe.registry import Check, CheckSkipped, check_classes, fix_classes
from keyframe.report import Report, level_rank
from keyframe.router import reroute
from keyframe.step_geometry import (History, cuts_finding, inspect_step, over_enlarge,
                                    over_limits)

MAX_ROUNDS = 3


@dataclass
class Attempt:
    """One step the loop tried: kept or rolled back, the score changes it caused (with the
    codes' levels before and after) and what the inspection of the changed region read."""

    round: int
    step: RecipeStep
    kept: bool
    reason: str
    changes: dict[str, tuple[float, float]] = field(default_factory=dict)   # code: (old, new)
    levels: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    inspections: list[Inspection] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"round": self.round, **self.step.to_dict(), "kept": self.kept,
                "reason": self.reason,
                "changes": {c: [round(a, 4), round(b, 4)] for c, (a, b) in self.changes.items()},
                "levels": {c: list(v) for c, v in self.levels.items()},
                "inspections": [i.to_dict() for i in self.inspections]}


@dataclass
class GateResult:
    """Where one image ended: verdict, reason, final pixels and report, and the recipe."""

    source: LoadedImage
    before: Report
    after: Report
    image: LoadedImage
    recipe: Recipe
    attempts: list[Attempt]
    verdict: str
    reason: str
    #: what the kept geometry steps enlarged and invented (the exports count it too)
    history: History = field(default_factory=History)

    def notes(self) -> list[str]:
        """One line per step tried, for a package manifest: what each kept step did (a
        reframe's crop, extension and resize in words) and why each other was rolled back."""
        return [f"gate kept {a.step.fix} in round {a.round}: {a.reason}" if a.kept else
                f"gate rolled back {a.step.fix} {params_dict(a.step.params)} in round "
                f"{a.round}: {a.reason}" for a in self.attempts]

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.source.path, "verdict": self.verdict, "reason": self.reason,
                "quality_before": self.before.quality, "quality_after": self.after.quality,
                "recipe": self.recipe.to_dict(), "attempts": [a.to_dict() for a in self.attempts],
                "scores_before": self.before.scores, "scores_after": self.after.scores}


@dataclass(frozen=True)
class Judgement:
    """What :func:`judge` decided about one step, and what moved."""

    keep: bool
    reason: str
    changes: dict[str, tuple[float, float]]
    levels: dict[str, tuple[str | None, str | None]]


def _moved(codes: list[str], changes: dict[str, tuple[float, float]]) -> str:
    return ", ".join(f"{c} {changes[c][0]:.2f} -> {changes[c][1]:.2f}" for c in codes)


def judge(step: str, before: Report, after: Report, *, profile: Profile,
          inspections: Sequence[Inspection] = (), geometry: bool = True) -> Judgement:
    """Keep or roll back: did ``step`` lower a code it was planned for without damage?

    Damage is an inspection of the changed region at the profile's ``rollback_at`` level, or
    a code that ends at a higher level than it had (see the module docstring) — not a
    check's ``geometric_codes`` when the step kept the geometry (``geometry`` False): where
    things sit in the frame is not what a filter can damage — and not a check's
    ``confidence_codes`` (how surely the detectors read the picture is not damage; the
    result's own verdict routes it). The rule's margins are the
    profile's ``[gate]`` table. ``changes`` maps every code whose severity moved by more than
    0.001 to ``(old, new)``, ``levels`` each of them to its levels.
    """
    rule = profile.gate
    old, new = before.scores, after.scores
    changes = {c: (old[c], new[c]) for c in old if c in new and abs(new[c] - old[c]) > 1e-3}

    def level(code: str, severity: float) -> str | None:
        return profile.rule(code).level(max(0.0, severity))

    levels = {c: (level(c, a), level(c, b)) for c, (a, b) in changes.items()}
    bad = [i for i in inspections if i.severity >= profile.levels[rule.rollback_at]]
    if bad:
        worst = max(bad, key=lambda i: i.severity)
        return Judgement(False, f"the changed region shows damage: {worst.message} "
                                f"({worst.code} {worst.severity:.2f})", changes, levels)
    targets = [f.code for f in before.findings
               if f.fix == step and level_rank(f.level) >= level_rank("major")]
    lowered = [c for c in targets if c in new and new[c] <= old[c] - rule.min_gain]
    if (getattr(fix_classes().get(step), "keep_rule", "level") == "mended" and targets
            and len(lowered) == len(targets)):
        # flattening changes what the checks see (the chosen background instead of the
        # mid-grey stand-in under transparent pixels), it does not damage pixels: other
        # codes move with the background, and the flattened picture's verdict decides
        moved = _moved([c for c in changes if c not in targets], changes) or "nothing else"
        return Judgement(True, f"flattened ({', '.join(targets)} gone); the verdict of the "
                               f"flattened picture decides (moved: {moved})", changes, levels)
    # damage: a code ending a level higher than it had, by more than the margin
    uncovers = getattr(fix_classes().get(step), "uncovers_frame", False)
    placed = set() if geometry and not uncovers else {c for cls in check_classes().values()
                                                      for c in cls.geometric_codes}
    unsure = {c for cls in check_classes().values() for c in cls.confidence_codes}
    risen = {c for c, (a, b) in changes.items() if c not in targets and b > a
             and level_rank(level(c, b - rule.level_margin)) > level_rank(level(c, a))}
    # a step that only takes padding away leaves every content pixel as it was: what rises
    # is the content's own reading without the bars diluting it, uncovered, not caused
    under = risen - placed - unsure if uncovers else set()
    raised = sorted(((new[c] - old[c], c) for c in risen - placed - unsure - under),
                    reverse=True)
    if raised:
        _, code = raised[0]
        was, now = levels[code]
        return Judgement(False, f"raised {code} from {old[code]:.2f} ({was or 'below minor'}) "
                                f"to {new[code]:.2f} ({now})", changes, levels)
    if not targets:
        mends = getattr(fix_classes().get(step), "mends", ())
        lowered = [c for c in mends if c in changes and changes[c][1] < changes[c][0]]
        if not lowered:
            return Judgement(False, "lowered nothing it mends", changes, levels)
        return Judgement(True, f"lowered {_moved(lowered, changes)}", changes, levels)
    if not lowered:
        c = targets[0]
        return Judgement(False, f"did not lower {c} ({old[c]:.2f} -> "
                                f"{new.get(c, old[c]):.2f})", changes, levels)
    others = [c for c in changes if c not in lowered and changes[c][1] > changes[c][0]
              and c not in risen]
    tail = (f"; also moved {_moved(others, changes)}, no level higher" if others else "")
    read = sorted(risen & unsure)
    if read:
        tail += (f"; {_moved(read, changes)} ({', '.join(levels[c][1] for c in read)}) is how "
                 "surely the checks read it, not damage: the result's verdict decides")
    placed_up = sorted(risen & placed - unsure)
    if placed_up:
        tail += f"; {_moved(placed_up, changes)} is where things sit, for the next round"
    if under:
        tail += (f"; {_moved(sorted(under), changes)} is the content's own reading without "
                 "the padding, not damage: the result's verdict decides")
    return Judgement(True, f"lowered {_moved(lowered, changes)}{tail}", changes, levels)


def with_background(profile: Profile) -> Profile:
    """``profile`` in which ``has_alpha`` routes to ``flatten``: the user gave a background.

    Without one, a cut-out's transparency needs a person's choice (review); with one, the
    router plans ``flatten`` — last, after ``defringe`` has cleaned the edge it would bake in.
    """
    rule = profile.rule("has_alpha")
    codes = {**profile.codes, "has_alpha": dataclasses.replace(rule, fix="flatten",
                                                               trash_at=None)}
    return dataclasses.replace(profile, codes=codes)


def flatten_onto(image: LoadedImage, report: Report, *, profile: Profile, background: str
                 ) -> tuple[LoadedImage, RecipeStep] | str:
    """The flattened cut-out ``keyframe certify --background`` packages, or why not.

    Certify applies no fix but this one: ``image`` (RGBA) is flattened onto ``background``
    only when, under :func:`with_background`, ``flatten`` is the whole plan. Anything else
    (a fringe to defringe, a blur) is the gate's job: the returned string says so.
    """
    routed = reroute(report, with_background(profile))
    if routed.verdict != "fix" or [p.fix for p in routed.plan] != ["flatten"]:
        return (f"{routed.reason}; only flatten runs in certify: use "
                "`keyframe gate --background` to mend the rest")
    step = make_step("flatten", {"background": background})
    rgb, _ = run_step_rgba(step, image.rgb, image.alpha)
    return from_array(rgb, name=image.path, notes=image.notes,
                      provenance=image.provenance, encode=False), step


def _carry_matte(candidate: LoadedImage, current: LoadedImage, step: RecipeStep
                 ) -> LoadedImage:
    """``candidate`` with ``current``'s subject matte, brought along a geometry change the
    way an alpha plane is (so every re-assessment reads the same boundary)."""
    matte, source = current.matte, current.matte_source
    if candidate.rgb.shape[:2] != current.rgb.shape[:2]:
        matte = run_step_plane(step, matte)    # the colour step already ran: only the plane
        source = ""           # the file no longer fits the frame: dehalo plans without it
    return dataclasses.replace(candidate, matte=matte, matte_source=source, cache={})


def _attempt(rnd: int, step: RecipeStep, current: LoadedImage, now: Report, *,
             image: LoadedImage, profile: Profile, target: str | None,
             checks: Sequence[Check] | None, orientations: tuple[str, ...] = (),
             history: History = History()
             ) -> tuple[Attempt, LoadedImage | None, Report | None, History]:
    """Run ``step`` on ``current``, inspect what it changed, re-assess and judge it: the
    attempt, the new pixels and report (None, None when it was not kept), and the geometry
    ``history`` after it (the profile's limits hold for all the kept steps together)."""
    limit = profile.gate.max_enlarge
    try:
        # refused before it runs: no 300x upscale, no strip floating in a blurred frame
        why, layout = over_limits(step, current.rgb, max_enlarge=limit,
                                  max_invented=profile.gate.max_invented, history=history)
        why = why or (cuts_finding(step, layout, now.findings) if layout is not None else "")
        if why:
            return Attempt(rnd, step, False, why), None, None, history
        rgb, alpha = run_step_rgba(step, current.rgb, current.alpha)
    except (ValueError, RuntimeError, CheckSkipped) as exc:
        return Attempt(rnd, step, False, f"failed: {exc}"), None, None, history
    scale = layout.scale if layout is not None else 1.0
    if (layout is None and rgb.shape[:2] != current.rgb.shape[:2]
            and not getattr(fix_classes().get(step.fix), "uncovers_frame", False)):
        scale = math.sqrt(rgb.shape[0] * rgb.shape[1]      # a resize (a crop of bars: 1)
                          / (current.rgb.shape[0] * current.rgb.shape[1]))
        why = over_enlarge(history, scale, max_enlarge=limit)
        if why:
            return Attempt(rnd, step, False, why), None, None, history
    found = inspect_step(step, current.rgb, rgb, layout)
    if any(i.severity >= profile.levels[profile.gate.rollback_at] for i in found):
        judged = judge(step.fix, now, now, profile=profile, inspections=found)
        return Attempt(rnd, step, False, judged.reason, inspections=found), None, None, history
    # no PNG per candidate: it is hashed by its pixels, encoded once when packaged
    candidate = from_array(rgb, alpha=alpha, name=image.path, notes=image.notes,
                           provenance=image.provenance, encode=False)
    if alpha is None and current.alpha is not None:
        # flattened: the cut-out's alpha is the composite's subject matte, so its edge is
        # still measured (an opaque picture without one is not)
        candidate = dataclasses.replace(candidate, matte=current.alpha, cache={})
    elif current.matte is not None and alpha is None:
        candidate = _carry_matte(candidate, current, step)
    todo = default_checks() if checks is None else checks
    same_alpha = (alpha is None and current.alpha is None) or (
        alpha is not None and current.alpha is not None and np.array_equal(alpha, current.alpha))
    kept = carried_over(step, current.rgb, rgb, now, todo) if same_alpha else {}
    carried = {m.check for m in kept.values()}
    new = assess(candidate, profile=profile, target=target, prior=kept,
                 checks=[c for c in todo if c.name not in carried], orientations=orientations)
    judged = judge(step.fix, now, new, profile=profile, inspections=found,
                   geometry=layout is not None or rgb.shape != current.rgb.shape)
    why = judged.reason
    if judged.keep and layout is not None:
        why = f"{why}; {layout.describe()}"
    attempt = Attempt(rnd, step, judged.keep, why, judged.changes, judged.levels, found)
    if not judged.keep:
        return attempt, None, None, history
    return attempt, candidate, new, history.after(layout, rgb.shape, scale)


def _mendable(report: Report) -> bool:
    """Whether the loop has work: a ``fix`` verdict, or a ``review`` whose plan still holds
    fixes for its other findings (a letterboxed picture whose anatomy the detectors cannot
    verify gets its bars cropped all the same: the person looks at the mended picture, and
    the mended picture's own measurement decides its verdict)."""
    return report.verdict == "fix" or (report.verdict == "review" and bool(report.plan))


def gate(image: LoadedImage, *, profile: Profile, target: str | None = None,
         max_rounds: int = MAX_ROUNDS, checks: Sequence[Check] | None = None,
         report: Report | None = None,
         background: str | None = None, orientations: tuple[str, ...] = ()) -> GateResult:
    """Take ``image`` through check -> route -> fix -> re-check until it settles.

    Parameters
    ----------
    image : LoadedImage
        The source; never modified.
    profile : Profile
        Thresholds, fixes per code and trash rules (the router's).
    target : str, optional
        Video target (name or .toml path) the framing codes measure against; reframe
        plans its aspect and size.
    max_rounds : int, keyword-only
        Bound on plan rounds (each round applies the current plan once, step by step).
    checks : sequence of Check, optional
        Checks to measure with (default: every registered check).
    report : Report, optional
        The source's report when already measured (saves one assessment).
    background : str, optional
        ``"#rrggbb"`` or an image path: an RGBA cut-out is flattened onto it as the last step
        (:func:`with_background`); without it, transparency goes to review.
    orientations : tuple of str, keyword-only
        The orientations every requested target accepts (several targets:
        :func:`keyframe.targets.shared_orientations`): reframe brings a near-square picture
        to the one they share.

    Returns
    -------
    GateResult
        ``verdict`` is ``certified``, ``review``, ``trash`` or ``error``; ``recipe`` holds
        the kept steps in order, replayable with :func:`keyframe.recipe.replay`.
    """
    if background is not None:
        profile = with_background(profile)
    before = (reroute(report, profile) if report is not None
              else assess(image, profile=profile, target=target, checks=checks,
                          orientations=orientations))
    current, now = image, before
    kept: list[RecipeStep] = []
    history = History()                  # what the kept geometry steps did (the limits)
    attempts: list[Attempt] = []
    tried: set[tuple[str, str]] = set()
    for rnd in range(1, max_rounds + 1):
        if not _mendable(now):
            break
        progress = False
        for planned in now.plan:
            params = ({"background": background} if planned.fix == "flatten" and background
                      else planned.params)
            step = make_step(planned.fix, params)
            key = (step.fix, repr(step.params))
            if key in tried:
                continue
            tried.add(key)
            attempt, candidate, new, after = _attempt(
                rnd, step, current, now, image=image, profile=profile, target=target,
                checks=checks, orientations=orientations, history=history)
            attempts.append(attempt)
            if attempt.kept:
                shape = current.rgb.shape
                current, now, history, progress = candidate, new, after, True
                kept.append(step)
                if current.rgb.shape != shape:
                    break  # geometry changed: the rest of the plan is re-made next round
        if not progress:
            break
    verdict, reason = now.verdict, now.reason
    if verdict == "fix":
        failed = [a for a in attempts if not a.kept]
        why = (f"; {failed[-1].step.fix} was rolled back: {failed[-1].reason}" if failed
               else f" after {max_rounds} round(s)")
        verdict = "review"
        reason = (f"review: the automatic fixes did not mend everything "
                  f"({now.reason.removeprefix('fix: ')}){why}")
    return GateResult(source=image, before=before, after=now, image=current,
                      recipe=from_steps(kept, size=(image.width, image.height),
                                        source_sha256=image.sha256, target=target),
                      attempts=attempts, verdict=verdict, reason=reason, history=history)
