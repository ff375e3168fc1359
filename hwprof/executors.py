"""Where independent simulations run (gem5 sweep points, a campaign's simulated cells): a local pool of
workers, or a Dask cluster. Same interface, same results.

An executor takes a picklable function and tasks and yields (task, result, error) as each task ends, in
the order they end. The caller persists every result as it arrives, so a crash loses only points in flight.

On a Slurm cluster, use dask-jobqueue (pip install dask-jobqueue): start a SLURMCluster (cores=1 per
worker job; memory for one simulation), scale it to the number of points you want at once, and give its
scheduler's address to `hwprof gem5-sweep ... --executor dask --scheduler tcp://HOST:PORT`. The workers
need hwprof installed (and gem5, or valgrind for --simulator cachegrind), and the sweep folder (--out:
configurations, m5out) must be on a file system they share with the machine running the command; the
rows come back to that machine, which writes the results store.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
import queue
import socket
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator
from typing import Protocol

_local = threading.local()


class ExecutorError(Exception):
    """An executor that cannot start (no Dask, a scheduler that cannot be reached)."""


class Executor(Protocol):
    """Runs tasks somewhere and yields (task, result or None, error or None) as each one ends."""

    name: str

    def run(self, fn: Callable, tasks: Iterable) -> Iterator[tuple[object, object, BaseException | None]]: ...

    def close(self) -> None: ...


def worker_slot() -> int:
    """This worker's index among its peers (0..n-1 where known), so workers on one machine use different CPUs."""
    if hasattr(_local, "slot"):
        return _local.slot
    try:
        from distributed import get_worker

        name = get_worker().name
        return int(name) if str(name).isdigit() else zlib.crc32(str(name).encode())
    except (ImportError, ValueError):
        return os.getpid()


def worker_name() -> str:
    """Where a task runs: host, process id, and the Dask worker's address when on Dask."""
    where = f"{socket.gethostname()}:{os.getpid()}"
    try:
        from distributed import get_worker

        return f"{where} dask {get_worker().address}"
    except (ImportError, ValueError):
        return where


def worker_cpu() -> int:
    """The CPU this worker's measured processes should be pinned to."""
    allowed = sorted(os.sched_getaffinity(0))
    return allowed[worker_slot() % len(allowed)]


def _take_slot(slots: queue.Queue) -> None:
    _local.slot = slots.get()


class LocalExecutor:
    """A pool of `workers` threads on this machine: each point is a simulator process of its own, so
    threads only wait, and nothing needs pickling or a guarded __main__."""

    name = "local"

    def __init__(self, workers: int | None = None):
        self.workers = max(1, workers or os.cpu_count() or 1)
        slots: queue.Queue = queue.Queue()
        for i in range(self.workers):
            slots.put(i)
        self.pool = cf.ThreadPoolExecutor(self.workers, thread_name_prefix="hwprof-sweep", initializer=_take_slot,
                                          initargs=(slots,))

    def run(self, fn, tasks):
        """Submit every task; yield each as it ends."""
        futures = {self.pool.submit(fn, t): t for t in tasks}
        try:
            for fut in cf.as_completed(futures):
                exc = fut.exception()
                yield futures[fut], (None if exc else fut.result()), exc
        finally:
            for fut in futures:
                fut.cancel()

    def close(self) -> None:
        """Wait for running points and drop those not started."""
        self.pool.shutdown(wait=True, cancel_futures=True)


class DaskExecutor:
    """Tasks on a Dask cluster: the scheduler at `scheduler`, or a LocalCluster of `workers` processes."""

    name = "dask"

    def __init__(self, scheduler: str | None = None, workers: int | None = None, connect_timeout: float = 20):
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise ExecutorError("--executor dask needs Dask: pip install 'hwprof[cluster]' (dask[distributed])") from None
        self.cluster = None
        try:
            if scheduler:
                self.client = Client(scheduler, timeout=f"{connect_timeout}s")
            else:
                self.cluster = LocalCluster(n_workers=max(1, workers or os.cpu_count() or 1), threads_per_worker=1,
                                            processes=True, dashboard_address=None)
                self.client = Client(self.cluster)
        except (OSError, TimeoutError, ValueError) as exc:   # ValueError: a malformed address
            if self.cluster is not None:
                self.cluster.close()
            raise ExecutorError(f"cannot reach the Dask scheduler {scheduler or '(local)'}: {exc}") from None
        self.address = self.client.scheduler.address

    def run(self, fn, tasks):
        """Submit every task (never cached: a rerun must run); yield each as it ends."""
        from distributed import as_completed

        tasks = list(tasks)
        futures = self.client.map(fn, tasks, pure=False)
        owner = {f.key: t for f, t in zip(futures, tasks)}
        try:
            for fut in as_completed(futures):
                exc = fut.exception()
                yield owner[fut.key], (None if exc else fut.result()), exc
        finally:
            self.client.cancel(futures)

    def close(self) -> None:
        """Disconnect, and stop the LocalCluster if this executor started one."""
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


EXECUTORS = {"local": LocalExecutor, "dask": DaskExecutor}


def make(name: str, workers: int | None = None, scheduler: str | None = None) -> Executor:
    """The executor called `name` (local or dask)."""
    if name not in EXECUTORS:
        raise ExecutorError(f"unknown executor {name!r} (choose: {', '.join(EXECUTORS)})")
    if scheduler and name != "dask":
        raise ExecutorError("--scheduler is a Dask option: add --executor dask")
    return DaskExecutor(scheduler, workers) if name == "dask" else LocalExecutor(workers)
