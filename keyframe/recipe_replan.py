"""Replaying a recipe on another picture: the steps whose params locate THAT picture's content.

A recipe made by the gate records the sha256 of the picture it was made on
(``source_sha256``) and the video target its framing was measured for (``target``). A fix's
``content_px`` params — reframe's protected boxes: where that picture's subject is — mean
nothing on another picture: the SD 3.5 bottle's box [451, 316, 129, 708] laid over another
1024 x 1024 generation crops wherever that picture's subject happens to be (through the head
of the girl of ComfyUI's ``girl_in_field.png``). On another picture :func:`relocate`
re-plans them from a fresh measurement of the pixels the step will see: the fix's
``content_checks`` run (anatomy's faces and persons, then framing's subject box for the
recorded target) and the fix's own ``plan_params`` turns the last one's measurement into
params — the path the gate plans from. Only the content params are taken from that plan;
every other param stays as recorded (the campaign's output size, mode, margin). A fix that
declares no ``content_checks`` (face_detail's face box), or a measurement that does not run,
refuses the step with one line. Params that hold for a whole campaign (crop widths of a
template's bars, a fixed watermark region) are not content params and replay as recorded.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from keyframe.recipe_steps import RecipeError, RecipeStep, make_step, params_dict
from keyframe.registry import Fix, fix_classes
from keyframe.report import Measurement


def same_picture(recorded: str | None, rgb: np.ndarray, sha256: str | None) -> bool:
    """Whether ``rgb`` (read from a file of sha256 ``sha256``, when known) is the picture the
    recipe was made on: the recorded sha256 is its file's or its pixels'
    (:func:`keyframe.image.pixel_sha256`). True when the recipe records none (recipes
    recorded before the sha256 was replay as they always did)."""
    if not recorded or (sha256 and sha256 == recorded):
        return True
    from keyframe.image import pixel_sha256

    return pixel_sha256(rgb) == recorded


def content_params(step: RecipeStep) -> list[str]:
    """The :attr:`Fix.content_px` params of ``step`` that are set (non-zero, non-empty)."""
    return [n for n in fix_classes()[step.fix].content_px if getattr(step.params, n)]


def relocate(step: RecipeStep, rgb: np.ndarray, *, target: str | None, number: int
             ) -> tuple[RecipeStep, str | None]:
    """``step`` with its content params re-planned for ``rgb`` (another picture than the
    recipe's), and the line saying so; ``(step, None)`` when it has none set.

    Raises
    ------
    RecipeError
        The fix cannot re-measure its content params, or its measurement did not run; one
        line naming the step.
    """
    names = content_params(step)
    if not names:
        return step, None
    fix = fix_classes()[step.fix]
    where = f"step {number} ({step.fix})"
    words = ", ".join(dict.fromkeys(fix.content_px[n] for n in names))
    if not fix.content_checks:
        raise RecipeError(f"{where}: its {words} locates the content of the picture the recipe "
                          f"was made on; this is another picture and {step.fix} cannot "
                          "re-measure it; refused")
    found, notes = _measure(fix, rgb, target=target, where=where)
    planned = params_dict(fix.validate(fix.plan_params(found)))   # defaults for the rest
    params = {**params_dict(step.params), **{n: planned[n] for n in fix.content_px}}
    new = make_step(step.fix, params, region=step.region, feather=step.feather, number=number)
    values = [planned[n] for n in fix.content_px if planned[n]]
    if not values:
        said = "nothing located (the fix's default applies)"
    elif len(fix.content_px) == 1:
        said = _words(values[0])
    else:
        said = ", ".join(f"{n} {planned[n]}" for n in fix.content_px)
    source = found.measurements.get("subject_source")
    why = [f"from {found.code}" + (f", subject: {source}" if source else "")] + notes
    return new, f"{step.fix}: {words} re-measured on this picture: {said} ({'; '.join(why)})"


def _words(value: Any) -> str:
    """A content param's value in a line: a list of boxes as ``[x, y, w, h]`` each."""
    if isinstance(value, list) and value and isinstance(value[0], list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _measure(fix: type[Fix], rgb: np.ndarray, *, target: str | None, where: str
             ) -> tuple[Measurement, list[str]]:
    """The measurement ``fix`` plans from (its last ``content_checks``' measurement of the
    first code it ``mends``), made on ``rgb`` for ``target``, and a line per earlier check
    that did not run (its boxes are then missing from the measurement: said, not hidden)."""
    from keyframe.assess import default_checks, measure
    from keyframe.image import LoadedImage

    by_name = {c.name: c for c in default_checks()}
    unknown = [n for n in fix.content_checks if n not in by_name]
    if unknown:
        raise RecipeError(f"{where}: check(s) {', '.join(unknown)} are not registered: cannot "
                          "re-measure this picture; refused")
    found, skipped = measure(LoadedImage(rgb=np.ascontiguousarray(rgb)), target=target,
                             checks=[by_name[n] for n in fix.content_checks])
    last = fix.content_checks[-1]
    codes = [c for c in fix.mends if c in found]
    if not codes or any(s.check == last for s in skipped):
        reason = next((s.reason for s in skipped if s.check == last), "no measurement")
        raise RecipeError(f"{where}: the {last} check did not measure this picture "
                          f"({reason}); refused")
    return found[codes[0]], [f"{s.check} not run: {s.reason}" for s in skipped]
