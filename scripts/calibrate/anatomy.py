"""The anatomy check against human grades and real people: the figures of docs/anatomy.md.

Usage::

    KEYFRAME_MODELS=../shared/models python -m scripts.calibrate.anatomy \
        [--cache anatomy.jsonl] [--profile default] [--full] [--show]

Measures every image once with the shipped :class:`checks.anatomy.AnatomyCheck` (``--cache``
keeps the measurements as JSON Lines keyed by path and file size, so re-routing under another
profile or re-printing costs nothing) and routes the anatomy codes alone under the profile
(``required_checks`` cleared, so the verdict is the anatomy family's). ``--full`` also runs
every other check (the verdict ``keyframe check`` gives).

Sets (all under ../shared/data, nothing copied):

* ``ai graded``: ai_human_anatomy (SDXL, Stable Cascade, DALL-E 3 people graded by a panel);
  even rows of labels_per_image.csv are the *fit* half (anchors were set on them), odd rows
  are *held out*. "severe" = any part flagged severe by an annotator.
* ``real people``: photos of people in mmpose_testdata (COCO, CrowdPose, MPII, H36M, HumanArt
  real, ExLPose, 300W, COFW), p3m_demo portraits, the scikit-image astronaut.
* ``real hands``: FreiHAND, OneHand10K, RHD (hand-only photos and renders).
* ``clean gens``: comfyui_examples generations (people and not; not the two files
  MANIFEST.csv marks as edge cases to reject).
* ``handrefiner``: five generations with malformed hands; ``other ai``: realishuman, PAL4VST.

Printed: verdict counts per set; on each half of the graded set, the share of severe images
certified, Spearman(worst anatomy severity, total_score_mean) and ROC-AUC(worst severity,
severe); the codes that decided.
"""
from __future__ import annotations

import argparse
import csv
import dataclasses
import glob
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from checks import anatomy
from checks.anatomy import AnatomyCheck
from keyframe.assess import assess
from keyframe.image import load
from keyframe.profiles import load_profile
from keyframe.report import Measurement, Report
from keyframe.router import route

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
MM = DATA / "mmpose_testdata/tests/data"
PARTS = ("torso", "limbs", "feet", "hands", "face")
#: comfyui_examples files MANIFEST.csv marks as edge cases to reject (a UI screenshot, an
#: RGBA inpainting input with a transparent hole), not clean generations
EDGE_CASES = ("controlnet_example.png", "yosemite_inpaint_example.png")


def ai_graded() -> list[dict]:
    rows = list(csv.DictReader(open(DATA / "ai_human_anatomy/labels_per_image.csv")))
    return [{"set": "ai graded", "path": str(DATA / "ai_human_anatomy" / r["path"]),
             "half": "fit" if i % 2 == 0 else "held",
             "severe": any(r[f"{k}_severe_any"] == "True" for k in PARTS),
             "score": float(r["total_score_mean"])} for i, r in enumerate(rows)]


def _glob(name: str, root: Path, patterns) -> list[dict]:
    return [{"set": name, "path": p} for pat in patterns for p in sorted(glob.glob(str(root / pat)))]


def sets() -> list[dict]:
    return (ai_graded()
            + _glob("real people", MM, ("coco/*.jpg", "crowdpose/*.jpg", "exlpose/*.png",
                                        "h36m/*/*/*.jpg", "humanart/real_human/*/*.jpg",
                                        "mpii/*.jpg", "300w/*.png", "cofw/*.jpg"))
            + _glob("real people", DATA, ("p3m_demo/demo/imgs/original/*.jpg",
                                          "skimage_astronaut/*.png"))
            + _glob("real hands", MM, ("freihand/*.jpg", "onehand10k/*.jpg", "rhd/*.png"))
            + [it for it in _glob("clean gens", DATA, ("comfyui_examples/*/*.png",))
               if Path(it["path"]).name not in EDGE_CASES]
            + _glob("handrefiner", DATA, ("handrefiner/test/*.jpg",))
            + _glob("other ai", DATA, ("realishuman/data/images/image/*.png",
                                       "pal4vst/demo_test_data/*/images/*.jpg")))


def measure(items: list[dict], cache: Path | None, full: bool, profile) -> dict[str, dict]:
    """{path: {code: [severity, message, region]}} for every item, measured once."""
    done: dict[str, dict] = {}
    if cache and cache.exists():
        for line in cache.read_text().splitlines():
            e = json.loads(line)
            done[e["key"]] = e["codes"]
    check = AnatomyCheck()
    out = {}
    for it in items:
        models = ":".join(getattr(anatomy, k, "old") for k in ("POSE_MODEL", "PALM_MODEL"))
        key = f"{it['path']}:{Path(it['path']).stat().st_size}:{int(full)}:{models}"
        if key not in done:
            image = load(it["path"])
            ms = (list(assess(image, profile=profile).measurements.values()) if full
                  else check.measure(image))
            done[key] = {m.code: [m.severity, m.message, m.region, m.check] for m in ms}
            if cache:
                with open(cache, "a") as fh:
                    fh.write(json.dumps({"key": key, "codes": done[key]}) + "\n")
            print(".", end="", file=sys.stderr, flush=True)
        out[it["path"]] = done[key]
    print(file=sys.stderr)
    return out


def verdict(codes: dict, profile) -> tuple[str, str, float]:
    ms = {c: Measurement(c, v[0], v[1], tuple(v[2]) if v[2] else None, check=v[3] or "anatomy")
          for c, v in codes.items()}
    report = Report(path="x", sha256="0" * 64, width=1, height=1, measurements=ms)
    d = route(report, profile)
    anatomy = [v[0] for c, v in codes.items() if c in AnatomyCheck.codes]
    return d.verdict, d.reason, max(anatomy, default=0.0)


def auc(scores, labels) -> float:
    s, y = np.asarray(scores, float), np.asarray(labels, bool)
    pos, neg = s[y], s[~y]
    if not len(pos) or not len(neg):
        return float("nan")
    return float(((pos[:, None] > neg[None]) + 0.5 * (pos[:, None] == neg[None])).mean())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache", type=Path)
    ap.add_argument("--profile", default="default")
    ap.add_argument("--full", action="store_true", help="every check, not the anatomy alone")
    ap.add_argument("--show", action="store_true", help="one line per image")
    ap.add_argument("--lite", action="store_true",
                    help="MediaPipe's lite pose, palm and hand models instead of the full ones")
    args = ap.parse_args()
    if args.lite:
        anatomy.POSE_MODEL, anatomy.PALM_MODEL = "pose-landmark-lite", "palm-detection-lite"
        anatomy.HAND_MODEL, anatomy.SECOND_HAND_MODEL = "hand-landmark-lite", "hand-landmark-full"
    profile = load_profile(args.profile)
    if not args.full:
        profile = dataclasses.replace(profile, required_checks=())
    items = sets()
    got = measure(items, args.cache, args.full, profile)
    rows = []
    for it in items:
        v, reason, worst = verdict(got[it["path"]], profile)
        rows.append({**it, "verdict": v, "reason": reason, "worst": worst})
    print(f"profile {profile.name}{' (every check)' if args.full else ' (anatomy alone)'}")
    for name in dict.fromkeys(r["set"] for r in rows):
        mine = [r for r in rows if r["set"] == name]
        counts = Counter(r["verdict"] for r in mine)
        print(f"{name:12s} n={len(mine):3d}  " + "  ".join(
            f"{k} {counts.get(k, 0)}" for k in ("certified", "fix", "review", "trash")))
    for half in ("fit", "held", None):
        mine = [r for r in rows if r["set"] == "ai graded" and (half is None or r["half"] == half)]
        severe = [r for r in mine if r["severe"]]
        cert = sum(r["verdict"] == "certified" for r in severe)
        rho = spearmanr([r["worst"] for r in mine], [r["score"] for r in mine])[0]
        print(f"ai graded {half or 'all':4s}: severe certified {cert}/{len(severe)} "
              f"({cert / len(severe):.0%}), Spearman {rho:.2f}, AUC severe "
              f"{auc([r['worst'] for r in mine], [r['severe'] for r in mine]):.2f}, "
              f"not severe certified {sum(r['verdict'] == 'certified' for r in mine if not r['severe'])}"
              f"/{sum(not r['severe'] for r in mine)}")
    decided = Counter(r["reason"].split(":")[1].split("(")[-1].split()[0] if "(" in r["reason"]
                      else r["verdict"] for r in rows if r["verdict"] != "certified")
    print("deciding codes:", dict(decided.most_common()))
    if args.show:
        for r in rows:
            print(f"{r['set'][:10]:10s} {str(r.get('severe', ''))[:1]:1s} {r.get('half', ''):4s} "
                  f"{Path(r['path']).name[:28]:28s} {r['verdict']:9s} {r['reason'][:150]}")


if __name__ == "__main__":
    main()
