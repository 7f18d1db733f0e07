"""The resumable results store of ``keyframe triage``: an append-only, fsynced journal.

Each finished image is one JSON line in ``OUT/.keyframe/results.jsonl``::

    {"key": "<file sha256>:<run id>", "sha256": "…", "path": "…", "size": …,
     "mtime_ns": …, "report": {keyframe.report/1}}

The key is the sha256 of the file's bytes plus a *run id* (:func:`run_id`): the digest of the
resolved profile, the keyframe version, the target and the pixel cap — everything a report
depends on besides the pixels. A rerun with the same inputs finds every finished image by its
key and does not assess it again; a changed file, profile or version gets a new key.

A line is written with one ``write`` on an ``O_APPEND`` descriptor; lines are fsynced in
groups (*group commit*: :meth:`ResultStore.add` with ``sync=False`` for each image that
finished together, then one :meth:`ResultStore.sync`), and the caller reports an image done
only after the fsync that covers its line, so a ``kill -9`` (or a power cut) at any moment
loses at most the images not reported yet. A torn last
line (a kill in the middle of a write) is cut off when the store is opened again; a key is
only ever appended once, so a resumed run duplicates nothing.

The journal is locked (a POSIX record lock, released by the kernel when the process dies) for
as long as the store is open, so two processes never append to one journal: the second gets
:class:`keyframe.fileio.Busy`. Lines are read back with ``pread`` on the locked descriptor.
A ``kill -9`` *can* tear a line: Linux stops a multi-page ``write`` part-way when a fatal
signal arrives (measured: 1 kill in 100 of a loop of fsynced 5 KB appends left a torn tail),
so a reader of the raw file must, like :func:`iter_journal`, skip a last line without its
newline.

``size`` and ``mtime_ns`` let a rerun reuse a file's hash without reading it again when the
file at that path has not changed (:meth:`ResultStore.known_sha`).
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Iterator

from keyframe import __version__
from keyframe.fileio import Busy, default_mode, lock_fd
from keyframe.fileio import atomic_text_writer  # noqa: F401 - re-exported
from keyframe.fileio import sha256_file as file_sha256

JOURNAL = "results.jsonl"
CHUNK = 1 << 20


def run_id(profile_raw: dict[str, Any], *, target: str | None, max_pixels: int,
           checks: tuple[str, ...] | None = None, mattes: str | None = None,
           version: str = __version__, extra: dict[str, Any] | None = None) -> str:
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
        keyframe's version: a new release re-measures. Each check family's source and model
        hashes (:func:`keyframe.registry.checks_fingerprint`) are part of the id too, so a
        changed measure, anchor or model re-measures within a version.
    extra : dict, keyword-only
        Anything else the results depend on (the gate's rounds and background).
    """
    from keyframe.registry import checks_fingerprint

    blob = json.dumps({"profile": profile_raw, "target": target, "max_pixels": int(max_pixels),
                       "checks": None if checks is None else sorted(checks),
                       "check_sources": checks_fingerprint(),
                       "version": version, **({"mattes": mattes} if mattes else {}),
                       **({"extra": extra} if extra else {})},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def iter_journal(path: str | os.PathLike) -> Iterator[dict[str, Any]]:
    """The complete entries of a journal file, in order: lines that do not end in a newline
    or are not JSON objects with a ``key`` (a torn tail after a kill) are skipped."""
    try:
        fh = open(path, "rb")
    except FileNotFoundError:
        return
    with fh:
        for line in fh:
            entry = _entry(line)
            if entry is not None:
                yield entry


def _entry(line: bytes) -> dict[str, Any] | None:
    if not line.endswith(b"\n"):
        return None
    try:
        entry = json.loads(line)
    except ValueError:
        return None
    return entry if isinstance(entry, dict) and isinstance(entry.get("key"), str) else None


class ResultStore:
    """The journal of one output folder. Open it, look keys up, append results, close it.

    Only offsets are kept in memory (key -> byte offset of its line, path -> last known
    size / mtime / hash), never the reports, so memory stays flat over tens of thousands of
    images; :meth:`get` reads one line back from disk.
    """

    def __init__(self, folder: str | os.PathLike, *, journal: str = JOURNAL):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / journal
        self._offsets: dict[str, tuple[int, int]] = {}      # key -> (offset, length)
        self._stats: dict[str, tuple[int, int, str]] = {}
        self.torn = 0
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC,
                           default_mode())
        try:
            locked = lock_fd(self._fd)
        except OSError:
            os.close(self._fd)
            raise
        if not locked:
            os.close(self._fd)
            raise Busy(f"{self.path} is being written by another process")
        end = self._scan()
        if os.fstat(self._fd).st_size != end:     # cut a torn tail so appends start clean
            os.ftruncate(self._fd, end)
            os.fsync(self._fd)
        self._end = end
        self._dirty = False

    def _scan(self) -> int:
        """Index the journal; return the byte offset just past its last complete line."""
        good = 0
        with open(self._fd, "rb", closefd=False) as fh:   # never close the locked descriptor
            fh.seek(0)
            offset = 0
            for line in fh:
                start, offset = offset, offset + len(line)
                entry = _entry(line)
                if entry is None:
                    self.torn += 1
                    continue
                self._offsets.setdefault(entry["key"], (start, len(line)))
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
            report_json: str, sync: bool = True) -> bool:
        """Append one finished image; False (nothing written) if ``key`` is known.

        With ``sync`` (the default) the line is fsynced before this returns; without it the
        line is written (a ``kill -9`` of this process no longer loses it) and fsynced by
        the next :meth:`sync`, which must come before the image is reported done.
        """
        if key in self._offsets:
            return False
        head = json.dumps({"key": key, "sha256": sha256, "path": path, "size": int(size),
                           "mtime_ns": int(mtime_ns)}, ensure_ascii=False)
        line = (head[:-1] + ', "report": ' + report_json + "}\n").encode("utf-8")
        try:
            written = os.write(self._fd, line)
            while written < len(line):              # rare short write: finish it
                written += os.write(self._fd, line[written:])
        except OSError as exc:                      # a full disk: name the journal
            raise OSError(exc.errno, exc.strerror, str(self.path)) from None
        self._offsets[key] = (self._end, len(line))
        self._end += len(line)
        self._stats[path] = (int(size), int(mtime_ns), sha256)
        self._dirty = True
        if sync:
            self.sync()
        return True

    def sync(self) -> None:
        """fsync the lines added since the last sync (one fsync for the whole group)."""
        if not self._dirty:
            return
        try:
            os.fsync(self._fd)
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror, str(self.path)) from None
        self._dirty = False

    def get(self, key: str) -> dict[str, Any]:
        """The stored report (a ``keyframe.report/1`` dict) for ``key``; KeyError if absent."""
        offset, length = self._offsets[key]
        return json.loads(os.pread(self._fd, length, offset))["report"]

    def close(self) -> None:
        try:
            self.sync()
        finally:
            os.close(self._fd)                      # releases the lock

    def __enter__(self) -> "ResultStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Resumable:
    """The journal of a batch command that writes outputs per image (``keyframe gate``):
    ``OUT/.keyframe/<name>.jsonl``, keyed like triage's by the file's sha256 and a run id, so
    a rerun after a kill skips every image already done. Use as a context manager.

    Parameters
    ----------
    out : path-like
        The command's output folder.
    name : str
        The journal's name (``gate``: ``gate.jsonl``).
    rid : str
        :func:`run_id` of everything the results depend on besides the file.
    """

    def __init__(self, out: str | os.PathLike, name: str, rid: str):
        self.store = ResultStore(Path(out) / ".keyframe", journal=f"{name}.jsonl")
        self.rid = rid
        self._pending: tuple[str, str, int, int] = ("", "", 0, 0)

    def lookup(self, path: str | os.PathLike) -> tuple[str | None, dict[str, Any] | None]:
        """``(key, stored payload)`` of ``path``: payload None when not done yet, key None
        when the file cannot be read (it then gets its error record every run)."""
        try:
            st = os.stat(path)
        except OSError:
            return None, None
        sha = self.store.known_sha(str(path), st.st_size, st.st_mtime_ns) or file_sha256(path)
        if sha is None:
            return None, None
        key = f"{sha}:{self.rid}"
        self._pending = (key, sha, st.st_size, st.st_mtime_ns)
        return key, (self.store.get(key) if key in self.store else None)

    def add(self, key: str, path: str | os.PathLike, payload: dict[str, Any]) -> None:
        """Journal ``payload`` (any JSON object) as done for ``key`` (from :meth:`lookup`)."""
        k, sha, size, mtime = self._pending
        if k != key:
            raise ValueError("Resumable.add: key does not come from the last lookup")
        self.store.add(key, sha256=sha, path=str(path), size=size, mtime_ns=mtime,
                       report_json=json.dumps(payload, ensure_ascii=False))

    def __enter__(self) -> "Resumable":
        return self

    def __exit__(self, *exc: object) -> None:
        self.store.close()
