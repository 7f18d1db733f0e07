"""Recipes: an ordered, replayable list of fix steps (TOML or JSON).

::

    schema = "keyframe.recipe/1"
    keyframe_version = "0.1.0"

    [models]                      # model name -> sha256 of every model file a step uses
    "sr-fsrcnn-x2" = "…"

    [files]                       # path -> sha256 of every file a step reads (a matte,
    "/work/mattes/hero.png" = "…"  # a background image, a mask); a replay refuses a change

    [[steps]]
    fix = "crop_border"
    params = { top = 12, bottom = 12, left = 0, right = 0 }

    [[steps]]
    fix = "sharpen"
    params = { amount = 0.8, radius = 1.0 }
    region = [120, 40, 256, 256]  # optional: mend only this (x, y, w, h) ...
    feather = 8                   # ... blended back over this many px

A recipe made by ``keyframe gate`` records the ``size = [w, h]`` of the picture it was made
on, its ``source_sha256`` and the video ``target`` the gate measured for. On another picture
(another sha256) a step whose params locate that picture's content (a fix's ``content_px``:
reframe's protected boxes) is re-planned from a fresh measurement of this picture, or
refused (:mod:`keyframe.recipe_replan`); the same picture replays byte for byte, and a recipe
that records no sha256 (hand-written, or recorded before it was) replays its boxes as they
are. A step with absolute geometry — a ``region``, or params in source pixels (a fix's
``source_px``: crop widths, protected boxes, erase boxes, a face box) — fits that size only:
:func:`replay` on a picture of another size refuses it with one line, unless the recipe says
``scale_geometry = true``, in which case those numbers are scaled to the new size.

A recipe is validated whole (:func:`parse`) before any step runs: an unknown fix, a bad
parameter, a malformed region, a region on a step that changes geometry or a model whose
file no longer has the recorded hash gives one :class:`RecipeError` naming the step number.
Steps are stored with *all* their params (defaults filled in), so a later change of a
default cannot change a replay: the same input, recipe and models give the same bytes.

One step (validated by :func:`make_step`, run by :func:`run_step` and its RGBA and plane
variants) is :mod:`keyframe.recipe_steps`; this module re-exports those names.
"""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from keyframe import __version__
from keyframe.fileio import read_text
from keyframe.recipe_steps import (DEFAULT_FEATHER, RecipeError, RecipeStep, make_step,
                                   params_dict, run_step, step_models)
# re-exported: callers (the gate, tests, scripts) import the step names from keyframe.recipe
from keyframe.recipe_steps import run_step_plane, run_step_rgba  # noqa: F401
from keyframe.recipe_toml import to_toml
from keyframe.registry import CheckSkipped, fix_classes

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

SCHEMA = "keyframe.recipe/1"
_TOP_KEYS = {"schema", "keyframe_version", "models", "files", "steps", "description", "size",
             "scale_geometry", "source_sha256", "target"}
_STEP_KEYS = {"fix", "params", "region", "feather"}


@dataclass(frozen=True)
class Recipe:
    """An ordered list of steps plus the keyframe version and model hashes they ran with."""

    steps: tuple[RecipeStep, ...] = ()
    models: dict[str, str] = field(default_factory=dict)
    keyframe_version: str = __version__
    #: (width, height) of the picture the recipe was made on, when known
    size: tuple[int, int] | None = None
    #: replay on another size scales the steps' absolute geometry instead of refusing
    scale_geometry: bool = False
    #: path -> sha256 of every file a step reads (``Fix.files_for``), checked at replay
    files: dict[str, str] = field(default_factory=dict)
    #: sha256 of the picture the recipe was made on (its file's, or its pixels'), when known
    source_sha256: str | None = None
    #: the video target the gate measured the picture for (re-measuring content needs it)
    target: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"schema": SCHEMA, "keyframe_version": self.keyframe_version}
        if self.size is not None:
            d["size"] = list(self.size)
        if self.source_sha256:
            d["source_sha256"] = self.source_sha256
        if self.target:
            d["target"] = self.target
        if self.scale_geometry:
            d["scale_geometry"] = True
        files = {"files": dict(sorted(self.files.items()))} if self.files else {}
        return {**d, "models": dict(sorted(self.models.items())), **files,
                "steps": [s.to_dict() for s in self.steps]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    def to_toml(self) -> str:
        return to_toml(self.to_dict())


def file_sha256s(steps: Iterable[RecipeStep]) -> dict[str, str]:
    """path -> sha256 of every file ``steps`` read (:meth:`Fix.files_for`); a file that
    cannot be read is a :class:`RecipeError`."""
    from keyframe.fileio import sha256_file

    out = {}
    for n, step in enumerate(steps, 1):
        for path in fix_classes()[step.fix].files_for(step.params):
            digest = sha256_file(path)
            if digest is None:
                raise RecipeError(f"step {n} ({step.fix}): cannot read {path}")
            out[path] = digest
    return out


def check_files(recipe: Recipe) -> None:
    """Every file a step reads is there with the sha256 the recipe recorded (a recipe that
    recorded none — hand-written, or older — is not checked)."""
    if not recipe.files:
        return
    for n, step in enumerate(recipe.steps, 1):
        current = file_sha256s([step])
        for path, digest in current.items():
            recorded = recipe.files.get(path)
            if recorded is not None and recorded != digest:
                raise RecipeError(f"step {n} ({step.fix}): {path} has sha256 {digest[:12]}…, "
                                  f"the recipe was made with {recorded[:12]}…")


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
    files = data.get("files") or {}
    if not isinstance(files, dict) or not all(isinstance(v, str) for v in files.values()):
        raise RecipeError("`files` must map file paths to sha256 strings")
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
    size = data.get("size")
    if size is not None and not (isinstance(size, list) and len(size) == 2 and all(
            isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in size)):
        raise RecipeError(f"`size` must be [width, height] in whole px, got {size!r}")
    scale = data.get("scale_geometry", False)
    if not isinstance(scale, bool):
        raise RecipeError(f"`scale_geometry` must be true or false, got {scale!r}")
    for key in ("source_sha256", "target"):
        if not isinstance(data.get(key, ""), str):
            raise RecipeError(f"`{key}` must be a string, got {data[key]!r}")
    recipe = Recipe(steps=tuple(steps), models=dict(models),
                    keyframe_version=str(data.get("keyframe_version", __version__)),
                    size=tuple(size) if size else None, scale_geometry=scale,
                    files=dict(files), source_sha256=data.get("source_sha256") or None,
                    target=data.get("target") or None)
    check_models(recipe)
    check_files(recipe)
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


def from_steps(steps: Iterable[RecipeStep], *, size: tuple[int, int] | None = None,
               source_sha256: str | None = None, target: str | None = None) -> Recipe:
    """A recipe of ``steps`` (made on a picture of ``size`` and ``source_sha256``, for the
    video ``target``) recording the current hash of every model they use."""
    steps = tuple(steps)
    names = {m for s in steps for m in step_models(fix_classes()[s.fix], s.params)}
    return Recipe(steps=steps, models={m: model_sha256(m) for m in sorted(names)}, size=size,
                  files=file_sha256s(steps), source_sha256=source_sha256 or None,
                  target=target or None)


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
    data = {"keyframe_version": manifest.get("keyframe_version", __version__),
            "models": manifest.get("models") or {}, "files": manifest.get("files") or {},
            "steps": manifest["recipe"]}
    source = manifest.get("source")
    if isinstance(source, dict) and source.get("width") and source.get("height"):
        data["size"] = [source["width"], source["height"]]   # the steps ran on the source
    borrowed = any("source had no file bytes" in str(n) for n in manifest.get("notes") or ())
    if isinstance(source, dict) and isinstance(source.get("sha256"), str) and not borrowed:
        data["source_sha256"] = source["sha256"]       # not keyframe.png's, standing in
    if isinstance(manifest.get("target"), str):
        data["target"] = manifest["target"]
    return parse(data)


@dataclass(frozen=True)
class Replayed:
    """A replay's pixels and what it had to re-measure (one line per re-planned step)."""

    rgb: np.ndarray
    notes: tuple[str, ...] = ()


def replay(recipe: Recipe, rgb: np.ndarray, *, sha256: str | None = None) -> np.ndarray:
    """Run every step in order on ``rgb`` (never modified); :func:`replay_noted`'s pixels."""
    return replay_noted(recipe, rgb, sha256=sha256).rgb


def replay_noted(recipe: Recipe, rgb: np.ndarray, *, sha256: str | None = None
                 ) -> Replayed:
    """Run every step in order on ``rgb`` (never modified), read from a file of sha256
    ``sha256`` when known.

    On the picture the recipe was made on (its recorded ``source_sha256`` is the file's or
    the pixels'), or when the recipe records none, the steps run as recorded. On another
    picture a step with content params (``Fix.content_px``: reframe's protected boxes) is
    re-planned from a fresh measurement of the pixels it sees
    (:func:`keyframe.recipe_replan.relocate`), and the returned ``notes`` say so.

    Raises
    ------
    RecipeError
        A step failed on this image (a region outside it, an external command that failed),
        has absolute geometry made for another size and the recipe does not allow scaling
        it, or locates the content of another picture and cannot re-measure it; the message
        names the step. Nothing is written by this function.
    """
    from keyframe.recipe_replan import relocate, same_picture

    other = not same_picture(recipe.source_sha256, rgb, sha256)
    steps = _fit_geometry(recipe, rgb.shape[1], rgb.shape[0], relocated=other)
    out, notes = rgb, []
    for n, step in enumerate(steps, 1):
        if other:
            step, note = relocate(step, out, target=recipe.target, number=n)
            notes += [note] if note else []
        try:
            out = run_step(step, out)
        except (ValueError, RuntimeError, OSError, CheckSkipped) as exc:
            raise RecipeError(f"step {n} ({step.fix}): {exc}") from None
    return Replayed(rgb=out if out is not rgb else rgb.copy(), notes=tuple(notes))


def _absolute(step: RecipeStep, *, relocated: bool = False) -> list[str]:
    """The parts of ``step`` in source pixels: its region, its fix's ``source_px`` params
    that are set (non-zero, non-empty) — but not its ``content_px`` when ``relocated``
    (they are re-measured on the new picture, in its own pixels)."""
    fix = fix_classes()[step.fix]
    skip = fix.content_px if relocated else {}
    found = ["region"] if step.region is not None else []
    return found + [name for name in getattr(fix, "source_px", {})
                    if getattr(step.params, name) and name not in skip]


def _scaled(value: Any, kind: str, fx: float, fy: float) -> Any:
    """``value`` of a ``source_px`` kind (x, y, box, boxes, regions) scaled by fx, fy."""
    def box(b: Any) -> list[int]:
        x, y, w, h = (float(v) for v in b)
        return [round(x * fx), round(y * fy), max(1, round(w * fx)), max(1, round(h * fy))]
    if kind == "x":
        return round(value * fx)
    if kind == "y":
        return round(value * fy)
    if kind == "boxes":
        return [box(b) for b in value]
    if kind == "regions":          # "x,y,w,h;x,y,w,h"
        return ";".join(",".join(str(v) for v in box(p.split(",")))
                        for p in filter(None, (q.strip() for q in value.split(";"))))
    raise ValueError(f"unknown source_px kind {kind!r}")


def _fit_geometry(recipe: Recipe, width: int, height: int, *, relocated: bool = False
                  ) -> tuple[RecipeStep, ...]:
    """The recipe's steps for a ``width`` x ``height`` input: as they are on the size the
    recipe was made on (or when it records none); scaled when ``scale_geometry``; else a
    :class:`RecipeError` for the first step with absolute geometry. ``relocated``: the input
    is another picture, whose content params are re-measured (not scaled, not refused)."""
    if recipe.size is None or tuple(recipe.size) == (width, height):
        return recipe.steps
    w0, h0 = recipe.size
    fx, fy = width / w0, height / h0
    out = []
    for n, step in enumerate(recipe.steps, 1):
        parts = _absolute(step, relocated=relocated)
        if parts and not recipe.scale_geometry:
            verb = "is" if len(parts) == 1 else "are"
            raise RecipeError(
                f"step {n} ({step.fix}): its {', '.join(parts)} {verb}"
                f" in pixels of the {w0}x{h0} picture the recipe was made on, this one is "
                f"{width}x{height}; refused (set `scale_geometry = true` in the recipe to "
                "scale them)")
        if parts:
            px = getattr(fix_classes()[step.fix], "source_px", {})
            params = {**params_dict(step.params),
                      **{k: _scaled(getattr(step.params, k), px[k], fx, fy)
                         for k in px if k in parts}}
            region = (None if step.region is None
                      else _scaled([step.region], "boxes", fx, fy)[0])
            step = make_step(step.fix, params, region=region, feather=step.feather, number=n)
        out.append(step)
    return tuple(out)
