"""The host's worker processes: each runs one job at a time (hwprof.serve.worker); the pool routes jobs.

A request goes to an idle worker that holds its artefact when there is one (warm), else to any idle
worker (which compiles: cold). A worker that does not answer within the job's time limit plus a grace
is killed and started afresh (its cached modules are gone, and the cache is told so); so is a worker whose
helper process died (node's: the modules of that target are gone).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
import time
from collections import deque
from pathlib import Path

from hwprof.serve.cache import DISK, ArtefactCache
from hwprof.serve.child import Child, ChildLost
from hwprof.serve.targets import TARGETS

GRACE_S = 10.0          # beyond the job's own time limit, before the worker is given up for lost


class WorkerLost(Exception):
    """A worker that died or stopped answering; it has been replaced."""


class Worker:
    """One worker process (a Child speaking JSON lines) and its index."""

    def __init__(self, index: int, scratch: Path, artefacts: Path):
        self.index, self.scratch, self.artefacts = index, scratch / f"worker-{index}", artefacts
        root = str(Path(__file__).resolve().parents[2])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
        self.child = Child([sys.executable, "-m", "hwprof.serve.worker", str(self.scratch), str(self.artefacts)], env)
        self.start()

    def start(self) -> None:
        """Start (or restart) the process."""
        self.child.start()

    def call(self, job: dict, wait_s: float) -> dict:
        """Send a job and wait for its answer; a worker silent for wait_s is killed, restarted and WorkerLost."""
        try:
            return self.child.call(job, wait_s)
        except ChildLost as exc:
            self.start()
            raise WorkerLost(f"the worker {exc}") from None

    def kill(self) -> None:
        """Stop the process now."""
        self.child.kill()

    def stop(self) -> None:
        """Close its stdin (it ends its loop) and wait a little, then kill."""
        self.child.stop()


class Pool:
    """Worker processes, the artefact cache they share, and the routing of jobs to them."""

    def __init__(self, workers: int, cache: ArtefactCache, artefacts: Path | None = None):
        self.scratch = Path(tempfile.mkdtemp(prefix="hwprof-serve-"))
        self.artefacts = Path(artefacts) if artefacts else self.scratch / "artefacts"
        self.cache = cache
        self.workers = [Worker(i, self.scratch, self.artefacts) for i in range(workers)]
        self._idle = list(self.workers)
        self._queue: deque = deque()
        self._cond = threading.Condition()

    def acquire(self, key: str, targets: list[str]) -> tuple[Worker, str]:
        """An idle worker and the target to run: the first target held warm (on disk, or by an idle worker)."""
        with self._cond:
            ticket = object()
            self._queue.append(ticket)             # first come, first served: no request starves under load
            while not self._idle or self._queue[0] is not ticket:
                self._cond.wait()
            self._queue.popleft()
            self._cond.notify_all()                # the next in line may find another idle worker
            now = time.monotonic()
            for target in targets:
                holders = self.cache.holders(key, target, now)
                if DISK in holders:
                    return self._take(self._idle[0]), target
                for worker in self._idle:
                    if worker.index in holders:
                        return self._take(worker), target
            return self._take(self._idle[0]), targets[-1]

    def _take(self, worker: Worker) -> Worker:
        self._idle.remove(worker)
        return worker

    def release(self, worker: Worker) -> None:
        """The worker is free again."""
        with self._cond:
            self._idle.append(worker)
            self._cond.notify_all()

    def run(self, worker: Worker, job: dict) -> dict:
        """One job on an acquired worker; the cache updated from its answer."""
        job = {**job, "evict": self.cache.pending_for(worker.index)}
        try:
            answer = worker.call(job, float(job["timeout_s"]) + GRACE_S)
        except WorkerLost as exc:
            self.cache.drop_holder(worker.index)
            return {"cold": False, "error": str(exc), "phases": {}}
        if answer.pop("restart", False):          # the worker ended itself at a time limit: start another
            worker.kill()
            worker.start()
            self.cache.drop_holder(worker.index)
        if answer.get("lost"):                    # a helper of this worker died: its modules for the target went
            self.cache.drop_holder(worker.index, job["target"])
        now = time.monotonic()
        holder = DISK if TARGETS[job["target"]].held == "disk" else worker.index
        if answer.get("cold") and answer.get("bytes") is not None:
            answer["kept"] = self.cache.keep(holder, job["key"], job["target"], int(answer["bytes"]), now,
                                             answer.get("path") or "")
        else:
            self.cache.touch(holder, job["key"], job["target"], now)
        return answer

    def close(self) -> None:
        """Stop every worker and remove the scratch folder."""
        for worker in self.workers:
            worker.stop()
        shutil.rmtree(self.scratch, ignore_errors=True)
