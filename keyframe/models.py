"""The model registry: where each pretrained file lives and how it runs.

The table of models (:data:`MODELS`, :class:`ModelSpec`: file, upstream URL at a commit,
sha256, size, licence, runtime, inputs) is :mod:`keyframe.model_table`; this module
re-exports both names and owns the cache, the checks of the files, downloads and sessions.

Checks never download. :func:`path` returns a verified local file or raises
:class:`ModelMissing` (a :class:`~keyframe.registry.CheckSkipped`) whose one-line message is
the command that fixes it; :func:`pull` downloads, verifies and renames atomically.
:func:`session` and :func:`interpreter` create one inference session per model per process
and reuse it (single-threaded: keyframe parallelises over images, not inside a model).
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from keyframe.fileio import default_mode
from keyframe.native import quiet_stderr
from keyframe.model_table import MODELS, ModelSpec  # re-exported: callers read models.MODELS
from keyframe.registry import CheckSkipped

ENV_VAR = "KEYFRAME_MODELS"
CHUNK = 1 << 16


class ModelMissing(CheckSkipped):
    """A model is not installed (or its file is damaged); the message says how to fix it."""

    def __init__(self, name: str, problem: str = "is not installed") -> None:
        self.name = name
        super().__init__(f"model '{name}' {problem}: run `keyframe models pull {name}`")


class ModelDownloadError(Exception):
    """A download failed or did not match its checksum; the message is one line."""


def cache_dir() -> Path:
    """Where models live: ``$KEYFRAME_MODELS`` or ``~/.cache/keyframe/models``."""
    env = os.environ.get(ENV_VAR)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "keyframe" / "models"


def spec(name: str) -> ModelSpec:
    """The :class:`ModelSpec` called ``name``; ``KeyError`` with the known names otherwise."""
    try:
        return MODELS[name]
    except KeyError:
        raise KeyError(f"unknown model {name!r}; known: {', '.join(MODELS)}") from None


def _sha256(file: Path) -> str:
    h = hashlib.sha256()
    with open(file, "rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


_lock = threading.Lock()
_verified: set[tuple[str, int, int]] = set()   # (path, size, mtime_ns) whose sha256 matched
#: sessions by (runtime, file), and by ("name", model name, $KEYFRAME_MODELS) for the
#: per-inference lookup: ``path`` stats and resolves the file on every call, ~1 % of a busy
#: picture's anatomy time, for a session that is open already
_sessions: dict[tuple[str, ...], Any] = {}


def _by_name(name: str) -> tuple[str, ...]:
    return ("name", name, os.environ.get(ENV_VAR, ""))


def path(name: str) -> Path:
    """The local file of model ``name``, verified: size on every call, sha256 once per process.

    Raises
    ------
    ModelMissing
        When the file is absent, has the wrong size or the wrong sha256.
    """
    s = spec(name)
    file = cache_dir() / s.file
    try:
        st = file.stat()
    except FileNotFoundError:
        raise ModelMissing(name) from None
    if st.st_size != s.size:
        raise ModelMissing(name, f"at {file} has {st.st_size} bytes, expected {s.size} "
                                 "(corrupt or wrong version)")
    key = (str(file), st.st_size, st.st_mtime_ns)
    if key not in _verified:
        if _sha256(file) != s.sha256:
            raise ModelMissing(name, f"at {file} has the wrong sha256 (corrupt or wrong version)")
        with _lock:
            _verified.add(key)
    return file


def session(name: str):
    """An ``onnxruntime.InferenceSession`` for ``name``, created once per process and reused.

    Single-threaded (intra- and inter-op 1 thread, sequential): keyframe runs images in
    parallel processes, and one thread per model is what the 400 ms budget is measured on.
    """
    import onnxruntime as ort

    ready = _sessions.get(_by_name(name))
    if ready is not None:          # open already: the file's later state does not matter
        return ready
    file = path(name)
    key = ("onnx", str(file))
    with _lock:
        if key not in _sessions:
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = 1
            opts.inter_op_num_threads = 1
            opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
            opts.log_severity_level = 3
            _sessions[key] = ort.InferenceSession(str(file), sess_options=opts,
                                                  providers=["CPUExecutionProvider"])
        _sessions[_by_name(name)] = _sessions[key]
        return _sessions[key]


def interpreter(name: str):
    """A TFLite interpreter (``ai_edge_litert``) for ``name``, tensors allocated, one thread,
    created once per process and reused. Raises :class:`ModelMissing` when ``ai-edge-litert``
    is not installed."""
    ready = _sessions.get(_by_name(name))
    if ready is not None:
        return ready
    file = path(name)
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        raise ModelMissing(name, "needs the TFLite runtime (`pip install ai-edge-litert`) "
                                 "and its file") from None
    key = ("tflite", str(file))
    with _lock:
        if key not in _sessions:
            with quiet_stderr():  # the runtime prints an INFO line per delegate on fd 2
                interp = Interpreter(model_path=str(file), num_threads=1)
                interp.allocate_tensors()
            _sessions[key] = interp
        _sessions[_by_name(name)] = _sessions[key]
        return _sessions[key]


#: per open TFLite interpreter (by id, the interpreter kept to tell a reused id): its input
#: tensor index and its output tensors' names and indices, which LiteRT otherwise rebuilds
#: as dicts of every tensor detail on each inference
_tensors: dict[int, tuple] = {}


def infer(name: str, x: Any) -> dict[str, Any]:
    """Run model ``name`` (ONNX or TFLite, by its runtime in the model table) on one input
    tensor (a numpy array); outputs by tensor name (``Identity``, ``Identity_1``, … for the
    MediaPipe models, whichever runtime carries them). Shared by the checks that run models
    (anatomy's detectors, framing's salient object)."""
    if spec(name).runtime == "tflite":
        interp = interpreter(name)
        ready = _tensors.get(id(interp))
        if ready is None or ready[0] is not interp:
            ready = _tensors[id(interp)] = (
                interp, interp.get_input_details()[0]["index"],
                [(d["name"], d["index"]) for d in interp.get_output_details()])
        interp.set_tensor(ready[1], x)
        interp.invoke()
        return {k: interp.get_tensor(i) for k, i in ready[2]}
    sess = session(name)
    outs = sess.run(None, {sess.get_inputs()[0].name: x})
    return {o.name: v for o, v in zip(sess.get_outputs(), outs)}


def pull(names: Iterable[str], *, base_url: str | None = None,
         progress: Callable[[str, int, int], None] | None = None) -> list[Path]:
    """Download models into :func:`cache_dir` and return their paths.

    Each file streams to a temp file next to its destination, its sha256 is checked, and it
    is renamed into place atomically. Files already present with the right checksum are kept.
    ``base_url`` replaces the upstream host (mirrors, tests): the URL becomes
    ``base_url + "/" + spec.file``. ``progress(name, done_bytes, total_bytes)`` is called
    as bytes arrive.

    Raises
    ------
    ModelDownloadError
        On a network error or a checksum mismatch (the partial file is deleted).
    """
    # imported here, not at the top: every process imports this module, only `models pull`
    # downloads (urllib.request brings http.client, email and ssl: ~13 ms)
    import urllib.error
    import urllib.request

    out = []
    for name in names:
        s = spec(name)
        dest = cache_dir() / s.file
        if dest.is_file() and dest.stat().st_size == s.size and _sha256(dest) == s.sha256:
            if progress:
                progress(name, s.size, s.size)
            out.append(dest)
            continue
        url = s.url if base_url is None else base_url.rstrip("/") + "/" + s.file
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
        try:
            h = hashlib.sha256()
            done = 0
            with os.fdopen(fd, "wb") as fh, urllib.request.urlopen(url, timeout=60) as resp:
                for block in iter(lambda: resp.read(CHUNK), b""):
                    fh.write(block)
                    h.update(block)
                    done += len(block)
                    if progress:
                        progress(name, done, s.size)
                fh.flush()
                os.fsync(fh.fileno())
            if h.hexdigest() != s.sha256:
                raise ModelDownloadError(f"model '{name}' from {url}: sha256 mismatch "
                                         f"(got {h.hexdigest()[:12]}…, expected "
                                         f"{s.sha256[:12]}…); nothing was installed")
            os.chmod(tmp, default_mode())               # mkstemp's 0600 -> the umask's mode
            os.replace(tmp, dest)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise ModelDownloadError(f"model '{name}' could not be downloaded from {url}: "
                                     f"{exc}") from None
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        out.append(dest)
    return out


def verify(names: Iterable[str] | None = None) -> dict[str, str]:
    """Status of each model (all by default): ``"ok"``, ``"missing"`` or ``"corrupt"``.

    Always re-hashes the files (unlike :func:`path`, which trusts a file once per process).
    """
    status = {}
    for name in (list(MODELS) if names is None else list(names)):
        s = spec(name)
        file = cache_dir() / s.file
        if not file.is_file():
            status[name] = "missing"
        elif file.stat().st_size != s.size or _sha256(file) != s.sha256:
            status[name] = "corrupt"
        else:
            status[name] = "ok"
    return status
