"""The Dask executor gives the same reports as the local pool (tested on a LocalCluster)."""
from __future__ import annotations


import pytest

from keyframe.batch import BatchOptions, iter_images, triage
from keyframe.executors import DaskExecutor, ExecutorError, LocalExecutor, make_executor

from test_triage import make_images

pytest.importorskip("distributed", reason="Dask distributed not installed: "
                                          "pip install 'keyframe[dask]'")


def test_dask_local_cluster_gives_the_local_pool_report(tmp_path):
    src = tmp_path / "src"
    make_images(src, 10, size=96, seed=7)
    paths = list(iter_images([src]))
    options = BatchOptions(checks=("artifact",))
    with LocalExecutor(jobs=2) as ex:
        local = triage(paths, tmp_path / "local", options=options, executor=ex)
    with DaskExecutor(jobs=2) as ex:
        assert ex.workers == 2
        dask = triage(paths, tmp_path / "dask", options=options, executor=ex)
    assert dask.counts == local.counts and dask.assessed == len(paths)
    assert dask.report.read_bytes() == local.report.read_bytes()
    assert sorted(p.name for p in (tmp_path / "dask" / "thumbs").iterdir()) == \
        sorted(p.name for p in (tmp_path / "local" / "thumbs").iterdir())


def test_unreachable_scheduler_is_a_one_line_error():
    with pytest.raises(ExecutorError, match="cannot reach Dask"):
        with DaskExecutor(scheduler="tcp://127.0.0.1:9", timeout=1):
            pass
    with pytest.raises(ExecutorError, match="--executor dask"):
        make_executor("local", scheduler="tcp://127.0.0.1:9")
