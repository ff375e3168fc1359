"""The frozen plan of one measurement: what runs, on which CPU, under which backend, which passes count which phases.

A plan is built once from a CollectConfig (make) and never changes; measure.repetition runs it. It does no
work of the target's: nothing is compiled or prepared to build it.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

from hwprof import backends, events, pinning, runtimes, sandbox, workloads
from hwprof.backends import Pass, Probe
from hwprof.data import phases as phase_names
from hwprof.data import provenance
from hwprof.data.cpu import core_pmu_of, identify
from hwprof.data.schema import Identity
from hwprof.records import RecordBuilder
from hwprof.workloads import module

WASM_PAGE = 1 << 16
WASM32_MAX_MEMORY = 4 << 30     # 65536 pages of 64 KiB: the most a 32-bit linear memory can have


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
    cpu: int | str | None = None            # a CPU, "auto" (a free one), or None (the last allowed)
    timeout: float = 300.0
    memory_limit: int = 4 << 30
    results: Path = Path("results/default")
    opt_level: str = "speed"
    sim_geometry: tuple[tuple[str, str], ...] = ()
    sim_uarch: str = ""                     # --backend frontend: the modelled microarchitecture (default skylake)
    dirs: tuple[tuple[str, str], ...] = ()   # (host, guest) folders the module may open; none by default
    mode: str = "cold"                      # cold: a fresh process per run; warm: one compile, many runs
    invocations: int = 50                   # warm: instantiate + execute this many times per process
    keep_workdir: bool = False
    sweep: str = ""                         # the sweep point these runs belong to, copied onto every row
    count_phases: tuple[str, ...] = ()      # phases that get counters (default all; the last always does)
    args: tuple[str, ...] = ()              # the module's arguments (after the workload's own)
    env: tuple[tuple[str, str], ...] = ()   # its environment (empty unless given)
    stdin: Path | None = None               # a file for its standard input (default: empty)
    invoke: str = ""                        # call this export instead of _start
    invoke_args: tuple[str, ...] = ()       # the export's numeric arguments
    unknown_imports: str = ""               # "trap": imports nobody defines trap when called
    features: tuple[str, ...] = ()          # wasm proposals to enable (those the module needs are added)
    max_output: int = 16 << 20              # bytes kept of each output stream (the start; the last 64 KiB too)
    # How the summary is computed; they change no measurement and no run's identity.
    statistic: str = "mean"                 # mean (Student-t interval) or median (order-statistic interval)
    exclude_disturbed: bool = False         # leave repetitions flagged by their noise record out of the summary


@dataclass(frozen=True)
class Plan:
    """One measurement, decided: the parts that run, the passes of a repetition, and how rows are made."""

    config: CollectConfig
    cpu: int
    emap: events.EventMap
    backend: backends.Backend
    runtime: runtimes.Runtime
    runtime_version: str
    workload: workloads.Workload
    inputs: runtimes.Inputs
    features: tuple[str, ...]
    probe: Probe
    phases: tuple[str, ...]           # the phases a run separates (("total",) when measured whole)
    counted: tuple[str, ...]          # the phases that get counters
    passes: tuple[Pass, ...]          # the measured processes of one run
    ahead_passes: tuple[Pass, ...]    # the measured processes of the target's ahead-of-time work
    flags: str                        # runtime, workload and backend settings recorded on every row
    builder: RecordBuilder
    notes: tuple[str, ...]

    @property
    def ahead(self) -> runtimes.Ahead | None:
        """The target's declared ahead-of-time work, or None."""
        return self.runtime.ahead

    @property
    def invocations(self) -> int:
        """Instantiations and executions per measured process (1 unless warm)."""
        return self.config.invocations if self.config.mode == "warm" else 1

    def provenance(self) -> dict:
        """The provenance of this plan's runs: the machine, and what runs where under which backend."""
        prov = provenance.machine(self.cpu, events.microarch_name(identify(self.cpu), self.emap))
        c = self.config
        prov.update({"cpu_index": self.cpu, "event_map": self.emap.name, "core_pmu": core_pmu_of(self.cpu) or "",
                     "backend": self.backend.name, "backend_version": self.probe.version,
                     "runtime": self.runtime.name, "runtime_version": self.runtime_version,
                     "runtime_flags": self.flags, "workload": self.workload.name, "wasm": str(self.workload.program),
                     "size": self.workload.size, "mode": c.mode, "passes": len(self.ahead_passes) + len(self.passes),
                     "inputs": self.inputs.to_dict(), "input": self.inputs.label(),
                     "wasm_features": list(self.features), "memory_limit": c.memory_limit, "timeout_s": c.timeout,
                     "max_output": c.max_output})
        return prov


def make(config: CollectConfig) -> Plan:
    """Decide everything about a measurement, or raise the one-line error of the part that refuses it."""
    cpu = pinning.choose_cpu(config.cpu)
    emap = events.load(config.event_map) if config.event_map else events.for_logical_cpu(cpu)
    backend = backends.get(config.backend, cpu=cpu, geometry=dict(config.sim_geometry), uarch=config.sim_uarch)
    metric_map, requested, metrics, absent = _metrics(config, emap, backend)
    runtime = runtimes.get(config.runtime, opt_level=config.opt_level)
    version = runtime.probe()
    if config.mode not in runtime.modes:
        raise runtimes.RuntimeTargetError(f"{runtime.name} has no {config.mode} mode (it has: {', '.join(runtime.modes)})")
    workload = _workload(config, runtime)
    notes: list[str] = []
    inputs, features, markers = _inputs(config, runtime, workload, notes)
    probe = backend.probe(emap, requested)
    run_phases = _phases(runtime, backend, workload, inputs, markers, notes)
    counted = _counted(runtime, run_phases, tuple(config.count_phases))
    passes = backend.plan(probe, counted, emap.gp_counters, whole=run_phases == (phase_names.TOTAL,))
    if inputs.dirs and len(passes) > 1:
        notes.append(f"the module runs once per pass, {len(passes)} times a repetition: what it writes to "
                     f"{', '.join(h for h, _ in inputs.dirs)} is written {len(passes)} times (--count-phases "
                     "execute runs it once)")
    ahead_passes: list[Pass] = []
    if runtime.ahead:
        scoped = (runtime.ahead.marks,) if runtime.ahead.marks else (runtime.ahead.phase,)
        ahead_passes = backend.plan(probe, scoped, emap.gp_counters, whole=not runtime.ahead.marks)
        if backend.simulated and config.count_phases and runtime.ahead.phase not in config.count_phases:
            # A compiler under a simulator takes minutes (zig cc under callgrind): when the phase is not asked
            # for, the ahead-of-time work runs plainly, timed but not simulated.
            ahead_passes = [Pass(p.phases, (), p.stop_after, p.whole) for p in ahead_passes]
            notes.append(f"{runtime.ahead.phase} runs outside {backend.name} (not in --count-phases): its "
                         "time is kept, its events are not simulated")
    flags = _flags(config, runtime, workload, backend, features)
    identity = Identity(runtime=runtime.name, runtime_version=version, runtime_flags=flags, workload=workload.name,
                        size=workload.size, invocation=config.mode, backend=backend.name, sweep=config.sweep,
                        input=inputs.label())
    builder = RecordBuilder(identity, backend.simulated, emap, metric_map, metrics, probe.missing, absent)
    return Plan(config, cpu, emap, backend, runtime, version, workload, inputs, features, probe, run_phases, counted,
                tuple(passes), tuple(ahead_passes), flags, builder, tuple(notes))


def _metrics(config: CollectConfig, emap: events.EventMap, backend):
    """The map metrics come from, the events requested, the metrics to derive and the standard ones absent."""
    # A simulator counts its own events: -e names them (or its metrics), not the CPU's.
    metric_map = backend.sim_map() or emap
    requested = metric_map.select(list(config.events))
    chosen = {e.name for e in requested}
    every = {**emap.metrics, **metric_map.metrics}
    metrics = {n: m for n, m in every.items()
               if not config.events or n in config.events or set(m.formula.names) <= chosen}
    # Standard metrics asked for (or, asking for nothing, the ones the map says its core lacks) that no
    # map here defines: each gets a row saying why, never silence and never 0.
    wanted = [n for n in config.events if n in events.STANDARD_METRICS] if config.events else list(emap.unavailable)
    absent = {n: emap.absent(n) for n in wanted if n not in every}
    return metric_map, requested, metrics, absent


def _workload(config: CollectConfig, runtime) -> workloads.Workload:
    flavour = runtime.flavour
    if flavour == "wasm":
        return workloads.resolve(config.workload, config.size)
    if config.workload.endswith(".wasm") or os.sep in config.workload:
        if flavour == "wasm-wasi-markers":
            return workloads.from_path(config.workload)   # a user's module: markers only if it has them
        raise workloads.WorkloadError(f"the {runtime.name} target runs bundled workloads only (it needs "
                                      "their C source), not a .wasm file")
    return workloads.build(config.workload, config.size, flavour=flavour)


def _inputs(c: CollectConfig, runtime, workload, notes: list[str]) -> tuple[runtimes.Inputs, tuple[str, ...], bool]:
    """The user's inputs checked against the module and the target; the proposals to enable; markers?"""
    inputs = runtimes.Inputs(args=tuple(c.args), env=tuple(c.env), stdin=c.stdin, invoke=c.invoke,
                             unknown_imports=c.unknown_imports, dirs=tuple(c.dirs))
    if workload.flavour == "native":
        if c.features:
            raise runtimes.RuntimeTargetError("the native target runs the workload's C build: it has no wasm "
                                         "proposals to enable")
        runtimes.check_inputs(runtime, inputs, ())
        return inputs, (), True
    info = module.read(workload.program)
    if info.uses_wasi and info.exports.get("memory") != "memory":
        # WASI reads and writes the module's memory through its `memory` export; wasm2c's host would run
        # such a module anyway and every other target refuses it: refused here, for every target alike.
        raise module.ModuleError(f"{workload.name} imports WASI but exports no memory named 'memory', "
                                 "which WASI needs")
    if c.invoke:
        typed = module.typed_arguments(info, c.invoke, tuple(c.invoke_args), workload.name)
        inputs = dataclasses.replace(inputs, invoke_args=tuple(tuple(a) for a in typed),
                                     invoke_returns=info.signatures[c.invoke].results)
    elif c.invoke_args:
        raise module.ModuleError("arguments for --invoke were given without --invoke EXPORT")
    needed, problem = module.required_features(workload.program)
    if problem:
        notes.append(f"{workload.name} does not validate with every proposal Wasmtime knows enabled "
                     f"({problem}); the proposals it needs are unknown, the target's compile will tell")
    features = tuple(f for f in module.FEATURES if f in needed or f in c.features)
    _check_memory_limit(c.memory_limit, features)
    runtimes.check_inputs(runtime, inputs, features)
    sandbox.check_jail(runtime.name, runtime.confines_links, inputs.dirs)
    if not c.unknown_imports:
        foreign = info.foreign_imports()
        if foreign:
            notes.append(f"{workload.name} imports {', '.join(foreign[:3])}{' ...' if len(foreign) > 3 else ''}, "
                         "which no host here defines: instantiation will fail unless --unknown-imports trap makes "
                         "them trap when called")
    return inputs, features, info.has_markers or workload.bundled


def _check_memory_limit(limit: int, features: tuple[str, ...]) -> None:
    if limit < WASM_PAGE:
        raise runtimes.RuntimeTargetError(f"a memory limit of {limit} bytes is less than one wasm page (64 KiB); "
                                     "there is no 'no limit'")
    if limit > WASM32_MAX_MEMORY and "memory64" not in features:
        raise runtimes.RuntimeTargetError(f"--memory-limit {limit / (1 << 30):g} GiB is more than a wasm32 memory can "
                                     "hold (4 GiB); only a memory64 module can use more")


def _phases(runtime, backend, workload, inputs, markers: bool, notes: list[str]) -> tuple[str, ...]:
    """The phases a run separates: the target's own, or the whole process as one for a CLI runtime that cannot."""
    run_phases = tuple(runtime.phases)
    if phase_names.STARTUP in run_phases and backend.simulated:
        # A simulator's phase edges come from inside the simulated process; a CLI runtime's markers
        # reach only the relay beside it. So the whole run is simulated, as one phase.
        run_phases = (phase_names.TOTAL,)
        notes.append(f"{runtime.name} is a command-line runtime: {backend.name} cannot see its relayed markers, "
                     "so the whole run (start-up and execution) is one phase, 'total'")
    elif phase_names.STARTUP in run_phases and not markers:
        run_phases = (phase_names.TOTAL,)
        notes.append(f"{workload.name} has no bench.start/bench.end markers and {runtime.name} is a command-line "
                     "runtime: the whole process (start-up and execution) is one phase, 'total'")
    if phase_names.STARTUP in run_phases and inputs.stdin is not None:
        raise runtimes.RuntimeTargetError(f"the {runtime.name} target cannot take --stdin for a module with markers: "
                                     "the relay answers the markers on the runtime's standard input")
    return run_phases


def _counted(runtime, run_phases: tuple[str, ...], wanted: tuple[str, ...]) -> tuple[str, ...]:
    """The phases that get counters (all by default); the last phase always runs, so it is always counted.

    An uncounted phase still gets its wall time, from the marks of the process that runs it anyway.
    """
    if not wanted or run_phases == (phase_names.TOTAL,):
        return run_phases       # a whole-process run has one phase: it is what gets counted
    unknown = [p for p in wanted if p not in run_phases]
    if unknown:
        raise runtimes.RuntimeTargetError(f"{runtime.name} has no phase {', '.join(unknown)} (it has: "
                                     f"{', '.join(run_phases)})")
    return tuple(p for p in run_phases if p in wanted or p == run_phases[-1])


def _flags(config: CollectConfig, runtime, workload, backend, features: tuple[str, ...]) -> str:
    """Runtime, workload and backend settings recorded on every row."""
    enabled = f" wasm_features={','.join(features)}" if features else ""
    parts = [runtime.flags() + enabled]
    if config.mode == "warm":
        parts.append(f"warm: {config.invocations} invocations per process")
    if workload.flags:
        parts.append(f"build: {workload.flags}")
    if backend.simulated:
        parts.append(f"sim: {backend.flags()}")
    return "; ".join(parts)
