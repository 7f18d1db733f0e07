"""Recipes: an ordered, replayable list of fix steps (TOML or JSON).

::

    schema = "keyframe.recipe/1"
    keyframe_version = "0.1.0"

    [models]                      # model name -> sha256 of every model file a step uses
    "sr-fsrcnn-x2" = "…"

    [[steps]]
    fix = "crop_border"
    params = { top = 12, bottom = 12, left = 0, right = 0 }

    [[steps]]
    fix = "sharpen"
    params = { amount = 0.8, radius = 1.0 }
    region = [120, 40, 256, 256]  # optional: mend only this (x, y, w, h) ...
    feather = 8                   # ... blended back over this many px

A recipe is validated whole (:func:`parse`) before any step runs: an unknown fix, a bad
parameter, a malformed region, a region on a step that changes geometry or a model whose
file no longer has the recorded hash gives one :class:`RecipeError` naming the step number.
Steps are stored with *all* their params (defaults filled in), so a later change of a
default cannot change a replay: the same input, recipe and models give the same bytes.
"""
from __future__ import annotations

import dataclasses
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from keyframe import __version__
from keyframe.fileio import read_text
from keyframe.fixes._common import apply_in_region, check_region
from keyframe.registry import CheckSkipped, Fix, fix_classes

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

SCHEMA = "keyframe.recipe/1"
#: default feather (px) of a local step
DEFAULT_FEATHER = 8
_TOP_KEYS = {"schema", "keyframe_version", "models", "steps", "description"}
_STEP_KEYS = {"fix", "params", "region", "feather"}


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


@dataclass(frozen=True)
class Recipe:
    """An ordered list of steps plus the keyframe version and model hashes they ran with."""

    steps: tuple[RecipeStep, ...] = ()
    models: dict[str, str] = field(default_factory=dict)
    keyframe_version: str = __version__

    def to_dict(self) -> dict[str, Any]:
        return {"schema": SCHEMA, "keyframe_version": self.keyframe_version,
                "models": dict(sorted(self.models.items())),
                "steps": [s.to_dict() for s in self.steps]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    def to_toml(self) -> str:
        return to_toml(self.to_dict())


def params_dict(params: Any) -> dict[str, Any]:
    """Plain, JSON/TOML-ready dict of a fix's Params (tuples become lists)."""
    out = {}
    for f in dataclasses.fields(params):
        v = getattr(params, f.name)
        out[f.name] = list(v) if isinstance(v, tuple) else v
    return out


def step_changes_geometry(fix: type[Fix], params: Any) -> bool:
    """Whether a step may change the image size (a fix may decide per params)."""
    decide = getattr(fix, "step_changes_geometry", None)
    return bool(decide(params)) if decide is not None else bool(fix.changes_geometry)


def step_models(fix: type[Fix], params: Any) -> tuple[str, ...]:
    """Model names (keyframe.models) a step with these params needs; none for most fixes."""
    needs = getattr(fix, "models_for", None)
    return tuple(needs(params)) if needs is not None else ()


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


def parse(data: Any) -> Recipe:
    """Validate a whole recipe (a dict as read from TOML/JSON, or a list of steps)."""
    if isinstance(data, list):
        data = {"steps": data}
    if not isinstance(data, dict):
        raise RecipeError("a recipe is a table with a `steps` list")
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise RecipeError(f"unknown recipe key(s) {', '.join(unknown)}; known: "
                          f"{', '.join(sorted(_TOP_KEYS))}")
    if data.get("schema", SCHEMA) != SCHEMA:
        raise RecipeError(f"schema is {data.get('schema')!r}, expected {SCHEMA!r}")
    raw_steps = data.get("steps")
    if not isinstance(raw_steps, list):
        raise RecipeError("a recipe needs a `steps` list (it may be empty)")
    models = data.get("models") or {}
    if not isinstance(models, dict) or not all(isinstance(v, str) for v in models.values()):
        raise RecipeError("`models` must map model names to sha256 strings")
    steps = []
    for n, raw in enumerate(raw_steps, 1):
        if not isinstance(raw, dict):
            raise RecipeError(f"step {n}: must be a table/object with `fix` and `params`")
        extra = sorted(set(raw) - _STEP_KEYS)
        if extra:
            raise RecipeError(f"step {n}: unknown key(s) {', '.join(extra)}; known: "
                              f"{', '.join(sorted(_STEP_KEYS))}")
        steps.append(make_step(raw.get("fix"), raw.get("params"), region=raw.get("region"),
                               feather=raw.get("feather", DEFAULT_FEATHER), number=n))
    recipe = Recipe(steps=tuple(steps), models=dict(models),
                    keyframe_version=str(data.get("keyframe_version", __version__)))
    check_models(recipe)
    return recipe


def check_models(recipe: Recipe) -> None:
    """Every model a step needs is present and has the hash the recipe recorded."""
    for n, step in enumerate(recipe.steps, 1):
        for name in step_models(fix_classes()[step.fix], step.params):
            try:
                digest = model_sha256(name)
            except (KeyError, OSError, CheckSkipped) as exc:
                raise RecipeError(f"step {n} ({step.fix}): {exc}") from None
            recorded = recipe.models.get(name)
            if recorded is not None and recorded != digest:
                raise RecipeError(f"step {n} ({step.fix}): model {name!r} has sha256 "
                                  f"{digest[:12]}…, the recipe was made with {recorded[:12]}…")


def load(path: str | Path) -> Recipe:
    """Read and validate a recipe file (``.json``, or TOML for anything else)."""
    path = Path(path)
    try:
        text = read_text(path)          # a regular file only: a FIFO is refused, never waited on
    except OSError as exc:
        raise RecipeError(f"{path}: cannot read the recipe: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise RecipeError(f"{path}: not a recipe (not UTF-8 text)") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except ValueError as exc:
        kind = "JSON" if path.suffix.lower() == ".json" else "TOML"
        raise RecipeError(f"{path}: not valid {kind}: {' '.join(str(exc).split())}") from None
    try:
        return parse(data)
    except RecipeError as exc:
        raise RecipeError(f"{path}: {exc}") from None


def from_steps(steps: Iterable[RecipeStep]) -> Recipe:
    """A recipe of ``steps`` recording the current hash of every model they use."""
    steps = tuple(steps)
    names = {m for s in steps for m in step_models(fix_classes()[s.fix], s.params)}
    return Recipe(steps=steps, models={m: model_sha256(m) for m in sorted(names)})


def model_sha256(name: str) -> str:
    """sha256 of model ``name``'s installed file, verified by :func:`keyframe.models.path`
    (raises ``ModelMissing`` with the `keyframe models pull` line when absent or damaged)."""
    from keyframe import models as _models

    _models.path(name)
    return _models.spec(name).sha256


def from_manifest(manifest: dict[str, Any]) -> Recipe:
    """The recipe recorded in a package's ``manifest.json`` (steps and model hashes)."""
    if not isinstance(manifest, dict) or "recipe" not in manifest:
        raise RecipeError("the manifest records no recipe")
    return parse({"keyframe_version": manifest.get("keyframe_version", __version__),
                  "models": manifest.get("models") or {}, "steps": manifest["recipe"]})


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


def replay(recipe: Recipe, rgb: np.ndarray) -> np.ndarray:
    """Run every step in order on ``rgb`` (never modified).

    Raises
    ------
    RecipeError
        A step failed on this image (a region outside it, an external command that failed);
        the message names the step. Nothing is written by this function.
    """
    out = rgb
    for n, step in enumerate(recipe.steps, 1):
        try:
            out = run_step(step, out)
        except (ValueError, RuntimeError, OSError, CheckSkipped) as exc:
            raise RecipeError(f"step {n} ({step.fix}): {exc}") from None
    return out if out is not rgb else rgb.copy()


# ------------------------------------------------------------------------------ TOML writer

def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(x)}"
                                for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def _toml_key(k: str) -> str:
    return k if k.replace("_", "").replace("-", "").isalnum() and k.isascii() else json.dumps(k)


def to_toml(d: dict[str, Any]) -> str:
    """TOML text of a recipe dict (:meth:`Recipe.to_dict`); ``tomllib`` reads it back."""
    lines = [f"schema = {_toml_value(d['schema'])}",
             f"keyframe_version = {_toml_value(d['keyframe_version'])}"]
    if not d["steps"]:
        lines.append("steps = []")
    lines += ["", "[models]"]
    lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in d.get("models", {}).items()]
    for step in d["steps"]:
        lines += ["", "[[steps]]"]
        lines += [f"{k} = {_toml_value(v)}" for k, v in step.items()]
    return "\n".join(lines) + "\n"
