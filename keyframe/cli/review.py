"""The review command: serve the local review page of a triage or gate output."""
from __future__ import annotations

import ipaddress
import socket
import sys
import threading
from pathlib import Path

import click

from keyframe.cli._base import main, max_pixels_option


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@main.command()
@click.argument("out", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--reviewer", metavar="NAME",
              help="Name recorded with each decision (default: the OS user).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind; anything but loopback needs --allow-remote.")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Port to bind (0: a free one).")
@click.option("--allow-remote", is_flag=True,
              help="Allow a --host other than loopback (anyone with the URL's token can "
                   "decide and see the pictures).")
@click.option("--no-browser", is_flag=True, help="Print the URL; do not open a browser.")
@click.option("--export", "export", metavar="FILE.jsonl|FILE.csv",
              type=click.Path(dir_okay=False, path_type=Path),
              help="Write each picture's live decision to FILE (format from its ending) and "
                   "exit without serving.")
@max_pixels_option
def review(out, reviewer, host, port, allow_remote, no_browser, export, max_pixels):
    """Serve a local page to review OUT (a triage or gate output) one key per picture.

    Keys: k keep, t trash, f fix (with a note), u undo, left/right previous/next, z zoom on
    the next region, ? help. Each decision is appended to OUT/decisions.jsonl (fsynced)
    the moment the key is pressed; `keyframe certify --approved OUT` packages the kept ones.
    """
    from keyframe.decisions import (Journal, JournalError, default_reviewer, export_text,
                                    read_decisions)
    from keyframe.review.queue import Queue, QueueError

    try:
        queue = Queue(out)
    except (QueueError, OSError) as exc:
        raise click.UsageError(str(exc)) from None
    if export is not None:
        from keyframe.package import write_atomic

        fmt = export.suffix.lower().lstrip(".")
        if fmt not in ("jsonl", "csv"):
            raise click.UsageError(f"--export {export}: the file must end in .jsonl or .csv")
        live = list(read_decisions(queue.out).current())
        write_atomic(export, export_text(live, fmt=fmt).encode("utf-8"))
        click.echo(f"{len(live)} decision(s) of {len(queue)} picture(s) → {export}")
        return
    loopback = _is_loopback(host)
    if not loopback and not allow_remote:
        raise click.UsageError(f"--host {host} is not loopback: pass --allow-remote to serve "
                               "the page to other machines")
    if not loopback:
        click.echo(f"WARNING: serving on {host}: anyone who can reach it with the URL's token "
                   "can see these pictures and record decisions", err=True)
    try:
        journal = Journal(queue.out)
    except (JournalError, OSError) as exc:
        raise click.UsageError(str(exc)) from None
    _serve(queue, journal, reviewer=reviewer or default_reviewer(), host=host, port=port,
           loopback=loopback, browser=not no_browser, max_pixels=max_pixels)


def _serve(queue, journal, *, reviewer, host, port, loopback, browser, max_pixels):
    import uvicorn

    from keyframe.review.pixels import Pixels
    from keyframe.review.server import TOKEN_PARAM, make_app, new_token

    token = new_token()
    pixels = Pixels(queue, max_pixels=max_pixels)
    app = make_app(queue, journal, pixels, token=token, reviewer=reviewer, loopback=loopback)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)     # connections queue up until the server runs: the URL works now
    except OSError as exc:
        raise click.UsageError(f"cannot bind {host}:{port}: {exc.strerror or exc}") from None
    shown = f"[{host}]" if family == socket.AF_INET6 else host
    url = f"http://{shown}:{sock.getsockname()[1]}/?{TOKEN_PARAM}={token}"
    counts = queue.counts(journal)
    click.echo(f"reviewing {len(queue)} picture(s) of {queue.out} ({counts['review']} review, "
               f"{counts['undecided']} undecided) as {reviewer}")
    click.echo(f"review: {url}  (Ctrl-C to stop)")
    sys.stdout.flush()
    stop = threading.Event()
    threading.Thread(target=pixels.warm, args=(queue.order, stop), daemon=True).start()
    if browser:
        import webbrowser
        threading.Timer(0.5, webbrowser.open, args=(url,)).start()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    try:
        server.run(sockets=[sock])
    finally:
        stop.set()
        journal.close()
