"""Generator metadata → the report's ``provenance`` dict. Pure: no I/O, never raises.

:func:`parse` takes the raw text metadata that :mod:`keyframe.image` collected from a file
(PNG text chunks, EXIF text, XMP) and returns a small JSON-serialisable dict with only the
keys it found::

    generator        "ComfyUI", "AUTOMATIC1111", "NovelAI" or the Software / CreatorTool tag
    prompt, negative_prompt   str, truncated to MAX_TEXT chars
    seed, steps      int
    cfg, guidance    float (guidance: Flux-style distilled guidance)
    sampler, scheduler, model (str), loras (list[str]), size ("WxH"), model_hash (str)
    workflow         True when a ComfyUI ``workflow`` chunk is present (never its content)
    description      free text (Description / ImageDescription / Comment) when no prompt
    ai_generated     True when XMP says IPTC digitalSourceType trainedAlgorithmicMedia
    metadata_error   one line, when some metadata was present but malformed

Why here and not in checks: provenance is evidence about where an image came from (to replay
a seed, to group a campaign), never a measurement of its pixels.
"""
from __future__ import annotations

import json
import re
from typing import Any

MAX_TEXT = 2000
"""Longest prompt / description kept; the rest is cut and marked with an ellipsis."""

_SAMPLERS = ("KSampler", "KSamplerAdvanced", "SamplerCustom", "SamplerCustomAdvanced")
_LOADERS = {"CheckpointLoaderSimple": "ckpt_name", "CheckpointLoader": "ckpt_name",
            "ImageOnlyCheckpointLoader": "ckpt_name", "unCLIPCheckpointLoader": "ckpt_name",
            "UNETLoader": "unet_name", "UnetLoaderGGUF": "unet_name",
            "DiffusersLoader": "model_path"}
_TEXT_KEYS = ("text", "text_g", "t5xxl", "clip_l", "text_l", "prompt", "string", "value")
_HOPS = 8
_A1111_PARAM = re.compile(r'\s*([\w][\w \-/]*):\s*("(?:\\.|[^\\"])*"|[^,]*)(?:,|$)')


def parse(raw: dict[str, str]) -> dict[str, Any]:
    """Parse raw text metadata into the provenance dict (see module doc). Never raises.

    Parameters
    ----------
    raw : dict of str to str
        Keys as collected by the loader: ``parameters``, ``prompt``, ``workflow``,
        ``Comment``, ``Description``, ``Software``, ``ImageDescription``, ``UserComment``,
        ``Artist``, ``XMP``, … Unknown keys are ignored.
    """
    out: dict[str, Any] = {}
    try:
        _parse_into(raw or {}, out)
    except Exception as exc:  # noqa: BLE001 - metadata must never stop a report
        out["metadata_error"] = _one_line(f"{type(exc).__name__}: {exc}")
    return out


def _parse_into(raw: dict[str, str], out: dict[str, Any]) -> None:
    raw = {k: v for k, v in raw.items() if isinstance(v, str) and v.strip()}
    if "prompt" in raw or "workflow" in raw:
        _comfyui(raw, out)
    params = raw.get("parameters")
    if params is None:      # A1111 JPEG/WebP keep "parameters" in EXIF UserComment
        params = next((raw[k] for k in ("UserComment", "Comment", "Description",
                                        "ImageDescription") if k in raw and
                       re.search(r"(^|\n)Steps: \d", raw[k])), None)
    if params is not None and "generator" not in out:
        _a1111(params, out)
    if "generator" not in out and raw.get("Software") == "NovelAI":
        _novelai(raw.get("Comment", ""), out)
    if "XMP" in raw:
        _xmp(raw["XMP"], out)
    software = raw.get("Software", "").strip()
    if software and "generator" not in out:
        out["generator"] = _cut(software, 200)
    if "prompt" not in out:
        for key in ("Description", "ImageDescription", "UserComment", "Comment", "Title"):
            text = raw.get(key, "").strip()
            if text and not text.startswith("{"):
                out["description"] = _cut(text)
                break
    if raw.get("Artist", "").strip():
        out["artist"] = _cut(raw["Artist"].strip(), 200)


# ------------------------------------------------------------------------------ A1111

def _a1111(text: str, out: dict[str, Any]) -> None:
    """AUTOMATIC1111 / Forge ``parameters``: prompt, optional negative, a settings line."""
    lines = text.strip().split("\n")
    last = lines[-1] if lines else ""
    settings: dict[str, str] = {}
    if len(_A1111_PARAM.findall(last)) >= 3:
        lines = lines[:-1]
        for key, value in _A1111_PARAM.findall(last):
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = _unquote(value)
            settings[key.strip()] = value
    prompt: list[str] = []
    negative: list[str] = []
    for line in lines:
        if line.startswith("Negative prompt:"):
            negative.append(line[len("Negative prompt:"):].strip())
        elif negative:
            negative.append(line)
        else:
            prompt.append(line)
    out["generator"] = "AUTOMATIC1111"
    if "\n".join(prompt).strip():
        out["prompt"] = _cut("\n".join(prompt).strip())
    if "\n".join(negative).strip():
        out["negative_prompt"] = _cut("\n".join(negative).strip())
    for key, name, conv in (("Steps", "steps", int), ("Sampler", "sampler", str),
                            ("Schedule type", "scheduler", str), ("CFG scale", "cfg", float),
                            ("Seed", "seed", int), ("Size", "size", str), ("Model", "model", str),
                            ("Model hash", "model_hash", str),
                            ("Distilled CFG Scale", "guidance", float)):
        if key in settings and settings[key]:
            try:
                out[name] = conv(settings[key])
            except ValueError:
                out.setdefault("metadata_error", _one_line(f"A1111 {key!r} is not a number: "
                                                           f"{settings[key]!r}"))
    if "Version" in settings:
        out["generator_version"] = _cut(settings["Version"], 100)


def _unquote(value: str) -> str:
    try:
        return str(json.loads(value))
    except ValueError:
        return value[1:-1]


# ----------------------------------------------------------------------------- ComfyUI

def _comfyui(raw: dict[str, str], out: dict[str, Any]) -> None:
    out["generator"] = "ComfyUI"
    if "workflow" in raw:
        out["workflow"] = True
    if "prompt" not in raw:
        return
    try:
        graph = json.loads(raw["prompt"])
    except ValueError as exc:
        out["metadata_error"] = _one_line(f"ComfyUI prompt chunk is not valid JSON: {exc}")
        return
    if not isinstance(graph, dict):
        out["metadata_error"] = "ComfyUI prompt chunk is not a JSON object of nodes"
        return
    nodes = {str(k): v for k, v in graph.items()
             if isinstance(v, dict) and isinstance(v.get("inputs", {}), dict)}
    sampler_id = _main_sampler(nodes)
    if sampler_id is None:
        _model(nodes, None, out)
        return
    ins = nodes[sampler_id].get("inputs", {})
    guider = _node(nodes, ins.get("guider")) or {}
    g_ins = guider.get("inputs", {}) if isinstance(guider.get("inputs"), dict) else {}
    for name, conv, own, link, keys in (
            ("seed", int, ("seed", "noise_seed"), ins.get("noise"), ("noise_seed", "seed")),
            ("steps", int, ("steps",), ins.get("sigmas"), ("steps",)),
            ("cfg", float, ("cfg",), ins.get("guider"), ("cfg",)),
            ("sampler", str, ("sampler_name",), ins.get("sampler"), ("sampler_name",)),
            ("scheduler", str, ("scheduler",), ins.get("sigmas"), ("scheduler",))):
        value = next((ins[k] for k in own if k in ins), None)
        if value is None:
            value = _find_value(nodes, link, keys)
        elif _link_id(value) is not None:     # widget converted to an input (primitive node)
            value = _find_value(nodes, value, keys + ("value", "int", "float", "string"))
        _put(out, name, value, conv)
    positive = ins.get("positive", g_ins.get("positive", g_ins.get("conditioning")))
    negative = ins.get("negative", g_ins.get("negative"))
    text = _prompt_text(nodes, positive)
    if text:
        out["prompt"] = _cut(text)
    text = _prompt_text(nodes, negative)
    if text:
        out["negative_prompt"] = _cut(text)
    guidance = _find_value(nodes, positive, ("guidance",))
    _put(out, "guidance", guidance, float)
    w = _find_value(nodes, ins.get("latent_image"), ("width",))
    h = _find_value(nodes, ins.get("latent_image"), ("height",))
    if isinstance(w, int) and isinstance(h, int):
        out["size"] = f"{w}x{h}"
    _model(nodes, ins.get("model", g_ins.get("model")), out)


def _main_sampler(nodes: dict[str, dict]) -> str | None:
    """The first sampler of the chain: one whose latent does not come from another sampler
    (the SDXL base rather than its refiner); lowest node id among those."""
    samplers = [k for k, v in nodes.items() if v.get("class_type") in _SAMPLERS]
    if not samplers:
        return None

    def fed_by_sampler(node_id: str) -> bool:
        link = nodes[node_id].get("inputs", {}).get("latent_image")
        for _ in range(_HOPS):
            src = _link_id(link)
            if src is None or src not in nodes:
                return False
            if nodes[src].get("class_type") in _SAMPLERS:
                return True
            src_ins = nodes[src].get("inputs", {})
            link = src_ins.get("samples", src_ins.get("latent", src_ins.get("latent_image")))
        return False

    roots = [k for k in samplers if not fed_by_sampler(k)] or samplers
    return min(roots, key=_id_key)


def _model(nodes: dict[str, dict], link: Any, out: dict[str, Any]) -> None:
    """Follow the sampler's model link up to a loader; collect LoRA names on the way."""
    loras: list[str] = []
    seen: set[str] = set()
    for _ in range(_HOPS):
        src = _link_id(link)
        if src is None or src not in nodes or src in seen:
            break
        seen.add(src)
        node = nodes[src]
        ins = node.get("inputs", {})
        if node.get("class_type") in _LOADERS:
            _put(out, "model", ins.get(_LOADERS[node["class_type"]]), str)
            break
        if isinstance(ins.get("lora_name"), str):
            loras.append(ins["lora_name"])
        link = ins.get("model")
    if "model" not in out:      # no chain to follow: the first loader in the graph, if any
        for node_id in sorted(nodes, key=_id_key):
            key = _LOADERS.get(nodes[node_id].get("class_type", ""))
            if key and isinstance(nodes[node_id]["inputs"].get(key), str):
                out["model"] = nodes[node_id]["inputs"][key]
                break
    if loras:
        out["loras"] = loras


def _prompt_text(nodes: dict[str, dict], link: Any) -> str:
    """Breadth-first from a conditioning link to the first text-encoder node's text."""
    queue = [(link, 0)]
    seen: set[str] = set()
    while queue:
        link, depth = queue.pop(0)
        src = _link_id(link)
        if src is None or src not in nodes or src in seen or depth > _HOPS:
            continue
        seen.add(src)
        node = nodes[src]
        ins = node.get("inputs", {})
        cls = str(node.get("class_type", ""))
        if "TextEncode" in cls or "Prompt" in cls or isinstance(ins.get("text"), (str, list)):
            parts = [_resolve_text(nodes, ins[k]) for k in _TEXT_KEYS if k in ins]
            parts = [p for p in parts if p]
            if parts:
                return parts[0] if all(p == parts[0] for p in parts) else "\n".join(
                    dict.fromkeys(parts))
            if "TextEncode" in cls:
                return ""
        if cls in _SAMPLERS:
            continue
        for key, value in ins.items():
            if key not in ("clip", "model", "vae", "control_net", "image", "pixels", "mask"):
                queue.append((value, depth + 1))
    return ""


def _resolve_text(nodes: dict[str, dict], value: Any) -> str:
    """A text input is a string or a link to a node that produces one (primitive, concat)."""
    for _ in range(_HOPS):
        if isinstance(value, str):
            return value.strip()
        src = _link_id(value)
        if src is None or src not in nodes:
            return ""
        ins = nodes[src].get("inputs", {})
        value = next((ins[k] for k in _TEXT_KEYS + ("text_a", "string_a") if k in ins), None)
    return ""


def _find_value(nodes: dict[str, dict], link: Any, keys: tuple[str, ...]) -> Any:
    """Breadth-first upstream from ``link`` to the first node holding one of ``keys``
    as a literal (not a link)."""
    queue = [(link, 0)]
    seen: set[str] = set()
    while queue:
        link, depth = queue.pop(0)
        src = _link_id(link)
        if src is None or src not in nodes or src in seen or depth > _HOPS:
            continue
        seen.add(src)
        ins = nodes[src].get("inputs", {})
        for key in keys:
            if key in ins and _link_id(ins[key]) is None:
                return ins[key]
            if key in ins:
                queue.insert(0, (ins[key], depth + 1))
        queue.extend((v, depth + 1) for k, v in ins.items() if k not in keys and _link_id(v))
    return None


def _node(nodes: dict[str, dict], link: Any) -> dict | None:
    src = _link_id(link)
    return nodes.get(src) if src is not None else None


def _link_id(value: Any) -> str | None:
    if (isinstance(value, list) and len(value) == 2 and isinstance(value[0], (str, int))
            and not isinstance(value[0], bool) and isinstance(value[1], int)):
        return str(value[0])
    return None


def _id_key(node_id: str) -> tuple[int, str]:
    head = node_id.split(":")[0]
    return (int(head), node_id) if head.isdigit() else (1 << 62, node_id)


def _put(out: dict[str, Any], key: str, value: Any, conv: type) -> None:
    if value is None or isinstance(value, (list, dict, bool)):
        return
    try:
        out[key] = conv(value) if not (conv is str and not isinstance(value, str)) else str(value)
    except (TypeError, ValueError):
        out.setdefault("metadata_error", _one_line(f"{key} is not a {conv.__name__}: {value!r}"))


# ------------------------------------------------------------------------ other sources

def _novelai(comment: str, out: dict[str, Any]) -> None:
    out["generator"] = "NovelAI"
    try:
        data = json.loads(comment) if comment else {}
    except ValueError as exc:
        out["metadata_error"] = _one_line(f"NovelAI Comment is not valid JSON: {exc}")
        return
    if not isinstance(data, dict):
        return
    if isinstance(data.get("prompt"), str):
        out["prompt"] = _cut(data["prompt"])
    if isinstance(data.get("uc"), str) and data["uc"].strip():
        out["negative_prompt"] = _cut(data["uc"])
    for key, name, conv in (("seed", "seed", int), ("steps", "steps", int),
                            ("scale", "cfg", float), ("sampler", "sampler", str)):
        _put(out, name, data.get(key), conv)


def _xmp(xmp: str, out: dict[str, Any]) -> None:
    if re.search(r"digitalsourcetype[^<>]*trainedAlgorithmicMedia", xmp, re.I | re.S):
        out["ai_generated"] = True
    m = re.search(r'CreatorTool(?:="([^"]*)"|>([^<]*)<)', xmp)
    if m and "generator" not in out and (m.group(1) or m.group(2) or "").strip():
        out["generator"] = _cut((m.group(1) or m.group(2)).strip(), 200)


def _cut(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _one_line(text: str) -> str:
    return _cut(" ".join(text.split()), 300)
