"""Check and fix registries.

A **check** is one class per family (``artifact``, ``edge_halo``, …) that owns a fixed set of
finding codes and *measures* them: :meth:`Check.measure` gets the image and a
:class:`Context` (the video target, the measurements of earlier stages) and returns one
:class:`~keyframe.report.Measurement` per code it owns, never a level or a verdict. A check
that cannot run (a model is missing, the input has no alpha to look at) raises
:class:`CheckSkipped` with a reason that tells the user how to fix it.

A **fix** is one class per pixel operation: a pure ``rgb -> rgb`` step with typed params
(a frozen dataclass), declaring whether it changes geometry. It never judges pixels. Its
contract, :class:`Fix`, is defined in :mod:`keyframe.fixes._base` and re-exported here.

Built-in checks are listed in :data:`BUILTIN_CHECKS`, built-in fixes in
:data:`BUILTIN_FIXES`; plug-ins register through the ``keyframe.checks`` and
``keyframe.fixes`` entry-point groups, and a plug-in whose name is already taken (by a
built-in or another plug-in) is a :class:`RegistryError`. A fix declares everything the
pipeline needs to know about it: its ``stage`` in a plan, whether a step changes the geometry
(:meth:`Fix.geometry_changes`), the models and files a step reads (:meth:`Fix.models_for`,
:meth:`Fix.files_for`) and the gate's ``keep_rule``. The CLI builds its choices from these
registries.
"""
from __future__ import annotations

import abc
import dataclasses
import functools
import hashlib
import importlib
import inspect
import warnings
from importlib import metadata
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar, Mapping

from keyframe.fixes._base import Fix
from keyframe.image import LoadedImage
from keyframe.report import Measurement

ENTRY_POINT_GROUP = "keyframe.checks"
FIX_ENTRY_POINT_GROUP = "keyframe.fixes"
BUILTIN_CHECKS = (
    "checks.artifact:ArtifactCheck",
    "checks.edge_halo:EdgeHaloCheck",
    "checks.anatomy:AnatomyCheck",
    "checks.text:TextCheck",
    "checks.framing:FramingCheck",   # stage 200: reads the faces and persons found before it
)
BUILTIN_FIXES = (
    "keyframe.fixes.reframe:Reframe",
    "keyframe.fixes.erase:Erase",
    "keyframe.fixes.face_detail:FaceDetail",
    "keyframe.fixes.external:External",
    "keyframe.fixes.sharpen:Sharpen",
    "keyframe.fixes.denoise:Denoise",
    "keyframe.fixes.deblock:Deblock",
    "keyframe.fixes.deband:Deband",
    "keyframe.fixes.crop_border:CropBorder",
    "keyframe.fixes.upscale:Upscale",
    "keyframe.fixes.downscale:Downscale",
    "keyframe.fixes.degrid:Degrid",
    "keyframe.fixes.defringe:Defringe",
    "keyframe.fixes.refine_alpha:RefineAlpha",
    "keyframe.fixes.despeck:Despeck",
    "keyframe.fixes.dehalo:Dehalo",
    "keyframe.fixes.flatten:Flatten",
)


class RegistryError(RuntimeError):
    """Two registered classes claim one name (a plug-in named like a built-in, or two
    plug-ins alike); the message names both."""


class CheckSkipped(Exception):
    """Raised by a check that cannot run on this image or machine; the message says why."""


@dataclasses.dataclass(frozen=True)
class Context:
    """What a check is told besides the pixels; :func:`keyframe.assess.measure` passes one to
    every check's ``measure(image, ctx)``.

    Attributes
    ----------
    target : str or None
        The video target's name (``keyframe.targets``) the picture is measured for; None
        means none was named (framing then measures against ``generic``, artifact judges
        ``blur`` at the size such a target delivers).
    prior : Mapping[str, Measurement]
        The measurements, by code, made on the same pixels by checks of earlier stages (and
        the ones a package re-check reuses); read-only. Framing reads the face and person
        regions the anatomy check found here.
    orientations : tuple of str
        When several targets are requested, the orientations ("landscape", "portrait")
        every one of them accepts (:func:`keyframe.targets.shared_orientations`): framing
        brings a near-square picture to the one orientation they share; empty: no
        constraint (:meth:`keyframe.targets.Target.chosen_aspect`).

    The subject matte of an opaque composite travels on the image (``image.matte``), and a
    check's ``with_mask`` is a constructor option: neither is in the context.
    """

    target: str | None = None
    prior: Mapping[str, Measurement] = dataclasses.field(
        default_factory=lambda: MappingProxyType({}))
    orientations: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # a copy behind a read-only view: a check can neither change what later checks see
        # nor be surprised by measurements added after it ran
        object.__setattr__(self, "prior", MappingProxyType(dict(self.prior)))


#: the context of a direct call ``check.measure(image)`` (scripts, tests): no target, nothing
#: measured before
NO_CONTEXT = Context()
#: the stage of checks that read what others found (framing); the default stage is 100
LATE_STAGE = 200


class Check(abc.ABC):
    """One family of measurements. Subclasses set ``name`` and ``codes`` and implement
    ``measure(self, image, ctx=NO_CONTEXT)``.

    A subclass whose ``measure`` takes no context (the contract before :class:`Context`,
    ``measure(self, image)``, or ``measure(self, image, *, target=None, prior=None)`` with
    ``wants_context = True``) still works, adapted when the class is defined, with a
    ``DeprecationWarning``; the adapter is removed in keyframe 0.3.
    """

    name: ClassVar[str]
    codes: ClassVar[tuple[str, ...]]
    #: model names (keyframe.models table) this check needs; empty for model-free checks
    models: ClassVar[tuple[str, ...]] = ()
    #: False: an RGBA input is seen flattened onto mid-grey (transparent pixels hold no
    #: picture, so their hidden colours must not read as black clipping or noise);
    #: True: the check gets the alpha plane and judges it (edge halo, framing)
    reads_alpha: ClassVar[bool] = False
    #: when the check runs (lower first; checks of one stage are independent of each other):
    #: ``ctx.prior`` holds the measurements of every earlier stage. Framing, which reads the
    #: regions the others found, is at :data:`LATE_STAGE`; most checks keep the default
    stage: ClassVar[int] = 100
    #: True: the class takes ``with_mask=True`` and then puts the mask of each finding that
    #: has one into its measurement (``keyframe check --masks``)
    supports_masks: ClassVar[bool] = False
    #: codes that say where things are in the frame (framing: the aspect, the size, a subject
    #: at an edge), which only a step that changes the geometry can change. After any other
    #: step a rise is what the mended picture shows that the degraded one hid (a face the JPEG
    #: blocks masked, now found 1 % from the top), not damage the step did: the gate does not
    #: roll back for it, and the next round plans its fix
    geometric_codes: ClassVar[tuple[str, ...]] = ()
    #: codes that say how surely the check could read the picture, not what it shows (the
    #: anatomy check's ``anatomy_uncertain``: "cannot verify"). A step does not damage a
    #: picture by making it easier or harder for the detectors to read: the gate does not
    #: roll back for such a rise, and the mended picture's own verdict routes it (under
    #: ``default`` an uncertainty at ``major`` is review, as for any picture)
    confidence_codes: ClassVar[tuple[str, ...]] = ()

    @abc.abstractmethod
    def measure(self, image: LoadedImage, ctx: Context = NO_CONTEXT) -> list[Measurement]:
        """Measure every code in ``codes`` on ``image`` (told ``ctx``); severity in [0, 1]
        each."""

    def support(self, measurements: dict[str, Measurement]
                ) -> list[tuple[float, float, float, float]] | None:
        """The source-pixel boxes (x, y, w, h) that ``measurements`` (this check's, of one
        picture) depend on, or None when they depend on the whole frame (the default).

        The gate carries the measurements over to a candidate whose pixels inside these
        boxes are unchanged by a whole-frame filter, instead of measuring it again
        (:mod:`keyframe.carry`). Declare it only where it holds: the check's result on such
        a candidate would be the same but for its models' jitter."""
        return None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("measure")
        if own is not None and not getattr(own, "__isabstractmethod__", False) \
                and not _takes_context(own):
            _adapt_legacy(cls, own)


def _takes_context(measure: Any) -> bool:
    """Whether ``measure(self, image, ctx)`` can be called with the context positionally."""
    try:
        params = list(inspect.signature(measure).parameters.values())[1:]
    except (TypeError, ValueError):       # a builtin or C callable: assume the new contract
        return True
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2 or any(p.kind is p.VAR_POSITIONAL for p in params)


def _adapt_legacy(cls: type, measure: Any) -> None:
    """Wrap a pre-:class:`Context` ``measure`` of ``cls`` (deprecated): a class that declares
    ``wants_context = True`` is called with ``target=`` and ``prior=`` and runs at
    :data:`LATE_STAGE` (after the others, as before) unless it declares a stage; any other
    is called with the image alone."""
    keywords = bool(getattr(cls, "wants_context", False))
    warnings.warn(
        f"check {_qualname(cls)}: measure() takes no context; define "
        f"measure(self, image, ctx=keyframe.registry.NO_CONTEXT) and read ctx.target / "
        f"ctx.prior{' instead of wants_context' if keywords else ''} (the old signature is "
        f"adapted until keyframe 0.3, which drops it)",
        DeprecationWarning, stacklevel=4)   # the class statement (via ABCMeta.__new__)

    @functools.wraps(measure)
    def adapted(self: Check, image: LoadedImage, ctx: Context = NO_CONTEXT
                ) -> list[Measurement]:
        if keywords:
            return measure(self, image, target=ctx.target, prior=dict(ctx.prior))
        return measure(self, image)

    cls.measure = adapted                 # type: ignore[method-assign]
    if keywords and "stage" not in cls.__dict__:
        cls.stage = LATE_STAGE            # type: ignore[misc]


def _load(spec: str) -> type:
    module, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module), attr)


_registries: dict[str, dict[str, type]] = {}


def _qualname(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _collect(kind: str, specs: tuple[str, ...], group: str | None) -> dict[str, type]:
    """Classes by their ``name``: built-in specs first, then entry-point plug-ins; cached.

    Raises
    ------
    RegistryError
        When a plug-in's name is taken by a different class. An entry point that names the
        built-in class itself (metadata of an older install that listed a built-in as an
        entry point) is the same registration, not a clash.
    """
    if kind not in _registries:
        found: dict[str, type] = {}
        for spec in specs:
            cls = _load(spec)
            found[cls.name] = cls
        for ep in metadata.entry_points(group=group) if group else ():
            cls = ep.load()
            taken = found.get(cls.name)
            if taken is not None and taken is not cls:
                raise RegistryError(
                    f"{group} plug-in {ep.name!r} ({ep.value}) is named {cls.name!r}, the "
                    f"name of {_qualname(taken)}: give the plug-in another name")
            found[cls.name] = cls
        _registries[kind] = found
    return _registries[kind]


def check_classes() -> dict[str, type[Check]]:
    """All registered check families by name: built-ins, then entry-point plug-ins."""
    return _collect("checks", BUILTIN_CHECKS, ENTRY_POINT_GROUP)


def fix_classes() -> dict[str, type[Fix]]:
    """All registered fixes by name: built-ins, then ``keyframe.fixes`` entry-point
    plug-ins."""
    return _collect("fixes", BUILTIN_FIXES, FIX_ENTRY_POINT_GROUP)


def all_codes() -> dict[str, str]:
    """Every finding code a registered check owns, mapped to its family."""
    return {code: name for name, cls in check_classes().items() for code in cls.codes}


def _module_files(module: str) -> list[Path]:
    """The source files of ``module`` (every ``.py`` of a package), found without importing
    it (only its parent packages are)."""
    import importlib.util

    spec = importlib.util.find_spec(module)
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return []
    origin = Path(spec.origin)
    return sorted(origin.parent.rglob("*.py")) if origin.name == "__init__.py" else [origin]


@functools.lru_cache(maxsize=None)
def checks_fingerprint() -> str:
    """16 hex digits naming the code and anchors of every registered check: the sha256 of the
    source files of each built-in and plug-in check module (every ``.py`` of its package) and
    of the model table (keyframe/model_table.py pins each model file's sha256). The triage and
    gate journals put it into their run id, so a rerun after a measure, an anchor or a model
    changed measures again instead of reusing old severities. Found without importing the
    checks (a triage's main process need not load the models' runtimes); shared helpers
    outside the check packages change with keyframe's version."""
    modules = [spec.partition(":")[0] for spec in BUILTIN_CHECKS]
    modules += [ep.module for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)]
    h = hashlib.sha256()
    for module in sorted(set(modules)) + ["keyframe.model_table"]:
        for f in _module_files(module):
            h.update(f"{module}:{f.name}".encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:16]
