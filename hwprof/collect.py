"""`hwprof collect`: run one workload under one runtime, count events per phase, store every repetition."""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from hwprof import backends, events, pinning, runtimes, scratch, workloads
from hwprof.data import provenance
from hwprof.data.cpu import core_pmu_of, identify
from hwprof.data.schema import Record
from hwprof.data.store import ResultStore, new_id, no_room, stamp
from hwprof.measure import Collector
from hwprof.sandbox import SandboxError
from hwprof.workloads.module import ModuleError


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
    cpu: int | str | None = None            # a CPU, "auto" (a free one), or None (the last allowed)
    timeout: float = 300.0
    memory_limit: int = 4 << 30
    results: Path = Path("results/default")
    opt_level: str = "speed"
    sim_geometry: tuple[tuple[str, str], ...] = ()
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


@dataclass
class CollectResult:
    """What a collect produced: its records, where they went, and what the user should be told."""

    session_id: str
    records: list[Record] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    provenance: dict = field(default_factory=dict)
    run_files: list[Path] = field(default_factory=list)
    disturbed: int = 0                  # repetitions flagged by their noise record (kept in the store)


def open_collector(config: CollectConfig) -> Collector:
    """Plan a collect (target, workload build, backend, passes), or say in one line why it cannot run."""
    try:
        return Collector(config)
    except (backends.BackendError, runtimes.RuntimeError_, workloads.WorkloadError, ModuleError, SandboxError,
            events.EventMapError, pinning.PinningError) as exc:
        raise CollectError(str(exc)) from None


def describe(col: Collector) -> dict:
    """The provenance of a collector's runs: the machine, and what runs where under which backend."""
    prov = provenance.machine(col.cpu, events.microarch_name(identify(col.cpu), col.emap))
    prov.update({"cpu_index": col.cpu, "event_map": col.emap.name, "core_pmu": core_pmu_of(col.cpu) or "", "backend": col.backend.name,
                 "backend_version": col.probe.version, "runtime": col.runtime.name,
                 "runtime_version": col.runtime_version, "runtime_flags": col.flags(), "workload": col.workload.name,
                 "wasm": str(col.workload.wasm), "size": col.workload.size, "mode": col.config.mode,
                 "passes": len(col.prepare_passes) + len(col.passes), "inputs": col.inputs.to_dict(),
                 "input": col.inputs.label(), "wasm_features": list(col.features),
                 "memory_limit": col.config.memory_limit, "timeout_s": col.config.timeout,
                 "max_output": col.config.max_output})
    return prov


def collect(config: CollectConfig, progress: Callable[[str], None] | None = None) -> CollectResult:
    """Run warm-ups and repetitions, writing each repetition's records to the store as soon as it ends."""
    progress = progress or (lambda msg: None)
    early = None
    if config.cpu == pinning.AUTO:
        # Choose and claim in one step, so that collects started together never pick the same CPU.
        try:
            early = pinning.claim_free_cpu()
        except pinning.PinningError as exc:
            raise CollectError(str(exc)) from None
        config = dataclasses.replace(config, cpu=early.cpu)
    try:
        col = open_collector(config)
    except BaseException:
        if early is not None:
            early.release()
        raise
    store = ResultStore(config.results)
    session = new_id()
    prov = describe(col)
    result = CollectResult(session, notes=list(col.probe.notes) + col.notes, provenance=prov)
    claim = early or pinning.CpuClaim(col.cpu)
    if claim.warning():
        result.notes.append(claim.warning())
        progress(claim.warning())
    old_affinity = pinning.keep_controller_off(col.cpu)
    root = None
    state, failure = "interrupted", None
    try:
        with store_errors(config.results, result):
            store.write_session(session, "running", config={k: str(v) for k, v in config.__dict__.items()})
        root = scratch.make()
        total = config.warmup + config.repetitions
        for i in range(total):
            rep = i - config.warmup
            label = f"warm-up {i + 1}/{config.warmup}" if rep < 0 else f"repetition {rep + 1}/{config.repetitions}"
            progress(f"{label}: {len(col.prepare_passes) + len(col.passes)} pass(es) on CPU {col.cpu}")
            try:
                done = col.repetition(rep, root)
            except SandboxError as exc:
                raise CollectError(str(exc)) from None
            failure = done.failure
            if rep >= 0 or failure:
                run_prov = {**prov, "pinning": done.pinning, "noise": done.noise,
                            "disturbed": done.noise.get("disturbed", ""), "timestamp_end": stamp()}
                if rep >= 0 and run_prov["disturbed"]:
                    result.disturbed += 1
                    progress(f"repetition {rep + 1} disturbed: {run_prov['disturbed']} (kept, flagged)")
                with store_errors(config.results, result):
                    result.run_files.append(store.write_run(session, run_prov, done.records, timeline=done.timeline))
                result.records += done.records
            if failure:
                break
        state = "failed" if failure else "complete"
    except CollectError as exc:
        state, failure = "failed", str(exc)
        raise
    except (backends.BackendError, runtimes.RuntimeError_, OSError, ValueError) as exc:
        # A backend that could not read its output, a full scratch folder, a host's unreadable report: one line.
        state, failure = "failed", one_line(exc)
        raise CollectError(f"{col.workload.name} under {col.runtime.name}: {failure}") from None
    finally:
        try:
            store.write_session(session, state, error=failure or "", runs=len(result.run_files),
                                planned=config.repetitions)
        except OSError:
            pass    # a full disk: the run files written so far are the record; the error raised says why
        finally:
            claim.release()
            os.sched_setaffinity(0, old_affinity)
            if root is not None and not config.keep_workdir:
                shutil.rmtree(root, ignore_errors=True)
    if failure:
        raise CollectError(f"{col.workload.name} under {col.runtime.name}: {failure}")
    return result


def one_line(exc: BaseException) -> str:
    """An exception as one line (a full disk named as such)."""
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return f"no space left on the device of {exc.filename or 'a file hwprof writes'}"
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


@contextlib.contextmanager
def store_errors(folder: Path, result: CollectResult):
    """An OSError writing the store (a full disk, a read-only folder) as one CollectError line saying what was kept."""
    try:
        yield
    except OSError as exc:
        why = no_room(exc)
        kept = len(result.run_files)
        raise CollectError(f"cannot write the results store {folder}: {why}; {kept} repetition(s) were stored "
                           "before it and load as they are") from None
