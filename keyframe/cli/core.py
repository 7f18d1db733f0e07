"""Core commands: check, triage, route, certify, verify."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from keyframe.batch import BatchOptions, assess_many, exit_code, iter_images, summarise
from keyframe.cli._base import (BackgroundType, InputError, check_names_or_usage_error,
                                checks_option, export_lines, found_or_error,
                                hold_out, jobs_option, main, mattes_option,
                                max_pixels_option, not_run_lines, overwrite_option, profile_option,
                                profile_or_usage_error, refuse_or_error, summary_line,
                                target_option, targets_and_profile, targets_option, verdict_line,
                                wait_option)
from keyframe.report import Report

@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print JSON Lines (one report per image).")
@target_option
@profile_option
@max_pixels_option
@jobs_option
@checks_option
@mattes_option
@click.option("--masks", "masks", metavar="DIR",
              type=click.Path(file_okay=False, path_type=Path),
              help="Write the mask of each finding that has one (edge band, specks, text "
                   "boxes) to DIR/<stem>.<sha8>.<code>.png (grey, 255 = affected); noted in "
                   "the report.")
def check(paths, as_json, target_name, profile, max_pixels, jobs, check_names, mattes,
          masks):
    """Check images (files or folders) and print a verdict per image.

    By default a readable table: verdict, quality (0-100), file, and the reason in one
    sentence. With --json, one keyframe.report/1 object per line on stdout.
    """
    target, prof = _target_and_profile(target_name, profile)
    options = BatchOptions(profile=prof.source, target=target, max_pixels=max_pixels,
                           checks=check_names_or_usage_error(check_names),
                           mattes=None if mattes is None else str(mattes.resolve()),
                           masks=None if masks is None else str(masks.resolve()))
    reports = []
    skip = [p for p in (mattes, masks) if p is not None]
    found = found_or_error(iter_images(paths, exclude=skip), paths)
    for report in assess_many(found, options=options, jobs=jobs):
        reports.append(report)
        click.echo(report.to_json() if as_json else verdict_line(report))
    counts = summarise(reports)
    if not as_json:
        click.echo(summary_line(counts), err=True)
        not_run_lines(r.skipped for r in reports)
    sys.exit(exit_code(counts))


def _target_and_profile(target_name: str | None, profile: str):
    """The target name the framing codes measure against (an alias resolved) and the
    profile that decides: the target's unless ``--profile`` was given."""
    from keyframe.targets import canonical_name

    targets, prof = targets_and_profile((target_name,) if target_name else (), profile)
    return (canonical_name(target_name) if targets else None), prof


@main.command()
@click.argument("folder", type=click.Path(exists=True, path_type=Path))
@click.option("-o", "--out", "out", required=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="Output folder: report.jsonl, report.html, thumbs/, the resumable store "
                   "(.keyframe/) and, with --sort-into, one folder per verdict.")
@target_option
@profile_option
@max_pixels_option
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=1, show_default=True,
              help="Worker processes (local pool, or the LocalCluster of --executor dask).")
@click.option("--executor", type=click.Choice(["local", "dask"]), default="local",
              show_default=True, help="Where the work runs: a local process pool or Dask "
                                      "distributed.")
@click.option("--scheduler", metavar="tcp://HOST:PORT",
              help="Dask scheduler address (with --executor dask); default: a LocalCluster "
                   "of --jobs processes.")
@click.option("--sort-into", "sort_mode", type=click.Choice(["link", "copy"]), is_flag=False,
              flag_value="link", default=None,
              help="Also put each original into OUT/certified, fix, review, trash, error: "
                   "relative symlinks (bare --sort-into) or copies. Originals never move.")
@click.option("--html/--no-html", default=True, show_default=True,
              help="Write OUT/report.html (offline contact sheet) and OUT/thumbs/.")
@checks_option
@click.option("--json", "as_json", is_flag=True,
              help="Print every report as JSON Lines on stdout (report.jsonl's lines, in its "
                   "order) instead of the table of pictures not certified.")
@mattes_option
@wait_option
@overwrite_option
def triage(folder, out, target_name, profile, max_pixels, jobs, executor, scheduler, sort_mode,
           html, check_names, as_json, mattes, wait, overwrite):
    """Assess every image under FOLDER into OUT: report.jsonl, report.html, a summary.

    Resumable: finished images are journaled as they finish, keyed by the file's sha256,
    the profile and the keyframe version, so a rerun (after a crash or kill -9, or with new
    files added) assesses only what is not done yet.
    """
    from keyframe.batch import out_folder_problem, read_reports, sort_into, triage as run_triage
    from keyframe.executors import ExecutorError, make_executor

    target, prof = _target_and_profile(target_name, profile)
    names = check_names_or_usage_error(check_names)
    options = BatchOptions(profile=prof.source, target=target, max_pixels=max_pixels,
                           checks=names,
                           mattes=None if mattes is None else str(mattes.resolve()))
    why = out_folder_problem(out, folder, overwrite=overwrite)
    if why:
        raise InputError(why)
    paths = found_or_error(iter_images([folder], exclude=[out] + ([mattes] if mattes else [])),
                           [folder])
    hold_out(out, "triage", wait=wait)
    try:
        runner = make_executor(executor, jobs=jobs, scheduler=scheduler)
        with runner, click.progressbar(length=len(paths), label="triage",
                                       file=sys.stderr) as bar:
            summary = run_triage(paths, out, options=options, executor=runner, thumbs=html,
                                 progress=lambda _p: bar.update(1))
    except ExecutorError as exc:
        raise click.UsageError(str(exc)) from None
    for d in read_reports(summary.report):
        if as_json:
            click.echo(Report.from_dict(d).to_json())
        elif d["verdict"] != "certified":
            click.echo(verdict_line(Report.from_dict(d)))
    extra = [f"report: {summary.report}"]
    if html:
        from keyframe.html_report import write_html
        extra.append(f"contact sheet: {write_html(read_reports(summary.report), out)}")
    if sort_mode:
        from keyframe.decisions import read_decisions, with_decisions

        sort_into(with_decisions(read_reports(summary.report), read_decisions(out)), out,
                  root=folder, mode=sort_mode)
        extra.append(f"sorted into {out}/<verdict>/ "
                     f"({'symlinks' if sort_mode == 'link' else 'copies'})")
    same = f", {summary.identical} identical to another input" if summary.identical else ""
    click.echo(f"{summary_line(summary.counts)} ({summary.assessed} assessed, "
               f"{summary.reused} reused from earlier runs{same}); " + "; ".join(extra),
               err=as_json)
    not_run_lines(d.get("skipped") or [] for d in read_reports(summary.report))
    sys.exit(exit_code(summary.counts))


@main.command()
@click.argument("report_file", type=click.File("r", encoding="utf-8"))
@profile_option
@click.option("-o", "--out", "out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the re-decided JSON Lines here instead of stdout.")
@click.option("--decisions", "decisions", metavar="FILE|DIR",
              type=click.Path(exists=True, path_type=Path),
              help="A person's decisions (`keyframe review`) to put over the machine's "
                   "verdicts; default: decisions.jsonl beside REPORT_FILE, if any.")
@overwrite_option
def route(report_file, profile, out, decisions, overwrite):
    """Re-decide saved reports (JSON Lines, '-' for stdin) under another profile.

    Nothing is measured again: the severities and evidence in the reports are routed
    through the profile's thresholds. A picture a person decided on in `keyframe review`
    keeps that decision (keep: certified, trash, fix), with who and when in its reason.
    """
    from keyframe.decisions import apply_decision, beside, read_decisions
    from keyframe.package import write_atomic
    from keyframe.router import reroute

    prof = profile_or_usage_error(profile)
    journal = (read_decisions(decisions) if decisions is not None
               else None if report_file.name == "<stdin>" else beside(report_file.name))
    reports = []
    for n, line in enumerate(report_file, 1):
        if not line.strip():
            continue
        try:
            routed = reroute(Report.from_json(line), prof)
            reports.append(routed if journal is None else apply_decision(routed, journal))
        except (ValueError, KeyError, TypeError) as exc:
            raise click.UsageError(f"{report_file.name}:{n}: not a keyframe report: {exc}") \
                from None
    text = "".join(r.to_json() + "\n" for r in reports)
    if out is None:
        click.echo(text, nl=False)
    else:
        data = text.encode("utf-8")
        refuse_or_error(out, inputs=[report_file.name], overwrite=overwrite, data=data)
        write_atomic(out, data)
    counts = summarise(reports)
    click.echo(summary_line(counts), err=True)
    sys.exit(exit_code(counts))


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("-o", "--out", "out", required=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write packages into: OUT/<name>/keyframe.png + manifest.json.")
@click.option("--approved", "approved", metavar="REVIEWED",
              type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Instead of IMAGE...: package every picture a person kept in `keyframe "
                   "review REVIEWED` (a triage or gate output; a gate result with its "
                   "recipe); the manifest records the review.")
@click.option("--force", is_flag=True,
              help="Package images that are not certified too (the manifest records it).")
@targets_option
@click.option("--background", metavar="COLOR|IMAGE", type=BackgroundType(),
              help="Flatten a cut-out (RGBA) onto this '#rrggbb' colour or image before "
                   "packaging (recorded as a recipe step); its edges must already be clean.")
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON object per image (path, verdict, reason, quality, "
                   "package or null, why not packaged) instead of the table.")
@profile_option
@max_pixels_option
@mattes_option
@wait_option
@jobs_option
def certify(paths, out, approved, force, target_names, background, as_json, profile,
            max_pixels, mattes, wait, jobs):
    """Write a certified keyframe package for each certified image (IMAGE... or --approved).

    With --jobs, IMAGE... are certified in worker processes and reported in input order,
    with the package names one process gives."""
    from functools import partial

    from keyframe.executors import ordered_pool
    from keyframe.workflows import certify as certify_one, package_group

    targets, prof = targets_and_profile(target_names, profile)
    if (approved is None) == (not paths):
        raise click.UsageError("give IMAGE... or --approved REVIEWED (not both)")
    if approved is not None:
        hold_out(out, "certify", wait=wait)
        _certify_approved(approved, out, profile=prof, targets=targets,
                          max_pixels=max_pixels, mattes=mattes)
    reports = []
    found = found_or_error(iter_images(paths, exclude=[out] + ([mattes] if mattes else [])),
                           paths)
    hold_out(out, "certify", wait=wait)
    work = partial(certify_one, out=out, profile=prof, targets=targets, background=background,
                   force=force, max_pixels=max_pixels, mattes=mattes)
    with ordered_pool(work, found, jobs=jobs, group=package_group) as done_in_order:
        for path, done in zip(found, done_in_order):
            reports.append(done.report)
            _certified_line(path, done, as_json=as_json)
    counts = summarise(reports)
    click.echo(summary_line(counts), err=True)
    sys.exit(exit_code(counts))


def _certified_line(path: Path, done, *, as_json: bool) -> None:
    """Print what :func:`keyframe.workflows.certify` did with ``path``."""
    if as_json:
        click.echo(json.dumps({
            "path": str(path), "verdict": done.report.verdict,
            "reason": done.report.reason, "quality": done.report.quality,
            "package": str(done.package) if done.package else None,
            "message": done.message}, ensure_ascii=False))
    elif done.package is None:
        click.echo(verdict_line(done.report) + (f" — {done.message}" if done.message else ""))
    else:
        click.echo(verdict_line(done.report) + f" → {done.package}")
        for line in export_lines(done.package):
            click.echo(line)


def _certify_approved(reviewed, out, *, profile, targets, max_pixels, mattes):
    """certify --approved: package the kept pictures of a reviewed output; exit 0 when every
    kept picture was packaged, 1 when one was refused, 2 when one cannot be read."""
    from keyframe.review.approve import certify_approved
    from keyframe.review.queue import QueueError

    done = refused = unreadable = 0
    try:
        for a in certify_approved(reviewed, out, profile=profile, targets=targets,
                                  max_pixels=max_pixels,
                                  mattes=mattes.resolve() if mattes else None):
            tail = f" → {a.package}" if a.package else ""
            click.echo(f"{verdict_line(a.report)} — {a.message}{tail}")
            done += a.package is not None
            unreadable += a.report.verdict == "error"
            refused += a.package is None and a.report.verdict != "error"
    except QueueError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"{done} kept picture(s) packaged, {refused + unreadable} not", err=True)
    sys.exit(2 if unreadable else 1 if refused else 0)


@main.command()
@click.argument("packages", nargs=-1, required=True,
                type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--no-recheck", is_flag=True, help="Only re-hash; do not re-run the checks.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per package.")
@jobs_option
def verify(packages, no_recheck, as_json, jobs):
    """Re-hash and re-check certified packages; exit 1 on any mismatch (or a file the
    manifest does not list), 3 when nothing mismatched but the re-check could not run in
    full here (a model is not installed: the line says which and how to pull it)."""
    from functools import partial

    from keyframe.cli._base import EXIT_UNCHECKED
    from keyframe.executors import ordered_pool
    from keyframe.verify import verify as verify_package

    bad = unchecked = 0
    work = partial(verify_package, recheck=not no_recheck)
    with ordered_pool(work, packages, jobs=jobs) as results:
        for pkg, result in zip(packages, results):
            bad += not result.ok
            unchecked += bool(result.ok and result.unchecked)
            if as_json:
                click.echo(json.dumps({"package": str(pkg), "ok": result.ok,
                                       "problems": result.problems,
                                       "unchecked": result.unchecked}))
            elif not result.ok:
                click.echo(f"{click.style('BAD', fg='red', bold=True)} {pkg}: "
                           + "; ".join(result.problems))
            elif result.unchecked:
                click.echo(f"{click.style('UNCHECKED', fg='yellow', bold=True)} {pkg}: "
                           "hashes ok; " + "; ".join(result.unchecked))
            else:
                click.echo(f"{click.style('ok', fg='green', bold=True)}  {pkg}")
    sys.exit(1 if bad else EXIT_UNCHECKED if unchecked else 0)
