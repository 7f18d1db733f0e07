"""keyframe.provenance: synthetic metadata in code, real ComfyUI files from ../shared (skipped
when absent)."""
from __future__ import annotations

import json

import pytest

from keyframe.image import load
from keyframe.provenance import MAX_TEXT, parse

A1111 = (
    "masterpiece, a knight in a misty forest,\n"
    "volumetric light\n"
    "Negative prompt: blurry, lowres,\n"
    "extra fingers\n"
    'Steps: 28, Sampler: DPM++ 2M Karras, Schedule type: Karras, CFG scale: 6.5, Seed: 1234567890, '
    'Size: 832x1216, Model hash: 31e35c80fc, Model: "sd_xl, base 1.0", '
    'Lora hashes: "detail: abc123, style: def456", Version: v1.9.4'
)


def test_empty_metadata_gives_empty_dict():
    assert parse({}) == {}
    assert parse({"Software": "   "}) == {}


def test_a1111_parameters():
    p = parse({"parameters": A1111})
    assert p["generator"] == "AUTOMATIC1111"
    assert p["prompt"] == "masterpiece, a knight in a misty forest,\nvolumetric light"
    assert p["negative_prompt"] == "blurry, lowres,\nextra fingers"
    assert p["steps"] == 28 and p["seed"] == 1234567890 and p["cfg"] == 6.5
    assert p["sampler"] == "DPM++ 2M Karras" and p["scheduler"] == "Karras"
    assert p["size"] == "832x1216" and p["model_hash"] == "31e35c80fc"
    assert p["model"] == "sd_xl, base 1.0"             # quoted value with a comma
    assert p["generator_version"] == "v1.9.4"
    assert "metadata_error" not in p
    json.dumps(p)


def test_a1111_prompt_only():
    assert parse({"parameters": "just a prompt"}) == {"generator": "AUTOMATIC1111",
                                                     "prompt": "just a prompt"}


def test_a1111_bad_number_is_reported_not_raised():
    p = parse({"parameters": "x\nSteps: lots, Sampler: Euler, CFG scale: 7, Seed: 1"})
    assert p["seed"] == 1 and "steps" not in p and "Steps" in p["metadata_error"]


def test_a1111_in_usercomment():
    p = parse({"UserComment": "a cat\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 5",
               "Software": "Other"})
    assert p["generator"] == "AUTOMATIC1111" and p["prompt"] == "a cat" and p["seed"] == 5


def _comfy(nodes: dict) -> dict:
    return parse({"prompt": json.dumps(nodes), "workflow": "{\"nodes\": []}"})


def test_comfyui_synthetic_links_and_primitives():
    nodes = {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "base.safetensors"}},
        "2": {"class_type": "LoraLoader", "inputs": {"lora_name": "style.safetensors",
                                                     "model": ["1", 0], "clip": ["1", 1]}},
        "3": {"class_type": "PrimitiveNode", "inputs": {"value": 777}},
        "4": {"class_type": "String Literal", "inputs": {"string": "a castle on a hill"}},
        "5": {"class_type": "CLIPTextEncode", "inputs": {"text": ["4", 0], "clip": ["2", 1]}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "ugly", "clip": ["2", 1]}},
        "7": {"class_type": "ConditioningCombine", "inputs": {"conditioning_1": ["5", 0],
                                                              "conditioning_2": ["5", 0]}},
        "8": {"class_type": "EmptyLatentImage", "inputs": {"width": 640, "height": 480}},
        "9": {"class_type": "KSampler", "inputs": {
            "seed": ["3", 0], "steps": 12, "cfg": 5, "sampler_name": "dpmpp_2m",
            "scheduler": "karras", "model": ["2", 0], "positive": ["7", 0],
            "negative": ["6", 0], "latent_image": ["8", 0]}},
    }
    p = _comfy(nodes)
    assert p == {"generator": "ComfyUI", "workflow": True, "seed": 777, "steps": 12,
                 "cfg": 5.0, "sampler": "dpmpp_2m", "scheduler": "karras",
                 "prompt": "a castle on a hill", "negative_prompt": "ugly",
                 "size": "640x480", "model": "base.safetensors",
                 "loras": ["style.safetensors"]}


def test_comfyui_malformed_json():
    p = parse({"prompt": "{not json", "workflow": "{}"})
    assert p["generator"] == "ComfyUI" and p["workflow"] is True
    assert "metadata_error" in p and "\n" not in p["metadata_error"]


@pytest.mark.parametrize("graph", [
    "[1, 2, 3]", "null", '{"1": 5}', '{"1": {"class_type": "KSampler", "inputs": []}}',
    '{"1": {"class_type": "KSampler", "inputs": {"seed": "abc", "positive": ["9", 0]}}}',
    '{"1": {"class_type": "KSampler", "inputs": {"positive": ["2", 0], "model": ["2", 0]}},'
    ' "2": {"class_type": "Loop", "inputs": {"x": ["2", 0], "model": ["1", 0]}}}',
    '{"1": {"class_type": "KSampler", "inputs": {"seed": [true, 1], "cfg": {"a": 1}}}}',
])
def test_comfyui_odd_graphs_never_raise(graph):
    p = parse({"prompt": graph})
    assert p["generator"] == "ComfyUI"
    json.dumps(p)


def test_long_prompt_truncated():
    p = parse({"parameters": "x" * 10_000 + "\nSteps: 1, Sampler: a, Seed: 2"})
    assert len(p["prompt"]) == MAX_TEXT and p["prompt"].endswith("…")


def test_novelai_comment():
    comment = json.dumps({"prompt": "a fox", "uc": "bad hands", "seed": 9, "steps": 28,
                          "scale": 5.0, "sampler": "k_euler"})
    p = parse({"Software": "NovelAI", "Comment": comment})
    assert p == {"generator": "NovelAI", "prompt": "a fox", "negative_prompt": "bad hands",
                 "seed": 9, "steps": 28, "cfg": 5.0, "sampler": "k_euler"}


def test_xmp_creator_tool_and_ai_flag():
    xmp = ('<x:xmpmeta><rdf:Description xmp:CreatorTool="Adobe Firefly" '
           'Iptc4xmpExt:DigitalSourceType="http://cv.iptc.org/newscodes/digitalsourcetype/'
           'trainedAlgorithmicMedia"/></x:xmpmeta>')
    assert parse({"XMP": xmp}) == {"ai_generated": True, "generator": "Adobe Firefly"}


def test_description_and_artist():
    p = parse({"ImageDescription": "a quiet harbour", "Artist": "someone"})
    assert p == {"description": "a quiet harbour", "artist": "someone"}


def test_non_string_values_ignored():
    assert parse({"parameters": None, "prompt": 3}) == {}  # type: ignore[dict-item]


# ------------------------------------------------------------------ real ComfyUI files

REAL = {
    "sdxl/sdxl_simple_example.png": {
        "seed": 721897303308196, "steps": 25, "cfg": 8.0, "sampler": "euler",
        "model": "sd_xl_base_1.0.safetensors", "negative_prompt": "text, watermark",
        "prompt": "evening sunset scenery blue sky nature, glass bottle with a galaxy in it",
        "size": "1024x1024"},
    "flux/flux_dev_example.png": {
        "seed": 219670278747233, "steps": 20, "sampler": "euler", "scheduler": "simple",
        "guidance": 3.5, "model": "flux1-dev.safetensors", "size": "1024x1024"},
    "flux/flux_schnell_example.png": {
        "seed": 112298569477003, "steps": 4, "sampler": "euler",
        "model": "flux1-schnell.safetensors"},
    "sd3/sd3.5_simple_example.png": {
        "seed": 585483408983215, "steps": 20, "cfg": 4.01, "sampler": "euler",
        "scheduler": "sgm_uniform", "model": "sd3.5_large_fp8_scaled.safetensors"},
    "sdturbo/sdxlturbo_example.png": {
        "seed": 0, "steps": 1, "cfg": 1.0, "sampler": "euler_ancestral",
        "model": "sd_xl_turbo_1.0_fp16.safetensors"},
}
PROMPT_START = {
    "flux/flux_dev_example.png": "cute anime girl with massive fluffy fennec ears",
    "flux/flux_schnell_example.png": "a bottle with a beautiful rainbow galaxy inside it",
    "sd3/sd3.5_simple_example.png": "a bottle with a pink and red galaxy inside it",
    "sdturbo/sdxlturbo_example.png": "beautiful landscape scenery glass bottle",
}


@pytest.mark.parametrize("rel", sorted(REAL))
def test_real_comfyui_files(shared_data, rel):
    path = shared_data / "comfyui_examples" / rel
    if not path.is_file():
        pytest.skip(f"{path} not present")
    p = load(path).provenance
    assert p["generator"] == "ComfyUI" and p["workflow"] is True
    for key, value in REAL[rel].items():
        assert p.get(key) == value, (key, p.get(key))
    if rel in PROMPT_START:
        assert p["prompt"].startswith(PROMPT_START[rel])
    if rel.startswith("flux/"):
        assert "negative_prompt" not in p and "cfg" not in p
    assert "metadata_error" not in p
    json.dumps(p)


def test_real_comfyui_all_files_parse(shared_data):
    files = sorted((shared_data / "comfyui_examples").glob("**/*.png"))
    if not files:
        pytest.skip("no ComfyUI examples in shared data")
    for path in files:
        li = load(path)
        json.dumps(li.provenance)
        if li.provenance:
            assert li.provenance["generator"] == "ComfyUI"
            assert {"seed", "prompt", "model"} <= li.provenance.keys(), path
