"""Speed plumbing (issue 18): worker thread settings, group commit of the journal."""
from __future__ import annotations

import os

import numpy as np
import pytest

from keyframe.executors import LocalExecutor


def _cv2_threads(_item: object) -> tuple[int, int]:
    import cv2

    return os.getpid(), cv2.getNumThreads()


def test_pool_workers_run_opencv_on_one_thread():
    import cv2

    cv2.setNumThreads(2)
    with LocalExecutor(jobs=2) as ex:
        # set in the parent before the fork: resizing OpenCV's pool in a forked worker can
        # hang (seen in this suite: pthread_cond_destroy), so the workers inherit one thread
        assert cv2.getNumThreads() == 1
        seen = list(ex.imap_unordered(_cv2_threads, range(6)))
    assert {threads for _pid, threads in seen} == {1}
    assert all(pid != os.getpid() for pid, _ in seen)
    assert cv2.getNumThreads() == 2               # the parent gets its threads back


def test_onnx_sessions_are_single_threaded_and_made_once(monkeypatch):
    ort = pytest.importorskip("onnxruntime")
    from keyframe import models

    made = []

    class Fake:
        def __init__(self, path, sess_options, providers):
            made.append((path, sess_options.intra_op_num_threads,
                         sess_options.inter_op_num_threads))

    monkeypatch.setattr(ort, "InferenceSession", Fake)
    monkeypatch.setattr(models, "_sessions", {})
    monkeypatch.setattr(models, "path", lambda name: f"/models/{name}.onnx")
    a = models.session("yunet")
    b = models.session("yunet")
    assert a is b and made == [("/models/yunet.onnx", 1, 1)]


# --------------------------------------------------------------- gate: no PNG per candidate

@pytest.fixture(scope="module", params=[None, "runway-gen4"])
def gated(request):
    import cv2
    from helpers import photo

    from keyframe.gate import gate
    from keyframe.image import from_array
    from keyframe.profiles import load_profile

    profile = load_profile("default")
    soft = from_array(cv2.GaussianBlur(photo("astronaut"), (0, 0), 2.0), name="soft.png")
    return profile, soft, gate(soft, profile=profile, target=request.param)


def test_the_gate_encodes_no_png_per_candidate(monkeypatch):
    import cv2
    from helpers import photo

    from keyframe import image as image_mod
    from keyframe.gate import gate
    from keyframe.image import from_array
    from keyframe.profiles import load_profile

    soft = from_array(cv2.GaussianBlur(photo("astronaut"), (0, 0), 2.0), name="soft.png")
    calls = []
    real = image_mod.encode_png
    monkeypatch.setattr(image_mod, "encode_png", lambda rgb: calls.append(1) or real(rgb))
    res = gate(soft, profile=load_profile("default"))
    assert res.recipe.steps and res.attempts
    assert calls == []


def test_a_candidate_is_named_by_its_pixel_hash_which_the_package_pixels_share(gated, tmp_path):
    from keyframe.image import load, pixel_sha256
    from keyframe.package import write_package

    profile, soft, res = gated
    assert "sharpen" in [s.fix for s in res.recipe.steps]
    assert res.image.sha256 == res.after.sha256 == pixel_sha256(res.image.rgb)
    assert res.image.sha256 != pixel_sha256(soft.rgb)
    pkg = write_package(tmp_path, image=res.image, report=res.before, profile=profile,
                        source=soft, recipe=[s.to_dict() for s in res.recipe.steps],
                        assessed=res.after, forced=True)
    written = load(pkg / "keyframe.png")
    assert pixel_sha256(written.rgb) == res.image.sha256


def test_pixel_hash_tells_shape_and_alpha_apart():
    from keyframe.image import pixel_sha256

    a = np.zeros((4, 6, 3), np.uint8)
    assert pixel_sha256(a) != pixel_sha256(a.reshape(6, 4, 3))
    assert pixel_sha256(a) != pixel_sha256(a, np.zeros((4, 6), np.uint8))
    b = a.copy()
    b[3, 5, 2] = 1
    assert pixel_sha256(a) != pixel_sha256(b)


# ------------------------------------------------- package: the gate's report is the re-check

def test_package_reuses_the_gates_report_and_it_equals_a_fresh_recheck(gated, tmp_path,
                                                                       monkeypatch):
    import json

    from keyframe import package as package_mod
    from keyframe.package import write_package
    from keyframe.verify import verify

    profile, soft, res = gated
    steps = [s.to_dict() for s in res.recipe.steps]
    fresh = write_package(tmp_path / "fresh", image=res.image, report=res.before,
                          profile=profile, source=soft, recipe=steps, forced=True)
    measured = []
    real = package_mod.assess
    monkeypatch.setattr(package_mod, "assess", lambda *a, **k: measured.append(1) or real(*a, **k))
    reused = write_package(tmp_path / "reused", image=res.image, report=res.before,
                           profile=profile, source=soft, recipe=steps, assessed=res.after,
                           forced=True)
    assert measured == []
    a = json.loads((fresh / "manifest.json").read_text())["report_after"]
    b = json.loads((reused / "manifest.json").read_text())["report_after"]
    assert a == b
    assert verify(reused).ok, verify(reused).problems


def test_package_measures_again_when_the_report_cannot_stand_for_the_file(gated):
    import dataclasses

    from keyframe.package import reusable

    profile, soft, res = gated
    t = res.after.target
    assert reusable(res.image, res.after, profile=profile, target=t)
    matte = np.full(res.image.rgb.shape[:2], 255, np.uint8)
    assert not reusable(dataclasses.replace(res.image, matte=matte), res.after,
                        profile=profile, target=t)
    assert not reusable(soft, res.after, profile=profile, target=t)     # other pixels
    assert not reusable(res.image, res.after, profile=profile, target="veo")   # other target


def test_framing_reads_the_saliency_once_and_a_package_recheck_not_again(tmp_path,
                                                                           monkeypatch):
    """With no face or body, the subject box and the edge ratio both read the 64-px
    saliency: made once per image, and the re-check of ``keyframe.png`` (the same pixels,
    :func:`keyframe.package.recheck`) reads the candidate's; the readings equal fresh ones."""
    import dataclasses
    import json

    import cv2
    from helpers import photo

    from checks import framing
    from checks.framing import FramingCheck
    from keyframe.gate import gate
    from keyframe.image import from_array
    from keyframe.package import write_package
    from keyframe.profiles import load_profile

    calls = []
    real = framing.saliency
    monkeypatch.setattr(framing, "saliency",
                        lambda rgb, **kw: calls.append(rgb.shape) or real(rgb, **kw))
    image = from_array(photo("coffee"), name="coffee.png")
    cached = FramingCheck().measure(image)
    assert len(calls) == 1 and cached[-1].measurements["edge_ratio"] > 0
    fresh_image = dataclasses.replace(image, cache={})
    fresh = FramingCheck().measure(fresh_image)
    assert cached == fresh

    profile = load_profile("default")
    soft = from_array(cv2.GaussianBlur(photo("coffee"), (0, 0), 2.0), name="soft.png")
    res = gate(soft, profile=profile)
    assert res.recipe.steps, res.reason
    steps = [s.to_dict() for s in res.recipe.steps]
    calls.clear()
    reused = write_package(tmp_path / "reused", image=res.image, report=res.before,
                           profile=profile, source=soft, recipe=steps, assessed=res.after,
                           forced=True)
    assert calls == []                    # the candidate's saliency, read again
    measured = write_package(tmp_path / "fresh", image=res.image, report=res.before,
                             profile=profile, source=soft, recipe=steps, forced=True)
    assert len(calls) == 1                # the decoded keyframe.png: made once
    a = json.loads((measured / "manifest.json").read_text())["report_after"]
    b = json.loads((reused / "manifest.json").read_text())["report_after"]
    assert a == b
    edge = res.after.measurements["subject_near_edge"].measurements
    assert edge["edge_ratio"] > 0 and edge["subject_from_regions"] == 0


# ------------------------------------------------------------ journal: group commit

class _Grouped:
    """An executor whose results finish three at a time (what a pool's wait() returns)."""

    def imap_batches(self, fn, items, *, window=None):
        items = list(items)
        for i in range(0, len(items), 3):
            yield [fn(item) for item in items[i:i + 3]]


def test_triage_commits_a_group_with_one_fsync_before_any_of_it_is_reported(tmp_path,
                                                                              monkeypatch):
    from PIL import Image

    from keyframe import store as store_mod
    from keyframe.batch import BatchOptions, triage
    from keyframe.store import JOURNAL

    src = tmp_path / "in"
    src.mkdir()
    rng = np.random.default_rng(3)
    paths = []
    for i in range(6):
        p = src / f"i{i}.png"
        Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(p)
        paths.append(p)
    out = tmp_path / "out"
    events = []
    real_fsync = store_mod.os.fsync
    synced: list[bytes] = []            # the journal as the last fsync saw it

    def fsync(fd):
        real_fsync(fd)
        journal = out / ".keyframe" / JOURNAL
        if journal.exists():
            synced[:] = [journal.read_bytes()]
        events.append("fsync")

    monkeypatch.setattr(store_mod.os, "fsync", fsync)

    def reported(path):
        on_disk = synced[0] if synced else b""
        line = [ln for ln in on_disk.splitlines(keepends=True) if path.encode() in ln]
        assert len(line) == 1 and line[0].endswith(b"\n"), f"{path} reported before its fsync"
        events.append("tick")

    summary = triage(paths, out, options=BatchOptions(checks=("framing",)),
                     executor=_Grouped(), thumbs=False, progress=reported)
    assert summary.assessed == 6
    ticks = [i for i, e in enumerate(events) if e == "tick"]
    loop = events[:ticks[-1] + 1]
    assert loop == ["fsync", "tick", "tick", "tick", "fsync", "tick", "tick", "tick"]


def test_store_sync_is_needed_only_once_for_many_lines(tmp_path, monkeypatch):
    from keyframe import store as store_mod
    from keyframe.store import ResultStore

    calls = []
    real = store_mod.os.fsync
    monkeypatch.setattr(store_mod.os, "fsync", lambda fd: calls.append(fd) or real(fd))
    with ResultStore(tmp_path) as st:
        for i in range(5):
            st.add(f"k{i}", sha256="ab" * 32, path=f"p{i}", size=1, mtime_ns=1,
                   report_json="{}", sync=False)
        assert calls == []
        st.sync()
        st.sync()                        # nothing new: no second fsync
        assert len(calls) == 1
        st.add("k9", sha256="ab" * 32, path="p9", size=1, mtime_ns=1, report_json="{}")
        assert len(calls) == 2           # the default still fsyncs each line
    with ResultStore(tmp_path) as st:
        assert len(st) == 6


# ------------------------------------------------------------ imports a cold check pays

def test_importing_the_cli_and_the_checks_imports_no_heavy_module():
    """scipy.signal cost 1.2 s of a cold `keyframe check` (anatomy's find_peaks, now
    keyframe.peaks); urllib.request is only for `models pull`."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    code = (f"import sys; sys.path.insert(0, {str(root)!r})\n"
            "import keyframe.cli\n"
            "from keyframe.registry import check_classes\n"
            "check_classes()\n"
            "heavy = ('scipy', 'urllib.request', 'http.client', 'torch', 'sklearn')\n"
            "print(sorted(m for m in heavy if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=root, check=False)
    assert done.returncode == 0, done.stderr[-1500:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
