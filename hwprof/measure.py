"""Measured processes: the passes of one repetition of a plan, run pinned under a counter backend."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from hwprof import calibration, capture, noise, pinning, sandbox, workloads
from hwprof.backends import Count, Launch, Pass, TreeCounts
from hwprof.data import phases
from hwprof.data.schema import Record
from hwprof.plan import Plan
from hwprof.runtimes import NO_REPORT, Job, Outcome, Prepared
from hwprof.workloads import module



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
    if outcome.error == NO_REPORT:       # a crash: what the process (or its launcher) said last is the clue
        said = [f"killed by signal {-rc}" if rc < 0 else f"exit {rc}" if rc else "", tail]
        said = [part for part in said if part]
        return f"{NO_REPORT} ({': '.join(said)})" if said else NO_REPORT
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


@dataclass
class PassResult:
    """What one measured process gave: its counts, what it reported, its phase times, and why it failed."""

    counts: list[Count]
    outcome: Outcome
    times: dict[str, list[float]]
    prepared: Prepared | None = None
    failure: str | None = None


@dataclass
class _Trace:
    """What the processes of one repetition leave besides counts: timeline entries, noise, dropped output."""

    timeline: list[dict] = field(default_factory=list)
    noise: list[dict] = field(default_factory=list)
    output: list[capture.Captured] = field(default_factory=list)

    def relative_timeline(self) -> list[dict]:
        """The processes' spawn, end and phase marks in seconds from the first spawn."""
        if not self.timeline:
            return []
        t0 = self.timeline[0]["spawn_ns"]
        sec = lambda ns: round((ns - t0) / 1e9, 9)
        return [{"process": e["process"], "phases": e["phases"], "events": e["events"], "spawn_s": sec(e["spawn_ns"]),
                 "end_s": sec(e["end_ns"]), "marks": [[p, edge, sec(ns)] for p, edge, ns in e["marks"]]}
                for e in self.timeline]


def repetition(plan: Plan, rep: int, root: Path) -> Repetition:
    """Every pass of one repetition of the plan, in work folders under root."""
    trace = _Trace()
    # A folder may have gained a link out of it since the plan (another program, a wasmtime-cli run).
    sandbox.check_jail(plan.runtime.name, plan.runtime.confines_links, plan.inputs.dirs)
    records, pin, failure = _passes(plan, rep, root, trace)
    if trace.output:
        records = _note_dropped_output(plan, records, pin, trace.output)
    return Repetition(records, pin, failure, trace.relative_timeline(), noise.summarize(trace.noise))


def _note_dropped_output(plan: Plan, records: list[Record], pin: dict, output) -> list[Record]:
    """Output beyond --max-output was counted and dropped: said once, on the wall time of the run's last phase."""
    totals: dict[str, dict] = {}
    for c in output:
        t = totals.setdefault(c.name, {"bytes": 0, "dropped": 0, "processes": 0})
        t["bytes"], t["dropped"], t["processes"] = t["bytes"] + c.total, t["dropped"] + c.dropped, t["processes"] + 1
    note = "; ".join(capture.Captured(n, t["bytes"], t["dropped"]).note() for n, t in totals.items())
    pin["output"] = totals
    last = plan.phases[-1]
    return [dataclasses.replace(r, note="; ".join(x for x in (r.note, note) if x))
            if r.phase == last and r.name == "wall_time" else r for r in records]


def _job(plan: Plan, one_pass: Pass, workdir: Path, prepared: Prepared | None) -> Job:
    c = plan.config
    return Job(plan.workload.program, workdir, plan.cpu, one_pass.stop_after, args=plan.workload.args + plan.inputs.args,
               dirs=plan.inputs.dirs, memory_limit=c.memory_limit, mode=c.mode, invocations=plan.invocations,
               prepared=prepared, inputs=plan.inputs, features=plan.features)


def run_pass(plan: Plan, one_pass: Pass, root: Path, trace: _Trace, prepared: Prepared | None = None,
             ahead: bool = False) -> PassResult:
    """One measured process (`ahead`: the target's ahead-of-time work, which sets up `prepared`)."""
    workdir = Path(tempfile.mkdtemp(prefix=f"{one_pass.phases[0]}-", dir=root))
    job = _job(plan, one_pass, workdir, prepared)
    if ahead:
        prepared = plan.runtime.prepare(plan.workload, workdir)
        argv = prepared.argv
    else:
        argv = plan.runtime.command(job)
    plain = plan.backend.simulated and not one_pass.events     # nothing to simulate: run it as it is
    launch = Launch(list(argv), {}, workdir=workdir) if plain else plan.backend.prepare(argv, one_pass, workdir)
    # The pid is padded to a fixed width: a simulator's D1 sees the stack, which moves with the
    # environment's size, so a varying pid length would change simulated counts.
    # RUST_BACKTRACE from the caller's shell would make Rust runtimes capture backtraces on every error
    # (and fill the failure line with frames): measured processes run without it.
    env = {**os.environ, "RUST_BACKTRACE": "0", **plan.runtime.environment(job), **launch.env,
           "HWPROF_CONTROLLER_PID": f"{os.getpid():010d}"}
    try:
        stdin = plan.inputs.stdin if plan.runtime.stdin_via_process else None
        # The calibration runs outside the sampled window: its own time on the measured CPU is not foreign load.
        calibrated = calibration.measure(plan.cpu)
        before = noise.sample(plan.cpu)
        rc, tail, spawn_ns, end_ns, carried = run_process(launch.argv, env, launch.pass_fds, plan.cpu,
                                                          plan.config.timeout, workdir, stdin, plan.config.max_output)
        after = noise.sample(plan.cpu)
        tree = (TreeCounts(None, None, "run outside the simulator (nothing to count)") if plain
                else plan.backend.tree_counts(launch, one_pass))
        trace.noise.append(noise.between(before, after, (calibrated, calibration.measure(plan.cpu)), tree))
        trace.output += [c for c in carried if c.dropped]
    finally:
        for fd in launch.close_fds:
            os.close(fd)
    entry = {"process": len(trace.timeline), "phases": list(one_pass.phases),
             "events": [e.name for e in one_pass.events], "spawn_ns": spawn_ns, "end_ns": end_ns, "marks": []}
    trace.timeline.append(entry)
    outcome, times = _outcome(plan, one_pass, job, rc, spawn_ns, end_ns, entry)
    if rc != 0 or not outcome.ok:
        reason = (rc is not None and plan.backend.explain(launch)) or failure_line(outcome, rc, tail,
                                                                                    plan.config.timeout)
        return PassResult([], outcome, times, prepared, reason)
    return PassResult([] if plain else plan.backend.read(launch, one_pass), outcome, times, prepared)


def _outcome(plan: Plan, one_pass: Pass, job: Job, rc, spawn_ns: int, end_ns: int, entry: dict):
    """What the process reported and its phase times (a whole process: its own exit and its span)."""
    if one_pass.whole:
        stdout = (job.workdir / "process-stdout.txt").read_text(errors="replace")
        # A command-line runtime prints an invoked export's results on its stdout, one per line.
        results = [[ln.strip() for ln in stdout.splitlines() if ln.strip()]] if plan.inputs.invoke else []
        outcome = Outcome(ok=rc == 0, stage=one_pass.phases[0], boundary="process", stdout=stdout,
                          affinity=[plan.cpu], results=results)
        return outcome, {one_pass.phases[0]: [(end_ns - spawn_ns) / 1e9]}
    outcome = plan.runtime.outcome(job)
    entry["marks"] = [[phase, edge, ns] for phase, edge, ns in outcome.marks]
    return outcome, phase_times(outcome, spawn_ns)


def _ahead(plan: Plan, rep: int, root: Path, trace: _Trace):
    """The target's ahead-of-time passes: (rows, what the run loads, failure line or None)."""
    counts, times, prepared = [], {}, None
    for one_pass in plan.ahead_passes:
        got = run_pass(plan, one_pass, root, trace, ahead=True)
        prepared = got.prepared
        if got.failure:
            return [plan.builder.error(rep, plan.ahead.phase, got.failure)], prepared, got.failure
        counts += got.counts
        times.update({p: v for p, v in got.times.items() if p in one_pass.phases})
    scoped = plan.ahead.marks or plan.ahead.phase
    edge = "host-call" if plan.ahead.marks else "process"
    rows = plan.builder.phase_records(rep, plan.ahead.phase, [c for c in counts if c.phase == scoped],
                                      times.get(scoped, []), edge,
                                      counted=any(p.events for p in plan.ahead_passes))
    return rows, prepared, None


def _passes(plan: Plan, rep: int, root: Path, trace: _Trace) -> tuple[list[Record], dict, str | None]:
    out: list[Record] = []
    prepared = None
    if plan.ahead_passes:
        out, prepared, failure = _ahead(plan, rep, root, trace)
        if failure:
            return out, {}, failure
    counts, times, boundary, pin = [], {}, "", {}
    for one_pass in plan.passes:
        got = run_pass(plan, one_pass, root, trace, prepared)
        if got.failure:
            return out + [plan.builder.error(rep, got.outcome.stage, got.failure)], pin, got.failure
        counts += got.counts
        # A counted phase's time comes from its own pass; an uncounted one's from the last pass that ran it.
        times.update({p: v for p, v in got.times.items() if p in one_pass.phases or p not in plan.counted})
        if phases.EXECUTE in one_pass.phases or phases.TOTAL in one_pass.phases:
            boundary = got.outcome.boundary
            pin, failure = _check(plan, got.outcome)
            if failure:
                return out + [plan.builder.error(rep, phases.EXECUTE, failure)], pin, failure
    for phase in plan.phases:
        per = plan.invocations if phase in phases.PER_INVOCATION else 1
        out += plan.builder.phase_records(rep, phase, [c for c in counts if c.phase == phase], times.get(phase, []),
                                          phases.EDGES.get(phase, boundary), per, counted=phase in plan.counted)
    return out, pin, None


def _check(plan: Plan, outcome: Outcome) -> tuple[dict, str | None]:
    """Pinning facts of the execute pass, and a failure line when the result is wrong."""
    pin = {"cpu": plan.cpu, "affinity": outcome.affinity, "threads": outcome.threads,
           "checksum": workloads.checksum_of(outcome.stdout)}
    if outcome.results:
        pin["invoke_results"] = [module.canonical_results(r, plan.inputs.invoke_returns) for r in outcome.results]
    expected = plan.workload.expected
    if expected and pin["checksum"] != expected:
        if plan.backend.simulated and plan.runtime.flavour == "native" and _close(pin["checksum"], expected):
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
