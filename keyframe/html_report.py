"""``report.html``: an offline contact sheet of a triage, for people who look rather than read.

One self-contained page (inline CSS and JavaScript, no CDN, no network) next to
``thumbs/<sha256>.jpg``: a grid of thumbnails with the verdict badge, the quality score and
each finding in one line; the finding regions drawn as SVG boxes over the thumbnail (in
source-pixel coordinates through the SVG ``viewBox``, so they scale with it); filters by
verdict, by finding code and by file name; sort by quality; and a detail view with the
full-size original (a relative link, never a copy of it), every score, the fix plan, skipped
checks and loader notes. Masks are not serialised in ``keyframe.report/1``, so regions are
boxes.

The page template is ``keyframe/html/report.html``; the reports are embedded as one JSON array
(every ``<`` written as ``\\u003c`` so no text in a report can end the script element) and every string is put
on the page with ``textContent``, never as markup.
"""
from __future__ import annotations

import html
import json
import os
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import quote

from keyframe.fileio import atomic_text_writer
from keyframe.report import not_run

REPORT_HTML = "report.html"
#: formats a browser shows: the detail view links the original itself; others show the thumb
BROWSER_FORMATS = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".avif"})


@lru_cache(maxsize=1)
def _template() -> tuple[str, str]:
    text = resources.files("keyframe").joinpath("html", "report.html").read_text("utf-8")
    head, tail = text.split("__DATA__")
    return head, tail


def _href(target: Path, base: Path) -> str:
    """A relative URL from the folder ``base`` to ``target`` (percent-encoded, '/'-separated).
    Links in ``target`` are not resolved (a link loop or a dangling link still gets its URL)."""
    rel = os.path.relpath(os.path.abspath(target), os.path.realpath(base))
    return quote(Path(rel).as_posix())


def page_record(report: dict[str, Any], out: Path) -> dict[str, Any]:
    """What the page needs of one ``keyframe.report/1`` dict, with links relative to ``out``."""
    src = Path(report["path"])
    sha = report.get("sha256")
    thumb = out / "thumbs" / f"{sha}.jpg" if sha else None
    has_thumb = thumb is not None and thumb.is_file()
    href = _href(src, out)
    error = report.get("error")
    return {
        "path": report["path"], "href": href,
        "thumb": f"thumbs/{sha}.jpg" if has_thumb else None,
        "full": href if src.suffix.lower() in BROWSER_FORMATS and src.is_file() else None,
        "w": report.get("width"), "h": report.get("height"),
        "verdict": report["verdict"], "quality": report.get("quality"),
        "reason": report.get("reason", ""),
        "findings": [{"code": f["code"], "level": f["level"], "severity": f["severity"],
                      "message": f.get("message", ""), "fix": f.get("fix"),
                      "region": f.get("region")} for f in report.get("findings", [])],
        "scores": report.get("scores") or {},
        "plan": report.get("plan") or [],
        "skipped": report.get("skipped") or [],
        "not_run": [f"{s.check}: {s.reason}" for s in not_run(report.get("skipped") or [])],
        "notes": report.get("notes") or [],
        "error": error.get("message") if isinstance(error, dict) else None,
    }


def write_html(reports: Iterable[dict[str, Any]], out: str | os.PathLike, *,
               title: str = "keyframe triage") -> Path:
    """Write ``out/report.html`` from ``keyframe.report/1`` dicts, streaming, atomically.

    Parameters
    ----------
    reports : iterable of dict
        The reports (e.g. :func:`keyframe.batch.read_reports` of ``report.jsonl``); paths are
        taken relative to the current directory, as the triage wrote them.
    out : path-like
        The triage's output folder: the page goes there and reads ``thumbs/<sha256>.jpg``.
    title : str, keyword-only

    Returns
    -------
    Path
        The page written.
    """
    out = Path(out)
    head, tail = _template()
    target = out / REPORT_HTML
    with atomic_text_writer(target) as fh:
        fh.write(head.replace("__TITLE__", html.escape(title)))
        fh.write("[")
        for n, report in enumerate(reports):
            rec = json.dumps(page_record(report, out), ensure_ascii=False)
            fh.write(("," if n else "") + "\n" + rec.replace("<", "\\u003c"))
        fh.write("\n]")
        fh.write(tail)
    return target
