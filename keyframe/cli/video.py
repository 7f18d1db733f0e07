"""Video commands: extract, preview, drift, targets (logic in keyframe.video / targets)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from keyframe.cli._base import InputError, main, overwrite_option, refuse_or_error


def _read_keyframe(package: Path):
    """Pixels and manifest target of a package folder; one-line usage error otherwise."""
    from keyframe.image import ImageError, load
    from keyframe.package import KEYFRAME_FILE
    from keyframe.verify import read_manifest

    try:
        image = load(package / KEYFRAME_FILE, max_pixels=None)
    except ImageError as exc:
        raise click.UsageError(f"{package}: not a keyframe package: {exc}") from None
    try:
        target = read_manifest(package).get("target")
    except ValueError:
        target = None  # pixels without a usable manifest: render at the keyframe's own size
    return image.rgb, target


def _read_exports(package: Path) -> list:
    """``(file, pixels)`` of every export the package's manifest records and that decodes
    (drift picks the one the clip was made from)."""
    from keyframe.image import ImageError, load
    from keyframe.verify import read_manifest

    try:
        records = (read_manifest(package).get("exports") or {}).values()
    except ValueError:
        return []
    out = []
    for rec in records:
        name = rec.get("file") if isinstance(rec, dict) else None
        if not isinstance(name, str):
            continue
        try:
            out.append((name, load(package / name, max_pixels=None).rgb))
        except ImageError:
            continue   # `keyframe verify` reports a broken export; drift compares the rest
    return out


@main.command()
@click.argument("clip", type=click.Path(path_type=Path))
@click.option("--frame", default="first", show_default=True, metavar="first|last|N|t=SECONDS",
              help="Which frame: the true last decoded frame for 'last'.")
@click.option("-o", "--out", "out", required=True,
              type=click.Path(dir_okay=False, path_type=Path),
              help="Image file to write: .png, .jpg/.jpeg or .webp, by its ending.")
@overwrite_option
def extract(clip, frame, out, overwrite):
    """Write one exact frame of CLIP as a PNG (then gate it like any image)."""
    from keyframe.encode import encode_for, output_format
    from keyframe.package import write_atomic
    from keyframe.video import VideoError, extract as extract_frame

    refuse_or_error(out, inputs=[clip], overwrite=True)
    try:
        output_format(out)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    try:
        rgb = extract_frame(clip, frame)
    except VideoError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    data = encode_for(rgb, out)
    refuse_or_error(out, inputs=[clip], overwrite=overwrite, data=data)
    write_atomic(out, data)
    click.echo(f"{clip} frame {frame} ({rgb.shape[1]}x{rgb.shape[0]}) → {out}")


@main.command()
@click.argument("package", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("-o", "--out", "out", required=True,
              type=click.Path(dir_okay=False, path_type=Path),
              help="MP4 file to write (the name must end in .mp4).")
@click.option("--target", default=None, metavar="NAME",
              help="Render at this target's size (default: the package's target, else the "
                   "keyframe's own size).")
@click.option("--seconds", type=click.FloatRange(0.1, 30), default=2.0, show_default=True)
@click.option("--fps", type=click.FloatRange(1, 120), default=24.0, show_default=True)
@overwrite_option
def preview(package, out, target, seconds, fps, overwrite):
    """Encode a short H.264 yuv420p push-in of a package's keyframe at the target size."""
    from keyframe.package import write_atomic
    from keyframe.targets import TargetError, load_target
    from keyframe.video import VideoError, encode_preview

    if out.suffix.lower() != ".mp4":
        raise InputError(f"{out}: a preview is an MP4 file: end the name in .mp4")
    refuse_or_error(out, inputs=list(package.iterdir()), overwrite=overwrite)

    rgb, manifest_target = _read_keyframe(package)
    name = target or manifest_target
    h, w = rgb.shape[:2]
    if name:
        try:
            w, h = load_target(name).output_size(w, h)
        except TargetError as exc:
            raise click.UsageError(str(exc)) from None
    try:
        data = encode_preview(rgb, width=w, height=h, seconds=seconds, fps=fps)
    except VideoError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    write_atomic(out, data)
    click.echo(f"{package} → {out} ({w // 2 * 2}x{h // 2 * 2}, {seconds:g} s, H.264 yuv420p)")


@main.command()
@click.argument("clip", type=click.Path(path_type=Path))
@click.option("--keyframe", "package", required=True,
              type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="The package the clip was generated from.")
@click.option("--json", "as_json", is_flag=True, help="Print the measurements as JSON.")
def drift(clip, package, as_json):
    """Check a generated CLIP against its keyframe: first-frame fidelity and flicker.

    The first frame is compared with the package's picture nearest the clip in aspect and
    size: the export made for the clip's model (reframed or extended as it was sent), else
    keyframe.png.

    Exit 0 when the clip kept the keyframe, 1 when it drifted or flickers, 2 on errors.
    """
    from keyframe.video import VideoError, drift as measure_drift

    rgb, _ = _read_keyframe(package)
    try:
        result = measure_drift(clip, rgb, exports=_read_exports(package))
    except VideoError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    if as_json:
        click.echo(json.dumps({"clip": str(clip), "package": str(package),
                               **result.to_dict()}))
    else:
        click.echo(f"{result.verdict}: {result.reason}")
    sys.exit(0 if result.verdict == "kept" else 1)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per target.")
def targets(as_json):
    """List the video targets and their first-frame limits."""
    from keyframe.targets import builtin_target_names, load_target

    for name in builtin_target_names():
        t = load_target(name)
        if as_json:
            click.echo(json.dumps(t.limits()))
            continue
        size = (f"{t.size[0]}x{t.size[1]}" if t.size else
                ", ".join(f"{w}x{h}" for w, h in t.sizes) if t.sizes else
                f"area {t.area:,} px" if t.area else "source size")
        aspects = ", ".join(t.aspect_labels) or f"{t.aspect_range[0]:g}-{t.aspect_range[1]:g}"
        cap = f"{t.max_bytes / 1e6:g} MB" if t.max_bytes else "no cap"
        click.echo(f"{name:<12} {'/'.join(t.formats):<15} {cap:>7}  short side >= "
                   f"{t.min_short_side} px, sides <= {t.max_side} px, multiple of "
                   f"{t.multiple_of}; aspects {aspects}; {size}"
                   f"{'' if t.verified else ' (unverified)'}"
                   + (f"; also --target {', '.join(t.aliases)}" if t.aliases else ""))
