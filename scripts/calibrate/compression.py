"""Print calibration tables for the compression and tonal artifact measures.

Usage: ``python -m scripts.calibrate.compression [--shared ../shared] [--only clean|jpeg|...]``

Reads real images from ``<shared>/data`` (nothing is copied into the project) and scikit-image's
bundled photos, makes synthetic degradations in memory and prints, per image, the raw measures
and the severities of jpeg_blocking, grid_artifact, banding, clipped_highlights,
clipped_shadows and border, plus timings. The anchors in checks/artifact/compression.py and
checks/artifact/tonal.py were set from these tables.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image


from checks.artifact import banding, compression, tonal  # noqa: E402
from keyframe.image import LoadedImage  # noqa: E402
from keyframe_dev.timing import median_ms  # noqa: E402

CLEAN_DIRS = ("flux", "sdxl", "sd3", "sdturbo", "stable_cascade", "hypernetworks")


def img(rgb: np.ndarray) -> LoadedImage:
    rgb = np.ascontiguousarray(rgb[..., :3])
    rgb.setflags(write=False)
    return LoadedImage(rgb=rgb)


def read(path: str | Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def jpeg(rgb: np.ndarray, q: int) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", rgb[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, q])
    assert ok
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1]


def checker(rgb: np.ndarray, amp: float, period: int = 2) -> np.ndarray:
    h, w = rgb.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    pat = ((xx // (period // 2) + yy // (period // 2)) % 2) * amp
    return np.clip(rgb + pat[..., None], 0, 255).astype(np.uint8)


def seams(rgb: np.ndarray, amp: float, period: int = 64) -> np.ndarray:
    out = rgb.astype(np.float32)
    out[:, period - 1::period] += amp
    out[period - 1::period, :] += amp
    return np.clip(out, 0, 255).astype(np.uint8)


def run_all(rgb: np.ndarray) -> dict:
    im = img(rgb)
    t = time.perf_counter()
    ms = [compression.measure_jpeg_blocking(im), compression.measure_grid_artifact(im),
          banding.measure_banding(im), *tonal.measure_clipping(im), tonal.measure_border(im)]
    dt = (time.perf_counter() - t) * 1000
    return {"ms": dt, **{m.code: m for m in ms}}


CODES = ("jpeg_blocking", "grid_artifact", "banding", "clipped_highlights", "clipped_shadows",
         "border")
SHORT = {"jpeg_blocking": "jpeg", "grid_artifact": "grid", "banding": "band",
         "clipped_highlights": "hi", "clipped_shadows": "lo", "border": "bord"}
RAW = {"jpeg_blocking": "blockiness", "grid_artifact": None, "banding": "step",
       "clipped_highlights": "fraction", "clipped_shadows": "fraction", "border": None}


def row(name: str, rgb: np.ndarray) -> dict:
    r = run_all(rgb)
    parts = []
    for c in CODES:
        m = r[c]
        raw = ""
        if c == "grid_artifact":
            raw = f"({m.measurements['fine_amplitude']:.2f}/{m.measurements['seam_step']:.2f})"
        elif c == "border":
            mm = m.measurements
            raw = f"({mm['top']},{mm['bottom']},{mm['left']},{mm['right']})"
        elif RAW[c]:
            raw = f"({m.measurements[RAW[c]]:.3g})"
        parts.append(f"{SHORT[c]}={m.severity:.2f}{raw}")
    print(f"{name[:46]:46s} {' '.join(parts)}  {r['ms']:.0f}ms")
    return r


def clean_set(data: Path) -> list[tuple[str, np.ndarray]]:
    import skimage.data as sd
    out = [(n, getattr(sd, n)()) for n in ("astronaut", "coffee", "chelsea", "rocket")]
    for d in CLEAN_DIRS:
        for f in sorted(glob.glob(str(data / "comfyui_examples" / d / "*.png"))):
            out.append((os.path.relpath(f, data), read(f)))
    for f in sorted(glob.glob(str(data / "blur_dataset_kwentar/samples/*"))):
        out.append((os.path.relpath(f, data), read(f)))
    for f in sorted(glob.glob(str(data / "live_iqa_cilissa/ref_images/*.png"))):
        out.append((os.path.relpath(f, data), read(f)))
    return out


def pil_jpeg(rgb: np.ndarray, q: int) -> np.ndarray:
    """Pillow's JPEG, 4:2:0 chroma (as the gate's evaluation and most encoders)."""
    import io
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=q)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def chroma_splits(data: Path) -> dict[str, list[tuple[str, np.ndarray]]]:
    """The chroma term's calibration data, at most 1024 px (area resampling).

    tune: the eight clean ComfyUI generations, the two sharp kwentar camera shots and the
    ten PAL4VST generations (JPEG-born). held-out: scikit-image astronaut, coffee, chelsea and
    rocket, the LIVE references, the p3m portraits and the mmpose photos of people
    (keyframe_dev.data.clean_paths less the tune ones)."""
    import skimage.data as sd
    from keyframe_dev.data import clean_generations, clean_paths

    def cap(rgb: np.ndarray) -> np.ndarray:
        f = 1024 / max(rgb.shape[:2])
        return rgb if f >= 1 else cv2.resize(rgb, (round(rgb.shape[1] * f), round(
            rgb.shape[0] * f)), interpolation=cv2.INTER_AREA)

    tune = clean_generations(data) + sorted((data / "blur_dataset_kwentar/samples").glob("*_S.*"))
    tune += sorted((data / "pal4vst/demo_test_data").glob("*/images/*.jpg"))
    held = [p for p in clean_paths(data) if p not in tune]
    out = {"tune": [(p.name, cap(read(p))) for p in tune]}
    out["held-out"] = ([(n, getattr(sd, n)()) for n in ("astronaut", "coffee", "chelsea", "rocket")]
                       + [(p.name, cap(read(p))) for p in held if p.name != "astronaut.png"])
    return out


def chroma_tables(data: Path) -> None:
    """The chroma term of jpeg_blocking per split and JPEG quality (Pillow, 4:2:0), and what
    deblock leaves of it at q=8 (luma taper only, the issue-13 behaviour, and with its chroma
    pass), with the residual against the clean picture (the gate evaluation's oracle)."""
    from keyframe.fixes.deblock import Deblock
    qs = (90, 75, 50, 30, 15, 8, 5)
    for split, pics in chroma_splits(data).items():
        print(f"== chroma term, {split} split ({len(pics)} pictures)")
        rows: dict[str, list[tuple[float, float]]] = {}
        drops = 0
        for n, rgb in pics:
            seq = [rgb] + [pil_jpeg(rgb, q) for q in qs]
            ms = [compression.measure_jpeg_blocking(img(x)).measurements for x in seq]
            for key, m in zip(["clean", *map(str, qs)], ms):
                rows.setdefault(key, []).append((m["chroma_blockiness"], m["chroma_severity"]))
            sevs = [m["chroma_severity"] for m in ms[1:]]
            drops += sum(b < a - 0.02 for a, b in zip(sevs, sevs[1:]))
            j = seq[qs.index(8) + 1]
            for key, chroma in (("q8 deblock luma only", 0.0), ("q8 deblock + chroma", 1.0)):
                out = Deblock().apply(j, Deblock.Params(strength=1.0, chroma=chroma))
                m = compression.measure_jpeg_blocking(img(out)).measurements
                res = compression.chroma_block_grid(out.astype(np.float32) - rgb)["excess"]
                rows.setdefault(key, []).append((m["chroma_blockiness"], m["chroma_severity"]))
                rows.setdefault(key + " (residual vs clean)", []).append((res, 0.0))
        print("| JPEG quality | n | chroma excess median | max | >= minor | >= major |")
        print("|---|---|---|---|---|---|")
        for key, v in rows.items():
            ex, sv = np.array(v).T
            shares = (f"{np.mean(sv >= 0.25):.0%} | {np.mean(sv >= 0.5):.0%}"
                      if "residual" not in key else
                      f"> oracle bound {compression._CHROMA_ZERO}: {np.mean(ex > compression._CHROMA_ZERO):.0%} | -")
            print(f"| {key} | {len(v)} | {np.median(ex):.2f} | {ex.max():.2f} | {shares} |")
        print(f"quality steps where the chroma severity fell by > 0.02: {drops} "
              f"of {len(pics) * (len(qs) - 1)}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=str(Path(__file__).resolve().parents[3] / "shared"))
    ap.add_argument("--only", default="")
    a = ap.parse_args()
    cv2.setNumThreads(1)
    data = Path(a.shared) / "data"
    clean = clean_set(data)
    sec = a.only

    if sec in ("", "clean"):
        print("== clean images (all codes must stay < 0.25)")
        worst = {c: 0.0 for c in CODES}
        for n, rgb in clean:
            r = row(n, rgb)
            for c in CODES:
                worst[c] = max(worst[c], r[c].severity)
        print("max clean severity:", {SHORT[c]: round(v, 2) for c, v in worst.items()})
        for f in ("controlnet/controlnet_example.png", "inpaint/inpain_model_woman.png"):
            p = data / "comfyui_examples" / f
            if p.exists():
                row("(not clean) " + f, read(p))

    photos = [c for c in clean if c[0] in ("astronaut", "coffee", "chelsea", "rocket")
              or "flux" in c[0] or "sdxl" in c[0]]
    if sec in ("", "jpeg"):
        print("== JPEG ladder (OpenCV quality)")
        for n, rgb in photos:
            for q in (95, 90, 75, 50, 30, 15, 5):
                row(f"{n} q={q}", jpeg(rgb, q))
        print("== LIVE jpeg ladder (sorted by PSNR, high first)")
        meta = json.loads((data / "live_iqa_cilissa/data.json").read_text())["jpeg"]
        for ref in ("monarch", "parrots"):
            items = []
            for e in meta:
                stem = Path(e["measured"]).stem
                if stem.startswith(ref) and (data / f"live_iqa_cilissa/jpeg/{stem}.png").exists():
                    items.append((e["metrics"]["psnr"] or 99.0, stem))
            for psnr, stem in sorted(items, reverse=True):
                row(f"live {stem} psnr={psnr:.1f}", read(data / f"live_iqa_cilissa/jpeg/{stem}.png"))
    if sec in ("", "grid"):
        print("== checkerboard (period 2, then 4) and seams every 64 px")
        import skimage.data as sd
        for n, rgb in photos[:6]:
            for a_ in (1, 2, 4, 8):
                row(f"{n} checker2 a={a_}", checker(rgb, a_))
            for a_ in (2, 4, 8):
                row(f"{n} checker4 a={a_}", checker(rgb, a_, 4))
            for a_ in (1, 3, 6, 12):
                row(f"{n} seam64 a={a_}", seams(rgb, a_))
        for t in ("brick", "grass", "gravel"):
            g = getattr(sd, t)()
            row(f"texture {t}", np.repeat(g[..., None], 3, 2))
    if sec in ("", "band"):
        print("== banding")
        for levels in (256, 64, 32, 16, 8):
            x = np.linspace(0, 1, 1024)[None, :].repeat(768, 0)
            q = np.round(x * (levels - 1)) / (levels - 1) * 255
            row(f"h-gradient levels={levels}", np.repeat(q[..., None], 3, 2).astype(np.uint8))
        for levels in (256, 64, 32, 16, 8):
            yy, xx = np.mgrid[0:768, 0:1024]
            r_ = np.hypot(yy - 384, xx - 512) / 640
            q = np.round(r_ * (levels - 1)) / (levels - 1) * 200 + 30
            rgb = np.stack([q * 0.6, q * 0.8, q], -1).astype(np.uint8)
            row(f"radial levels={levels}", rgb)
        x = np.linspace(10, 20, 1000)[None, :].repeat(600, 0)
        row("dark gradient 10..20 (8-bit)", np.repeat(np.round(x)[..., None], 3, 2).astype(np.uint8))
        for n, rgb in photos[:6]:
            for levels in (64, 32, 16, 8):
                step = 256 / levels
                row(f"{n} posterised {levels}", (np.floor(rgb / step) * step).astype(np.uint8))
    if sec in ("", "clip"):
        print("== exposure (+stops, linear-light gain) and dark pull")
        for n, rgb in photos[:6]:
            lin = (rgb / 255.0) ** 2.2
            for stops in (1, 2, 3):
                out = np.clip(lin * 2 ** stops, 0, 1) ** (1 / 2.2) * 255
                row(f"{n} +{stops} stops", out.round().astype(np.uint8))
            for stops in (1, 2, 3):
                out = np.clip(lin * 2 ** -stops - 0.002 * stops, 0, 1) ** (1 / 2.2) * 255
                row(f"{n} -{stops} stops (crushed)", out.round().astype(np.uint8))
    if sec in ("", "border"):
        print("== borders")
        for n, rgb in photos[:4]:
            h, w = rgb.shape[:2]
            for frac in (0.01, 0.02, 0.05, 0.1, 0.2):
                for col in (0, 255):
                    out = rgb.copy()
                    out[:max(1, round(h * frac))] = col
                    row(f"{n} top bar {frac:.0%} {col}", out)
            out = rgb.copy()
            out[:round(h * .1)] = 0
            out[h - round(h * .1):] = 0
            row(f"{n} letterbox 10%", out)
            out = rgb.copy()
            out[:, :round(w * .12)] = 0
            out[:, w - round(w * .12):] = 0
            row(f"{n} pillarbox 12%", out)
    if sec in ("", "chroma"):
        chroma_tables(data)
    if sec in ("", "size"):
        print("== size comparability (flux girl, same relative degradation)")
        base = [c for c in clean if "girl_in_field" in c[0]]
        if base:
            for side in (512, 1024, 2048, 4096):
                rgb = cv2.resize(base[0][1], (side, side), interpolation=cv2.INTER_AREA
                                 if side < 1024 else cv2.INTER_CUBIC)
                row(f"girl {side} clean", rgb)
                row(f"girl {side} q=20", jpeg(rgb, 20))
                out = rgb.copy()
                out[:round(side * .05)] = 0
                row(f"girl {side} bar 5%", out)
                row(f"girl {side} checker a=4", checker(rgb, 4))
    if sec in ("", "time"):
        print("== timings (median of 5, single thread)")
        for side in ((1280, 853), (4096, 2731)):
            rgb = cv2.resize(clean[4][1], side, interpolation=cv2.INTER_CUBIC)
            im = img(rgb)
            for fn in (compression.measure_jpeg_blocking, compression.measure_grid_artifact,
                       banding.measure_banding, tonal.measure_clipping, tonal.measure_border):
                cold = median_ms(lambda fn=fn: (im.cache.clear(), fn(im)), 5)
                print(f"{side} {fn.__name__:24s} {cold:6.1f} ms")
            cold = median_ms(lambda: (im.cache.clear(), run_all(rgb)), 5)
            print(f"{side} all six (incl. luma/canonical views) {cold:6.1f} ms")


if __name__ == "__main__":
    main()
