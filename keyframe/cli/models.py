"""`keyframe models`: list, pull, verify and locate the pretrained models checks use."""
from __future__ import annotations

import sys

import click

from keyframe import models as registry
from keyframe.cli._base import main


def _names_or_usage_error(names) -> list[str]:
    unknown = [n for n in names if n not in registry.MODELS]
    if unknown:
        raise click.UsageError(f"unknown model(s) {', '.join(unknown)}; "
                               "see `keyframe models list`")
    return list(names)


@main.group()
def models():
    """Pretrained models: list, pull (download + sha256), verify, path.

    Models live in $KEYFRAME_MODELS (default ~/.cache/keyframe/models). Checks never
    download: a missing model skips its check and names the pull command.
    """


@models.command("list")
def list_():
    """List every known model: name, runtime, size, licence, installed?"""
    status = registry.verify()
    click.echo(f"{'name':<38} {'runtime':<12} {'size':>9}  {'licence':<11} status")
    for name, s in registry.MODELS.items():
        click.echo(f"{name:<38} {s.runtime:<12} {s.size / 1e6:6.2f} MB  {s.licence:<11} "
                   f"{status[name]}")


@models.command()
@click.argument("names", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Pull every known model.")
@click.option("--base-url", metavar="URL",
              help="Download from this mirror: URL/<file> instead of the upstream URL.")
def pull(names, all_, base_url):
    """Download models NAME... (or --all), verify their sha256 and install them atomically."""
    if not names and not all_:
        raise click.UsageError("name at least one model, or pass --all")
    names = list(registry.MODELS) if all_ else _names_or_usage_error(names)
    failed = 0
    for name in names:
        size = registry.MODELS[name].size
        with click.progressbar(length=size, label=name, file=sys.stderr) as bar:
            seen = [0]

            def progress(_name, done, _total, bar=bar, seen=seen):
                bar.update(done - seen[0])
                seen[0] = done

            try:
                (dest,) = registry.pull([name], base_url=base_url, progress=progress)
            except registry.ModelDownloadError as exc:
                failed += 1
                click.echo(f"\nerror: {exc}", err=True)
                continue
        click.echo(f"{name}: {dest}")
    sys.exit(1 if failed else 0)


@models.command()
@click.argument("names", nargs=-1)
def verify(names):
    """Re-hash installed models (all by default); exit 1 if any is missing or corrupt."""
    status = registry.verify(_names_or_usage_error(names) if names else None)
    for name, state in status.items():
        colour = "green" if state == "ok" else "red"
        click.echo(f"{name:<38} {click.style(state, fg=colour)}")
    bad = sum(state != "ok" for state in status.values())
    if bad:
        click.echo(f"{bad} model(s) not ok: run `keyframe models pull NAME`", err=True)
    sys.exit(1 if bad else 0)


@models.command()
@click.argument("name", required=False)
def path(name):
    """Print the model cache folder, or where model NAME is (or would be) installed."""
    if name is None:
        click.echo(str(registry.cache_dir()))
        return
    (name,) = _names_or_usage_error([name])
    click.echo(str(registry.cache_dir() / registry.MODELS[name].file))
