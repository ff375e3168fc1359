"""Backends end to end on this machine: real perf with phase control, real valgrind, real wasmtime."""

from __future__ import annotations

import subprocess

import pytest

import hwprof
from hwprof.backends import BackendError
from hwprof.backends.perf import parse_stat_csv
from hwprof.backends.cachegrind import check_geometry
from hwprof.collect import CollectConfig, CollectError, collect
from hwprof.data import schema
from hwprof.runtimes import Job
from hwprof.runtimes.wasmtime import WasmtimeRuntime


def values(records, phase, name):
    return [r.value for r in records if r.phase == phase and r.name == name and r.status == schema.OK]


@pytest.mark.quick
def test_perf_phase_control_keeps_compilation_out_of_execute(wasm_2mm_mini, store, tmp_path):
    """Execute-phase task-clock is the kernel's, not the process's: compile and start-up are counted apart."""
    result = collect(CollectConfig(str(wasm_2mm_mini), results=store, repetitions=2, warmup=0,
                                   events=("task_clock", "page_faults", "cpu_migrations", "cycles")))
    recs = result.records
    execute, compile_, bootstrap = (values(recs, p, "task_clock") for p in ("execute", "compile", "bootstrap"))
    assert len(execute) == len(compile_) == len(bootstrap) == 2
    # MINI 2mm runs for microseconds; Cranelift needs milliseconds; Python start-up tens of them.
    assert max(execute) < 2.0 < min(compile_) < min(bootstrap)
    # The same host counted whole, without phase control, holds start-up + compilation + execution.
    job = Job(wasm_2mm_mini, tmp_path, None)
    whole = subprocess.run(["perf", "stat", "-x", ";", "-e", "task-clock", "--"] + WasmtimeRuntime().command(job),
                           capture_output=True, text=True)
    assert whole.returncode == 0, whole.stderr
    whole_ms = parse_stat_csv(whole.stderr)[0]["value"]
    assert max(execute) < whole_ms / 20
    assert min(compile_) + min(bootstrap) < whole_ms * 1.2
    # Execute wall time comes from the bench markers, and agrees with execute task-clock (ms vs s).
    wall = values(recs, "execute", "wall_time")
    assert all(w * 1000 < 5 for w in wall)
    assert {r.boundary for r in recs if r.phase == "execute"} == {"markers"}
    assert values(recs, "execute", "cpu_migrations") == [0.0, 0.0]
    # cycles was asked for: counted where a PMU is, else a row per phase and repetition that says
    # not supported, with no number.
    from hwprof.backends.perf import probe_pmu

    frame = hwprof.load_results(store)
    cycles = frame[(frame.name == "cycles") & (frame.phase == "execute")]
    assert len(cycles) == 2
    if probe_pmu()[0]:
        assert set(cycles.status) == {"ok"} and (cycles.value > 0).all()
    else:
        assert set(cycles.status) == {"not_supported"} and cycles.value.isna().all()


def test_pinning_is_recorded_and_holds_for_every_thread(wasm_2mm_mini, store):
    result = collect(CollectConfig(str(wasm_2mm_mini), results=store, repetitions=1, warmup=0, cpu=0,
                                   events=("task_clock",)))
    run = hwprof.data.store.read_run(result.run_files[0])
    pin = run["provenance"]["pinning"]
    assert pin["cpu"] == 0 and pin["affinity"] == [0]
    assert pin["threads"] and set(pin["threads"].values()) == {"0"}
    assert pin["checksum"]


def test_cachegrind_backend_is_deterministic_and_labelled(wasm_2mm_mini, store):
    config = CollectConfig(str(wasm_2mm_mini), backend="cachegrind", results=store, repetitions=2, warmup=0)
    recs = collect(config).records
    # What the kernel executes is exactly repeatable. Misses depend also on the simulated caches' and
    # predictor's state at the phase edge, which carries the host's history (Wasmtime's hash maps are
    # seeded at random): they may differ by a handful, never more.
    for name in ("Ir", "Dr", "Dw", "Bc", "Bi"):
        v = values(recs, "execute", name)
        assert len(v) == 2 and v[0] == v[1] and v[0] is not None, name
    for name in ("I1mr", "D1mr", "Bcm"):
        v = values(recs, "execute", name)
        assert len(v) == 2 and abs(v[0] - v[1]) <= max(3, 0.01 * v[0]), name
    assert values(recs, "execute", "Ir")[0] > 1000
    # The kernel alone: start-up and compilation are orders of magnitude larger.
    assert values(recs, "compile", "Ir")[0] > 100 * values(recs, "execute", "Ir")[0]
    assert {r.backend for r in recs} == {"cachegrind"}
    assert all("sim: --I1=32768,8,64" in r.runtime_flags for r in recs)
    ipc = [r for r in recs if r.name == "ipc" and r.phase == "execute"]
    assert ipc and all(r.status == schema.UNAVAILABLE and r.value is None for r in ipc)
    rate = values(recs, "execute", "l1i_miss_rate")
    assert rate and 0 <= rate[0] < 1


def test_cachegrind_geometry_is_settable_and_checked(wasm_2mm_mini, store):
    small = collect(CollectConfig(str(wasm_2mm_mini), backend="cachegrind", results=store, repetitions=1, warmup=0,
                                  sim_geometry=(("I1", "1024,2,64"),))).records
    assert all("--I1=1024,2,64" in r.runtime_flags for r in small)
    with pytest.raises(BackendError, match="power of two"):
        check_geometry({"I1": "12288,8,64"})
    with pytest.raises(BackendError, match="size,assoc,line"):
        check_geometry({"D1": "32KB"})


def test_a_wrong_result_fails_the_collect(monkeypatch, store):
    """The run's checksum is compared with the catalogue's: a mismatch is an error, not a measurement."""
    import dataclasses

    from hwprof import workloads
    from hwprof.collect import CollectError

    real = workloads.resolve
    monkeypatch.setattr(workloads, "resolve",
                        lambda name, size, opt="-O2": dataclasses.replace(real(name, size, opt), expected="42"))
    with pytest.raises(CollectError, match="wrong result: checksum 1151.8518421052634 differs from the expected 42"):
        collect(CollectConfig("atax", size="mini", results=store, repetitions=1, warmup=0, events=("task_clock",)))
    monkeypatch.setattr(workloads, "resolve", real)
    ok = collect(CollectConfig("atax", size="mini", results=store, repetitions=1, warmup=0, events=("task_clock",)))
    assert ok.records


def test_counting_only_execute_keeps_every_phase_time_in_one_process(wasm_2mm_mini, store):
    """count_phases=("execute",): one process per repetition, counters in execute only, wall times for all phases."""
    result = collect(CollectConfig(str(wasm_2mm_mini), results=store, repetitions=1, warmup=0,
                                   events=("task_clock",), count_phases=("execute",)))
    ok = {(r.phase, r.name) for r in result.records if r.status == schema.OK}
    assert {("bootstrap", "wall_time"), ("compile", "wall_time"), ("instantiate", "wall_time"),
            ("execute", "wall_time"), ("execute", "task_clock")} <= ok
    assert not {(p, n) for p, n in ok if n != "wall_time" and p != "execute"}
    doc = hwprof.data.store.read_run(result.run_files[0])
    (process,) = doc["timeline"]                     # one measured process ran
    marks = [(p, e) for p, e, _ in process["marks"]]
    assert ("execute", "begin") in marks and ("execute", "end") in marks
    seconds = [s for _, _, s in process["marks"]]
    assert seconds == sorted(seconds) and process["spawn_s"] == 0 < seconds[0] < process["end_s"]
    with pytest.raises(CollectError, match="no phase link"):
        collect(CollectConfig(str(wasm_2mm_mini), results=store, repetitions=1, count_phases=("link",)))


def test_cachegrind_counts_the_same_execute_phase_whatever_else_is_counted(store):
    """Counting only execute must not change what execute counts (callgrind's collection is a toggle: an
    uncounted phase's edges once flipped it, so execute got the gaps between phases instead of the kernel)."""
    def execute_ir(size, phases=()):
        result = collect(CollectConfig("2mm", "wasmtime", size, backend="cachegrind", events=("Ir",), repetitions=1,
                                       warmup=0, results=store, count_phases=phases))
        (ir,) = values(result.records, "execute", "Ir")
        return ir
    everything, only = execute_ir("small"), execute_ir("small", ("execute",))
    assert only == pytest.approx(everything, rel=1e-3)
    # The kernel is what grows: 2mm small does ~30x the work of mini (native: 1.69M vs 53k instructions).
    assert only > 10 * execute_ir("mini", ("execute",))


def test_table_one_on_a_machine_that_counts_none_of_it_still_times_and_says_why(store, monkeypatch):
    """The Table I campaign on an Emerald Rapids VM: no hardware PMU, and a core without IFTAG events.
    Every phase is still timed (one uncounted pass); each column says why it has no value, never 0."""
    from hwprof.backends.perf import probe_pmu
    from hwprof.events import NOT_ON_MICROARCH

    if probe_pmu()[0]:
        pytest.skip("this path is a machine without a hardware PMU; here the PMU counts (Intel events would be "
                    "programmed on another vendor's CPU)")
    monkeypatch.setenv("HWPROF_CPU_ID", "GenuineIntel-6-CF-2")
    result = collect(CollectConfig("2mm", size="mini", results=store, repetitions=1, warmup=0,
                                   events=("dsb_misses", "dsb_miss_rate", "l1i_misses"), count_phases=("execute",)))
    assert result.provenance["event_map"] == "emeraldrapids" and result.provenance["microarch"] == "emeraldrapids"
    by_name = {(r.phase, r.name): r for r in result.records}
    assert {p for p, n in by_name if n == "wall_time"} == {"bootstrap", "compile", "instantiate", "execute"}
    assert all(by_name[(p, "wall_time")].value > 0 for p in ("bootstrap", "compile", "execute"))
    assert by_name[("execute", "IDQ.MITE_UOPS")].status == schema.NOT_SUPPORTED
    assert by_name[("execute", "dsb_miss_rate")].status == schema.UNAVAILABLE
    absent = by_name[("execute", "l1i_misses")]
    assert absent.status == schema.UNAVAILABLE and absent.value is None and absent.note.startswith(NOT_ON_MICROARCH)
