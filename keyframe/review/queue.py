"""The review queue of one output folder: a small index in memory, reports read on demand.

``keyframe review OUT`` works on a triage output (``OUT/report.jsonl``) or a gate output
(``OUT/gate.jsonl``, one line per input: the gate's record with ``report_before``,
``report_after`` and the package written, if any). Opening the queue reads each line once
to keep its byte offset, verdict, quality, image hash and path — about a hundred bytes per
image, so a 2,000-image output costs ~200 kB — and a picture's whole report is read back from
its offset only when the page asks for it (:meth:`Queue.detail`). The page asks for the
queue a page at a time (:meth:`Queue.page`).

Order: ``review`` first (the pictures that need a person), then ``fix``, ``trash``,
``certified`` and ``error``; inside a verdict, the input order.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from keyframe.decisions import Journal

TRIAGE_FILE = "report.jsonl"
GATE_FILE = "gate.jsonl"
ORDER = ("review", "fix", "trash", "certified", "error")
PAGE_LIMIT = 200


class QueueError(ValueError):
    """The folder is not a triage or gate output; the message is one line."""


@dataclass(frozen=True)
class Entry:
    """One picture of the queue: where its line is and what the list view shows."""

    index: int                # position in the file (the id in URLs)
    offset: int
    verdict: str
    quality: float | None
    sha256: str | None
    path: str
    report_sha256: str


#: boxes of every face, hand and person the anatomy check found (``face1_x`` … ``face1_h``)
_BOX_KEY = re.compile(r"^(face|hand|person)(\d+)_([xywh])$")


def _regions(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Zoom targets: each finding's region, then every other measured region (a code's
    evidence), then the faces, hands and persons found, once each."""
    seen: set[tuple[int, ...]] = set()
    out = []

    def add(label: str, level: str | None, region: Any) -> None:
        if region and len(region) == 4 and tuple(region) not in seen and region[2] > 0 \
                and region[3] > 0:
            seen.add(tuple(region))
            out.append({"code": label, "level": level, "region": [int(v) for v in region]})
    evidence = report.get("evidence") or {}
    for f in report.get("findings") or []:
        add(f["code"], f.get("level"), f.get("region"))
    ranked = sorted(evidence.items(), key=lambda kv: -float(kv[1].get("severity", 0)))
    for code, ev in ranked:
        if float(ev.get("severity", 0)) > 0:
            add(code, None, ev.get("region"))
    boxes: dict[tuple[str, int], dict[str, float]] = {}
    for _code, ev in ranked:
        for key, value in (ev.get("measurements") or {}).items():
            m = _BOX_KEY.match(key)
            if m and isinstance(value, (int, float)):
                boxes.setdefault((m.group(1), int(m.group(2))), {})[m.group(3)] = value
    for (kind, n), box in sorted(boxes.items()):
        if len(box) == 4:
            add(f"{kind} {n}", None, [box["x"], box["y"], box["w"], box["h"]])
    return out


class Queue:
    """The pictures of a triage or gate output folder, in review order.

    Parameters
    ----------
    out : path-like
        The output folder (``report.jsonl`` or ``gate.jsonl`` in it; a triage's wins when
        both are there).
    """

    def __init__(self, out: str | os.PathLike):
        self.out = Path(out).resolve()
        triage, gate = self.out / TRIAGE_FILE, self.out / GATE_FILE
        if triage.is_file():
            self.kind, self.file = "triage", triage
        elif gate.is_file():
            self.kind, self.file = "gate", gate
        else:
            raise QueueError(f"{out}: neither {TRIAGE_FILE} (keyframe triage) nor {GATE_FILE} "
                             f"(keyframe gate) found: not an output folder")
        self.entries = list(self._scan())
        rank = {v: n for n, v in enumerate(ORDER)}
        self.order = sorted(range(len(self.entries)),
                            key=lambda n: (rank.get(self.entries[n].verdict, len(ORDER)), n))
        self._by_key: dict[str, int] = {}
        for e in self.entries:
            self._by_key.setdefault(e.sha256 or f"path:{e.path}", e.index)
        self._sources = {str(self.source_path(e.path)) for e in self.entries}

    def _scan(self) -> Iterator[Entry]:
        offset = count = 0
        with open(self.file, "rb") as fh:
            for n, line in enumerate(fh, 1):
                start, offset = offset, offset + len(line)
                if not line.strip():
                    continue
                try:
                    d = json.loads(line)
                except ValueError:
                    raise QueueError(f"{self.file}:{n}: not JSON") from None
                rep = self._report(d)
                count += 1
                yield Entry(index=count - 1, offset=start, verdict=str(d.get("verdict", "error")),
                            quality=rep.get("quality"),
                            sha256=(d.get("report_before") or rep).get("sha256"),
                            path=str(d.get("path") or rep.get("path", "")),
                            report_sha256=hashlib.sha256(line.strip()).hexdigest())

    def _report(self, d: dict[str, Any]) -> dict[str, Any]:
        """The report the page shows: a triage line itself; for a gate line the report of
        where it ended (``report_after``, the source's when the gate never ran)."""
        if self.kind == "triage":
            return d
        return d.get("report_after") or d.get("report_before") or {}

    def __len__(self) -> int:
        return len(self.entries)

    def line(self, index: int) -> dict[str, Any]:
        """The whole stored line of entry ``index`` (IndexError when there is none)."""
        entry = self.by_index(index)
        with open(self.file, "rb") as fh:
            fh.seek(entry.offset)
            return json.loads(fh.readline())

    def by_index(self, index: int) -> Entry:
        if not 0 <= index < len(self.entries):
            raise IndexError(f"no picture {index}")
        return self.entries[index]

    def index_of(self, sha256: str | None, path: str) -> int | None:
        return self._by_key.get(sha256 or f"path:{path}")

    def source_path(self, path: str) -> Path:
        """Where a report's ``path`` is now: as written (relative to the folder the run
        started in, like ``report.html``'s links), else relative to OUT's parent."""
        p = Path(path)
        if not p.is_absolute() and not p.exists() and (self.out.parent / p).exists():
            p = self.out.parent / p
        return Path(os.path.realpath(p))      # Path.resolve raises on a link loop (3.11)

    def package_path(self, line: dict[str, Any]) -> Path | None:
        """The package folder a gate line wrote (under OUT), or None."""
        pkg = line.get("package")
        if not pkg:
            return None
        folder = self.out / Path(pkg).name
        return folder if folder.is_dir() else None

    def is_source(self, path: Path) -> bool:
        """Is ``path`` (resolved) one of the run's own inputs?"""
        return str(path) in self._sources

    def counts(self, journal: Journal) -> dict[str, int]:
        counts = {v: 0 for v in ORDER}
        undecided = 0
        for e in self.entries:
            counts[e.verdict] = counts.get(e.verdict, 0) + 1
            undecided += journal.effective(e.sha256, e.path) is None
        return {**counts, "all": len(self.entries), "undecided": undecided}

    def filtered(self, verdict: str | None) -> list[int]:
        """Entry indexes in review order, of one verdict (``None`` or ``"all"``: every one)."""
        if verdict in (None, "", "all"):
            return self.order
        return [n for n in self.order if self.entries[n].verdict == verdict]

    def page(self, journal: Journal, *, verdict: str | None = None, offset: int = 0,
             limit: int = 100) -> dict[str, Any]:
        """One page of the list view, with each picture's live decision and, for the whole
        filtered list, the position of the first picture without a decision."""
        ids = self.filtered(verdict)
        offset = max(0, int(offset))
        limit = max(1, min(int(limit), PAGE_LIMIT))
        items = []
        for n in ids[offset:offset + limit]:
            e = self.entries[n]
            dec = journal.effective(e.sha256, e.path)
            items.append({"id": e.index, "path": e.path, "verdict": e.verdict,
                          "quality": e.quality, "sha256": e.sha256,
                          "decision": dec["decision"] if dec else None})
        first = next((pos for pos, n in enumerate(ids)
                      if journal.effective(self.entries[n].sha256, self.entries[n].path)
                      is None), None)
        return {"total": len(ids), "offset": offset, "items": items,
                "first_undecided": first, "counts": self.counts(journal)}

    def detail(self, index: int, journal: Journal) -> dict[str, Any]:
        """Everything the page shows of one picture (read from disk now)."""
        entry = self.by_index(index)
        line = self.line(index)
        rep = self._report(line)
        decision = journal.effective(entry.sha256, entry.path)
        gate = None
        if self.kind == "gate":
            recipe = line.get("recipe") or {}
            before = line.get("report_before") or {}
            gate = {"steps": recipe.get("steps") or [], "attempts": line.get("attempts") or [],
                    "package": line.get("package"), "reason": line.get("reason", ""),
                    "before_size": [before.get("width"), before.get("height")]}
        error = rep.get("error")
        return {
            "id": entry.index, "kind": self.kind, "path": entry.path, "sha256": entry.sha256,
            "verdict": entry.verdict, "quality": entry.quality,
            "reason": line.get("reason") or rep.get("reason", ""),
            "width": rep.get("width"), "height": rep.get("height"),
            "findings": [{"code": f["code"], "level": f.get("level"),
                          "severity": f.get("severity"), "message": f.get("message", ""),
                          "fix": f.get("fix"), "region": f.get("region")}
                         for f in rep.get("findings") or []],
            "regions": _regions(rep),
            "plan": rep.get("plan") or [], "skipped": rep.get("skipped") or [],
            "notes": rep.get("notes") or [],
            "error": error.get("message") if isinstance(error, dict) else None,
            "gate": gate, "decision": decision, "report_sha256": entry.report_sha256,
        }
