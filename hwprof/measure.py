"""Measured processes: the passes of one repetition, run pinned under a counter backend."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from hwprof import backends, capture, events, noise, pinning, runtimes, sandbox, workloads
from hwprof.backends import Pass, Probe
from hwprof.data import phases
from hwprof.data.schema import Identity, Record
from hwprof.records import RecordBuilder
from hwprof.runtimes import Job, Outcome, Prepared
from hwprof.workloads import module

WASM_PAGE = 1 << 16
WASM32_MAX_MEMORY = 4 << 30     # 65536 pages of 64 KiB: the most a 32-bit linear memory can have


def _kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the measured process group and reap it (it may have just ended by itself: that is fine)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


OUTPUT_FILES = ("launcher.log", "process-stdout.txt", "stdout.txt", "stderr.txt")


def run_process(argv, env, pass_fds, cpu, timeout, workdir, stdin: Path | None = None,
                max_output: int = capture.DEFAULT_LIMIT) -> tuple[int | None, str, int, int, list[capture.Captured]]:
    """Run the (wrapped) measured process pinned to cpu: (returncode or None on timeout, stderr tail, spawn ns,
    end ns, what each output stream carried).

    Its standard input is empty, or the `stdin` file for a target whose module reads the process's own. Every
    output file of its work folder (its own stdout and stderr, the module's stdout.txt and stderr.txt that
    hosts write) is captured with a bound, so output costs neither memory nor disk beyond it. Whatever it left
    running in its process group is killed when it ends.
    """
    with capture.captured(workdir, OUTPUT_FILES, max_output) as carried:
        spawn_ns = time.monotonic_ns()
        with open(workdir / "launcher.log", "w") as log, open(workdir / "process-stdout.txt", "w") as out, \
                open(stdin or os.devnull, "rb") as given:
            proc = subprocess.Popen(argv, env=env, pass_fds=pass_fds, stdin=given, stdout=out, stderr=log,
                                    preexec_fn=pinning.pin_child(cpu), start_new_session=True, cwd=workdir)
            try:
                rc = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                rc = None
            finally:
                _kill_group(proc)        # stragglers too: nothing outlives its pass or holds its output
        end_ns = time.monotonic_ns()
    tail = (workdir / "launcher.log").read_text(errors="replace").strip().splitlines()[-3:]
    return rc, " | ".join(tail), spawn_ns, end_ns, carried


def phase_times(outcome: Outcome, spawn_ns: int) -> dict[str, list[float]]:
    """Seconds of every begin..end of each phase, in order (bootstrap: from spawn to the host's ready mark)."""
    times: dict[str, list[float]] = {}
    open_at: dict[str, int] = {}
    for phase, edge, ns in outcome.marks:
        if phase == "bootstrap" and edge == "end":
            times.setdefault("bootstrap", []).append((ns - spawn_ns) / 1e9)
        elif edge == "begin":
            open_at[phase] = ns
        elif phase in open_at:
            times.setdefault(phase, []).append((ns - open_at.pop(phase)) / 1e9)
    return times


def failure_line(outcome: Outcome, rc: int | None, tail: str, timeout: float) -> str:
    """The one line that says why a measured process did not give a measurement."""
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


@dataclass
class Repetition:
    """One repetition's rows, pinning facts, failure line (None when it worked) and process timeline."""

    records: list[Record]
    pinning: dict = field(default_factory=dict)
    failure: str | None = None
    # One entry per measured process: {"process", "phases", "events", "spawn_s", "end_s",
    # "marks": [[phase, edge, s]]},
    # times in seconds from the repetition's first spawn (what `hwprof trace` draws).
    timeline: list[dict] = field(default_factory=list)
    noise: dict = field(default_factory=dict)      # noise.summarize() of its processes; "disturbed" says why


class Collector:
    """The plan of one collect (target, backend, passes) and the running of its repetitions."""

    def __init__(self, config):
        self.config = config
        self.cpu = pinning.choose_cpu(config.cpu)
        self.emap = events.load(config.event_map) if config.event_map else events.for_logical_cpu(self.cpu)
        options = {"geometry": dict(config.sim_geometry)} if config.backend == "cachegrind" else {}
        self.backend = backends.get(config.backend, cpu=self.cpu, **options)
        # A simulator counts its own events: -e names them (or its metrics), not the CPU's.
        self.metric_map = self.backend.sim_map() if self.backend.simulated else self.emap
        self.requested = self.metric_map.select(list(config.events))
        chosen = {e.name for e in self.requested}
        every = {**self.emap.metrics, **self.metric_map.metrics}
        self.metrics = {n: m for n, m in every.items()
                        if not config.events or n in config.events or set(m.formula.names) <= chosen}
        # Standard metrics asked for (or, asking for nothing, the ones the map says its core lacks) that no
        # map here defines: each gets a row saying why, never silence and never 0.
        wanted = [n for n in config.events if n in events.STANDARD_METRICS] if config.events \
            else list(self.emap.unavailable)
        self.absent = {n: self.emap.absent(n) for n in wanted if n not in every}
        self.runtime = runtimes.get(config.runtime, opt_level=config.opt_level)
        self.runtime_version = self.runtime.probe()
        if config.mode not in self.runtime.modes:
            raise runtimes.RuntimeError_(f"{self.runtime.name} has no {config.mode} mode (it has: "
                                         f"{', '.join(self.runtime.modes)})")
        self.workload = self._workload()
        self.notes: list[str] = []
        self.inputs, self.features, markers = self._inputs()
        self.probe: Probe = self.backend.probe(self.emap, self.requested)
        self.phases = self.runtime.phases
        if "startup" in self.phases and self.backend.simulated:
            # A simulator's phase edges come from inside the simulated process; a CLI runtime's markers
            # reach only the relay beside it. So the whole run is simulated, as one phase.
            self.phases = ("total",)
            self.notes.append(f"{self.runtime.name} is a command-line runtime: {self.backend.name} cannot see its "
                              "relayed markers, so the whole run (start-up and execution) is one phase, 'total'")
        elif "startup" in self.phases and not markers:
            self.phases = ("total",)
            self.notes.append(f"{self.workload.name} has no bench.start/bench.end markers and {self.runtime.name} is "
                              "a command-line runtime: the whole process (start-up and execution) is one phase, 'total'")
        if "startup" in self.phases and self.inputs.stdin is not None:
            raise runtimes.RuntimeError_(f"the {self.runtime.name} target cannot take --stdin for a module with "
                                         "markers: the relay answers the markers on the runtime's standard input")
        self.counted = self._counted_phases(tuple(config.count_phases))
        self.passes: list[Pass] = self.backend.plan(self.probe, self.counted, self.emap.gp_counters,
                                                    whole=self.phases == ("total",))
        runs = len(self.passes)
        if self.inputs.dirs and runs > 1:
            self.notes.append(f"the module runs once per pass, {runs} times a repetition: what it writes to "
                              f"{', '.join(h for h, _ in self.inputs.dirs)} is written {runs} times (--count-phases "
                              "execute runs it once)")
        ahead = self.runtime.ahead
        self.prepare_phase = ahead.phase if ahead else None
        self.prepare_marks = ahead.marks if ahead else None
        self.prepare_passes: list[Pass] = []
        if ahead:
            scoped = (ahead.marks,) if ahead.marks else (ahead.phase,)
            self.prepare_passes = self.backend.plan(self.probe, scoped, self.emap.gp_counters, whole=not ahead.marks)
        identity = Identity(runtime=self.runtime.name, runtime_version=self.runtime_version, runtime_flags=self.flags(),
                            workload=self.workload.name, size=self.workload.size, invocation=config.mode,
                            backend=self.backend.name, sweep=config.sweep, input=self.inputs.label())
        self.builder = RecordBuilder(identity, self.backend.simulated, self.emap, self.metric_map, self.metrics,
                                     self.probe.missing, self.absent)
        self._timeline: list[dict] = []
        self._noise: list[dict] = []
        self._output: list[capture.Captured] = []

    def _inputs(self) -> tuple[runtimes.Inputs, tuple[str, ...], bool]:
        """The user's inputs checked against the module and the target; the proposals to enable; markers?"""
        c = self.config
        inputs = runtimes.Inputs(args=tuple(c.args), env=tuple(c.env), stdin=c.stdin, invoke=c.invoke,
                                 unknown_imports=c.unknown_imports, dirs=tuple(c.dirs))
        if self.workload.target == "native":
            if c.features:
                raise runtimes.RuntimeError_("the native target runs the workload's C build: it has no wasm "
                                             "proposals to enable")
            runtimes.check_inputs(self.runtime, inputs, ())
            return inputs, (), True
        info = module.read(self.workload.wasm)
        if info.uses_wasi and info.exports.get("memory") != "memory":
            # WASI reads and writes the module's memory through its `memory` export; wasm2c's host would run
            # such a module anyway and every other target refuses it: refused here, for every target alike.
            raise module.ModuleError(f"{self.workload.name} imports WASI but exports no memory named 'memory', "
                                     "which WASI needs")
        if c.invoke:
            typed = module.typed_arguments(info, c.invoke, tuple(c.invoke_args), self.workload.name)
            inputs = dataclasses.replace(inputs, invoke_args=tuple(tuple(a) for a in typed),
                                         invoke_returns=info.signatures[c.invoke].results)
        elif c.invoke_args:
            raise module.ModuleError("arguments for --invoke were given without --invoke EXPORT")
        needed, problem = module.required_features(self.workload.wasm)
        if problem:
            self.notes.append(f"{self.workload.name} does not validate with every proposal Wasmtime knows enabled "
                              f"({problem}); the proposals it needs are unknown, the target's compile will tell")
        features = tuple(f for f in module.FEATURES if f in needed or f in c.features)
        if c.memory_limit < WASM_PAGE:
            raise runtimes.RuntimeError_(f"a memory limit of {c.memory_limit} bytes is less than one wasm page "
                                         "(64 KiB); there is no 'no limit'")
        if c.memory_limit > WASM32_MAX_MEMORY and "memory64" not in features:
            raise runtimes.RuntimeError_(f"--memory-limit {c.memory_limit / (1 << 30):g} GiB is more than a wasm32 "
                                         "memory can hold (4 GiB); only a memory64 module can use more")
        runtimes.check_inputs(self.runtime, inputs, features)
        sandbox.check_jail(self.runtime.name, self.runtime.confines_links, inputs.dirs)
        if not c.unknown_imports:
            foreign = info.foreign_imports()
            if foreign:
                self.notes.append(f"{self.workload.name} imports {', '.join(foreign[:3])}"
                                  f"{' ...' if len(foreign) > 3 else ''}, which no host here defines: instantiation "
                                  "will fail unless --unknown-imports trap makes them trap when called")
        return inputs, features, info.has_markers or self.workload.bundled

    def _counted_phases(self, wanted: tuple[str, ...]) -> tuple[str, ...]:
        """The phases that get counters (all by default); the last phase always runs, so it is always counted.

        An uncounted phase still gets its wall time, from the marks of the process that runs it anyway.
        """
        if not wanted or self.phases == ("total",):
            return self.phases       # a whole-process run has one phase: it is what gets counted
        unknown = [p for p in wanted if p not in self.phases]
        if unknown:
            raise runtimes.RuntimeError_(f"{self.runtime.name} has no phase {', '.join(unknown)} (it has: "
                                         f"{', '.join(self.phases)})")
        return tuple(p for p in self.phases if p in wanted or p == self.phases[-1])

    def _workload(self) -> workloads.Workload:
        target = self.runtime.target
        if target == "wasm":
            return workloads.resolve(self.config.workload, self.config.size)
        if self.config.workload.endswith(".wasm") or os.sep in self.config.workload:
            if target == "wasm-wasi-markers":
                return workloads.from_path(self.config.workload)   # a user's module: markers only if it has them
            raise workloads.WorkloadError(f"the {self.runtime.name} target runs bundled workloads only (it needs "
                                          "their C source), not a .wasm file")
        return workloads.build(self.config.workload, self.config.size, target=target)

    def flags(self) -> str:
        """Runtime, workload and backend settings recorded on every row."""
        enabled = f" wasm_features={','.join(self.features)}" if self.features else ""
        parts = [self.runtime.flags() + enabled]
        if self.config.mode == "warm":
            parts.append(f"warm: {self.config.invocations} invocations per process")
        if self.workload.flags:
            parts.append(f"build: {self.workload.flags}")
        if self.backend.simulated:
            parts.append(f"sim: {self.backend.flags()}")
        return "; ".join(parts)

    def run_pass(self, one_pass: Pass, root: Path, prepared: Prepared | None = None, ahead: bool = False):
        """One measured process. Returns (counts, outcome, phase times, prepared, failure line or None).

        `ahead`: this is the target's ahead-of-time work (prepare), not a run.
        """
        workdir = Path(tempfile.mkdtemp(prefix=f"{one_pass.phases[0]}-", dir=root))
        job = Job(self.workload.wasm, workdir, self.cpu, one_pass.stop_after,
                  args=self.workload.args + self.inputs.args, dirs=self.inputs.dirs,
                  memory_limit=self.config.memory_limit, mode=self.config.mode,
                  invocations=self.config.invocations if self.config.mode == "warm" else 1, prepared=prepared,
                  inputs=self.inputs, features=self.features)
        if ahead:
            prepared = self.runtime.prepare(self.workload, workdir)
            argv = prepared.argv
        else:
            argv = self.runtime.command(job)
        launch = self.backend.prepare(argv, one_pass, workdir)
        extra = self.runtime.environment(job)
        # The pid is padded to a fixed width: a simulator's D1 sees the stack, which moves with the
        # environment's size, so a varying pid length would change simulated counts.
        # RUST_BACKTRACE from the caller's shell would make Rust runtimes capture backtraces on every error
        # (and fill the failure line with frames): measured processes run without it.
        env = {**os.environ, "RUST_BACKTRACE": "0", **extra, **launch.env,
               "HWPROF_CONTROLLER_PID": f"{os.getpid():010d}"}
        try:
            stdin = self.inputs.stdin if self.runtime.stdin_via_process else None
            before = noise.sample(self.cpu)
            rc, tail, spawn_ns, end_ns, carried = run_process(launch.argv, env, launch.pass_fds, self.cpu,
                                                              self.config.timeout, workdir, stdin,
                                                              self.config.max_output)
            self._noise.append(noise.between(before, noise.sample(self.cpu)))
            self._output += [c for c in carried if c.dropped]
        finally:
            for fd in launch.close_fds:
                os.close(fd)
        entry = {"process": len(self._timeline), "phases": list(one_pass.phases),
                 "events": [e.name for e in one_pass.events], "spawn_ns": spawn_ns, "end_ns": end_ns, "marks": []}
        self._timeline.append(entry)
        if one_pass.whole:
            stdout = (workdir / "process-stdout.txt").read_text(errors="replace")
            # A command-line runtime prints an invoked export's results on its stdout, one per line.
            results = [[ln.strip() for ln in stdout.splitlines() if ln.strip()]] if self.inputs.invoke else []
            outcome = Outcome(ok=rc == 0, stage=one_pass.phases[0], boundary="process", stdout=stdout,
                              affinity=[self.cpu], results=results)
            times = {one_pass.phases[0]: [(end_ns - spawn_ns) / 1e9]}
        else:
            outcome = self.runtime.outcome(job)
            times = phase_times(outcome, spawn_ns)
            entry["marks"] = [[phase, edge, ns] for phase, edge, ns in outcome.marks]
        if rc != 0 or not outcome.ok:
            reason = (rc is not None and self.backend.explain(launch)) or failure_line(outcome, rc, tail,
                                                                                        self.config.timeout)
            return [], outcome, times, prepared, reason
        return self.backend.read(launch, one_pass), outcome, times, prepared, None

    def repetition(self, rep: int, root: Path) -> Repetition:
        """Every pass of one repetition: its records, pinning facts, failure line (or None), timeline and noise."""
        self._timeline: list[dict] = []
        self._noise: list[dict] = []
        self._output: list[capture.Captured] = []
        # A folder may have gained a link out of it since the plan (another program, a wasmtime-cli run).
        sandbox.check_jail(self.runtime.name, self.runtime.confines_links, self.inputs.dirs)
        records, pin, failure = self._passes(rep, root)
        if self._output:
            # Output beyond --max-output was counted and dropped: said once, on the rows of the run's last phase.
            totals: dict[str, dict] = {}
            for c in self._output:
                t = totals.setdefault(c.name, {"bytes": 0, "dropped": 0, "processes": 0})
                t["bytes"], t["dropped"], t["processes"] = t["bytes"] + c.total, t["dropped"] + c.dropped, \
                    t["processes"] + 1
            note = "; ".join(capture.Captured(n, t["bytes"], t["dropped"]).note() for n, t in totals.items())
            last = self.phases[-1]
            records = [dataclasses.replace(r, note="; ".join(x for x in (r.note, note) if x))
                       if r.phase == last and r.name == "wall_time" else r for r in records]
            pin["output"] = totals
        return Repetition(records, pin, failure, self._relative_timeline(), noise.summarize(self._noise))

    def _relative_timeline(self) -> list[dict]:
        """The processes' spawn, end and phase marks in seconds from the first spawn."""
        if not self._timeline:
            return []
        t0 = self._timeline[0]["spawn_ns"]
        sec = lambda ns: round((ns - t0) / 1e9, 9)
        return [{"process": e["process"], "phases": e["phases"], "events": e["events"], "spawn_s": sec(e["spawn_ns"]),
                 "end_s": sec(e["end_ns"]), "marks": [[p, edge, sec(ns)] for p, edge, ns in e["marks"]]}
                for e in self._timeline]

    def _passes(self, rep: int, root: Path) -> tuple[list[Record], dict, str | None]:
        out: list[Record] = []
        prepared = None
        if self.prepare_passes:
            counts, times = [], {}
            for one_pass in self.prepare_passes:
                got, outcome, t, prepared, failure = self.run_pass(one_pass, root, ahead=True)
                if failure:
                    return [self.builder.error(rep, self.prepare_phase, failure)], {}, failure
                counts += got
                times.update({p: v for p, v in t.items() if p in one_pass.phases})
            scoped = self.prepare_marks or self.prepare_phase
            edge = "host-call" if self.prepare_marks else "process"
            out += self.builder.phase_records(rep, self.prepare_phase, [c for c in counts if c.phase == scoped],
                                              times.get(scoped, []), edge)
        counts, times, boundary, pin = [], {}, "", {}
        for one_pass in self.passes:
            got, outcome, t, _, failure = self.run_pass(one_pass, root, prepared)
            if failure:
                return out + [self.builder.error(rep, outcome.stage, failure)], pin, failure
            counts += got
            # A counted phase's time comes from its own pass; an uncounted one's from the last pass that ran it.
            times.update({p: v for p, v in t.items() if p in one_pass.phases or p not in self.counted})
            if "execute" in one_pass.phases or "total" in one_pass.phases:
                boundary = outcome.boundary
                pin, failure = self._check(outcome)
                if failure:
                    return out + [self.builder.error(rep, "execute", failure)], pin, failure
        warm = self.config.invocations if self.config.mode == "warm" else 1
        for phase in self.phases:
            per = warm if phase in ("instantiate", "execute") else 1
            out += self.builder.phase_records(rep, phase, [c for c in counts if c.phase == phase],
                                              times.get(phase, []), phases.EDGES.get(phase, boundary), per,
                                              counted=phase in self.counted)
        return out, pin, None

    def _check(self, outcome: Outcome) -> tuple[dict, str | None]:
        """Pinning facts of the execute pass, and a failure line when the result is wrong."""
        pin = {"cpu": self.cpu, "affinity": outcome.affinity, "threads": outcome.threads,
               "checksum": workloads.checksum_of(outcome.stdout)}
        if outcome.results:
            pin["invoke_results"] = [module.canonical_results(r, self.inputs.invoke_returns) for r in outcome.results]
        expected = self.workload.expected
        if expected and pin["checksum"] != expected:
            if self.backend.simulated and self.runtime.target == "native" and _close(pin["checksum"], expected):
                # Valgrind runs x87 code at 64-bit precision and musl's printf formats through x87
                # long doubles: the value is right, its last printed digit is not.
                pin["checksum_note"] = f"printed {pin['checksum']} under valgrind; equal to {expected} within 1e-14"
                return pin, None
            return pin, f"wrong result: checksum {pin['checksum'] or '(none)'} differs from the expected {expected}"
        return pin, None


def _close(a: str, b: str) -> bool:
    try:
        x, y = float(a), float(b)
    except ValueError:
        return False
    return abs(x - y) <= 1e-14 * max(abs(x), abs(y))
