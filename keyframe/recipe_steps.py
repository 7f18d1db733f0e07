"""Recipe steps: one fix with its full, validated params and an optional region, and how a
step runs on pixels.

:func:`make_step` validates a step (a registered fix, params within the fix's bounds, a
whole-pixel region, no region on a step that changes geometry) and :func:`run_step` applies it
(locally, feathered, when it has a region); :func:`run_step_rgba` and :func:`run_step_plane`
carry an alpha plane or a matte along. A whole recipe (parse, load, hashes of the models and
files, replay on a picture of another size) is :mod:`keyframe.recipe`, which re-exports these
names.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np

from keyframe.fixes._common import apply_in_region, check_region
from keyframe.registry import Fix, fix_classes

#: default feather (px) of a local step
DEFAULT_FEATHER = 8


class RecipeError(ValueError):
    """A recipe that cannot be used; the message is one line and names the step."""


@dataclass(frozen=True)
class RecipeStep:
    """One validated step: a registered fix, its full params, and an optional region."""

    fix: str
    params: Any                               # the fix's frozen Params instance
    region: tuple[int, int, int, int] | None = None
    feather: int = DEFAULT_FEATHER

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"fix": self.fix, "params": params_dict(self.params)}
        if self.region is not None:
            d["region"] = list(self.region)
            d["feather"] = self.feather
        return d


def params_dict(params: Any) -> dict[str, Any]:
    """Plain, JSON/TOML-ready dict of a fix's Params (tuples become lists)."""
    out = {}
    for f in dataclasses.fields(params):
        v = getattr(params, f.name)
        out[f.name] = list(v) if isinstance(v, tuple) else v
    return out


def step_changes_geometry(fix: type[Fix], params: Any) -> bool:
    """Whether a step may change the image size (:meth:`Fix.geometry_changes`)."""
    return bool(fix.geometry_changes(params))


def step_models(fix: type[Fix], params: Any) -> tuple[str, ...]:
    """Model names (keyframe.models) a step with these params needs (:meth:`Fix.models_for`)."""
    return tuple(fix.models_for(params))


def make_step(fix: str, params: dict[str, Any] | None = None, *,
              region: Iterable[int] | None = None, feather: int = DEFAULT_FEATHER,
              number: int = 1) -> RecipeStep:
    """Validate one step; ``number`` (1-based) is quoted in the error."""
    classes = fix_classes()
    where = f"step {number}"
    if not isinstance(fix, str) or fix not in classes:
        raise RecipeError(f"{where}: unknown fix {fix!r}; known: {', '.join(sorted(classes))}")
    where = f"step {number} ({fix})"
    if params is not None and not isinstance(params, dict):
        raise RecipeError(f"{where}: params must be a table/object")
    try:
        validated = classes[fix].validate(params)
    except (ValueError, TypeError) as exc:
        raise RecipeError(f"{where}: {exc}") from None
    box = None
    if region is not None:
        try:
            box = tuple(int(v) for v in region)
            ok = len(box) == 4 and all(float(a) == b for a, b in zip(region, box))
        except (TypeError, ValueError):
            ok = False
        if not ok or box[2] <= 0 or box[3] <= 0 or box[0] < 0 or box[1] < 0:
            raise RecipeError(f"{where}: region must be [x, y, w, h] with whole x, y >= 0 and "
                              f"w, h > 0, got {region!r}")
        if step_changes_geometry(classes[fix], validated):
            raise RecipeError(f"{where}: a step that changes geometry cannot have a region")
    if isinstance(feather, bool) or not isinstance(feather, int) or not 0 <= feather <= 512:
        raise RecipeError(f"{where}: feather must be a whole number of px in [0, 512], "
                          f"got {feather!r}")
    return RecipeStep(fix=fix, params=validated, region=box, feather=feather)


def run_step(step: RecipeStep, rgb: np.ndarray) -> np.ndarray:
    """Apply one step to ``rgb`` (locally when it has a region); a new array."""
    fix = fix_classes()[step.fix]()
    if step.region is None:
        return fix.apply(rgb, step.params)
    check_region(step.region, rgb.shape[1], rgb.shape[0])
    return apply_in_region(lambda crop: fix.apply(crop, step.params), rgb, step.region,
                           feather=step.feather)


def run_step_rgba(step: RecipeStep, rgb: np.ndarray, alpha: np.ndarray | None
                  ) -> tuple[np.ndarray, np.ndarray | None]:
    """:func:`run_step` carrying an alpha plane along (an RGBA cut-out).

    A fix that works on alpha (``uses_alpha``: defringe, refine_alpha, flatten) gets both
    planes and runs on the whole frame. Any other step runs on the colour; when it changes
    the geometry (crop, reframe, upscale) it is applied to the alpha plane too, as a grey
    image, so the two planes stay aligned.
    """
    if alpha is None:
        return run_step(step, rgb), None
    fix = fix_classes()[step.fix]()
    if fix.uses_alpha:
        if step.region is not None:
            raise ValueError(f"{step.fix} works on the whole frame: it takes no region")
        return fix.apply_rgba(rgb, alpha, step.params)
    out = run_step(step, rgb)
    if out.shape[:2] != rgb.shape[:2]:
        alpha = run_step_plane(step, alpha)
    return out, alpha


def run_step_plane(step: RecipeStep, plane: np.ndarray) -> np.ndarray:
    """A geometry step (crop, reframe, upscale) applied to an H x W uint8 plane — an alpha
    plane or a subject matte — as a grey image, so it stays aligned with the colour."""
    return np.ascontiguousarray(run_step(step, np.repeat(plane[..., None], 3, axis=2))[..., 0])
