"""Plan the keyframe reframe for ``--target veo`` (and the SVD export after it) on ~50 people
and object pictures of ../shared/data, and print one JSON line per picture: the output size
the framing check chose, the subject box, the reframe layout and the SVD export's layout.
Run it once with the code before a change and once after (the anatomy measurements are
cached in ``--cache`` so both runs read the same people), then ``--compare BEFORE AFTER``
counts the pictures that changed orientation, crop or SVD export; ``--render`` writes each
picture's keyframe and SVD export as PNG to look at. From the tree under test run it as a
module; for another tree, run a copy of this file outside scripts/calibrate (whose
inspect.py shadows the standard library's) with ``PYTHONPATH`` naming that tree:

    python -m scripts.calibrate.orientation --cache C --out after.jsonl --render png/
    PYTHONPATH=/work/main python /tmp/orientation.py --cache C --out before.jsonl
    python -m scripts.calibrate.orientation --compare before.jsonl after.jsonl
"""
from __future__ import annotations

import argparse
import json
import pickle
from pathlib import Path

import numpy as np

DATA = Path("/work/shared/data")


def pictures() -> list[Path]:
    """~50 pictures: every near-square one (|log aspect| <= 0.05), the squares with people
    or objects (ai_human_anatomy, ComfyUI), 4:3 COCO, realishuman, pal4vst, p3m."""
    from PIL import Image
    out = []
    groups = [("ai_human_anatomy", 18), ("comfyui_examples", 8),
              ("mmpose_testdata/tests/data/coco", 8), ("mmpose_testdata/tests/data/h36m", 3),
              ("mmpose_testdata/tests/data/humanart", 2), ("realishuman", 6),
              ("pal4vst", 4), ("p3m_demo/demo/imgs/original", 3)]
    for sub, n in groups:
        paths = sorted(p for p in (DATA / sub).rglob("*")
                       if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
        logs = {p: abs(np.log(np.divide(*Image.open(p).size))) for p in paths}
        near = [p for p in paths if 0 < logs[p] <= 0.05]       # every near-square one
        rest = [p for p in paths if p not in near]
        step = max(1, len(rest) // max(1, n - len(near)))
        out += near + rest[::step][:max(0, n - len(near))]
    return out


def anatomy(path: Path, rgb_image, cache: Path) -> dict:
    """The anatomy check's measurements of ``path`` (cached: both runs read the same)."""
    f = cache / (path.relative_to(DATA).as_posix().replace("/", "__") + ".pkl")
    if f.exists():
        return pickle.loads(f.read_bytes())
    from keyframe.registry import check_classes
    found = {m.code: m for m in check_classes()["anatomy"]().measure(rgb_image)}
    f.write_bytes(pickle.dumps(found))
    return found


def framing(image, target: str, prior: dict, orientations: tuple) -> dict:
    """The framing check's measurements (by code) for ``target``; ``orientations`` when the
    code under test takes them."""
    from checks.framing import FramingCheck
    from keyframe.registry import Context
    try:
        ctx = Context(target=target, prior=prior, orientations=orientations)
    except TypeError:
        ctx = Context(target=target, prior=prior)
    return {m.code: m for m in FramingCheck().measure(image, ctx)}


def plan(path: Path, cache: Path, render: Path | None) -> dict:
    """Veo keyframe layout and SVD export layout of one picture."""
    from keyframe.exports import make_export, ExportError, subject_boxes
    from keyframe.fixes.reframe import Reframe
    from keyframe.image import load, load_bytes
    from keyframe.targets import load_target

    image = load(path)
    prior = anatomy(path, image, cache)
    row: dict = {"path": str(path.relative_to(DATA)), "size": [image.width, image.height]}
    for key, orient in (("veo", ()), ("veo+svd", ("landscape",))):
        found = framing(image, "veo", prior, orient)
        m = found["aspect_mismatch"]
        v = m.measurements
        row[key] = {"target": [v["target_width"], v["target_height"]],
                    "subject": [v["subject_x"], v["subject_y"], v["subject_w"],
                                v["subject_h"]], "source": v["subject_source"]}
        params = Reframe.validate(Reframe.plan_params(m))
        lay = Reframe().layout(image.rgb, params)
        row[key]["layout"] = lay.record() | {"invented": round(lay.invented, 3),
                                             "note": lay.describe()}
        if key == "veo+svd":
            kf = Reframe.render(image.rgb, lay)
            boxes = [_mapped(b, lay) for b in subject_boxes(found)]
            try:
                ex = make_export(kf, load_target("svd"), protect=boxes, max_enlarge=2.0,
                                 max_invented=0.5)
                row[key]["svd"] = {"size": [ex.width, ex.height], "note": ex.note}
                svd = load_bytes(ex.data, name="svd").rgb
            except ExportError as exc:
                row[key]["svd"] = {"refused": str(exc)}
                svd = None
        if render is not None:
            stem = path.stem[:40]
            from PIL import Image
            Image.fromarray(Reframe.render(image.rgb, lay)).save(render / f"{stem}.{key}.png")
            if key == "veo+svd" and svd is not None:
                Image.fromarray(svd).save(render / f"{stem}.svd.png")
    return row


def _mapped(box: list[int], lay) -> list[int]:
    """``box`` (source px) in the reframed keyframe's pixels."""
    x, y, w, h = box
    cx, cy = lay.crop[:2]
    t, _, left, _ = lay.pad
    cw, ch = lay.canvas
    fx, fy = lay.size[0] / cw, lay.size[1] / ch
    x0, y0 = max(0, x - cx) + left, max(0, y - cy) + t
    x1 = min(lay.crop[2], x - cx + w) + left
    y1 = min(lay.crop[3], y - cy + h) + t
    return [round(x0 * fx), round(y0 * fy), max(1, round((x1 - x0) * fx)),
            max(1, round((y1 - y0) * fy))]


def compare(before: Path, after: Path) -> None:
    """Counts of what changed between two runs, and the pictures that did."""
    b = {r["path"]: r for r in map(json.loads, before.read_text().splitlines())}
    a = {r["path"]: r for r in map(json.loads, after.read_text().splitlines())}

    def orient(size: list[int]) -> str:
        return "landscape" if size[0] > size[1] else "portrait" if size[0] < size[1] else "1:1"
    for key in ("veo", "veo+svd"):
        flips = crops = refused_b = refused_a = 0
        for p in sorted(a):
            ra, rb = a[p][key], b[p][key]
            if orient(ra["target"]) != orient(rb["target"]):
                flips += 1
                print(f"{key}: {p} {a[p]['size']} {orient(rb['target'])} -> "
                      f"{orient(ra['target'])} ({ra['source']} {ra['subject']})")
            elif ra["layout"]["crop"] != rb["layout"]["crop"] or \
                    ra["layout"]["pad"] != rb["layout"]["pad"]:
                crops += 1
                print(f"{key}: {p} layout {rb['layout']['note']} -> {ra['layout']['note']}")
            if key == "veo+svd":
                refused_b += "refused" in rb["svd"]
                refused_a += "refused" in ra["svd"]
        print(f"{key}: {len(a)} pictures, {flips} changed orientation, {crops} changed crop"
              + (f"; SVD export refused {refused_b} -> {refused_a}" if key == "veo+svd"
                 else ""))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", type=Path)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--render", type=Path)
    ap.add_argument("--compare", nargs=2, type=Path)
    args = ap.parse_args()
    if args.compare:
        compare(*args.compare)
        return
    args.cache.mkdir(parents=True, exist_ok=True)
    if args.render:
        args.render.mkdir(parents=True, exist_ok=True)
    with args.out.open("w") as f:
        for p in pictures():
            f.write(json.dumps(plan(p, args.cache, args.render)) + "\n")
            f.flush()


if __name__ == "__main__":
    main()
