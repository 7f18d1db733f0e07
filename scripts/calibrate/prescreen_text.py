"""Does the text check's OCR pre-screen lose a finding? How many pictures does it skip?

The text check runs OCR only when some 32x32 block of the 512-px luma has a share of strong
gradients of at least ``checks.text.ocr.GATE_EDGE_SHARE`` (the pre-screen). This script runs
the text check on every picture of ``../shared/data`` (the dev pictures: PNG, JPEG, WebP,
BMP), once as shipped and once with the pre-screen off (the share set to -1: OCR on every
picture), and compares every measurement: severity per code, and the finding's level under
the default profile. It prints how many pictures the pre-screen skips, the OCR time that
saves, and every picture whose measurements differ (none may).

    python -m scripts.calibrate.prescreen_text [--data ../shared/data] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from checks.text import ocr  # noqa: E402
from keyframe import views  # noqa: E402
from keyframe.image import ImageError, load  # noqa: E402
from keyframe.profiles import load_profile  # noqa: E402
from keyframe.registry import CheckSkipped, check_classes  # noqa: E402

SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp"}


def readings(check, image) -> dict[str, float]:
    """``{code: severity}`` of the text check on ``image``."""
    return {m.code: round(float(m.severity), 6) for m in check.measure(image)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    import cv2

    cv2.setNumThreads(1)
    check = check_classes()["text"]()
    profile = load_profile("default")
    gate = ocr.GATE_EDGE_SHARE
    paths = sorted(p for p in args.data.rglob("*") if p.suffix.lower() in SUFFIXES)
    rows, lost = [], []
    for path in paths:
        try:
            image = views.flattened(load(path, max_pixels=None))
        except ImageError as exc:
            print(f"skip {path}: {exc}", file=sys.stderr)
            continue
        share = ocr.text_possible(image)
        try:
            ocr.GATE_EDGE_SHARE = gate
            t = time.process_time()
            screened = readings(check, image)
            t_screened = time.process_time() - t
            ocr.GATE_EDGE_SHARE = -1.0                      # OCR on every picture
            t = time.process_time()
            full = readings(check, image)
            t_full = time.process_time() - t
        except CheckSkipped as exc:
            raise SystemExit(f"the text check cannot run here: {exc}") from None
        finally:
            ocr.GATE_EDGE_SHARE = gate
        levels = {c: (profile.rule(c).level(screened.get(c, 0.0)),
                      profile.rule(c).level(full.get(c, 0.0)))
                  for c in set(screened) | set(full)}
        row = {"path": str(path.relative_to(args.data)), "share": round(share, 4),
               "skipped": share < gate, "screened": screened, "full": full,
               "cpu_screened": round(t_screened, 4), "cpu_full": round(t_full, 4),
               "same": screened == full}
        rows.append(row)
        if screened != full:
            lost.append((row, levels))
            print(f"DIFFERS {row['path']}: share {share:.3f}; with pre-screen {screened}, "
                  f"without {full}; levels {levels}", flush=True)
    skipped = [r for r in rows if r["skipped"]]
    saved = sum(r["cpu_full"] - r["cpu_screened"] for r in skipped)
    total = sum(r["cpu_full"] for r in rows)
    lost_findings = [(r, lv) for r, lv in lost if any(a != b for a, b in lv.values())]
    print(f"{len(rows)} dev pictures; the pre-screen (block edge share >= {gate}) skips OCR on "
          f"{len(skipped)} ({100 * len(skipped) / max(1, len(rows)):.0f} %)")
    print(f"text check CPU without the pre-screen {total:.1f} s; the skipped pictures' OCR "
          f"{saved:.1f} s ({100 * saved / max(total, 1e-9):.0f} % of it) is saved")
    print(f"pictures whose text measurements differ: {len(lost)}; findings (levels) that "
          f"differ: {len(lost_findings)}")
    near = sorted(r["share"] for r in skipped)[-5:]
    print(f"highest shares among the skipped: {near}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
