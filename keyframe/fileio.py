"""File I/O in one place: safe reads, atomic writes that follow the umask, one writer per folder.

Everything keyframe reads from or writes to a user's disk goes through here, so that the
promises of docs/input.md's reliability section hold everywhere:

* **Only regular files are read.** :func:`open_regular` ``stat``\\s the path first (a FIFO,
  socket, device or directory named like an image is refused in one line, never opened) and
  then opens it non-blocking and checks the open file again, so a file swapped for a FIFO
  between the two calls cannot hang a batch. A dangling symbolic link and a link loop get
  their own one-line reasons (:class:`ReadError`, ``kind`` ``not_found`` / ``unreadable``).
* **Outputs are atomic and follow the umask.** :func:`write_atomic` and
  :func:`atomic_text_writer` write a temp file in the target's folder, fsync it and rename it
  over the target; on any failure (a full disk included) the temp file is removed and the
  target is untouched. The result has the mode any Unix tool would give it (0644 under umask
  022), not :func:`tempfile.mkstemp`'s 0600; :func:`make_temp_dir` does the same for package
  folders (0755).
* **One writer per output folder.** :func:`hold` takes a POSIX record lock on
  ``OUT/.keyframe/lock`` (released by the kernel when the process dies, even by ``kill -9``,
  and not inherited by worker processes) and writes the holder's PID and command into it, so
  a second run refuses in one line naming them (:class:`Busy`), or waits.
* **Originals are never written.** :func:`refuse_overwrite` refuses an output path that is one
  of the inputs, or an existing file, unless the caller was told to overwrite.
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import stat
import tempfile
import time
from pathlib import Path
from typing import IO, Callable, Iterable, Iterator

try:
    import fcntl
except ImportError:             # Windows: no POSIX record locks (one writer is not enforced)
    fcntl = None  # type: ignore[assignment]

CHUNK = 1 << 20
#: the folder of keyframe's own state inside an output folder (journal, lock); a folder that
#: holds one is a keyframe output and folder scans skip it
STATE_DIR = ".keyframe"
LOCK_FILE = "lock"

_KINDS = {stat.S_IFIFO: "a FIFO (named pipe)", stat.S_IFSOCK: "a socket",
          stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device",
          stat.S_IFDIR: "a directory"}


class ReadError(OSError):
    """A file that cannot be read safely. ``kind`` is ``not_found`` or ``unreadable`` (kinds of
    :class:`keyframe.image.ImageError`); ``str()`` is one line led by the path."""

    def __init__(self, kind: str, path: str, reason: str, code: int = errno.EINVAL):
        super().__init__(code, reason, path)
        self.kind = kind

    def __str__(self) -> str:
        return f"{self.filename}: {self.strerror}"


class Busy(Exception):
    """Another process holds the output folder's lock; the message names its PID."""


def file_kind(mode: int) -> str:
    """``"a FIFO (named pipe)"``, ``"a socket"``, … for a non-regular ``st_mode``."""
    return _KINDS.get(stat.S_IFMT(mode), "not a regular file")


def _stat_error(name: str, exc: OSError) -> ReadError:
    if isinstance(exc, FileNotFoundError):
        if os.path.islink(name):
            try:
                target = os.readlink(name)
            except OSError:
                target = "?"
            return ReadError("not_found", name, f"dangling symbolic link (to {target}): "
                             "its target does not exist", errno.ENOENT)
        return ReadError("not_found", name, "file not found: check the path", errno.ENOENT)
    if exc.errno == errno.ELOOP:
        return ReadError("unreadable", name, "symbolic link loop: the link never reaches a "
                         "file", errno.ELOOP)
    return ReadError("unreadable", name, f"cannot read the file: {exc.strerror or exc}",
                     exc.errno or errno.EIO)


def open_regular(path: str | os.PathLike[str]) -> int:
    """Open a regular file for reading and return its descriptor; never blocks.

    Raises
    ------
    ReadError
        The path does not exist (or is a dangling link), is a link loop, is not a regular
        file (FIFO, socket, device, directory: named in the message), or cannot be opened.
    """
    name = os.fspath(path)
    try:
        st = os.stat(name)
    except OSError as exc:
        raise _stat_error(name, exc) from None
    if not stat.S_ISREG(st.st_mode):
        raise ReadError("unreadable", name, f"is {file_kind(st.st_mode)}, not a regular "
                        "file: not read")
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | os.O_CLOEXEC
    try:
        fd = os.open(name, flags)       # non-blocking: a FIFO swapped in now cannot hang us
    except OSError as exc:
        raise _stat_error(name, exc) from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise ReadError("unreadable", name, f"is {file_kind(mode)}, not a regular file: "
                        "not read")
    return fd


def read_bytes(path: str | os.PathLike[str]) -> bytes:
    """The whole content of a regular file, read once (see :func:`open_regular`)."""
    fd = open_regular(path)
    try:
        with open(fd, "rb", closefd=False) as fh:
            return fh.read()
    except OSError as exc:
        raise ReadError("unreadable", os.fspath(path), f"cannot read the file: "
                        f"{exc.strerror or exc}", exc.errno or errno.EIO) from None
    finally:
        os.close(fd)


def read_text(path: str | os.PathLike[str]) -> str:
    """A regular file's text (UTF-8); ``ReadError`` as :func:`read_bytes`, ``ValueError``
    when it is not UTF-8."""
    return read_bytes(path).decode("utf-8")


def sha256_file(path: str | os.PathLike[str]) -> str | None:
    """sha256 of a regular file's bytes, read in chunks; None when it cannot be read safely."""
    h = hashlib.sha256()
    try:
        fd = open_regular(path)
    except ReadError:
        return None
    try:
        with open(fd, "rb", closefd=False) as fh:
            while chunk := fh.read(CHUNK):
                h.update(chunk)
    except OSError:
        return None
    finally:
        os.close(fd)
    return h.hexdigest()


# ------------------------------------------------------------------------------- writing

def umask() -> int:
    """The process umask, read without changing it where the OS allows (Linux)."""
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def default_mode(*, folder: bool = False) -> int:
    """The mode a new file (0666) or folder (0777) gets under the umask, as ``open`` would."""
    return (0o777 if folder else 0o666) & ~umask()


def fsync_dir(path: str | os.PathLike[str]) -> None:
    """Make a rename inside ``path`` durable (POSIX; Windows has no directory handles)."""
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_synced(path: str | os.PathLike[str], data: bytes, mode: str = "xb") -> None:
    """Write ``data`` to a new file (``mode`` "xb": it must not exist) and fsync it."""
    with open(path, mode) as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


@contextlib.contextmanager
def _temp_beside(path: Path, *, suffix: str = ".tmp") -> Iterator[str]:
    """A temp file name in ``path``'s folder, removed unless it was renamed away."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(fd)
    try:
        yield tmp
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` (whose folder must exist): readers see the old file or the
    new one, never half. A temp file in the same folder is written, fsynced, given the
    umask's mode and renamed over ``path``; on any failure (a full disk included) it is
    removed and ``path`` is untouched.
    """
    path = Path(path)
    with _temp_beside(path) as tmp:
        write_synced(tmp, data, "wb")
        os.chmod(tmp, default_mode())
        os.replace(tmp, path)
    fsync_dir(path.parent)


@contextlib.contextmanager
def atomic_text_writer(path: str | os.PathLike[str]) -> Iterator[IO[str]]:
    """Stream text into ``path`` atomically: the streaming twin of :func:`write_atomic`, for
    reports too large to build in memory first."""
    path = Path(path)
    with _temp_beside(path) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, default_mode())
        os.replace(tmp, path)
    fsync_dir(path.parent)


def copy_atomic(src: str | os.PathLike[str], dest: str | os.PathLike[str]) -> None:
    """Copy a regular file to ``dest`` atomically, keeping its modification time (a copy
    that fails half-way, e.g. on a full disk, leaves nothing behind)."""
    dest = Path(dest)
    fd = open_regular(src)
    try:
        st = os.fstat(fd)
        with _temp_beside(dest) as tmp:
            with open(fd, "rb", closefd=False) as fin, open(tmp, "wb") as fout:
                while chunk := fin.read(CHUNK):
                    fout.write(chunk)
                fout.flush()
                os.fsync(fout.fileno())
            os.chmod(tmp, default_mode())
            os.utime(tmp, ns=(st.st_atime_ns, st.st_mtime_ns))
            os.replace(tmp, dest)
    finally:
        os.close(fd)


def make_temp_dir(parent: str | os.PathLike[str], *, prefix: str) -> Path:
    """A new hidden temp folder in ``parent`` with the umask's folder mode (0755 under 022)."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    os.chmod(tmp, default_mode(folder=True))
    return tmp


# ------------------------------------------------------------------------ output checks

def same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """True when both paths exist and are the same file (links followed)."""
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        return False


def same_folder(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """True when both paths name the same folder (links resolved; neither need exist)."""
    return os.path.realpath(a) == os.path.realpath(b)


def file_ids(paths: Iterable[str | os.PathLike[str]]) -> frozenset[tuple[int, int]]:
    """``(st_dev, st_ino)`` of each path that exists (links followed): the identity of the
    inputs, to refuse writing over any of them."""
    ids = set()
    for p in paths:
        with contextlib.suppress(OSError, ValueError):
            st = os.stat(p)
            ids.add((st.st_dev, st.st_ino))
    return frozenset(ids)


def refuse_overwrite(out: str | os.PathLike[str], *, inputs: Iterable[str | os.PathLike[str]]
                     = (), input_ids: frozenset[tuple[int, int]] = frozenset(),
                     overwrite: bool = False, data: bytes | None = None) -> str | None:
    """Why writing ``out`` is refused, in one line, or None when it may be written.

    Refused: ``out`` is one of ``inputs`` (or of the files ``input_ids`` names: an original is
    never written, whatever ``overwrite`` says); ``out`` exists and is not a regular file;
    ``out`` is an existing file and ``overwrite`` is False — unless it already holds exactly
    ``data`` (a rerun that would write the same bytes).
    """
    name = os.fspath(out)
    inputs = list(inputs)
    if any(os.path.abspath(os.fspath(src)) == os.path.abspath(name) for src in inputs):
        return _input_refusal(name)
    try:
        st = os.stat(name)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"{name}: {exc.strerror}"
    if (st.st_dev, st.st_ino) in input_ids | file_ids(inputs):
        return _input_refusal(name)
    if not stat.S_ISREG(st.st_mode):
        return f"{name} is {file_kind(st.st_mode)}: choose a file name for -o"
    if overwrite:
        return None
    if data is not None and st.st_size == len(data):
        with contextlib.suppress(ReadError):
            if read_bytes(name) == data:
                return None
    return f"{name} already exists: pass --overwrite to replace it"


def _input_refusal(name: str) -> str:
    return f"{name} is an input: originals are never overwritten; choose another -o"


# ------------------------------------------------------------------------------- the lock

def is_output_folder(folder: str | os.PathLike[str]) -> bool:
    """True when ``folder`` holds keyframe's state folder (it is a keyframe output)."""
    return os.path.isdir(os.path.join(os.fspath(folder), STATE_DIR))


def lock_fd(fd: int, *, wait: bool = False) -> bool:
    """Take an exclusive POSIX record lock on ``fd`` (per process: not inherited by a forked
    worker, released by the kernel when the process dies); False when another process holds
    it and ``wait`` is False. True where the OS has no such locks."""
    if fcntl is None:
        return True
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except OSError as exc:
        if exc.errno in (errno.EACCES, errno.EAGAIN):
            return False
        raise
    return True


def _holder(fd: int) -> str:
    with contextlib.suppress(OSError, UnicodeDecodeError, ValueError):
        pid, command, since = os.pread(fd, 200, 0).decode("utf-8").split()
        return f"keyframe {command} (pid {pid}, since {since.replace('T', ' ')})"
    return "another keyframe process"


@contextlib.contextmanager
def hold(out: str | os.PathLike[str], command: str, *, wait: bool = False,
         on_wait: Callable[[str], None] | None = None) -> Iterator[Path]:
    """Hold the lock of output folder ``out`` (created) for the ``with`` block.

    Parameters
    ----------
    out : path-like
        The output folder; the lock is ``out/.keyframe/lock``.
    command : str
        Written into the lock with this PID, so a refused run can name the holder.
    wait : bool, keyword-only
        Wait for the holder to finish instead of refusing.
    on_wait : callable, keyword-only
        Called once with the holder's description before waiting.

    Raises
    ------
    Busy
        ``out`` is held by another process and ``wait`` is False.
    """
    state = Path(out) / STATE_DIR
    state.mkdir(parents=True, exist_ok=True)
    path = state / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, default_mode())
    try:
        if not lock_fd(fd):
            who = _holder(fd)
            if not wait:
                raise Busy(f"{out} is in use by {who}: wait for it to finish, or pass "
                           "--wait")
            if on_wait is not None:
                on_wait(who)
            lock_fd(fd, wait=True)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {command} {time.strftime('%Y-%m-%dT%H:%M:%S')}\n"
                  .encode("utf-8"), 0)
        yield Path(out)
    finally:
        os.close(fd)                    # closing releases the lock
