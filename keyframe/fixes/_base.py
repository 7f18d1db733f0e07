"""The fix contract: :class:`Fix`, one pure ``rgb -> rgb`` pixel step with typed params.

A fix's ``Params`` is a frozen dataclass whose field metadata bounds (``min``, ``max``,
``choices``) :meth:`Fix.validate` enforces, so a recipe is checked whole before any step
runs. A fix declares what the pipeline needs to know about it: its ``stage`` in a plan,
whether a step changes the geometry (:meth:`Fix.geometry_changes`), the models and files a
step reads (:meth:`Fix.models_for`, :meth:`Fix.files_for`), the measurement keys it plans
from and the gate's ``keep_rule``. It never judges pixels. The public name is
``keyframe.registry.Fix`` (re-exported there, next to the registry of fixes).
"""
from __future__ import annotations

import abc
import dataclasses
import typing
from typing import Any, ClassVar

import numpy as np

from keyframe.report import Measurement


class Fix(abc.ABC):
    """A pure image -> image step. Subclasses set ``name``, ``Params`` and ``changes_geometry``.

    ``Params`` is a frozen dataclass; each field may carry ``metadata={"min": .., "max": ..,
    "choices": (..)}`` which :meth:`validate` enforces, so a recipe is checked whole before
    any step runs.
    """

    name: ClassVar[str]
    Params: ClassVar[type]
    changes_geometry: ClassVar[bool] = False
    #: the finding codes this fix is meant to mend (documentation and routing sanity)
    mends: ClassVar[tuple[str, ...]] = ()
    #: where the router puts the step in a plan (lower first): 10-59 local repairs whose
    #: regions are in source pixels (erase, edge repairs), 60-79 geometry (the gate re-plans
    #: after a step that changes it, so later regions are measured anew), 80-139 artefact
    #: removal, 140-159 detail restoration, 160 flatten; a plug-in declares its own
    stage: ClassVar[int] = 100
    #: how the gate judges the step (keyframe.gate.judge): ``"level"`` — kept when it lowers
    #: a code it was planned for and no code ends a level higher; ``"mended"`` — kept when it
    #: lowers every code it was planned for, whatever else moves (flatten: the checks then
    #: see the chosen background instead of mid-grey, which moves other codes without damage)
    keep_rule: ClassVar[str] = "level"
    #: True: the step only takes away padding around the content (crop_border's bars), so
    #: where the content sits and how large it is were already what the frame then shows: a
    #: rise of a check's ``geometric_codes`` after it is uncovered, not caused (the astronaut
    #: whose hair meets the bar reads subject_near_edge 0.74 once the bar is gone), and the
    #: next round plans its fix. So is a rise of any other code: every content pixel is as
    #: it was, and a whole-frame reading without the bars diluting it is the content's own
    #: (COCO 000000040083 window-boxed: oversharpened 0.23 with the bars, 0.38 without — the
    #: exact original); the result's verdict routes it
    uncovers_frame: ClassVar[bool] = False
    #: the measurement keys :meth:`plan_params` reads from the finding it mends (a contract
    #: test ties each one to a key its check emits: a renamed key cannot silently turn a
    #: planned step into its defaults)
    reads: ClassVar[tuple[str, ...]] = ()
    #: params that locate the content of the picture the step was planned on (reframe's
    #: protected boxes, a face box), name -> what they are in words: on another picture
    #: (another source sha256) a recipe's replay re-plans them from a fresh measurement
    #: (:attr:`content_checks`), or refuses the step. Params that hold for a whole campaign
    #: (crop widths of a template's bars, a fixed watermark region) are not listed
    content_px: ClassVar[dict[str, str]] = {}
    #: the checks whose measurements re-locate :attr:`content_px` on another picture, in
    #: the order they run; :meth:`plan_params` plans from the last one's measurement of a
    #: code this fix ``mends`` — the path the gate plans from. Empty: they cannot be
    #: re-measured, and a replay on another picture refuses the step
    content_checks: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def geometry_changes(cls, params: Any) -> bool:
        """Whether a step with ``params`` may change the image's size (default: the class's
        ``changes_geometry``; a fix may decide per params)."""
        return bool(cls.changes_geometry)

    @classmethod
    def models_for(cls, params: Any) -> tuple[str, ...]:
        """Model names (``keyframe.models``) a step with ``params`` needs: a recipe records
        their sha256. None for most fixes."""
        return ()

    @classmethod
    def validate(cls, params: dict[str, Any] | None) -> Any:
        """Turn a plain dict into ``Params``; raise ``ValueError`` with one clear line."""
        params = dict(params or {})
        fields = {f.name: f for f in dataclasses.fields(cls.Params)}
        unknown = sorted(set(params) - set(fields))
        if unknown:
            raise ValueError(f"{cls.name}: unknown parameter(s) {', '.join(unknown)}; "
                             f"known: {', '.join(fields) or 'none'}")
        hints = typing.get_type_hints(cls.Params)
        values = {}
        for name, value in params.items():
            f = fields[name]
            values[name] = _coerce(cls.name, name, value, hints[name], f.metadata)
        return cls.Params(**values)

    @classmethod
    def plan_params(cls, measurement: Measurement) -> dict[str, Any]:
        """Params suited to what was measured (default: the fix's defaults)."""
        return {}

    @classmethod
    def files_for(cls, params: Any) -> tuple[str, ...]:
        """Paths of the files a step with ``params`` reads (a subject matte, a background
        image, a mask): a recipe records their sha256 and a replay refuses a file that
        changed. None for most fixes."""
        return ()

    @abc.abstractmethod
    def apply(self, rgb: np.ndarray, params: Any) -> np.ndarray:
        """Return a new HxWx3 uint8 array; never modify ``rgb``."""

    #: True for fixes that read or change the alpha plane (call :meth:`apply_rgba`)
    uses_alpha: ClassVar[bool] = False

    def apply_rgba(self, rgb: np.ndarray, alpha: np.ndarray | None, params: Any
                   ) -> tuple[np.ndarray, np.ndarray | None]:
        """RGB (straight colour) and alpha (HxW uint8 or None) -> new ``(rgb, alpha)``.

        The default runs :meth:`apply` and passes ``alpha`` through; alpha-aware fixes
        (``uses_alpha = True``) override it. ``alpha`` None in the result means opaque.
        """
        return self.apply(rgb, params), alpha


def _coerce(fix: str, name: str, value: Any, hint: Any, meta: Any) -> Any:
    base = typing.get_origin(hint) or hint
    try:
        if base is float:
            if isinstance(value, bool):
                raise TypeError
            value = float(value)
        elif base is int:
            if isinstance(value, bool) or float(value) != int(value):
                raise TypeError
            value = int(value)
        elif base is bool:
            if not isinstance(value, bool):
                raise TypeError
        elif base is str:
            if not isinstance(value, str):
                raise TypeError
    except (TypeError, ValueError):
        raise ValueError(f"{fix}: parameter {name}={value!r} is not a "
                         f"{getattr(base, '__name__', base)}") from None
    lo, hi, choices = meta.get("min"), meta.get("max"), meta.get("choices")
    if lo is not None and value < lo or hi is not None and value > hi:
        raise ValueError(f"{fix}: parameter {name}={value!r} is outside [{lo}, {hi}]")
    if choices is not None and value not in choices:
        raise ValueError(f"{fix}: parameter {name}={value!r} is not one of {', '.join(choices)}")
    return value
