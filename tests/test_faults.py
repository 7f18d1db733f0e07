"""Faults around a run: two runs into one OUT, Ctrl-C, a full disk, a read-only folder, a
closed or full stdout. Each is one line and an exit code; nothing half-written is left."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from keyframe.fileio import Busy
from keyframe.store import ResultStore, iter_journal
from test_triage import make_images

#: the CLI as a terminal starts it: Python's own Ctrl-C handler even when this test run was
#: started in the background (a non-interactive shell starts background jobs with SIGINT
#: ignored, and an ignored signal stays ignored across exec)
CLI = ("import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
       "from keyframe.cli import main; sys.exit(main())")


def keyframe(*args: str, **kw) -> subprocess.Popen:
    """`keyframe ...` in its own session (signals reach it and its pool), no models."""
    env = {**os.environ, "KEYFRAME_MODELS": os.devnull + "-none"}
    return subprocess.Popen([sys.executable, "-c", CLI, *args], env=env,
                            start_new_session=True, text=True, **kw)


def finish(proc: subprocess.Popen, timeout: float = 180) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out or "", err or ""


@pytest.fixture(scope="module")
def src(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("faults") / "src"
    make_images(folder, 40, size=64, seed=5)
    return folder


def _wait_for(pred, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.02)
    raise AssertionError("timed out waiting")


def _lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


# ------------------------------------------------------------------ one writer per OUT

def _holds_lock(out: Path, pid: int) -> bool:
    lock = out / ".keyframe" / "lock"
    return lock.exists() and lock.read_text().startswith(f"{pid} ")


def test_two_triage_runs_into_one_out(src, tmp_path):
    """The first run is paused (SIGSTOP) once it holds OUT, so the overlap is certain."""
    out = tmp_path / "out"
    journal = out / ".keyframe" / "results.jsonl"
    first = keyframe("triage", str(src), "-o", str(out), "--checks", "artifact",
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _wait_for(lambda: _holds_lock(out, first.pid))
    os.killpg(first.pid, signal.SIGSTOP)
    try:
        rc, _, err = finish(keyframe("triage", str(src), "-o", str(out), "--checks",
                                     "artifact", stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE))
        assert rc == 2 and f"in use by keyframe triage (pid {first.pid}," in err, err
        assert "--wait" in err and "Traceback" not in err
        waiting = keyframe("triage", str(src), "-o", str(out), "--checks", "artifact",
                           "--wait", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert "waiting for keyframe triage" in waiting.stderr.readline()
    finally:
        os.killpg(first.pid, signal.SIGCONT)
    assert finish(first)[0] == 2
    rc, out_text, err = finish(waiting)
    assert rc == 2 and "Traceback" not in err
    entries = [json.loads(line) for line in journal.read_text(encoding="utf-8").splitlines()]
    assert len(entries) == len({e["key"] for e in entries}) == 41     # one line per key
    assert len((out / "report.jsonl").read_text(encoding="utf-8").splitlines()) == 41
    assert "(0 assessed, 41 reused" in out_text


def test_a_journal_has_one_writer_and_never_a_key_twice(tmp_path):
    folder = tmp_path / ".keyframe"
    code = ("import sys, time; from keyframe.store import ResultStore\n"
            f"s = ResultStore({str(folder)!r})\n"
            "s.add('k1', sha256='a', path='p', size=1, mtime_ns=1, report_json='{}')\n"
            "print('held', flush=True); time.sleep(30)")
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(Busy, match="another process"):
            ResultStore(folder)
    finally:
        holder.kill()                 # the kernel releases the lock of a killed process
        holder.wait()
    with ResultStore(folder) as store:
        assert not store.add("k1", sha256="a", path="p", size=1, mtime_ns=1, report_json="{}")
        assert store.add("k2", sha256="b", path="q", size=1, mtime_ns=1, report_json="{}")
    assert [e["key"] for e in iter_journal(folder / "results.jsonl")] == ["k1", "k2"]


# ---------------------------------------------------------------------------- Ctrl-C

@pytest.mark.slow
@pytest.mark.parametrize("jobs", [1, 2])
def test_ctrl_c_exits_130_keeps_the_journal_and_a_rerun_resumes(src, tmp_path, jobs):
    out = tmp_path / "out"
    journal = out / ".keyframe" / "results.jsonl"
    proc = keyframe("triage", str(src), "-o", str(out), "--checks", "artifact", "--jobs",
                    str(jobs), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _wait_for(lambda: _lines(journal) >= 5)
    os.killpg(proc.pid, signal.SIGINT)            # what a terminal sends the whole group
    rc, _, err = finish(proc, timeout=60)
    assert rc == 130 and "interrupted" in err and "Traceback" not in err, err
    done = [json.loads(line) for line in journal.read_text(encoding="utf-8").splitlines()]
    assert 0 < len(done) < 41 and not (out / "report.jsonl").exists()
    rc, text, _ = finish(keyframe("triage", str(src), "-o", str(out), "--checks", "artifact",
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    assert rc == 2 and f"({41 - len(done)} assessed, {len(done)} reused" in text


# ------------------------------------------------------------------------------ stdout

def test_a_full_or_closed_stdout_is_one_line(src):
    img = str(next(src.rglob("*.png")))
    with open("/dev/full", "w") as full:
        rc, _, err = finish(keyframe("check", img, stdout=full, stderr=subprocess.PIPE))
    assert rc == 2 and err.strip().splitlines() == [
        "error: cannot write to standard output: No space left on device"], err
    proc = keyframe("check", str(src), "--json", stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE)
    proc.stdout.readline()
    proc.stdout.close()                           # `| head -1`
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 2
    assert "Traceback" not in err and "cannot write to standard output: Broken pipe" in err


# --------------------------------------------------------- full disk, read-only folder

def _mount_tmpfs(where: Path, size: str, *options: str) -> None:
    where.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root (CI runs as root)")
    opts = ",".join((f"size={size}", *options))
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(where)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")


def _unmount(where: Path) -> None:
    if subprocess.run(["umount", str(where)], capture_output=True).returncode:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


@pytest.fixture()
def small_disk(tmp_path):
    where = tmp_path / "disk"
    _mount_tmpfs(where, "2m")
    yield where
    _unmount(where)


def _fill(disk: Path, leave: int) -> Path:
    filler = disk / "filler"
    free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
    filler.write_bytes(b"\0" * max(0, free - leave))
    return filler


@pytest.mark.parametrize("command", ["gate", "triage"])
def test_a_full_disk_is_one_line_and_leaves_nothing_half_written(src, tmp_path, small_disk,
                                                                 command):
    from PIL import Image
    from helpers import photo
    inputs = tmp_path / "in"
    inputs.mkdir()
    Image.fromarray(photo("astronaut")[::2, ::2].copy()).save(inputs / "big.png")  # ~250 KB
    out = small_disk / "out"
    filler = _fill(small_disk, (64 if command == "gate" else 12) * 1024)
    args = ["--checks", "artifact"] if command == "triage" else []
    rc, _, err = finish(keyframe(command, str(inputs), "-o", str(out), *args,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    assert rc == 2 and "No space left on device" in err and "Traceback" not in err, err
    left = [str(p.relative_to(out)) for p in out.rglob("*")] if out.exists() else []
    assert not [p for p in left if ".tmp" in p], left             # no temp file or folder
    assert "big/keyframe.png" not in left and "report.jsonl" not in left
    filler.unlink()
    rc, _, err = finish(keyframe(command, str(inputs), "-o", str(out), *args,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    assert rc in (0, 1) and "Traceback" not in err, err             # room again: it finishes


def test_a_read_only_output_folder_is_one_line(src, tmp_path):
    ro = tmp_path / "ro"
    if os.geteuid() == 0:
        _mount_tmpfs(ro, "1m", "ro")
    else:
        ro.mkdir()
        ro.chmod(0o555)
    try:
        for args in (["triage", str(src), "-o", str(ro / "out"), "--checks", "artifact"],
                     ["gate", str(next(src.rglob("*.png"))), "-o", str(ro / "out")]):
            rc, _, err = finish(keyframe(*args, stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE))
            assert rc == 2 and "Traceback" not in err, err
            assert err.strip().splitlines()[-1].startswith(f"error: {ro / 'out'}: ")
    finally:
        if os.geteuid() == 0:
            _unmount(ro)
