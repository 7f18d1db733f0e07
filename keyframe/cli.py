"""Command line: a thin click layer over the library (logic lives in the modules it calls).

Exit codes (DESIGN.md): 0 all certified, 1 some not certified, 2 usage or input errors.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from keyframe import __version__
from keyframe.batch import BatchOptions, assess_many, exit_code, iter_images, summarise
from keyframe.image import DEFAULT_MAX_PIXELS
from keyframe.profiles import ProfileError, builtin_names, load_profile
from keyframe.report import Report

VERDICT_COLOURS = {"certified": "green", "fix": "yellow", "review": "magenta",
                   "trash": "red", "error": "red"}


def _profile_option(f):
    return click.option(
        "--profile", "profile", default="default", show_default=True, metavar="NAME|FILE",
        help=f"Thresholds to decide with: a built-in ({', '.join(builtin_names())}) "
             "or a .toml file.")(f)


def _max_pixels_option(f):
    return click.option(
        "--max-pixels", type=click.IntRange(min=1), default=DEFAULT_MAX_PIXELS,
        show_default=True, help="Refuse images with more pixels than this (checked from the "
                                "header, before decoding).")(f)


def _load_profile(name: str):
    try:
        return load_profile(name)
    except ProfileError as exc:
        raise click.UsageError(str(exc)) from None


def _line(report: Report, width: int = 48) -> str:
    verdict = click.style(f"{report.verdict:<9}", fg=VERDICT_COLOURS[report.verdict], bold=True)
    quality = "   -" if report.quality is None else f"{report.quality:5.1f}"
    path = report.path if len(report.path) <= width else "…" + report.path[-width + 1:]
    return f"{verdict} {quality}  {path:<{width}}  {report.reason}"


def _summary_line(counts: dict[str, int]) -> str:
    total = sum(counts.values())
    parts = ", ".join(f"{n} {v}" for v, n in counts.items() if n)
    return f"{total} image{'s' if total != 1 else ''}: {parts or 'none'}"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="keyframe")
def main() -> None:
    """keyframe: the quality gate between an image generator and an image-to-video model.

    Measure each image, decide certified / fix / review / trash, and write certified
    keyframe packages. Exit codes: 0 all certified, 1 some not certified, 2 errors.
    """


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print JSON Lines (one report per image).")
@_profile_option
@_max_pixels_option
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=1, show_default=True,
              help="Worker processes.")
def check(paths, as_json, profile, max_pixels, jobs):
    """Check images (files or folders) and print a verdict per image.

    By default a readable table: verdict, quality (0-100), file, and the reason in one
    sentence. With --json, one keyframe.report/1 object per line on stdout.
    """
    prof = _load_profile(profile)
    options = BatchOptions(profile=prof.source, max_pixels=max_pixels)
    reports = []
    for report in assess_many(iter_images(paths), options=options, jobs=jobs):
        reports.append(report)
        click.echo(report.to_json() if as_json else _line(report))
    counts = summarise(reports)
    if not as_json:
        click.echo(_summary_line(counts), err=True)
    sys.exit(exit_code(counts))


@main.command()
@click.argument("folder", type=click.Path(exists=True, path_type=Path))
@click.option("-o", "--out", "out", required=True, type=click.Path(path_type=Path),
              help="Output folder (report.jsonl goes here).")
@_profile_option
@_max_pixels_option
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=1, show_default=True,
              help="Worker processes.")
def triage(folder, out, profile, max_pixels, jobs):
    """Assess every image under FOLDER and write OUT/report.jsonl plus a summary."""
    from keyframe.package import write_atomic

    prof = _load_profile(profile)
    options = BatchOptions(profile=prof.source, max_pixels=max_pixels)
    paths = list(iter_images([folder], exclude=[out]))
    reports = []
    with click.progressbar(assess_many(paths, options=options, jobs=jobs), length=len(paths),
                           label="triage", file=sys.stderr,
                           item_show_func=lambda r: r.path if r else None) as bar:
        for report in bar:
            reports.append(report)
    out.mkdir(parents=True, exist_ok=True)
    lines = "".join(r.to_json() + "\n" for r in reports)
    write_atomic(out / "report.jsonl", lines.encode("utf-8"))
    counts = summarise(reports)
    for report in reports:
        if report.verdict != "certified":
            click.echo(_line(report))
    click.echo(f"{_summary_line(counts)}; report: {out / 'report.jsonl'}")
    sys.exit(exit_code(counts))


@main.command()
@click.argument("report_file", type=click.File("r", encoding="utf-8"))
@_profile_option
@click.option("-o", "--out", "out", type=click.Path(path_type=Path),
              help="Write the re-decided JSON Lines here instead of stdout.")
def route(report_file, profile, out):
    """Re-decide saved reports (JSON Lines, '-' for stdin) under another profile.

    Nothing is measured again: the severities and evidence in the reports are routed
    through the profile's thresholds.
    """
    from keyframe.package import write_atomic
    from keyframe.router import reroute

    prof = _load_profile(profile)
    reports = []
    for n, line in enumerate(report_file, 1):
        if not line.strip():
            continue
        try:
            reports.append(reroute(Report.from_json(line), prof))
        except (ValueError, KeyError, TypeError) as exc:
            raise click.UsageError(f"{report_file.name}:{n}: not a keyframe report: {exc}") \
                from None
    text = "".join(r.to_json() + "\n" for r in reports)
    if out is None:
        click.echo(text, nl=False)
    else:
        write_atomic(out, text.encode("utf-8"))
    counts = summarise(reports)
    click.echo(_summary_line(counts), err=True)
    sys.exit(exit_code(counts))


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--out", "out", required=True, type=click.Path(path_type=Path),
              help="Folder to write packages into: OUT/<name>/keyframe.png + manifest.json.")
@click.option("--force", is_flag=True,
              help="Package images that are not certified too (the manifest records it).")
@_profile_option
@_max_pixels_option
def certify(paths, out, force, profile, max_pixels):
    """Write a certified keyframe package for each certified image."""
    from keyframe.assess import assess_path
    from keyframe.package import PackageError, write_package

    prof = _load_profile(profile)
    reports = []
    for path in iter_images(paths, exclude=[out]):
        report, image = assess_path(path, profile=prof, max_pixels=max_pixels)
        reports.append(report)
        if image is None:
            click.echo(_line(report))
            continue
        if report.verdict != "certified" and not force:
            click.echo(_line(report) + " — not packaged (use --force)")
            continue
        try:
            where = write_package(out, image=image, report=report, profile=prof, forced=force)
        except PackageError as exc:
            click.echo(f"{path}: {exc}", err=True)
            sys.exit(2)
        click.echo(_line(report) + f" → {where}")
    counts = summarise(reports)
    click.echo(_summary_line(counts), err=True)
    sys.exit(exit_code(counts))


@main.command()
@click.argument("packages", nargs=-1, required=True,
                type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--no-recheck", is_flag=True, help="Only re-hash; do not re-run the checks.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per package.")
def verify(packages, no_recheck, as_json):
    """Re-hash and re-check certified packages; exit 1 on any mismatch."""
    from keyframe.package import verify as verify_package

    bad = 0
    for pkg in packages:
        result = verify_package(pkg, recheck=not no_recheck)
        bad += not result.ok
        if as_json:
            click.echo(json.dumps({"package": str(pkg), "ok": result.ok,
                                   "problems": result.problems}))
        elif result.ok:
            click.echo(f"{click.style('ok', fg='green', bold=True)}  {pkg}")
        else:
            click.echo(f"{click.style('BAD', fg='red', bold=True)} {pkg}: "
                       + "; ".join(result.problems))
    sys.exit(1 if bad else 0)
