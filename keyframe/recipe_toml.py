"""TOML text of a recipe dict (:meth:`keyframe.recipe.Recipe.to_dict`): the few value types
a recipe holds, written so that ``tomllib`` reads back the same dict."""
from __future__ import annotations

import json
from typing import Any


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
    lines += [f"{k} = {_toml_value(d[k])}"
              for k in ("size", "source_sha256", "target", "scale_geometry") if k in d]
    if not d["steps"]:
        lines.append("steps = []")
    lines += ["", "[models]"]
    lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in d.get("models", {}).items()]
    if d.get("files"):
        lines += ["", "[files]"]
        lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in d["files"].items()]
    for step in d["steps"]:
        lines += ["", "[[steps]]"]
        lines += [f"{k} = {_toml_value(v)}" for k, v in step.items()]
    return "\n".join(lines) + "\n"
