"""The human review journal: ``OUT/decisions.jsonl``, append-only, one fsynced line per key.

A person reviewing a triage or gate output (``keyframe review OUT``) presses a key and the
decision is one JSON line (schema ``keyframe.decision/1``)::

    {"schema": "keyframe.decision/1", "seq": 3, "decision": "keep", "sha256": "<image>",
     "path": "renders/a.png", "reviewer": "ana", "at": "2026-12-01T10:00:00.123Z",
     "note": "", "report_sha256": "<sha256 of the report line reviewed>",
     "verdict": "review"}

``decision`` is ``keep`` (approve), ``trash`` or ``fix`` (send back, with a ``note``); an
``undo`` line names the ``seq`` it takes back (``"undoes": 3``). ``verdict`` is the
machine's verdict the person saw, ``report_sha256`` the hash of the exact report, so a
decision can be traced to what was on the screen. Lines are never rewritten: the
*effective* decision of an image is its last decision not undone (:meth:`Journal.effective`).

A line is one ``write`` on an ``O_APPEND`` descriptor followed by ``fsync`` before the HTTP
answer goes back, so a ``kill -9`` of the server loses no decision that the page showed as
stored; a torn last line (a kill inside the write) is cut off when the journal is opened
again, as in :mod:`keyframe.store`.

Decisions are matched to reports by the image's ``sha256`` (the same pixels get the same
decision wherever they lie), or by path when a report has no hash (an unreadable file).
:func:`apply_decision` turns a machine report into the human's verdict for ``keyframe
route`` and ``triage --sort-into``.
"""
from __future__ import annotations

import csv
import dataclasses
import getpass
import io
import json
import os
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator

try:
    import fcntl
except ImportError:          # Windows: no advisory locks; one reviewer by convention
    fcntl = None  # type: ignore[assignment]

SCHEMA = "keyframe.decision/1"
JOURNAL = "decisions.jsonl"
DECISIONS = ("keep", "trash", "fix")
#: the verdict a human decision stands for
VERDICT_OF = {"keep": "certified", "trash": "trash", "fix": "fix"}
DONE = {"keep": "kept", "trash": "trashed", "fix": "sent back to fix"}
EXPORT_FIELDS = ("path", "sha256", "decision", "reviewer", "at", "note", "verdict",
                 "report_sha256", "seq")


class JournalError(ValueError):
    """A decision that cannot be recorded; the message is one line."""


def default_reviewer() -> str:
    """The OS user name, or ``"unknown"`` when the platform cannot tell."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):      # no passwd entry / no login name in a container
        return "unknown"


def now_utc() -> str:
    """The time now, UTC, ISO 8601 with milliseconds and a ``Z``."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def item_key(sha256: str | None, path: str) -> str:
    """What a decision is about: the image's sha256, or ``path:<path>`` without one."""
    return sha256 if sha256 else f"path:{path}"


class Journal:
    """The decisions journal of one output folder, kept open by ``keyframe review``.

    The whole journal is read once (a line per key press: small) into the list of entries
    and, per image, the stack of its live decisions. Appends are serialised by a lock, so
    the server's worker threads may call :meth:`record` and :meth:`undo` concurrently.
    """

    def __init__(self, folder: str | os.PathLike, *, readonly: bool = False,
                 name: str = JOURNAL):
        self.path = Path(folder) / name
        self.entries: list[dict[str, Any]] = []
        self._live: dict[str, list[int]] = {}      # key -> seqs of its live decisions
        self._order: list[int] = []                 # live decision seqs, oldest first
        self.torn = 0
        self._lock = threading.Lock()
        end = self._scan()
        self._fd: int | None = None
        if not readonly:
            new = not self.path.exists()
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            self._lock_file()
            if new and os.name == "posix":          # the new file's name survives a crash
                dfd = os.open(self.path.parent, os.O_RDONLY)
                try:
                    os.fsync(dfd)
                finally:
                    os.close(dfd)
            if os.fstat(self._fd).st_size != end:  # cut a torn tail so appends start clean
                os.ftruncate(self._fd, end)
                os.fsync(self._fd)

    def _lock_file(self) -> None:
        """One writer per journal: a second ``keyframe review`` of the same folder would
        number its lines on its own and its undo could name the other's decision."""
        if fcntl is None or self._fd is None:
            return
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self._fd)
            self._fd = None
            raise JournalError(f"{self.path} is open in another keyframe review: one "
                               "reviewer at a time per output folder") from None

    def _scan(self) -> int:
        """Read every complete line; return the byte offset just past the last good one."""
        if not self.path.exists():
            return 0
        good = offset = 0
        with open(self.path, "rb") as fh:
            for line in fh:
                offset += len(line)
                try:
                    if not line.endswith(b"\n"):
                        raise ValueError("no newline")
                    entry = json.loads(line)
                    if entry.get("schema") != SCHEMA:
                        raise ValueError("not a decision")
                except ValueError:
                    self.torn += 1
                    continue
                self._index(entry)
                good = offset
        return good

    def _index(self, entry: dict[str, Any]) -> None:
        entry["seq"] = len(self.entries)
        self.entries.append(entry)
        if entry["decision"] == "undo":
            target = entry.get("undoes")
            if isinstance(target, int) and target in self._order:
                self._order.remove(target)
                done = self.entries[target]
                self._live[item_key(done.get("sha256"), done["path"])].remove(target)
            return
        self._live.setdefault(item_key(entry.get("sha256"), entry["path"]), []).append(
            entry["seq"])
        self._order.append(entry["seq"])

    def _append(self, entry: dict[str, Any]) -> dict[str, Any]:
        if self._fd is None:
            raise JournalError(f"{self.path} was opened read-only")
        with self._lock:
            entry = {"schema": SCHEMA, "seq": len(self.entries), **entry}
            line = (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8")
            written = os.write(self._fd, line)
            while written < len(line):              # rare short write: finish it
                written += os.write(self._fd, line[written:])
            os.fsync(self._fd)
            self._index(entry)
        return entry

    def record(self, decision: str, *, sha256: str | None, path: str, reviewer: str,
               note: str = "", verdict: str | None = None,
               report_sha256: str | None = None) -> dict[str, Any]:
        """Append one decision durably (fsynced before returning) and return its entry.

        Raises
        ------
        JournalError
            An unknown decision, or ``fix`` without a note (sending back says why).
        """
        if decision not in DECISIONS:
            raise JournalError(f"unknown decision {decision!r}: one of {', '.join(DECISIONS)}")
        note = " ".join(str(note or "").split())[:2000]
        if decision == "fix" and not note:
            raise JournalError("a 'fix' decision needs a note: what should be fixed")
        return self._append({"decision": decision, "sha256": sha256, "path": str(path),
                             "reviewer": str(reviewer)[:200], "at": now_utc(), "note": note,
                             "verdict": verdict, "report_sha256": report_sha256})

    def undo(self, *, reviewer: str) -> dict[str, Any] | None:
        """Take back the latest live decision (an ``undo`` line); None when there is none."""
        if not self._order:
            return None
        last = self.entries[self._order[-1]]
        self._append({"decision": "undo", "undoes": last["seq"], "sha256": last.get("sha256"),
                      "path": last["path"], "reviewer": str(reviewer)[:200], "at": now_utc()})
        return last

    def effective(self, sha256: str | None, path: str) -> dict[str, Any] | None:
        """The live decision about this image (its latest not undone), or None."""
        seqs = self._live.get(item_key(sha256, path))
        return self.entries[seqs[-1]] if seqs else None

    def current(self) -> Iterator[dict[str, Any]]:
        """Every image's live decision, in the order they were taken."""
        for seqs in self._live.values():
            if seqs:
                yield self.entries[seqs[-1]]

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "Journal":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_decisions(where: str | os.PathLike) -> Journal:
    """A journal opened read-only: ``where`` is an output folder (its ``decisions.jsonl``;
    empty when there is none) or a journal file itself."""
    where = Path(where)
    if where.is_file():
        return Journal(where.parent, readonly=True, name=where.name)
    return Journal(where, readonly=True)


def beside(report_file: str | os.PathLike) -> Journal | None:
    """The journal in the folder of a ``report.jsonl``, or None when there is none there."""
    path = Path(report_file).parent / JOURNAL
    return read_decisions(path) if path.is_file() else None


def review_record(entry: dict[str, Any]) -> dict[str, str]:
    """The ``review`` object a package manifest records: decision, reviewer, at, note."""
    return {"decision": entry["decision"], "reviewer": entry["reviewer"], "at": entry["at"],
            "note": entry.get("note") or ""}


def _overridden(entry: dict[str, Any], reason: str) -> tuple[str, str]:
    """The verdict a live decision stands for, and a reason saying who, when and why."""
    verdict = VERDICT_OF[entry["decision"]]
    note = f" ({entry['note']})" if entry.get("note") else ""
    return verdict, (f"{verdict}: {DONE[entry['decision']]} by {entry['reviewer']} at "
                     f"{entry['at']}{note}; machine said {reason}")


def apply_decision(report: Any, journal: Journal) -> Any:
    """The report (a :class:`keyframe.report.Report`) under its human decision, if any.

    A live ``keep`` makes it ``certified``, ``trash`` makes it ``trash``, ``fix`` makes it
    ``fix``; the reason says who decided, when, the note, and what the machine said, so
    the override is never quiet. Reports without a decision (and error reports: there are
    no pixels to decide on) are returned unchanged.
    """
    entry = journal.effective(report.sha256, report.path)
    if entry is None or report.verdict == "error":
        return report
    verdict, reason = _overridden(entry, report.reason)
    return dataclasses.replace(report, verdict=verdict, reason=reason)


def with_decisions(reports: Iterable[dict[str, Any]], journal: Journal
                   ) -> Iterator[dict[str, Any]]:
    """:func:`apply_decision` over ``keyframe.report/1`` dicts, streaming."""
    for d in reports:
        entry = journal.effective(d.get("sha256"), d["path"])
        if entry is None or d.get("verdict") == "error":
            yield d
            continue
        verdict, reason = _overridden(entry, d.get("reason", ""))
        yield {**d, "verdict": verdict, "reason": reason}


def export_text(entries: Iterable[dict[str, Any]], *, fmt: str) -> str:
    """The live decisions as JSON Lines (``fmt="jsonl"``) or CSV (``"csv"``, with a header)."""
    rows = [{k: e.get(k) for k in EXPORT_FIELDS} for e in entries]
    if fmt == "jsonl":
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    if fmt != "csv":
        raise ValueError(f"export format must be jsonl or csv, got {fmt!r}")
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=EXPORT_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: "" if v is None else v for k, v in r.items()} for r in rows)
    return buf.getvalue()
