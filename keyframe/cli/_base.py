"""The click group and the options and output helpers every command module shares."""
from __future__ import annotations

from pathlib import Path

import click

from keyframe import __version__
from keyframe.image import DEFAULT_MAX_PIXELS
from keyframe.profiles import ProfileError, builtin_names, load_profile
from keyframe.report import Report

VERDICT_COLOURS = {"certified": "green", "fix": "yellow", "review": "magenta",
                   "trash": "red", "error": "red"}


def profile_option(f):
    return click.option(
        "--profile", "profile", default="default", show_default=True, metavar="NAME|FILE",
        help=f"Thresholds to decide with: a built-in ({', '.join(builtin_names())}) "
             "or a .toml file.")(f)


def max_pixels_option(f):
    return click.option(
        "--max-pixels", type=click.IntRange(min=1), default=DEFAULT_MAX_PIXELS,
        show_default=True, help="Refuse images with more pixels than this (checked from the "
                                "header, before decoding).")(f)


def mattes_option(f):
    return click.option(
        "--mattes", "mattes", metavar="DIR",
        type=click.Path(exists=True, file_okay=False, path_type=Path),
        help="Folder of subject mattes for opaque composites (DIR/<image stem>.png, alpha or "
             "grey): the edge-halo check then reads the subject's boundary.")(f)


def profile_or_usage_error(name: str):
    try:
        return load_profile(name)
    except ProfileError as exc:
        raise click.UsageError(str(exc)) from None


def verdict_line(report: Report, width: int = 48) -> str:
    verdict = click.style(f"{report.verdict:<9}", fg=VERDICT_COLOURS[report.verdict], bold=True)
    quality = "   -" if report.quality is None else f"{report.quality:5.1f}"
    path = report.path if len(report.path) <= width else "…" + report.path[-width + 1:]
    return f"{verdict} {quality}  {path:<{width}}  {report.reason}"


def summary_line(counts: dict[str, int]) -> str:
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


