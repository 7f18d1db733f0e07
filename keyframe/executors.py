"""Where a batch's work runs: this process, a local process pool, or a Dask cluster.

Every executor has :meth:`imap_unordered`: call a picklable top-level function on each item
and yield results as they finish (not in input order), with at most ``window`` items in
flight, so a batch of any size holds a bounded number of results in memory and the caller
can record each one as soon as it exists; :meth:`imap_batches` yields the results that
finished together as one list, for a caller that commits them as a group.
:func:`imap_ordered` yields them in input order instead, running the items of one group one
after another (work whose outcome depends on an earlier item: packages named alike);
:func:`ordered_pool` is that on a local pool sized for the batch, the one way the batch
commands run ordered work.

* :class:`LocalExecutor` — ``jobs == 1`` runs in this process; ``jobs > 1`` uses a
  :class:`concurrent.futures.ProcessPoolExecutor` (one process per core given).
* :class:`DaskExecutor` — Dask ``distributed``: a scheduler address (``tcp://host:8786``),
  or a :class:`distributed.LocalCluster` of ``jobs`` worker processes, one thread each (the
  checks use numpy/OpenCV, which hold the GIL often enough that threads do not scale).
  Workers need keyframe installed and the input paths readable under the same names.
"""
from __future__ import annotations

import abc
import contextlib
import logging
import multiprocessing
import os
import signal
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, Callable, Hashable, Iterable, Iterator, Sequence

EXECUTORS = ("local", "dask")


def ignore_sigint() -> None:
    """Ctrl-C is the parent's to handle (it stops the batch, keeps the journal and exits
    130); a worker that took it would print a traceback of its own."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def one_thread() -> int:
    """Run OpenCV on one thread in this process and return the count it had: a pool has one
    worker per core, and OpenCV's default (a thread per core in every worker) oversubscribes
    the cores with ``--jobs``. The ONNX sessions are single-threaded already
    (:func:`keyframe.models.session`).

    Call it in the parent **before** a pool forks its workers: a forked child inherits
    OpenCV's thread pool without its threads, and resizing that pool in the child hangs for
    ever (measured: ``cv2.setNumThreads(1)`` in a forked worker of a process that had run
    OpenCV on two threads blocked in ``pthread_cond_destroy``). Workers then inherit one
    thread and :func:`init_worker` leaves it alone.
    """
    import cv2

    before = cv2.getNumThreads()
    if before != 1:
        cv2.setNumThreads(1)
    return before


def restore_threads(count: int) -> None:
    """Give OpenCV back the ``count`` threads :func:`one_thread` took (after a pool)."""
    import cv2

    if count != cv2.getNumThreads():
        cv2.setNumThreads(count)


def init_worker() -> None:
    """Pool worker initialiser: :func:`ignore_sigint`; OpenCV's single thread is inherited
    from the parent (:func:`one_thread`, called before the fork), a spawned worker sets it."""
    ignore_sigint()
    import cv2

    if cv2.getNumThreads() != 1 and multiprocessing.get_start_method() != "fork":
        cv2.setNumThreads(1)


class ExecutorError(RuntimeError):
    """An executor could not start (Dask missing, scheduler unreachable)."""


class _Executor(abc.ABC):
    """What every executor shares: results one at a time from :meth:`imap_batches`."""

    @abc.abstractmethod
    def imap_batches(self, fn: Callable[[Any], Any], items: Iterable[Any], *,
                     window: int | None = None) -> Iterator[list[Any]]:
        """The results that finished together, one list each."""

    def imap_unordered(self, fn: Callable[[Any], Any], items: Iterable[Any], *,
                       window: int | None = None) -> Iterator[Any]:
        """Call ``fn`` on each item; yield the results as they finish (not in input order),
        with at most ``window`` items in flight."""
        for batch in self.imap_batches(fn, items, window=window):
            yield from batch


class LocalExecutor(_Executor):
    """This process (``jobs=1``) or a pool of ``jobs`` processes."""

    def __init__(self, *, jobs: int = 1):
        self.jobs = max(1, int(jobs))
        self._pool: ProcessPoolExecutor | None = None
        self._threads = 0

    def __enter__(self) -> "LocalExecutor":
        if self.jobs > 1:
            self._threads = one_thread()            # before the fork: see one_thread
            self._pool = ProcessPoolExecutor(max_workers=self.jobs, initializer=init_worker)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
            restore_threads(self._threads)

    @property
    def workers(self) -> int:
        return self.jobs

    def imap_batches(self, fn: Callable[[Any], Any], items: Iterable[Any], *,
                     window: int | None = None) -> Iterator[list[Any]]:
        """Like :meth:`imap_unordered`, but the results that finished together come as one
        list (one at a time in this process), so the caller can commit them as a group."""
        if self._pool is None:
            for item in items:
                yield [fn(item)]
            return
        window = window or 4 * self.jobs
        pending: set[Future] = set()
        it = iter(items)
        exhausted = False
        while True:
            while not exhausted and len(pending) < window:
                try:
                    pending.add(self._pool.submit(fn, next(it)))
                except StopIteration:
                    exhausted = True
            if not pending:
                return
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            yield [fut.result() for fut in done]


class DaskExecutor(_Executor):
    """Dask distributed: an existing scheduler or a LocalCluster of ``jobs`` processes.

    Parameters
    ----------
    scheduler : str or None, keyword-only
        Address of a running ``dask scheduler`` (``tcp://host:8786``); None starts a
        :class:`distributed.LocalCluster` for the life of the ``with`` block.
    jobs : int, keyword-only
        Worker processes of the LocalCluster (ignored with a scheduler: its workers count).
    timeout : float, keyword-only
        Seconds to wait for the scheduler before giving up.
    """

    def __init__(self, *, scheduler: str | None = None, jobs: int = 1, timeout: float = 20.0):
        self.scheduler = scheduler
        self.timeout = float(timeout)
        self.jobs = max(1, int(jobs))
        self._client: Any = None
        self._cluster: Any = None

    def __enter__(self) -> "DaskExecutor":
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise ExecutorError("the dask executor needs Dask distributed: "
                                "pip install 'keyframe[dask]'") from None
        try:
            if self.scheduler:
                self._client = Client(self.scheduler, timeout=f"{self.timeout}s")
            else:
                self._cluster = LocalCluster(n_workers=self.jobs, threads_per_worker=1,
                                             processes=True, dashboard_address=None,
                                             silence_logs=logging.ERROR)
                self._client = Client(self._cluster)
                self._client.run(one_thread)     # our own workers: one core each
        except (OSError, TimeoutError) as exc:
            self.__exit__(None, None, None)
            where = self.scheduler or "a LocalCluster"
            raise ExecutorError(f"cannot reach Dask at {where}: {exc}".splitlines()[0]) \
                from None
        return self

    def __exit__(self, *exc: object) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None

    @property
    def workers(self) -> int:
        if self._client is None:
            return self.jobs
        return max(1, sum(w.get("nthreads", 1) for w in
                          self._client.scheduler_info()["workers"].values()))

    def imap_batches(self, fn: Callable[[Any], Any], items: Iterable[Any], *,
                     window: int | None = None) -> Iterator[list[Any]]:
        """The results that finished together, as one list each (see
        :meth:`LocalExecutor.imap_batches`)."""
        from distributed import as_completed

        if self._client is None:
            raise ExecutorError("DaskExecutor used outside its `with` block")
        window = window or 4 * self.workers
        it = iter(items)
        flight = as_completed()
        for item in it:
            flight.add(self._client.submit(fn, item, pure=False))
            if flight.count() >= window:
                break
        for done in flight.batches():
            results = []
            for fut in done:
                results.append(fut.result())
                fut.release()
                nxt = next(it, _END)
                if nxt is not _END:
                    flight.add(self._client.submit(fn, nxt, pure=False))
            yield results


_END = object()


def imap_ordered(executor: _Executor, fn: Callable[[Any], Any], items: Sequence[Any], *,
                 group: Callable[[Any], Hashable] | None = None) -> Iterator[Any]:
    """Call ``fn`` on each of ``items`` on ``executor``; yield the results in input order,
    each as soon as it and every earlier one are done.

    ``group``: items with equal ``group(item)`` run in one task, one after another in input
    order, so that work whose outcome depends on what an earlier item of its group did
    gives, on any number of workers, what one process gives (``keyframe gate`` and
    ``certify``: two pictures named ``x`` take the package folders ``x`` and ``x-<sha8>``
    in input order, and never race for one folder). ``fn`` must be picklable (a top-level
    function or a ``functools.partial`` of one) for a pool.
    """
    tasks: dict[Hashable, list[tuple[int, Any]]] = {}
    for i, item in enumerate(items):
        tasks.setdefault(group(item) if group is not None else i, []).append((i, item))
    done: dict[int, Any] = {}
    following = 0
    for results in executor.imap_unordered(_serially, [(fn, t) for t in tasks.values()]):
        done.update(results)
        while following in done:               # in input order, as soon as possible
            yield done.pop(following)
            following += 1


@contextlib.contextmanager
def ordered_pool(fn: Callable[[Any], Any], items: Sequence[Any], *, jobs: int,
                 group: Callable[[Any], Hashable] | None = None) -> Iterator[Iterator[Any]]:
    """:func:`imap_ordered` of ``fn`` over ``items`` on a :class:`LocalExecutor` of ``jobs``
    processes (this process alone when there are fewer than two items: a pool would only cost
    its start-up), open for the ``with`` block: ``with ordered_pool(fn, items, jobs=n) as
    results: ...`` yields the results in input order; the pool closes when the block ends."""
    with LocalExecutor(jobs=jobs if len(items) > 1 else 1) as runner:
        yield imap_ordered(runner, fn, items, group=group)


def _serially(task: tuple[Callable[[Any], Any], list[tuple[int, Any]]]
              ) -> list[tuple[int, Any]]:
    """One task of :func:`imap_ordered`: ``fn`` on each ``(index, item)``, in order."""
    fn, pairs = task
    return [(i, fn(item)) for i, item in pairs]


def make_executor(name: str, *, jobs: int = 1, scheduler: str | None = None
                  ) -> LocalExecutor | DaskExecutor:
    """The executor called ``name`` (one of :data:`EXECUTORS`); use it as a context manager."""
    if name == "local":
        if scheduler:
            raise ExecutorError("--scheduler needs --executor dask")
        return LocalExecutor(jobs=jobs)
    if name == "dask":
        return DaskExecutor(scheduler=scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS"),
                            jobs=jobs)
    raise ExecutorError(f"unknown executor {name!r}; one of {', '.join(EXECUTORS)}")
