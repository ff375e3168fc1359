"""The embedded Wasmtime targets and the native floor: smoke workloads, warm mode, and failures."""

from __future__ import annotations

import re

import pytest
import wasmtime

from hwprof.collect import CollectConfig, CollectError, collect
from hwprof.data import schema

TARGETS = ("wasmtime", "wasmtime-winch", "wasmtime-aot", "native")


def walls(records, phase):
    return [r for r in records if r.phase == phase and r.name == "wall_time"]


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("workload", ["2mm", "gemm", "atax"])
def test_smoke_workloads_give_the_native_checksum(target, workload, store):
    """collect compares every run's checksum with the catalogue's (the native build's): a mismatch fails."""
    result = collect(CollectConfig(workload, runtime=target, size="mini", results=store, repetitions=1, warmup=0,
                                   events=("task_clock",)))
    assert result.records and {r.runtime for r in result.records} == {target}
    assert walls(result.records, "execute")
    assert all(r.runtime_version for r in result.records)


def test_aot_compile_is_measured_apart_and_the_run_only_loads(store):
    recs = collect(CollectConfig("2mm", runtime="wasmtime-aot", size="small", results=store, repetitions=2,
                                 warmup=0, events=("task_clock",))).records
    aot = [r.value for r in walls(recs, "aot_compile")]
    load = [r.value for r in walls(recs, "compile")]
    assert len(aot) == len(load) == 2
    assert max(load) * 5 < min(aot)     # deserializing is far cheaper than compiling


def test_winch_compiles_faster_and_runs_slower_than_cranelift(store):
    def phase(target, name):
        recs = collect(CollectConfig("2mm", runtime=target, size="small", results=store, repetitions=3, warmup=0,
                                     events=("task_clock",))).records
        return min(r.value for r in walls(recs, name))
    assert phase("wasmtime-winch", "compile") < phase("wasmtime", "compile")
    assert phase("wasmtime-winch", "execute") > phase("wasmtime", "execute")


@pytest.mark.parametrize("target", ["wasmtime", "wasmtime-aot"])
def test_warm_mode_compiles_once_and_runs_n_invocations(target, store):
    recs = collect(CollectConfig("atax", runtime=target, size="mini", results=store, repetitions=1, warmup=0,
                                 events=("task_clock",), mode="warm", invocations=7)).records
    assert len(walls(recs, "compile")) == 1
    assert len(walls(recs, "instantiate")) == 7 and len(walls(recs, "execute")) == 7
    assert sorted(r.iteration for r in walls(recs, "execute")) == list(range(7))
    counted = [r for r in recs if r.phase == "execute" and r.name == "task_clock"]
    assert counted and counted[0].iteration == -1 and "mean per invocation" in counted[0].note
    assert {r.invocation for r in recs} == {"warm"}


def test_native_has_no_warm_mode(store):
    with pytest.raises(CollectError, match="native has no warm mode"):
        collect(CollectConfig("atax", runtime="native", size="mini", results=store, mode="warm"))


# Grows one page at a time until refused, then exits with its size in pages: 4 MiB = 64 pages.
HUNGRY = """(module (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start") (loop (br_if 0 (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
    (call $exit (memory.size))))"""


@pytest.mark.parametrize("target", ["wasmtime", "wasmtime-winch", "wasmtime-aot"])
@pytest.mark.parametrize("case, extra, message", [
    ("trap", {}, "wasm trap"),
    ("forever", {"timeout": 3}, "timed out after 3 s"),
    ("hungry", {"memory_limit": 4 << 20}, "the module exited with status 64"),
])
def test_failures_end_with_the_right_status(target, case, extra, message, bad_modules, store, tmp_path):
    if case == "hungry":
        path = tmp_path / "hungry.wasm"
        path.write_bytes(wasmtime.wat2wasm(HUNGRY))
    else:
        path = bad_modules[case]
    with pytest.raises(CollectError, match=message):
        collect(CollectConfig(str(path), runtime=target, results=store, repetitions=1, warmup=0,
                              events=("task_clock",), **extra))
    errors = [r for r in collect_errors(store)]
    assert errors and all(r["status"] == schema.ERROR and re.search(message, r["note"]) for r in errors)


def collect_errors(store):
    import hwprof

    frame = hwprof.load_results(store)
    return frame[frame.name == "error"].to_dict("records")
