"""`hwprof collect`: run one workload under one runtime, count events per phase, store every repetition."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from hwprof import backends, events, pinning, runtimes, workloads
from hwprof.backends import Count, Pass, Probe
from hwprof.data import provenance, schema
from hwprof.data.cpu import identify
from hwprof.data.schema import Record
from hwprof.data.store import ResultStore, new_id
from hwprof.runtimes import Job, Outcome


class CollectError(Exception):
    """A collect that could not start or could not finish, with the one line that says why."""


@dataclass(frozen=True)
class CollectConfig:
    """Everything `collect` needs, parsed from the command line or built by a script."""

    workload: str
    runtime: str = "wasmtime"
    size: str | None = None               # None: the workload's default size
    backend: str = "perf"
    events: tuple[str, ...] = ()          # event or metric names; empty: the whole map
    event_map: str | None = None          # force a map instead of matching the CPU
    repetitions: int = 5
    warmup: int = 1
    cpu: int | None = None
    timeout: float = 300.0
    memory_limit: int = 4 << 30
    results: Path = Path("results/default")
    opt_level: str = "speed"
    sim_geometry: tuple[tuple[str, str], ...] = ()
    dirs: tuple[tuple[str, str], ...] = ()   # (host, guest) folders the module may open; none by default
    keep_workdir: bool = False


@dataclass
class CollectResult:
    """What a collect produced: its records, where they went, and what the user should be told."""

    session_id: str
    records: list[Record] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    provenance: dict = field(default_factory=dict)
    run_files: list[Path] = field(default_factory=list)


def _run_process(argv, env, pass_fds, cpu, timeout, workdir) -> tuple[int | None, str, int]:
    """Run the (wrapped) measured process pinned to cpu; returns (returncode or None on timeout, stderr tail, spawn ns)."""
    spawn_ns = time.monotonic_ns()
    with open(workdir / "launcher.log", "w") as log:
        proc = subprocess.Popen(argv, env=env, pass_fds=pass_fds, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                preexec_fn=pinning.pin_child(cpu), start_new_session=True, cwd=workdir)
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            rc = None
        except BaseException:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
    tail = (workdir / "launcher.log").read_text(errors="replace").strip().splitlines()[-3:]
    return rc, " | ".join(tail), spawn_ns


def _phase_times(outcome: Outcome, spawn_ns: int) -> dict[str, float]:
    """Seconds spent in each phase, from the host's marks (bootstrap: from spawn to the host's ready mark)."""
    times: dict[str, float] = {}
    open_at: dict[str, int] = {}
    for phase, edge, ns in outcome.marks:
        if phase == "bootstrap" and edge == "end":
            times["bootstrap"] = (ns - spawn_ns) / 1e9
        elif edge == "begin":
            open_at[phase] = ns
        elif phase in open_at:
            times[phase] = times.get(phase, 0.0) + (ns - open_at.pop(phase)) / 1e9
    return times


def _failure(outcome: Outcome, rc: int | None, tail: str, timeout: float) -> str:
    if rc is None:
        return f"timed out after {timeout:g} s (raise it with --timeout)"
    if outcome.exit_code not in (None, 0) and not outcome.error:
        return f"the module exited with status {outcome.exit_code}"
    if outcome.error:
        where = outcome.stage if outcome.stage not in ("", "done") else "run"
        return f"{where} failed: {outcome.error}"
    if rc < 0:
        return f"the measured process was killed by signal {-rc} in {outcome.stage or 'start-up'}"
    return f"the measured process failed (exit {rc}): {tail}"


class Collector:
    """Runs the passes of one collect and turns their output into records."""

    def __init__(self, config: CollectConfig, progress: Callable[[str], None] | None = None):
        self.config = config
        self.progress = progress or (lambda msg: None)
        self.cpu = pinning.choose_cpu(config.cpu)
        self.cpu_id = identify(self.cpu)
        self.emap = events.load(config.event_map) if config.event_map else events.for_cpu(self.cpu_id)
        options = {"geometry": dict(config.sim_geometry)} if config.backend == "cachegrind" else {}
        self.backend = backends.get(config.backend, cpu=self.cpu, **options)
        # A simulator counts its own events: -e names them (or its metrics), not the CPU's.
        self.metric_map = self.backend.sim_map() if self.backend.simulated else self.emap
        self.requested = self.metric_map.select(list(config.events))
        chosen = {e.name for e in self.requested}
        every = {**self.emap.metrics, **self.metric_map.metrics}
        self.metrics = {n: m for n, m in every.items()
                        if not config.events or n in config.events or set(m.formula.names) <= chosen}
        self.runtime = runtimes.get(config.runtime, opt_level=config.opt_level)
        self.runtime_version = self.runtime.probe()
        self.workload = workloads.resolve(config.workload, config.size)
        self.probe: Probe = self.backend.probe(self.emap, self.requested)
        self.passes: list[Pass] = self.backend.plan(self.probe, self.runtime.phases, self.emap.gp_counters)

    def flags(self) -> str:
        """Runtime, workload and backend settings recorded on every row."""
        parts = [self.runtime.flags()]
        if self.workload.flags:
            parts.append(f"build: {self.workload.flags}")
        if self.backend.simulated:
            parts.append(f"sim: {self.backend.flags()}")
        return "; ".join(parts)

    def run_pass(self, one_pass: Pass, root: Path) -> tuple[list[Count], Outcome, int, str | None]:
        """One measured process: returns its counts, its outcome, its spawn time and a failure line or None."""
        workdir = Path(tempfile.mkdtemp(prefix=f"{one_pass.phases[0]}-", dir=root))
        job = Job(self.workload.wasm, workdir, self.cpu, one_pass.stop_after, args=self.workload.args,
                  dirs=self.config.dirs,
                  memory_limit=self.config.memory_limit)
        launch = self.backend.prepare(self.runtime.command(job), one_pass, workdir)
        env = {**os.environ, **launch.env, "HWPROF_CONTROLLER_PID": str(os.getpid())}
        try:
            rc, tail, spawn_ns = _run_process(launch.argv, env, launch.pass_fds, self.cpu, self.config.timeout, workdir)
        finally:
            for fd in launch.close_fds:
                os.close(fd)
        outcome = self.runtime.outcome(job)
        if rc != 0 or not outcome.ok:
            reason = (rc is not None and self.backend.explain(launch)) or _failure(outcome, rc, tail, self.config.timeout)
            return [], outcome, spawn_ns, reason
        return self.backend.read(launch, one_pass), outcome, spawn_ns, None

    def repetition(self, rep: int, root: Path) -> tuple[list[Record], dict, str | None]:
        """Every pass of one repetition, as records; plus pinning facts and a failure line or None."""
        counts: list[Count] = []
        times: dict[str, float] = {}
        boundary, pin = "", {}
        for one_pass in self.passes:
            got, outcome, spawn_ns, failure = self.run_pass(one_pass, root)
            if failure:
                return [self._record(rep, outcome.stage or "total", "error", schema.INFO, None, "",
                                     schema.ERROR, note=failure)], pin, failure
            counts += got
            for phase, seconds in _phase_times(outcome, spawn_ns).items():
                if phase in one_pass.phases:
                    times[phase] = seconds
            if "execute" in one_pass.phases:
                boundary = outcome.boundary
                pin = {"cpu": self.cpu, "affinity": outcome.affinity, "threads": outcome.threads}
                checksum = [ln for ln in outcome.stdout.splitlines() if ln.startswith("checksum:")]
                pin["checksum"] = checksum[-1].split(":", 1)[1].strip() if checksum else ""
                expected = self.workload.expected
                if expected and pin["checksum"] != expected:
                    failure = f"wrong result: checksum {pin['checksum'] or '(none)'} differs from the expected {expected}"
                    return [self._record(rep, "execute", "error", schema.INFO, None, "", schema.ERROR,
                                         note=failure)], pin, failure
        return self._records(rep, counts, times, boundary), pin, None

    def _record(self, rep, phase, name, kind, value, unit, status=schema.OK, boundary="", running_pct=None, note=""):
        return Record(self.runtime.name, self.runtime_version, self.flags(), self.workload.name, self.workload.size,
                      "cold", rep, phase, name, kind, value, unit, status, self.backend.name, boundary, running_pct, note)

    def _records(self, rep: int, counts: list[Count], times: dict[str, float], boundary: str) -> list[Record]:
        out = []
        edge = {"bootstrap": "process", "compile": "host-call", "instantiate": "host-call", "execute": boundary}
        for phase in self.runtime.phases:
            mine = [c for c in counts if c.phase == phase]
            if phase in times:
                out.append(self._record(rep, phase, "wall_time", schema.TIME, times[phase], "s", boundary=edge[phase]))
            for c in mine:
                out.append(self._record(rep, phase, c.event, schema.EVENT, c.value, c.unit, c.status, edge[phase],
                                        c.running_pct, c.note))
            for name, why in self.probe.missing.items():
                unit = self.emap.events[name].unit if name in self.emap.events else ""
                status = schema.UNAVAILABLE if self.backend.simulated else schema.NOT_SUPPORTED
                out.append(self._record(rep, phase, name, schema.EVENT, None, unit, status, edge[phase], note=why))
            values = {c.event: (c.value if c.status == schema.OK else None) for c in mine}
            out += self._metrics(rep, phase, values, edge[phase])
        return out

    def _metrics(self, rep: int, phase: str, values: dict, edge: str) -> list[Record]:
        out = []
        for name, metric in self.metrics.items():
            source = self.metric_map.metrics.get(name)
            if source is None:
                out.append(self._record(rep, phase, name, schema.METRIC, None, metric.unit, schema.UNAVAILABLE, edge,
                                        note=f"the {self.backend.name} backend cannot give it"))
                continue
            value = source.formula.evaluate(values)
            if value is None:
                missing = [n for n in source.formula.names if values.get(n) is None]
                note = f"needs {', '.join(missing)}" if missing else "division by zero"
                out.append(self._record(rep, phase, name, schema.METRIC, None, source.unit, schema.UNAVAILABLE, edge,
                                        note=note))
            else:
                out.append(self._record(rep, phase, name, schema.METRIC, value, source.unit, boundary=edge))
        return out


def collect(config: CollectConfig, progress: Callable[[str], None] | None = None) -> CollectResult:
    """Run warm-ups and repetitions, writing each repetition's records to the store as soon as it ends."""
    progress = progress or (lambda msg: None)
    try:
        col = Collector(config, progress)
    except (backends.BackendError, runtimes.RuntimeError_, workloads.WorkloadError,
            events.EventMapError, pinning.PinningError) as exc:
        raise CollectError(str(exc)) from None
    store = ResultStore(config.results)
    session = new_id()
    prov = provenance.machine(col.cpu, col.emap.name)
    prov.update({"cpu_index": col.cpu, "event_map": col.emap.name, "backend": col.backend.name,
                 "backend_version": col.probe.version, "runtime": col.runtime.name,
                 "runtime_version": col.runtime_version, "runtime_flags": col.flags(), "workload": col.workload.name,
                 "wasm": str(col.workload.wasm), "size": col.workload.size, "passes": len(col.passes)})
    result = CollectResult(session, notes=list(col.probe.notes), provenance=prov)
    store.write_session(session, "running", config={k: str(v) for k, v in config.__dict__.items()})
    old_affinity = pinning.keep_controller_off(col.cpu)
    root = Path(tempfile.mkdtemp(prefix="hwprof-"))
    state, failure = "interrupted", None
    try:
        total = config.warmup + config.repetitions
        for i in range(total):
            rep = i - config.warmup
            label = f"warm-up {i + 1}/{config.warmup}" if rep < 0 else f"repetition {rep + 1}/{config.repetitions}"
            progress(f"{label}: {len(col.passes)} pass(es) on CPU {col.cpu}")
            records, pin, failure = col.repetition(rep, root)
            if rep >= 0 or failure:
                run_prov = {**prov, "pinning": pin, "timestamp_end": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
                result.run_files.append(store.write_run(session, run_prov, records))
                result.records += records
            if failure:
                break
        state = "failed" if failure else "complete"
    finally:
        os.sched_setaffinity(0, old_affinity)
        store.write_session(session, state, error=failure or "", runs=len(result.run_files),
                            planned=config.repetitions)
        if not config.keep_workdir:
            shutil.rmtree(root, ignore_errors=True)
    if failure:
        raise CollectError(f"{col.workload.name} under {col.runtime.name}: {failure}")
    return result
