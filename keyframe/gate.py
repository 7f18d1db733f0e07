"""The closed loop: assess -> route -> apply the plan step by step -> re-assess, bounded.

:func:`gate` takes one image through the router's plan. Every step is applied to the current
pixels and the result is measured again with every check; the step is **kept** only when

* it lowered the severity of at least one code it was planned for (the codes whose finding
  routes to that fix), and
* it raised no other code's severity by more than ``epsilon``.

``flatten`` is the exception: it is kept whenever it removed the transparency, because it
changes what the checks see (the chosen background under the once-transparent pixels, where
the checks saw mid-grey) rather than damaging pixels; the flattened picture's verdict decides.

Otherwise it is **rolled back** (the pixels before it are kept) and the attempt is recorded
with the reason. Rounds repeat while the verdict is ``fix`` and the last round kept a step,
up to ``max_rounds``; a kept step that changes the geometry ends its round, so the regions of
the remaining steps are measured again on the new frame; a step identical to one already
rolled back is not tried again.

The end state is the router's verdict on the final pixels, except that a plan the loop could
not complete (still ``fix``) becomes ``review``: ``certified`` pixels can be packaged
(:func:`keyframe.package.write_package` with ``source=`` and ``recipe=``), the rest carry
the reason in one sentence. The gate never writes files; it never makes a score worse by
more than ``epsilon``.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Sequence

from keyframe.assess import assess
from keyframe.image import LoadedImage, from_array
from keyframe.profiles import Profile
from keyframe.recipe import (Recipe, RecipeStep, from_steps, make_step, params_dict,
                             run_step_plane, run_step_rgba)
from keyframe.registry import Check, CheckSkipped
from keyframe.report import Report, level_rank
from keyframe.router import reroute

#: largest rise of any other code's severity a kept step may cause
EPSILON = 0.02
#: smallest fall of a planned code's severity that counts as lowering it (a step that only
#: nudges its code is dead weight in a recipe)
MIN_GAIN = 0.01
MAX_ROUNDS = 3


@dataclass
class Attempt:
    """One step the loop tried: kept or rolled back, and the score changes it caused."""

    round: int
    step: RecipeStep
    kept: bool
    reason: str
    changes: dict[str, tuple[float, float]] = field(default_factory=dict)   # code: (old, new)

    def to_dict(self) -> dict[str, Any]:
        return {"round": self.round, **self.step.to_dict(), "kept": self.kept,
                "reason": self.reason,
                "changes": {c: [round(a, 4), round(b, 4)] for c, (a, b) in self.changes.items()}}


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

    @property
    def rolled_back(self) -> list[Attempt]:
        return [a for a in self.attempts if not a.kept]

    def notes(self) -> list[str]:
        """One line per rolled-back step, for a package manifest."""
        return [f"gate rolled back {a.step.fix} {params_dict(a.step.params)} in round "
                f"{a.round}: {a.reason}" for a in self.rolled_back]

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.source.path, "verdict": self.verdict, "reason": self.reason,
                "quality_before": self.before.quality, "quality_after": self.after.quality,
                "recipe": self.recipe.to_dict(), "attempts": [a.to_dict() for a in self.attempts],
                "scores_before": self.before.scores, "scores_after": self.after.scores}


def judge(step: str, before: Report, after: Report, *, epsilon: float = EPSILON
          ) -> tuple[bool, str, dict[str, tuple[float, float]]]:
    """Keep or roll back: did ``step`` lower a code it was planned for without raising another?

    Returns ``(keep, reason, changes)``; ``changes`` maps every code whose severity moved by
    more than 0.001 to ``(old, new)``.
    """
    old, new = before.scores, after.scores
    changes = {c: (old[c], new[c]) for c in old if c in new and abs(new[c] - old[c]) > 1e-3}
    targets = [f.code for f in before.findings
               if f.fix == step and level_rank(f.level) >= level_rank("major")]
    if step == "flatten" and targets and all(new.get(c, 0.0) < old[c] - MIN_GAIN
                                             for c in targets):
        # flattening changes what the checks see (the chosen background instead of the
        # mid-grey stand-in under transparent pixels), it does not damage pixels: other
        # codes move with the background, and the flattened picture's verdict decides
        moved = ", ".join(f"{c} {a:.2f} -> {b:.2f}" for c, (a, b) in changes.items()
                          if c not in targets) or "nothing else"
        return True, (f"flattened ({', '.join(targets)} gone); the verdict of the flattened "
                      f"picture decides (moved: {moved})"), changes
    raised = sorted(((new[c] - old[c], c) for c in old
                     if c in new and c not in targets and new[c] - old[c] > epsilon), reverse=True)
    if raised:
        rise, code = raised[0]
        return False, (f"raised {code} from {old[code]:.2f} to {new[code]:.2f} "
                       f"(more than {epsilon:g})"), changes
    lowered = [c for c in targets if c in new and new[c] < old[c] - MIN_GAIN]
    if targets and not lowered:
        c = targets[0]
        return False, (f"did not lower {c} ({old[c]:.2f} -> {new.get(c, old[c]):.2f})"), changes
    done = ", ".join(f"{c} {old[c]:.2f} -> {new[c]:.2f}" for c in lowered) or "no planned code"
    return True, f"lowered {done}", changes


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
                      provenance=image.provenance), step


def _carry_matte(candidate: LoadedImage, current: LoadedImage, step: RecipeStep
                 ) -> LoadedImage:
    """``candidate`` with ``current``'s subject matte, brought along a geometry change the
    way an alpha plane is (so every re-assessment reads the same boundary)."""
    matte, source = current.matte, current.matte_source
    if candidate.rgb.shape[:2] != current.rgb.shape[:2]:
        matte = run_step_plane(step, matte)    # the colour step already ran: only the plane
        source = ""           # the file no longer fits the frame: dehalo plans without it
    return dataclasses.replace(candidate, matte=matte, matte_source=source, cache={})


def gate(image: LoadedImage, *, profile: Profile, target: str | None = None,
         max_rounds: int = MAX_ROUNDS, epsilon: float = EPSILON,
         checks: Sequence[Check] | None = None, report: Report | None = None,
         background: str | None = None) -> GateResult:
    """Take ``image`` through check -> route -> fix -> re-check until it settles.

    Parameters
    ----------
    image : LoadedImage
        The source; never modified.
    profile : Profile
        Thresholds, fixes per code and trash rules (the router's).
    max_rounds : int, keyword-only
        Bound on plan rounds (each round applies the current plan once, step by step).
    epsilon : float, keyword-only
        Largest rise of another code's severity a kept step may cause.
    checks : sequence of Check, optional
        Checks to measure with (default: every registered check).
    report : Report, optional
        The source's report when already measured (saves one assessment).
    background : str, optional
        ``"#rrggbb"`` or an image path: an RGBA cut-out is flattened onto it as the last step
        (:func:`with_background`); without it, transparency goes to review.

    Returns
    -------
    GateResult
        ``verdict`` is ``certified``, ``review``, ``trash`` or ``error``; ``recipe`` holds
        the kept steps in order, replayable with :func:`keyframe.recipe.replay`.
    """
    if background is not None:
        profile = with_background(profile)
    before = (reroute(report, profile) if report is not None
              else assess(image, profile=profile, target=target, checks=checks))
    current, now = image, before
    kept: list[RecipeStep] = []
    attempts: list[Attempt] = []
    tried: set[tuple[str, str]] = set()
    for rnd in range(1, max_rounds + 1):
        if now.verdict != "fix":
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
            try:
                rgb, alpha = run_step_rgba(step, current.rgb, current.alpha)
            except (ValueError, RuntimeError, CheckSkipped) as exc:
                attempts.append(Attempt(rnd, step, False, f"failed: {exc}"))
                continue
            candidate = from_array(rgb, alpha=alpha, name=image.path, notes=image.notes,
                                   provenance=image.provenance)
            if alpha is None and current.alpha is not None:
                # flattened: the cut-out's alpha is the composite's subject matte, so its
                # edge is still measured (an opaque picture without one is not)
                candidate = dataclasses.replace(candidate, matte=current.alpha, cache={})
            elif current.matte is not None and alpha is None:
                candidate = _carry_matte(candidate, current, step)
            new = assess(candidate, profile=profile, target=target, checks=checks)
            keep, why, changes = judge(step.fix, now, new, epsilon=epsilon)
            attempts.append(Attempt(rnd, step, keep, why, changes))
            if keep:
                shape = current.rgb.shape
                current, now, progress = candidate, new, True
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
                      recipe=from_steps(kept), attempts=attempts, verdict=verdict, reason=reason)
