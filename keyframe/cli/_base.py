"""The click group and the options and output helpers every command module shares.

The group (:class:`KeyframeGroup`) turns what can go wrong around any command into one line
on stderr and an exit code, never a traceback: an ``OSError`` (a full disk, a read-only
folder, a closed stdout) exits 2, a folder held by another run (:class:`~keyframe.fileio.Busy`)
exits 2, Ctrl-C exits 130 after the command's ``finally`` blocks (the triage journal is
fsynced line by line), and an unexpected exception exits 70 with one line
(``KEYFRAME_DEBUG=1`` shows the traceback).
"""
from __future__ import annotations

import errno
import os
import sys
from pathlib import Path
from typing import Iterable, Sequence

import click

from keyframe import __version__
from keyframe.fileio import Busy, hold
from keyframe.image import DEFAULT_MAX_PIXELS
from keyframe.profiles import ProfileError, builtin_names, load_profile
from keyframe.report import Report, not_run_note, not_run_summary

#: exit codes beyond DESIGN.md's 0 / 1 / 2 (README: "Exit codes")
EXIT_UNCHECKED = 3          # verify: could not re-check (models missing), nothing tampered
EXIT_INTERNAL = 70          # an unexpected error in keyframe itself (sysexits EX_SOFTWARE)
EXIT_INTERRUPTED = 130      # Ctrl-C (128 + SIGINT)


class InputError(click.ClickException):
    """A one-line error about the inputs or outputs of a command: ``error: …``, exit 2."""

    exit_code = 2

    def show(self, file=None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


def _silence_stdout() -> None:
    """Point standard output at /dev/null, so that the interpreter's last flush of what a
    closed pipe or a full device refused cannot print a traceback on exit."""
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    finally:
        os.close(null)


def _stdout_broken(exc: OSError) -> bool:
    """True (and stdout silenced) when ``exc`` came from writing standard output: a write
    without a file name that fails as a closed pipe or a full device does, or stdout that
    can no longer be flushed."""
    broken = exc.filename is None and exc.errno in (errno.EPIPE, errno.ENOSPC, errno.EIO)
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        broken = True
    if broken:
        _silence_stdout()
    return broken


def os_error_line(exc: OSError) -> str:
    """``exc`` as one line: the file, the system's words and, for a full disk, what to do."""
    where = f"{exc.filename}: " if exc.filename else ""
    text = f"{where}{exc.strerror or exc}"
    if exc.errno == errno.ENOSPC:
        text += " (free space and run again: nothing half-written was left)"
    return text


class KeyframeGroup(click.Group):
    """The ``keyframe`` group: every command's faults end as one line and an exit code."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("\ninterrupted: what finished is kept (a rerun resumes)", err=True)
            raise click.exceptions.Exit(EXIT_INTERRUPTED) from None
        except Busy as exc:
            raise InputError(str(exc)) from None
        except OSError as exc:
            if _stdout_broken(exc):
                raise InputError(f"cannot write to standard output: "
                                 f"{exc.strerror or exc}") from None
            raise InputError(os_error_line(exc)) from None
        except Exception as exc:  # noqa: BLE001 - never a traceback for a user
            if os.environ.get("KEYFRAME_DEBUG"):
                raise
            msg = " ".join(str(exc).split())[:300]
            click.echo(f"internal error: {type(exc).__name__}: {msg} (please report it; "
                       "KEYFRAME_DEBUG=1 shows the traceback)", err=True)
            raise click.exceptions.Exit(EXIT_INTERNAL) from None

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


class BackgroundType(click.ParamType):
    """``--background``: a ``#rrggbb`` colour or an image file that decodes; a usage error
    (exit 2) naming both accepted forms otherwise."""

    name = "COLOR|IMAGE"

    def convert(self, value, param, ctx):
        from keyframe.image import ImageError, load

        text = str(value).strip()
        hexes = set("0123456789abcdefABCDEF")
        if text.startswith("#"):
            if len(text) == 7 and set(text[1:]) <= hexes:
                return text
            self.fail(f"{value!r} is not a '#rrggbb' colour (six hex digits, e.g. '#1e1e1e') "
                      "nor an image file", param, ctx)
        if os.path.lexists(text):
            try:
                load(text)
            except ImageError as exc:
                self.fail(f"{value!r}: not a usable background image: {exc}", param, ctx)
            return text
        hint = f" (did you mean '#{text}'?)" if len(text) == 6 and set(text) <= hexes else ""
        self.fail(f"{value!r} is neither a '#rrggbb' colour (e.g. '#1e1e1e') nor an existing "
                  f"image file{hint}", param, ctx)


def wait_option(f):
    return click.option(
        "--wait", is_flag=True,
        help="If another keyframe run is writing into OUT, wait for it instead of refusing.")(f)


def jobs_option(f):
    return click.option(
        "--jobs", "-j", type=click.IntRange(min=1), default=1, show_default=True,
        help="Worker processes.")(f)


def overwrite_option(f):
    return click.option(
        "--overwrite", is_flag=True,
        help="Replace an existing output file (never one of the inputs).")(f)


def hold_out(out: Path, command: str, *, wait: bool) -> None:
    """Hold OUT's lock for the rest of the command (released when the command ends, or by
    the kernel if the process dies); another run refuses in one line, or waits."""
    ctx = click.get_current_context()
    ctx.with_resource(hold(out, command, wait=wait, on_wait=lambda who: click.echo(
        f"waiting for {who} to finish with {out} …", err=True)))


def found_or_error(paths: Sequence[Path], given: Iterable[Path]) -> list[Path]:
    """``paths`` as a list, or exit 2 with "no images found under …" when it is empty."""
    paths = list(paths)
    if not paths:
        where = ", ".join(str(p) for p in given)
        raise InputError(f"no images found under {where} (looked for "
                         f"{', '.join(sorted(_scan_suffixes()))})")
    return paths


def _scan_suffixes() -> frozenset[str]:
    from keyframe.batch import IMAGE_SUFFIXES
    return IMAGE_SUFFIXES


def refuse_or_error(out: Path, **kwargs) -> None:
    """Exit 2 with the reason when writing ``out`` is refused
    (:func:`keyframe.fileio.refuse_overwrite`)."""
    from keyframe.fileio import refuse_overwrite

    why = refuse_overwrite(out, **kwargs)
    if why:
        raise InputError(why)


def printable(text: str) -> str:
    """``text`` with control characters (a newline in a file name) shown as escapes, so one
    record stays one line of a table."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def not_run_lines(skips) -> None:
    """Print, on stderr, one line per check that did not run on some images."""
    for line in not_run_summary(skips):
        click.echo(click.style(line, fg="yellow"), err=True)
def targets_option(f):
    return click.option(
        "--target", "target_names", multiple=True, metavar="NAME|FILE",
        help="Video target to certify for (repeatable): OUT/<name>/exports/<target>.<ext> "
             "within its limits; the first target's profile and framing decide unless "
             "--profile is given (see `keyframe targets`).")(f)


def checks_option(f):
    return click.option(
        "--checks", "check_names", metavar="NAME,...",
        help="Run only these checks (e.g. artifact,framing: the model-free suite); "
             "default: every registered check.")(f)


def check_names_or_usage_error(check_names: str | None) -> tuple[str, ...] | None:
    """``--checks`` as a tuple of names (None: every check); unknown names are a usage
    error naming the registered ones."""
    from keyframe.batch import select_checks

    names = None if check_names is None else tuple(
        n.strip() for n in check_names.split(",") if n.strip())
    try:
        select_checks(names)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    return names


def target_option(f):
    return click.option(
        "--target", "target_name", metavar="NAME|FILE",
        help="Video target whose limits the framing codes measure against (aspect, size, "
             "file size, subject margins; see `keyframe targets`); its profile decides "
             "unless --profile is given. Default: generic.")(f)


def targets_and_profile(target_names, profile: str):
    """The loaded targets and the profile that decides: the first target's unless
    ``--profile`` was given on the command line."""
    from keyframe.targets import TargetError, load_target

    try:
        targets = [load_target(t) for t in target_names]
    except TargetError as exc:
        raise click.UsageError(str(exc)) from None
    explicit = click.get_current_context().get_parameter_source("profile")
    if targets and explicit != click.core.ParameterSource.COMMANDLINE:
        return targets, targets[0].profile
    return targets, profile_or_usage_error(profile)


def export_lines(package: Path) -> list[str]:
    """One indented line per export of a written package, saying how it was reframed."""
    from keyframe.workflows import package_exports

    return [f"    {line}" for line in package_exports(package)]


def profile_or_usage_error(name: str):
    try:
        return load_profile(name)
    except ProfileError as exc:
        raise click.UsageError(str(exc)) from None


def verdict_line(report: Report, width: int = 48) -> str:
    verdict = click.style(f"{report.verdict:<9}", fg=VERDICT_COLOURS[report.verdict], bold=True)
    quality = "   -" if report.quality is None else f"{report.quality:5.1f}"
    path = printable(report.path)
    path = path if len(path) <= width else "…" + path[-width + 1:]
    note = not_run_note(report.skipped)
    return f"{verdict} {quality}  {path:<{width}}  {report.reason}{'; ' + note if note else ''}"


def summary_line(counts: dict[str, int]) -> str:
    total = sum(counts.values())
    parts = ", ".join(f"{n} {v}" for v, n in counts.items() if n)
    return f"{total} image{'s' if total != 1 else ''}: {parts or 'none'}"


@click.group(cls=KeyframeGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="keyframe")
def main() -> None:
    """keyframe: the quality gate between an image generator and an image-to-video model.

    Measure each image, decide certified / fix / review / trash, and write certified
    keyframe packages. Exit codes: 0 all certified, 1 some not certified, 2 usage or input
    errors (no images found, a bad option, a full disk), 3 verify could not re-check,
    130 interrupted (Ctrl-C).
    """


