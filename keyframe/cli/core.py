"""Core commands: check, triage, route, certify, verify."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from keyframe.batch import BatchOptions, assess_many, exit_code, iter_images, summarise
from keyframe.cli._base import (main, max_pixels_option, profile_option,
                                profile_or_usage_error, summary_line, verdict_line)
from keyframe.report import Report

@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print JSON Lines (one report per image).")
@profile_option
@max_pixels_option
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=1, show_default=True,
              help="Worker processes.")
def check(paths, as_json, profile, max_pixels, jobs):
    """Check images (files or folders) and print a verdict per image.

    By default a readable table: verdict, quality (0-100), file, and the reason in one
    sentence. With --json, one keyframe.report/1 object per line on stdout.
    """
    prof = profile_or_usage_error(profile)
    options = BatchOptions(profile=prof.source, max_pixels=max_pixels)
    reports = []
    for report in assess_many(iter_images(paths), options=options, jobs=jobs):
        reports.append(report)
        click.echo(report.to_json() if as_json else verdict_line(report))
    counts = summarise(reports)
    if not as_json:
        click.echo(summary_line(counts), err=True)
    sys.exit(exit_code(counts))


@main.command()
@click.argument("folder", type=click.Path(exists=True, path_type=Path))
@click.option("-o", "--out", "out", required=True, type=click.Path(path_type=Path),
              help="Output folder (report.jsonl goes here).")
@profile_option
@max_pixels_option
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=1, show_default=True,
              help="Worker processes.")
def triage(folder, out, profile, max_pixels, jobs):
    """Assess every image under FOLDER and write OUT/report.jsonl plus a summary."""
    from keyframe.package import write_atomic

    prof = profile_or_usage_error(profile)
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
            click.echo(verdict_line(report))
    click.echo(f"{summary_line(counts)}; report: {out / 'report.jsonl'}")
    sys.exit(exit_code(counts))


@main.command()
@click.argument("report_file", type=click.File("r", encoding="utf-8"))
@profile_option
@click.option("-o", "--out", "out", type=click.Path(path_type=Path),
              help="Write the re-decided JSON Lines here instead of stdout.")
def route(report_file, profile, out):
    """Re-decide saved reports (JSON Lines, '-' for stdin) under another profile.

    Nothing is measured again: the severities and evidence in the reports are routed
    through the profile's thresholds.
    """
    from keyframe.package import write_atomic
    from keyframe.router import reroute

    prof = profile_or_usage_error(profile)
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
    click.echo(summary_line(counts), err=True)
    sys.exit(exit_code(counts))


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--out", "out", required=True, type=click.Path(path_type=Path),
              help="Folder to write packages into: OUT/<name>/keyframe.png + manifest.json.")
@click.option("--force", is_flag=True,
              help="Package images that are not certified too (the manifest records it).")
@profile_option
@max_pixels_option
def certify(paths, out, force, profile, max_pixels):
    """Write a certified keyframe package for each certified image."""
    from keyframe.assess import assess_path
    from keyframe.package import PackageError, write_package

    prof = profile_or_usage_error(profile)
    reports = []
    for path in iter_images(paths, exclude=[out]):
        report, image = assess_path(path, profile=prof, max_pixels=max_pixels)
        reports.append(report)
        if image is None:
            click.echo(verdict_line(report))
            continue
        if report.verdict != "certified" and not force:
            click.echo(verdict_line(report) + " — not packaged (use --force)")
            continue
        try:
            where = write_package(out, image=image, report=report, profile=prof, forced=force)
        except PackageError as exc:
            click.echo(f"{path}: {exc}", err=True)
            sys.exit(2)
        click.echo(verdict_line(report) + f" → {where}")
    counts = summarise(reports)
    click.echo(summary_line(counts), err=True)
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
