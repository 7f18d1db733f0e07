"""The JSON Schemas of keyframe's file formats, shipped in ``keyframe/schemas/``.

* ``report`` — ``keyframe.report/1`` (:meth:`keyframe.report.Report.to_dict`)
* ``manifest`` — ``keyframe.manifest/1`` (``manifest.json`` of a certified package; its
  ``report_before`` / ``report_after`` refer to the report schema by ``$id``)

:func:`load_schema` needs only the standard library. :func:`validation_errors` uses
``jsonschema`` (Draft 2020-12) with every keyframe schema registered, so cross-file ``$ref``
resolve offline.
"""
from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

NAMES = ("report", "manifest")


@lru_cache(maxsize=None)
def _text(name: str) -> str:
    if name not in NAMES:
        raise ValueError(f"unknown schema {name!r}; known: {', '.join(NAMES)}")
    return resources.files("keyframe").joinpath("schemas", f"{name}.schema.json").read_text(
        encoding="utf-8")


def load_schema(name: str) -> dict[str, Any]:
    """Return a fresh copy of schema ``name`` (``"report"`` or ``"manifest"``) as a dict."""
    return json.loads(_text(name))


def validator(name: str) -> Any:
    """A ``jsonschema.Draft202012Validator`` for ``name`` that resolves the other schemas."""
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

    registry: Registry = Registry()
    for other in NAMES:
        schema = load_schema(other)
        registry = registry.with_resource(schema["$id"], Resource.from_contents(schema))
    return Draft202012Validator(load_schema(name), registry=registry)


def validation_errors(name: str, instance: Any, *, limit: int = 5) -> list[str]:
    """Up to ``limit`` one-line messages for what makes ``instance`` invalid (empty = valid)."""
    errors = sorted(validator(name).iter_errors(instance), key=lambda e: list(e.absolute_path))
    out = []
    for err in errors[:limit]:
        where = "/".join(str(p) for p in err.absolute_path) or "(top level)"
        message = " ".join(err.message.split())
        if len(message) > 200:
            message = message[:197] + "..."
        out.append(f"{where}: {message}")
    return out
