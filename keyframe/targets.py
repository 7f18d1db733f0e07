"""Video targets: the first-frame limits of each image-to-video model, and export geometry.

A certified keyframe is certified *for a target*. A target is a TOML file in
``keyframe/targets/`` (or any path) that is also a profile: it ``extends = "default"`` (its
``[codes.*]`` tables may tighten the default thresholds) and adds a ``[target]`` table of
limits::

    [target]
    label = "Kling"
    formats = ["jpeg", "png"]       # file formats the service takes, preferred last-resort order
    max_bytes = 10_000_000          # file size cap (0 = none)
    min_short_side = 300            # px
    max_side = 7999                 # px, either side
    aspect_range = [0.4, 2.5]       # width / height the service accepts
    aspects = ["16:9", "9:16"]      # aspects it renders (a keyframe should match one)
    size = [1280, 720]              # a fixed render size (landscape form), optional
    sizes = [[1280, 720], ...]      # or a list of accepted render sizes, optional
    area = 921_600                  # or a pixel area at which the aspect is kept, optional
    multiple_of = 2                 # sides are rounded to multiples of this
    verified = false                # limits copied from published wording, not re-checked

Each file names where its numbers come from in comments, and says ``verified = false`` when
they could not be checked against the service here. This module only reads limits and does
geometry (pure arithmetic); :mod:`keyframe.exports` makes the bytes.
"""
from __future__ import annotations

import functools
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from keyframe.profiles import Profile, ProfileError, load_profile, toml_path

TARGETS_DIR = Path(__file__).with_name("targets")
FORMATS = ("png", "jpeg", "webp")
#: |log| aspect error accepted when sides are rounded to a target's multiple (0.4 %)
ASPECT_SNAP = 0.004
#: a picture within this |log| of 1:1 is near-square: its own aspect does not say whether
#: a target taking 16:9 and 9:16 should get a landscape or a portrait (the difference in
#: |log| distance to the two is twice this at most). Of the 216 pictures of ../shared/data,
#: 107 are exact squares, 9 lie at 0.2-1.0 % (DALL-E 3's 1075x1082 and the like, H36M's
#: 1000x1002) and the next is at 3.8 % (a 589x612 COCO photo): 3 % holds the first group
#: with room; taking the orientation against the aspect here loses at most 6 % more area
NEAR_SQUARE = 0.03
#: a subject box whose extent (as a share of the frame) is this much larger one way than
#: the other (|log| of the ratio) says the orientation; a squarer one says nothing (a
#: head-and-shoulders box, a seated pair) and the target's first aspect is taken
SUBJECT_ORIENTATION = math.log(1.25)
ORIENTATIONS = ("landscape", "portrait")

Box = tuple[int, int, int, int]


class TargetError(ValueError):
    """A target that cannot be used; the message is one line."""


@dataclass(frozen=True)
class Target:
    """One video model's first-frame limits (see the module docstring for each field)."""

    name: str
    label: str
    formats: tuple[str, ...]
    max_bytes: int
    min_short_side: int
    max_side: int
    aspect_range: tuple[float, float]
    aspects: tuple[float, ...]
    aspect_labels: tuple[str, ...]
    size: tuple[int, int] | None
    sizes: tuple[tuple[int, int], ...]
    area: int
    multiple_of: int
    verified: bool
    profile: Profile
    source: str
    #: other names the target answers to (``[target] aliases``: ``runway`` for the current
    #: Runway model), listed by ``keyframe targets``
    aliases: tuple[str, ...] = ()

    def accepted_aspects(self) -> tuple[float, ...]:
        """The discrete aspects a keyframe should match (empty: any aspect in the range)."""
        lo, hi = self.aspect_range
        cands = tuple(w / h for w, h in self.sizes) if self.sizes else self.aspects
        # an output ratio the service renders but does not take as input (Runway's 1584:672
        # is outside its 0.5-2.0 input range) is not a keyframe aspect
        return tuple(a for a in cands if lo * 0.99 <= a <= hi * 1.01)

    def aspect_distance(self, width: int, height: int) -> tuple[float, float]:
        """``(d, nearest)``: |log| distance of ``width/height`` to the nearest accepted aspect.

        With no discrete aspects the range is the accepted set: ``d`` is 0 inside it.
        """
        r = width / height
        cands = self.accepted_aspects()
        if cands:
            best = min(cands, key=lambda a: abs(math.log(r / a)))
            return abs(math.log(r / best)), best
        lo, hi = self.aspect_range
        best = min(max(r, lo), hi)
        return abs(math.log(r / best)), best

    def range_distance(self, width: int, height: int) -> float:
        """|log| distance of ``width/height`` outside ``aspect_range`` (0 inside)."""
        r = width / height
        lo, hi = self.aspect_range
        return max(0.0, math.log(lo / r), math.log(r / hi))

    def chosen_aspect(self, width: int, height: int, *, subject: Box | None = None,
                      orientations: tuple[str, ...] = ()) -> float:
        """The accepted aspect a ``width`` x ``height`` picture is brought to.

        The nearest accepted aspect by |log| ratio (:meth:`aspect_distance`), except for a
        near-square picture (within :data:`NEAR_SQUARE` of 1:1, and no accepted aspect
        nearer to it than its nearest landscape and portrait ones, e.g. Veo's 16:9 and 9:16,
        not Kling's 1:1), whose own aspect says nothing. Its orientation is then, in order:

        1. the one ``orientations`` leaves when it names one only: the orientations every
           requested target accepts (``--target veo --target svd``: landscape), so the
           keyframe and every export share one orientation;
        2. the ``subject`` box's (x, y, w, h: the people or the object a reframe keeps):
           portrait when its height, as a share of the frame's, is at least
           ``exp(SUBJECT_ORIENTATION)`` times its width's share (a standing person),
           landscape the other way round (a group, a wide object);
        3. the target's first listed aspect's (its default; Veo: 16:9).

        So 1075x1082, 1082x1075 and 1024x1024 pictures of one composition get one
        orientation. Outside the near-square band the aspect decides, as before.
        """
        _, best = self.aspect_distance(width, height)
        cands = self.accepted_aspects()
        land = [a for a in cands if a > 1 + 1e-3]
        port = [a for a in cands if a < 1 - 1e-3]
        r = width / height
        if (abs(math.log(r)) > NEAR_SQUARE or not land or not port
                or abs(math.log(best)) < 1e-3):
            return best
        nearest = {"landscape": min(land, key=lambda a: abs(math.log(r / a))),
                   "portrait": min(port, key=lambda a: abs(math.log(r / a)))}
        shared = [o for o in ORIENTATIONS if o in orientations]
        if len(shared) == 1:
            return nearest[shared[0]]
        if subject is not None and subject[2] > 0 and subject[3] > 0:
            tall = math.log((subject[3] / height) / (subject[2] / width))
            if tall >= SUBJECT_ORIENTATION - 1e-9:
                return nearest["portrait"]
            if tall <= -SUBJECT_ORIENTATION + 1e-9:
                return nearest["landscape"]
        return nearest["landscape" if cands[0] > 1 else "portrait"]

    def orientations(self) -> tuple[str, ...]:
        """The orientations this target takes ("landscape", "portrait"): of its accepted
        aspects, else of its aspect range."""
        cands = self.accepted_aspects() or self.aspect_range
        return tuple(o for o, ok in zip(ORIENTATIONS, (max(cands) > 1 + 1e-3,
                                                        min(cands) < 1 - 1e-3)) if ok)

    def output_size(self, width: int, height: int, *, subject: Box | None = None,
                    orientations: tuple[str, ...] = ()) -> tuple[int, int]:
        """The (width, height) an export of a ``width`` x ``height`` image has for this target.

        The aspect is :meth:`chosen_aspect`'s (the nearest accepted one; for a near-square
        picture, the orientation ``orientations`` or the ``subject`` box says, else the
        target's first). Fixed sizes win (the accepted size of that aspect); an ``area``
        keeps the aspect at that area; otherwise the source size is kept, its aspect brought
        to the chosen one (by cropping or extending the short way), then scaled into
        ``[min_short_side, max_side]``. Sides are rounded to ``multiple_of``.
        """
        a = self.chosen_aspect(width, height, subject=subject, orientations=orientations)
        if self.sizes:
            lo, hi = self.aspect_range
            ok = [s for s in self.sizes if lo * 0.99 <= s[0] / s[1] <= hi * 1.01]
            return min(ok or self.sizes, key=lambda s: abs(math.log((s[0] / s[1]) / a)))
        if self.size:
            area = self.size[0] * self.size[1]
            w0, h0 = self.size if a >= 1 else (self.size[1], self.size[0])
            if abs(math.log(a * h0 / w0)) < 1e-3:       # the fixed size's own aspect
                return w0, h0
            return self._fit(math.sqrt(area * a), math.sqrt(area / a), a)
        if self.area:
            return self._fit(math.sqrt(self.area * a), math.sqrt(self.area / a), a)
        w, h = float(width), float(height)
        if abs(math.log((w / h) / a)) > 1e-9:          # keep the larger area: crop the long way
            w, h = (h * a, h) if w / h > a else (w, w / a)
        return self._fit(w, h, a)

    def _fit(self, w: float, h: float, a: float) -> tuple[int, int]:
        """Scale (w, h) into the side limits and round to ``multiple_of`` near aspect ``a``."""
        m = self.multiple_of
        short, long_ = min(w, h), max(w, h)
        scale = 1.0
        if short < self.min_short_side:
            scale = self.min_short_side / short
        if long_ * scale > self.max_side:
            scale = self.max_side / long_
        w, h = w * scale, h * scale

        lo, hi = self.min_short_side, self.max_side
        best: tuple[bool, float, float, int, int] | None = None
        # multiples of m near (w, h) within the side limits: the closest in area among those
        # within 0.4 % of aspect a, else the closest in aspect
        for k in range(-4, 5):
            H = (int(round(h / m)) + k) * m
            if H < m:
                continue
            W = max(m, int(round(H * a / m)) * m)
            if min(W, H) < lo and min(W, H) + m <= hi or max(W, H) > hi:
                continue
            err = abs(math.log(W / H / a))
            key = (err > ASPECT_SNAP, abs(math.log(W * H / (w * h))) if err <= ASPECT_SNAP
                   else err, err, W, H)
            if best is None or key < best:
                best = key
        if best is None:
            return max(m, int(w) // m * m), max(m, int(h) // m * m)
        return best[3], best[4]

    def limits(self) -> dict[str, Any]:
        """The limits as plain data (``keyframe targets --json``, manifests)."""
        return {"name": self.name, "label": self.label, "formats": list(self.formats),
                "max_bytes": self.max_bytes, "min_short_side": self.min_short_side,
                "max_side": self.max_side, "aspect_range": list(self.aspect_range),
                "aspects": list(self.aspect_labels),
                "size": list(self.size) if self.size else None,
                "sizes": [list(s) for s in self.sizes], "area": self.area,
                "multiple_of": self.multiple_of, "verified": self.verified,
                "aliases": list(self.aliases)}


def shared_orientations(targets: Sequence[Target]) -> tuple[str, ...]:
    """The orientations every one of ``targets`` takes, when two or more are requested
    (:meth:`Target.chosen_aspect` brings a near-square picture to the one they share:
    ``veo`` and ``svd`` share landscape only); () for one target, none, or none shared."""
    if len(targets) < 2:
        return ()
    shared = [o for o in ORIENTATIONS if all(o in t.orientations() for t in targets)]
    return tuple(shared)


def builtin_target_names() -> list[str]:
    """Names of the targets shipped with keyframe."""
    return sorted(p.stem for p in TARGETS_DIR.glob("*.toml"))


@functools.lru_cache(maxsize=1)
def builtin_aliases() -> dict[str, str]:
    """Alias -> built-in target name, from each built-in's ``[target] aliases`` (read once:
    every :func:`load_target` resolves its name through it)."""
    out = {}
    for path in sorted(TARGETS_DIR.glob("*.toml")):
        spec = tomllib.loads(path.read_text(encoding="utf-8")).get("target", {})
        for alias in spec.get("aliases", []):
            out[str(alias)] = path.stem
    return out


def canonical_name(name_or_path: str) -> str:
    """The built-in target an alias names (``runway`` -> ``runway-gen4``); anything else as
    given."""
    return builtin_aliases().get(str(name_or_path), str(name_or_path))


def _ratio(text: Any, where: str) -> float:
    try:
        a, b = (float(v) for v in str(text).split(":"))
        if a <= 0 or b <= 0:
            raise ValueError
    except ValueError:
        raise TargetError(f"{where}: aspect {text!r} is not 'W:H' with positive numbers") \
            from None
    return a / b


def _int(spec: dict, key: str, default: int, where: str, lo: int = 0) -> int:
    value = spec.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < lo:
        raise TargetError(f"{where}: {key} must be an integer >= {lo}")
    return value


def _pair(value: Any, key: str, where: str) -> tuple[int, int]:
    if (not isinstance(value, (list, tuple)) or len(value) != 2
            or not all(isinstance(v, int) and v > 0 for v in value)):
        raise TargetError(f"{where}: {key} must be [width, height] in positive integers")
    return int(value[0]), int(value[1])


def load_target(name_or_path: str | Path) -> Target:
    """Load and validate a target by built-in name (``keyframe targets``) or TOML path.

    Raises
    ------
    TargetError
        Unknown name, unreadable file, not a profile, or a missing/invalid ``[target]`` key.
    """
    path = toml_path(canonical_name(str(name_or_path)), TARGETS_DIR)
    if path is None:
        raise TargetError(f"unknown target {name_or_path!r}; built-in targets: "
                          f"{', '.join(builtin_target_names())} (aliases: "
                          f"{', '.join(sorted(builtin_aliases()))}), or give a .toml path")
    try:
        profile = load_profile(path)
    except ProfileError as exc:
        raise TargetError(str(exc)) from None
    where = f"target {path}"
    spec = profile.raw.get("target")
    if not isinstance(spec, dict):
        raise TargetError(f"{where}: no [target] table")
    formats = tuple(spec.get("formats", ("png", "jpeg")))
    if not formats or any(f not in FORMATS for f in formats):
        raise TargetError(f"{where}: formats must be a non-empty list of {', '.join(FORMATS)}")
    rng = spec.get("aspect_range", [0.4, 2.5])
    if (not isinstance(rng, list) or len(rng) != 2
            or not all(isinstance(v, (int, float)) and v > 0 for v in rng) or rng[0] > rng[1]):
        raise TargetError(f"{where}: aspect_range must be [low, high] with 0 < low <= high")
    labels = tuple(str(a) for a in spec.get("aspects", []))
    size = spec.get("size") or None
    sizes = tuple(_pair(s, "sizes", where) for s in spec.get("sizes", []))
    target = Target(
        name=profile.name, label=str(spec.get("label", profile.name)), formats=formats,
        max_bytes=_int(spec, "max_bytes", 0, where),
        min_short_side=_int(spec, "min_short_side", 1, where, 1),
        max_side=_int(spec, "max_side", 7999, where, 1),
        aspect_range=(float(rng[0]), float(rng[1])),
        aspects=tuple(_ratio(a, where) for a in labels), aspect_labels=labels,
        size=_pair(size, "size", where) if size else None, sizes=sizes,
        area=_int(spec, "area", 0, where), multiple_of=_int(spec, "multiple_of", 2, where, 1),
        verified=bool(spec.get("verified", False)), profile=profile, source=str(path),
        aliases=tuple(str(a) for a in spec.get("aliases", [])))
    if target.min_short_side > target.max_side:
        raise TargetError(f"{where}: min_short_side is above max_side")
    return target
