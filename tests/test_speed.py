"""Speed plumbing (issue 18): worker thread settings, group commit of the journal."""
from __future__ import annotations

import os

import pytest

from keyframe.executors import LocalExecutor


def _cv2_threads(_item: object) -> tuple[int, int]:
    import cv2

    return os.getpid(), cv2.getNumThreads()


def test_pool_workers_run_opencv_on_one_thread():
    with LocalExecutor(jobs=2) as ex:
        seen = list(ex.imap_unordered(_cv2_threads, range(6)))
    assert {threads for _pid, threads in seen} == {1}
    assert all(pid != os.getpid() for pid, _ in seen)


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
