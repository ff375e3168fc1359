"""The wasmer target (wasmer-sdk, native Wasmer with Cranelift) end to end on this machine: perf, cachegrind,
the CLI's one-line errors, warm mode, memory limits and folders."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import wasmtime
from typer.testing import CliRunner

from hwprof.cli import app
from hwprof.collect import CollectConfig, collect
from hwprof.data import schema
from hwprof.data.store import read_run
from hwprof.runtimes import get

pytest.importorskip("wasmer_sdk", reason="wasmer-sdk is not installed: pip install wasmer-sdk")

ENTRY_CALL = "sdk-run"   # one SDK call: WASI set-up, instantiation and _start
# 1 GiB in one memory.grow; a refused grow (-1) traps.
BIG_GROW = """
(module
  (memory (export "memory") 1)
  (func (export "_start")
    (if (i32.eq (memory.grow (i32.const 16384)) (i32.const -1)) (then unreachable))))
"""
# 1 MiB at a time until memory.grow refuses, then a trap: fills up to the limit.
GROW_UNTIL_REFUSED = """
(module
  (memory (export "memory") 1)
  (func (export "_start")
    (loop $more (br_if $more (i32.ne (memory.grow (i32.const 16)) (i32.const -1))))
    unreachable))
"""
# 20 million iterations of a few instructions in _start: the kernel runs in an SDK thread, not the host's.
LOOP = """
(module
  (memory (export "memory") 1)
  (func (export "_start") (local $i i32)
    (local.set $i (i32.const 20000000))
    (loop $again
      (local.set $i (i32.sub (local.get $i) (i32.const 1)))
      (br_if $again (local.get $i)))))
"""


def values(records, phase, name):
    return [r.value for r in records if r.phase == phase and r.name == name and r.status == schema.OK]


def wat(tmp: Path, name: str, text: str) -> Path:
    path = tmp / f"{name}.wasm"
    path.write_bytes(wasmtime.wat2wasm(text))
    return path


def cli(*args):
    return CliRunner().invoke(app, ["collect", "--runtime", "wasmer", "-n", "1", "--warmup", "0", "-q",
                                    "-e", "task_clock", *map(str, args)])


def one_error(res) -> str:
    errors = [ln for ln in res.output.splitlines() if ln.startswith("hwprof: error:")]
    assert res.exit_code != 0 and len(errors) == 1, res.output
    return errors[0]


@pytest.mark.parametrize("workload", ["2mm", "gemm", "atax"])
def test_smoke_workloads_give_the_expected_checksum_with_perf(workload, store):
    """collect fails on a wrong checksum, so a result is a right one; phases are what the SDK separates."""
    result = collect(CollectConfig(workload, runtime="wasmer", size="mini", results=store, repetitions=1, warmup=0,
                                   events=("task_clock",)))
    recs = result.records
    assert {r.phase for r in recs} == {"bootstrap", "compile", "execute"}
    assert {r.boundary for r in recs if r.phase == "execute"} == {ENTRY_CALL}
    assert {r.boundary for r in recs if r.phase == "compile"} == {"host-call"}
    version = get("wasmer").probe()
    assert all(r.runtime_version == version and "compiler=cranelift" in r.runtime_flags
               and "-DHWPROF_WASI_MARKERS" in r.runtime_flags for r in recs)
    # Cranelift compiling takes tens of ms; an SDK run of a MINI kernel (with instantiation) about one.
    compile_, execute = values(recs, "compile", "task_clock"), values(recs, "execute", "task_clock")
    assert compile_ and execute and execute[0] * 3 < compile_[0]


def test_every_thread_stays_on_the_measured_cpu(store):
    result = collect(CollectConfig("2mm", runtime="wasmer", size="mini", results=store, repetitions=1, warmup=0,
                                   cpu=0, events=("task_clock", "cpu_migrations")))
    pin = read_run(result.run_files[0])["provenance"]["pinning"]
    assert pin["affinity"] == [0] and len(pin["threads"]) > 1 and set(pin["threads"].values()) == {"0"}
    assert values(result.records, "execute", "cpu_migrations") == [0.0]


def test_cachegrind_counts_the_phases_and_the_sdk_threads(store, tmp_path):
    """Callgrind toggles collection per thread; the SDK compiles and runs in its own threads, whose costs the
    per-phase dumps still hold: compile dwarfs a MINI run, and a 20M-iteration loop lands in execute."""
    recs = collect(CollectConfig("2mm", runtime="wasmer", size="mini", backend="cachegrind", results=store,
                                 repetitions=1, warmup=0, events=("Ir", "D1mr"))).records
    boot, comp, run = (values(recs, p, "Ir") for p in ("bootstrap", "compile", "execute"))
    assert boot and comp and run and boot[0] > comp[0] > 10 * run[0] > 0
    assert values(recs, "execute", "D1mr")[0] > 0
    loop = collect(CollectConfig(str(wat(tmp_path, "loop", LOOP)), runtime="wasmer", backend="cachegrind",
                                 results=store, repetitions=1, warmup=0, events=("Ir",))).records
    assert values(loop, "execute", "Ir")[0] > 40e6 > 10 * run[0]


def test_warm_mode_compiles_once_and_runs_each_invocation(store):
    result = collect(CollectConfig("atax", runtime="wasmer", size="mini", results=store, repetitions=1, warmup=0,
                                   mode="warm", invocations=4, events=("task_clock",)))
    recs = result.records
    assert len([r for r in recs if r.phase == "execute" and r.name == "wall_time"]) == 4
    assert len([r for r in recs if r.phase == "compile" and r.name == "wall_time"]) == 1
    assert sorted(r.iteration for r in recs if r.phase == "execute" and r.name == "wall_time") == [0, 1, 2, 3]
    assert "warm: 4 invocations per process" in recs[0].runtime_flags
    counted = [r for r in recs if r.phase == "execute" and r.name == "task_clock"]
    assert counted and counted[0].iteration == -1 and "4 warm invocations" in counted[0].note


def test_bad_modules_end_with_one_line(bad_modules, wasm_2mm_mini, tmp_path):
    store = tmp_path / "results"
    assert "execute failed: RuntimeError: unreachable" in one_error(cli(bad_modules["trap"], "--results", store))
    assert "timed out after 2 s" in one_error(cli(bad_modules["forever"], "--timeout", "2", "--results", store))
    assert "require an exported `_start`" in one_error(cli(bad_modules["no_start"], "--results", store))
    assert "compile failed" in one_error(cli(bad_modules["truncated"], "--results", store))
    # The plain build imports bench.start, which the SDK cannot provide.
    line = one_error(cli(wasm_2mm_mini, "--results", store))
    assert '"bench"."start": unknown import' in line and "cannot define host functions" in line


def test_memory_limit_refuses_growth_beyond_it(tmp_path):
    store = tmp_path / "results"
    big = wat(tmp_path, "big", BIG_GROW)
    assert cli(big, "--results", store).exit_code == 0          # 1 GiB is within the default 4 GiB
    line = one_error(cli(big, "--memory-limit", "64MiB", "--results", store))
    assert "execute failed: RuntimeError: unreachable" in line
    greedy = wat(tmp_path, "greedy", GROW_UNTIL_REFUSED)
    line = one_error(cli(greedy, "--memory-limit", "64MiB", "--timeout", "60", "--results", store))
    assert "execute failed: RuntimeError: unreachable" in line


def test_a_module_sees_only_the_folders_it_is_given(tmp_path):
    wasm = tmp_path / "read_file.wasm"
    src = Path(__file__).parent / "data" / "read_file.c"
    subprocess.run([sys.executable, "-m", "ziglang", "cc", "--target=wasm32-wasi", "-O2", "-s", "-o", str(wasm),
                    str(src)], check=True)
    folder = tmp_path / "share"
    folder.mkdir()
    (folder / "in.txt").write_text("12345")
    store = tmp_path / "results"
    assert "the module exited with status 1" in one_error(cli(wasm, "--results", store))
    assert cli(wasm, "--dir", f"{folder}:/data", "--results", store).exit_code == 0
