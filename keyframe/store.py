"""The resumable results store of ``keyframe triage``: an append-only, fsynced journal.

Each finished image is one JSON line in ``OUT/.keyframe/results.jsonl``::

    {"key": "<file sha256>:<run id>", "sha256": "…", "path": "…", "size": …,
     "mtime_ns": …, "report": {keyframe.report/1}}

The key is the sha256 of the file's bytes plus a *run id* (:func:`run_id`): the digest of the
resolved profile, the keyframe version, the target and the pixel cap — everything a report
depends on besides the pixels. A rerun with the same inputs finds every finished image by its
key and does not assess it again; a changed file, profile or version gets a new key.

A line is written with one ``write`` on an ``O_APPEND`` descriptor and fsynced before the
next, so a ``kill -9`` at any moment loses at most the images still in flight. A torn last
line (a kill in the middle of a write) is cut off when the store is opened again; a key is
only ever appended once, so a resumed run duplicates nothing.

``size`` and ``mtime_ns`` let a rerun reuse a file's hash without reading it again when the
file at that path has not changed (:meth:`ResultStore.known_sha`).
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import IO, Any, Iterator

from keyframe import __version__

JOURNAL = "results.jsonl"
CHUNK = 1 << 20


def run_id(profile_raw: dict[str, Any], *, target: str | None, max_pixels: int,
           checks: tuple[str, ...] | None = None, mattes: str | None = None,
           version: str = __version__) -> str:
    """16 hex digits naming everything a report depends on besides the file's bytes.

    Parameters
    ----------
    profile_raw : dict
        The resolved profile (``Profile.raw``, ``extends`` already merged), so that editing a
        profile's thresholds changes the id even when its name stays.
    target : str or None, keyword-only
    max_pixels : int, keyword-only
        The pixel cap (an image over it is an error, under it is assessed).
    checks : tuple of str or None, keyword-only
        The checks run (None: all registered).
    mattes : str or None, keyword-only
        The folder of subject mattes (its resolved path; replacing a matte file in place
        does not change the id: use a new folder, or delete the store).
    version : str, keyword-only
        keyframe's version: a new release re-measures.
    """
    blob = json.dumps({"profile": profile_raw, "target": target, "max_pixels": int(max_pixels),
                       "checks": None if checks is None else sorted(checks),
                       "version": version, **({"mattes": mattes} if mattes else {})},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def file_sha256(path: str | os.PathLike) -> str | None:
    """sha256 of a file's bytes, read in chunks; None when the file cannot be read."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(CHUNK):
                h.update(chunk)
    except OSError:
        return None
    return h.hexdigest()


class ResultStore:
    """The journal of one output folder. Open it, look keys up, append results, close it.

    Only offsets are kept in memory (key -> byte offset of its line, path -> last known
    size / mtime / hash), never the reports, so memory stays flat over tens of thousands of
    images; :meth:`get` reads one line back from disk.
    """

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / JOURNAL
        self._offsets: dict[str, int] = {}
        self._stats: dict[str, tuple[int, int, str]] = {}
        self.torn = 0
        end = self._scan()
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        if os.fstat(self._fd).st_size != end:     # cut a torn tail so appends start clean
            os.ftruncate(self._fd, end)
            os.fsync(self._fd)
        self._end = end
        self._reader: IO[bytes] = open(self.path, "rb")

    def _scan(self) -> int:
        """Index the journal; return the byte offset just past its last complete line."""
        if not self.path.exists():
            return 0
        good = 0
        with open(self.path, "rb") as fh:
            offset = 0
            for line in fh:
                start, offset = offset, offset + len(line)
                try:
                    if not line.endswith(b"\n"):
                        raise ValueError("no newline")
                    entry = json.loads(line)
                    key = entry["key"]
                except (ValueError, KeyError, TypeError):
                    self.torn += 1
                    continue
                self._offsets.setdefault(key, start)
                if entry.get("sha256"):
                    self._stats[entry["path"]] = (entry["size"], entry["mtime_ns"],
                                                  entry["sha256"])
                good = offset
        return good

    def __len__(self) -> int:
        return len(self._offsets)

    def __contains__(self, key: object) -> bool:
        return key in self._offsets

    def keys(self) -> Iterator[str]:
        return iter(self._offsets)

    def known_sha(self, path: str, size: int, mtime_ns: int) -> str | None:
        """The hash recorded for ``path`` when its size and mtime are unchanged, else None."""
        known = self._stats.get(path)
        if known and known[0] == size and known[1] == mtime_ns:
            return known[2]
        return None

    def add(self, key: str, *, sha256: str, path: str, size: int, mtime_ns: int,
            report_json: str) -> bool:
        """Append one finished image durably; False (nothing written) if ``key`` is known."""
        if key in self._offsets:
            return False
        head = json.dumps({"key": key, "sha256": sha256, "path": path, "size": int(size),
                           "mtime_ns": int(mtime_ns)}, ensure_ascii=False)
        line = (head[:-1] + ', "report": ' + report_json + "}\n").encode("utf-8")
        written = os.write(self._fd, line)
        while written < len(line):                  # rare short write: finish it
            written += os.write(self._fd, line[written:])
        os.fsync(self._fd)
        self._offsets[key] = self._end
        self._end += len(line)
        self._stats[path] = (int(size), int(mtime_ns), sha256)
        return True

    def get(self, key: str) -> dict[str, Any]:
        """The stored report (a ``keyframe.report/1`` dict) for ``key``; KeyError if absent."""
        self._reader.seek(self._offsets[key])
        return json.loads(self._reader.readline())["report"]

    def close(self) -> None:
        os.close(self._fd)
        self._reader.close()

    def __enter__(self) -> "ResultStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextlib.contextmanager
def atomic_text_writer(path: str | os.PathLike) -> Iterator[IO[str]]:
    """Stream text into ``path`` atomically: a temp file in the same folder, fsynced and
    renamed over ``path`` on success, removed on failure (``path`` is then untouched).

    The streaming twin of :func:`keyframe.package.write_atomic`, for reports too large to
    build in memory first.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    if os.name == "posix":
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
