"""Running a planned sweep: every unfinished point on an executor, each stored as it ends, resumed points
skipped, and the figures drawn from every point finished in the sweep folder."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from hwprof.data import provenance
from hwprof.data.schema import Record
from hwprof.data.store import ResultStore, new_id
from hwprof import executors
from hwprof.gem5 import figures
from hwprof.gem5.plan import plan
from hwprof.gem5.records import (
    done_run_file,
    error_record,
    is_done,
    mark_checkpoint,
    persist,
    point_provenance,
    stored_points,
)
from hwprof.gem5.simulators import SIMULATORS, simulator
from hwprof.gem5.tasks import PointResult, SweepConfig, Task


@dataclass
class SweepResult:
    """What a sweep did: its tasks, which ran, which were already done, which failed, and its rows."""

    config: SweepConfig
    tasks: list[Task]
    session_id: str = ""
    ran: int = 0
    resumed: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)   # (task label, one-line reason)
    records: list[Record] = field(default_factory=list)           # this sweep's rows, resumed points included
    run_files: list[Path] = field(default_factory=list)
    figures: list[Path] = field(default_factory=list)
    how_to_run: str = ""                 # nothing ran: how to run the configurations written
    missing: str = ""                    # nothing ran because the simulator is not installed: why, in one line

    def text(self, as_json: bool = False) -> str:
        """What the command prints: how to run what was written, or the sweep's rows as a table or as JSON."""
        if self.how_to_run:
            return self.how_to_run
        rows = figures.summary(self.records)
        if as_json:
            return json.dumps({"session_id": self.session_id, "results": str(self.config.results),
                               "outdir": str(self.config.outdir), "ran": self.ran, "resumed": self.resumed,
                               "failed": [{"point": p, "error": e} for p, e in self.failed],
                               "figures": [str(p) for p in self.figures], "rows": rows}, indent=1, default=str)
        lines = [f"{self.config.kind} sweep, {simulator(self.config.simulator).title}: {self.ran} point(s) run, "
                 f"{self.resumed} already done", figures.render(rows)]
        lines += [f"figure: {path}" for path in self.figures]
        lines.append(f"stored: {self.config.results} (session {self.session_id}); load with hwprof.load_results()")
        return "\n".join(lines)

    def failure(self) -> str:
        """The one line a sweep that did not do its work fails with ('' when it did)."""
        if self.how_to_run:
            return self.missing
        if self.failed:
            return f"{len(self.failed)} of {len(self.tasks)} point(s) failed; first: {self.failed[0][1]}"
        return ""


@dataclass(frozen=True)
class SweepProgress:
    """One progress event: `done` of `total` points finished, the latest one's label and status."""

    done: int
    total: int
    label: str
    status: str          # resumed | ok | failed
    elapsed: float


def worker(task: Task) -> PointResult:
    """Run one task with its simulator (the function executors ship to their workers)."""
    result = SIMULATORS[task.simulator].run(task)
    result.provenance["worker"] = executors.worker_name()
    return result


def run_sweep(config: SweepConfig, progress: Callable[[SweepProgress], None] | None = None) -> SweepResult:
    """Plan the sweep, run every unfinished point in parallel, store each point's rows as it ends, draw figures."""
    progress = progress or (lambda event: None)
    tasks = plan(config)
    result = SweepResult(config, tasks)
    result.how_to_run, result.missing = simulator(config.simulator).how_to_run(config, tasks)
    if result.how_to_run:
        return result
    store = ResultStore(config.results)
    result.session_id = session = new_id()
    runs = {t: done_run_file(t, config.results) for t in tasks if not t.checkpoint}   # None: not finished
    pending = [t for t in tasks if not (is_done(t) if t.checkpoint else runs[t])]
    result.resumed = len(tasks) - len(pending)
    for i, t in enumerate(t for t in tasks if t not in pending):
        progress(SweepProgress(i + 1, len(tasks), t.label, "resumed", 0.0))
    info = {"kind": config.kind, "simulator": config.simulator, "planned": len(tasks), "resumed": result.resumed}
    store.write_session(session, "running", **info)
    state, fresh = "interrupted", {}
    try:
        if pending:
            fresh = _run_pending(config, pending, store, result, progress)
        state = "failed" if result.failed else "complete"
    finally:
        store.write_session(session, state, ran=result.ran, failed=len(result.failed), **info)
    runs.update({t: run_file for t, (run_file, _, _) in fresh.items()})
    # Every finished point in the folder, read once; those stored just now are not read back.
    points = stored_points(Path(config.outdir), config.simulator,
                           known={run_file: (prov, rows) for run_file, prov, rows in fresh.values()})
    result.records = [r for t in tasks if runs.get(t) in points for r in points[runs[t]][1]]
    result.figures = figures.write_all([(prov, r) for prov, rows in points.values() for r in rows],
                                       Path(config.outdir) / "figures", config.simulator)
    return result


def _run_pending(config: SweepConfig, pending: list[Task], store: ResultStore, result: SweepResult,
                 progress) -> dict[Task, tuple[Path, dict, list[Record]]]:
    """Run the checkpoint tasks, then the points, on one executor; persist each point as it ends. Returns each
    point stored: its run file, provenance and rows."""
    total, started = len(result.tasks), time.monotonic()
    done, broken = result.resumed, set()          # broken: (workload, target) pairs whose checkpoint failed
    fresh = {}
    pool = executors.make(config.executor, config.workers, config.scheduler)
    try:
        for batch in ([t for t in pending if t.checkpoint], [t for t in pending if not t.checkpoint]):
            runnable = [t for t in batch if (t.workload, t.target) not in broken]
            result.failed += [(t.label, "its checkpoint run failed") for t in batch if t not in runnable]
            done += len(batch) - len(runnable)
            for task, out, exc in pool.run(worker, runnable):
                done += 1
                if exc is not None:
                    line = (str(exc) or type(exc).__name__).splitlines()[0]
                    result.failed.append((task.label, line))
                    if task.checkpoint:
                        broken.add((task.workload, task.target))
                    else:
                        store.write_run(result.session_id, {**provenance.machine(), "simulator": task.simulator},
                                        [error_record(task, line)])
                elif task.checkpoint:
                    mark_checkpoint(task, out)
                    result.ran += 1
                else:
                    prov = point_provenance(config, task, out)
                    run_file = persist(store, result.session_id, task, prov, out.records)
                    fresh[task] = (run_file, prov, out.records)
                    result.run_files.append(run_file)
                    result.ran += 1
                progress(SweepProgress(done, total, task.label, "failed" if exc else "ok", time.monotonic() - started))
    finally:
        pool.close()
    return fresh
