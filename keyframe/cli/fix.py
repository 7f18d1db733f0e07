"""Fix commands: gate (the closed loop), fix and apply (recipe replay), recipe show/check."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from keyframe.batch import exit_code, iter_images, summarise
from keyframe.fileio import same_folder
from keyframe.cli._base import (BackgroundType, InputError, found_or_error,
                                hold_out, jobs_option, main, mattes_option, max_pixels_option,
                                overwrite_option, profile_option,
                                refuse_or_error, summary_line, targets_and_profile,
                                targets_option, verdict_line, wait_option)
from keyframe.workflows import error_line


def _recipe_or_usage_error(path: Path):
    from keyframe.recipe import RecipeError, load

    try:
        return load(path)
    except RecipeError as exc:
        raise click.UsageError(str(exc)) from None


def _format_or_error(out: Path) -> None:
    """Exit 2 when ``out``'s ending names no image format keyframe writes."""
    from keyframe.encode import output_format

    try:
        output_format(out)
    except ValueError as exc:
        raise InputError(str(exc)) from None


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--out", "out", required=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the packages of the images that end certified.")
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON object per image: verdict, reason, recipe, every attempt.")
@click.option("--rounds", type=click.IntRange(1, 10), default=3, show_default=True,
              help="Most plan rounds per image.")
@click.option("--background", metavar="COLOR|IMAGE", type=BackgroundType(),
              help="Flatten cut-outs (RGBA) onto this '#rrggbb' colour or image, after "
                   "defringing; without it, transparency goes to review.")
@targets_option
@profile_option
@max_pixels_option
@mattes_option
@wait_option
@jobs_option
def gate(paths, out, as_json, rounds, background, target_names, profile, max_pixels, mattes,
         wait, jobs):
    """Check, fix and re-check each image; package what ends certified.

    A step that damages the picture (a code reaching a higher level, or an edit the gate's
    inspection of the changed region finds: copied text, cloned or mismatched fills,
    mirrored extensions, an enlargement beyond the profile's limit) or that does not lower
    its own code is rolled back and reported. With --target, reframe plans the target's
    aspect and size and the package carries its exports. Images that cannot be certified
    end as review or trash with the reason. With --jobs, the pictures are gated in worker
    processes and reported in input order, as one process would.
    """
    from keyframe.workflows import gate_batch

    targets, prof = targets_and_profile(target_names, profile)
    finals = []
    lines = []      # OUT/gate.jsonl: what `keyframe review OUT` shows
    found = found_or_error(iter_images(paths, exclude=[out] + ([mattes] if mattes else [])),
                           paths)
    hold_out(out, "gate", wait=wait)
    journal = _gate_journal(out, prof, max_pixels=max_pixels, rounds=rounds,
                            background=background, mattes=mattes, targets=target_names)
    for done in gate_batch(found, out, journal=journal, jobs=jobs, profile=prof,
                           targets=targets, rounds=rounds, background=background,
                           max_pixels=max_pixels, mattes=mattes):
        lines.append(done.line)
        finals.append(done.final)
        record = {k: v for k, v in done.line.items() if not k.startswith("report_")}
        if as_json:
            click.echo(json.dumps(record | ({"reused": done.reused} if done.reused else {}),
                                  ensure_ascii=False))
        elif done.reused:
            click.echo(verdict_line(done.final) + f"  ({done.reused})")
        else:
            click.echo(verdict_line(done.final))
            for a in done.attempts:
                mark = "kept" if a.kept else "rolled back"
                click.echo(f"    {mark:<11} {a.step.fix}: {a.reason}")
            for line in record.get("exports", []):
                click.echo(f"    {line}")
    _write_gate_log(out, lines)
    if not as_json:
        click.echo(summary_line(summarise(finals)), err=True)
    sys.exit(exit_code(summarise(finals)))


def _write_gate_log(out: Path, lines: list) -> None:
    """``OUT/gate.jsonl``: one line per input (the gate's record, its reports before and
    after), written atomically; `keyframe review OUT` and `certify --approved` read it."""
    from keyframe.package import write_atomic

    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / "gate.jsonl", "".join(json.dumps(d, ensure_ascii=False) + "\n"
                                             for d in lines).encode("utf-8"))


def _gate_journal(out: Path, prof, *, max_pixels: int, rounds: int, background: str | None,
                  mattes: Path | None, targets: tuple[str, ...] = ()):
    """The resumable journal of ``keyframe gate`` in OUT (closed when the command ends)."""
    from keyframe.store import Resumable, run_id

    rid = run_id(prof.raw, target=targets[0] if targets else None, max_pixels=max_pixels,
                 mattes=str(mattes.resolve()) if mattes else None,
                 extra={"command": "gate", "rounds": rounds, "background": background,
                        "targets": list(targets)})
    return click.get_current_context().with_resource(Resumable(out, "gate_results", rid))


@main.command("fix")
@click.argument("image", type=click.Path(path_type=Path))
@click.option("--recipe", "recipe_path", required=True, type=click.Path(path_type=Path),
              help="Recipe file (.toml or .json) to replay on IMAGE.")
@click.option("-o", "--out", "out", required=True,
              type=click.Path(dir_okay=False, path_type=Path),
              help="Output file: .png (default format), .jpg/.jpeg (quality 95) or .webp "
                   "(lossless), by its ending.")
@max_pixels_option
@overwrite_option
def fix_command(image, recipe_path, out, max_pixels, overwrite):
    """Replay a recipe on one image and write the result (atomically) in the format the
    ending of -o names. The input is never overwritten; another existing file only with
    --overwrite."""
    from keyframe.encode import encode_for
    from keyframe.image import ImageError, load, sha256_bytes
    from keyframe.package import write_atomic
    from keyframe.recipe import RecipeError, replay_noted

    refuse_or_error(out, inputs=[image, recipe_path], overwrite=True)   # before any work
    _format_or_error(out)

    recipe = _recipe_or_usage_error(recipe_path)
    try:
        src = load(image, max_pixels=max_pixels)
        done = replay_noted(recipe, src.rgb, sha256=src.sha256)
        rgb = done.rgb
    except (ImageError, RecipeError) as exc:
        click.echo(f"error: {error_line(image, exc)}", err=True)
        sys.exit(2)
    data = encode_for(rgb, out)
    refuse_or_error(out, inputs=[image, recipe_path], overwrite=overwrite, data=data)
    write_atomic(out, data)
    click.echo(f"{out}  {rgb.shape[1]}x{rgb.shape[0]}  sha256 {sha256_bytes(data)}"
               + "".join(f"; {note}" for note in done.notes))


@main.command("apply")
@click.argument("recipe_path", metavar="RECIPE", type=click.Path(path_type=Path))
@click.argument("folder", type=click.Path(exists=True, path_type=Path))
@click.option("-o", "--out", "out", required=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="Output folder: one PNG per input (same relative path) and apply.jsonl.")
@click.option("--json", "as_json", is_flag=True,
              help="Print apply.jsonl's records on stdout (path, output, sha256, error, notes) "
                   "instead of the lines for people.")
@jobs_option
@max_pixels_option
@wait_option
@overwrite_option
def apply_command(recipe_path, folder, out, as_json, jobs, max_pixels, wait, overwrite):
    """Replay RECIPE over every image under FOLDER (a campaign).

    One bad file gets an error record in OUT/apply.jsonl and the batch goes on.
    Exit 0 when every image was written, 2 when some failed. An output that is one of the
    inputs is refused; an existing file in an OUT that no earlier apply wrote is replaced
    only with --overwrite.
    """
    from itertools import chain

    from keyframe.executors import LocalExecutor
    from keyframe.fileio import file_ids, is_output_folder, refuse_overwrite
    from keyframe.package import write_atomic
    from keyframe.recipe import RecipeError
    from keyframe.workflows import replay_file

    recipe = _recipe_or_usage_error(recipe_path)
    root = folder if folder.is_dir() else folder.parent
    if folder.is_dir() and same_folder(out, folder):
        raise InputError(f"-o {out} is the input folder: the outputs would replace the "
                         "originals; choose another folder")
    found = found_or_error(iter_images([folder], exclude=[out]), [folder])
    ours = overwrite or is_output_folder(out)           # an earlier apply wrote OUT
    originals = file_ids(found)
    hold_out(out, "apply", wait=wait)
    by_path, todo = {}, []
    for path in found:
        target = out / path.relative_to(root).with_suffix(".png")
        why = refuse_overwrite(target, input_ids=originals, overwrite=ours)
        if why:
            by_path[str(path)] = {"path": str(path), "output": None, "sha256": None,
                                  "error": error_line(path, RecipeError(why)), "notes": []}
        else:
            todo.append((recipe, str(path), str(target), max_pixels))
    with LocalExecutor(jobs=jobs) as runner:
        for record in chain(list(by_path.values()), runner.imap_unordered(replay_file, todo)):
            by_path[record["path"]] = record
            if as_json:
                click.echo(json.dumps(record, ensure_ascii=False))
            elif record["error"]:
                click.echo(f"error  {record['error']}", err=True)
            else:
                click.echo(f"ok     {record['path']} -> {record['output']}"
                           + "".join(f"; {note}" for note in record["notes"]))
    records = [by_path[str(p)] for p in found]          # apply.jsonl in input order
    failed = sum(r["error"] is not None for r in records)
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / "apply.jsonl",
                 "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode())
    click.echo(f"{len(records) - failed} written, {failed} failed; log: {out / 'apply.jsonl'}",
               err=True)
    sys.exit(2 if failed else 0)


@main.group()
def recipe():
    """Recipes: show the one a package recorded, check a recipe file."""


@recipe.command("show")
@click.argument("package_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["toml", "json"]), default="toml",
              show_default=True, help="Output format (both replay with `keyframe fix`).")
def recipe_show(package_dir, fmt):
    """Print the recipe recorded in PACKAGE_DIR/manifest.json, ready to save and replay."""
    from keyframe.recipe import from_manifest
    from keyframe.verify import read_manifest

    try:
        rec = from_manifest(read_manifest(package_dir))
    except ValueError as exc:  # RecipeError is a ValueError too
        raise click.UsageError(f"{package_dir}: {exc}") from None
    click.echo(rec.to_toml() if fmt == "toml" else rec.to_json(), nl=False)


@recipe.command("check")
@click.argument("recipe_path", metavar="RECIPE", type=click.Path(path_type=Path))
def recipe_check(recipe_path):
    """Validate a recipe file whole (fixes, params, regions, model hashes); exit 2 if bad."""
    rec = _recipe_or_usage_error(recipe_path)
    click.echo(f"ok: {len(rec.steps)} step(s): "
               + (", ".join(s.fix for s in rec.steps) or "none"))
