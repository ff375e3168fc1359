"""Dynamic code metrics (hwprof.codegen.dynamic): a run's per-instruction counts moved onto an artefact's addresses,
checked by hand on real compiled code and end to end on 2mm mini under callgrind (wasm2c-llvm, wasmtime)."""

from __future__ import annotations

import platform
import shutil
from dataclasses import replace

import pytest
import wasmtime

from hwprof import workloads
from hwprof.codegen import artefacts, dynamic, hot, metrics, run
from hwprof.codegen.artefacts import ArtefactError
from hwprof.codegen.callgrind import Jump, Profile
from hwprof.codegen.sources import Subject, artefact

VALGRIND = pytest.mark.skipif(shutil.which("valgrind") is None,
                              reason="valgrind is not installed (apt-get install valgrind)")
X86 = pytest.mark.skipif(platform.machine() != "x86_64", reason="the hand-made profiles are of x86-64 code")
WAT = """(module
  (func $loop (export "loop") (param i32) (result i32) (local i32)
    (block (loop local.get 1 local.get 0 i32.add local.set 1
      local.get 0 i32.const 1 i32.sub local.tee 0 br_if 0))
    local.get 1)
  (func $small (export "small") (param i32) (result i32) local.get 0 i32.const 1 i32.add))"""
RUN_BASE = 0x7F0000100000           # where a hand-made run "loaded" the JIT code


@pytest.fixture(scope="module")
def jit_art():
    return artefacts.wasmtime_artefact(wasmtime.wat2wasm(WAT))


def _decoded(f, arch="x86_64"):
    return metrics.disassemble(f.code, arch, f.address)


def _jit_profile(art, shift: int = 0, jumps=()):
    """A run of function 'loop' where its every instruction ran 3 times, its code at RUN_BASE (its first
    instruction of over one byte `shift` bytes on)."""
    f = art.function("loop")
    moved = next(i for i in _decoded(f) if i.size > 1)
    by = {i.address - f.address + RUN_BASE + (shift if i.address == moved.address else 0): 3 for i in _decoded(f)}
    mf = hot.ModuleFunction(f.index, "loop", sum(by.values()), by, RUN_BASE)
    return hot.ExecuteProfile("wasmtime", Profile(("Ir",), {}, list(jumps)), [mf])


@pytest.mark.quick
@X86
def test_jit_counts_move_by_offset_from_the_run_start_onto_the_artefact(jit_art):
    f = jit_art.function("loop")
    back = next(i for i in _decoded(f) if i.jump and i.target is not None and i.target < i.address)
    run_of = lambda a: a - f.address + RUN_BASE       # noqa: E731
    counts = dynamic.executions(_jit_profile(jit_art, jumps=[Jump(run_of(back.address), run_of(back.target), 2, 3)]),
                                jit_art)
    assert counts == {i.address: 3 for i in _decoded(f)}
    assert dynamic.ran(jit_art, counts) == [f]
    weighted = metrics.weighted(_decoded(f), counts, "x86_64", metrics.Context.of(jit_art))
    static = metrics.function_metrics(f, "x86_64", metrics.Context.of(jit_art))
    assert weighted["instructions"] == 3 * static["instructions"] and weighted["windows_32"] is None


@pytest.mark.quick
@X86
def test_jit_code_that_is_not_the_artefacts_is_refused(jit_art):
    f = jit_art.function("loop")
    with pytest.raises(ArtefactError, match="no instruction starts"):
        dynamic.executions(_jit_profile(jit_art, shift=1), jit_art)       # one byte off: not its instruction
    with pytest.raises(ArtefactError, match="outside its"):
        dynamic.executions(_jit_profile(jit_art, shift=len(f.code)), jit_art)
    back = next(i for i in _decoded(f) if i.jump and i.target is not None)
    source = back.address - f.address + RUN_BASE
    with pytest.raises(ArtefactError, match="not the same code"):     # a jump to elsewhere than the artefact's
        dynamic.executions(_jit_profile(jit_art, jumps=[Jump(source, RUN_BASE + 1, 1, 1)]), jit_art)
    first = _decoded(f)[0]
    if not first.jump:
        with pytest.raises(ArtefactError, match="not the same code"):     # a jump where the artefact has none
            dynamic.executions(_jit_profile(jit_art, jumps=[Jump(RUN_BASE, RUN_BASE, 1, 1)]), jit_art)
    with pytest.raises(ArtefactError, match="cannot weigh"):
        dynamic.executions(replace(_jit_profile(jit_art), target="wasmtime-winch"), jit_art)


@pytest.mark.quick
@X86
def test_a_linked_program_maps_by_its_symbols_and_keeps_apart_what_the_artefact_does(jit_art):
    f = jit_art.function("loop")
    other = next(g for g in jit_art.functions if g.kind != "wasm")
    # The "program": the artefact's own code linked elsewhere, under symbol names, and one symbol kept apart.
    linked = replace(f, name="w2c_workload_loop", kind="other", index=-1, address=0x401000)
    stub = replace(other, address=0x402000)
    by = {i.address - f.address + 0x401000: 5 for i in _decoded(f)} | {0x402000: 7}
    mf = hot.ModuleFunction(f.index, "loop", sum(by.values()), by)
    profile = hot.ExecuteProfile("wasm2c-llvm", Profile(("Ir",), {}), [mf], (linked, stub))
    art = replace(jit_art, target="wasm2c-llvm")
    assert dynamic.executions(profile, art) == {i.address: 5 for i in _decoded(f)}   # the stub's 7 stay apart
    changed = replace(linked, code=bytes([0x90]) + f.code[1:])                     # the program's code differs
    with pytest.raises(ArtefactError, match="instructions differ"):
        dynamic.executions(replace(profile, program=(changed, stub)), art)
    with pytest.raises(ArtefactError, match="stripped"):
        dynamic.executions(replace(profile, program=()), art)


@pytest.mark.quick
def test_native_is_refused_saying_why():
    with pytest.raises(ArtefactError, match="stripped"):
        dynamic.supported("native")
    with pytest.raises(ArtefactError, match="made for: wasmtime"):
        dynamic.supported("node")


@pytest.mark.quick
def test_dynamic_rows_are_stored_apart_and_the_report_reads_static_rows_only(tmp_path):
    from hwprof.data.store import ResultStore, load_results
    from hwprof.report.codegen import code_rows

    w = workloads.resolve("2mm", "mini")
    rows = [{"target": "wasmtime", "scope": s, "function": fn, "index": 55, "weighting": weighting,
             "instructions": n} for s, fn, weighting, n in (("module", "", "static", 600.0),
                                                            ("function", "main", "static", 500.0),
                                                            ("module", "", "dynamic", 9e4),
                                                            ("function", "main", "dynamic", 8e4))]
    result = run.CodegenResult(rows, "main", "asked for", {"wasmtime": "strategy=cranelift"},
                               subject=Subject(w.program, w))
    records = run.records(result, run.CodegenConfig("2mm", "mini"), {"wasmtime": "1"})
    assert [r.scope for r in records] == ["module", "function=main", "dynamic;module", "dynamic;function=main"]
    # Another target of which only dynamic rows were kept: none of them is read.
    winch = [replace(r, runtime="wasmtime-winch") for r in records if r.scope.startswith(run.DYNAMIC)]
    ResultStore(tmp_path).write_run("s1", {"backend": "codegen"}, records + winch)
    code = code_rows(load_results(tmp_path))
    assert list(code["runtime"]) == ["wasmtime"]
    assert list(code["scope"]) == ["function=main"] and list(code["value"]) == [500.0]


# --- end to end: 2mm mini under callgrind (one valgrind run per target: a few seconds for wasm2c, ~1 min for
# --- wasmtime's Python host)

@pytest.fixture(scope="module")
def subject():
    w = workloads.resolve("2mm", "mini")
    return Subject(w.program, w)


def _check(subject, target: str):
    profile = dynamic.profile(subject, target)
    art = dynamic.weighed_artefact(target, subject, artefact(target, subject))   # a JIT's: its baseline build
    counts = dynamic.executions(profile, art)
    top = profile.functions[0]
    f = next(g for g in art.wasm_functions() if g.index == top.index)
    code = _decoded(f, art.arch)
    context = metrics.Context.of(art)
    dyn, static = metrics.weighted(code, counts, art.arch, context), metrics.count(code, art.arch, context)
    # Every instruction of the hottest function the run counted is weighed: its callgrind count, exactly.
    assert dyn["instructions"] == top.count == sum(n for a, n in counts.items() if f.address <= a < f.address
                                                   + len(f.code))
    starts = {i.address for g in art.wasm_functions() for i in _decoded(g, art.arch)}
    assert counts and set(counts) <= starts
    assert dyn["loads"] <= dyn["instructions"] and dyn["branches"] <= dyn["instructions"]
    assert dyn["instructions"] / static["instructions"] > 10            # the kernel's loops ran many times
    # The hottest loop's back edge: the artefact's jump there ran as often as callgrind saw that jump executed
    # (summed over its records: valgrind keeps one per superblock the jump was translated in).
    loop = hot.hottest_loop(profile, top)
    executed = sum(j.executed for j in profile.profile.jumps if (j.source, j.target) == (loop.end, loop.start))
    at = loop.end - (top.start if top.start is not None else _program_start(profile, loop.end)) + f.address
    assert counts[at] == executed > 100 and next(i for i in code if i.address == at).jump
    row = run.module_weighted(art, counts)
    assert row["instructions"] == sum(counts.values()) >= dyn["instructions"]
    return profile, art, counts


def _program_start(profile, address: int) -> int:
    return next(e.address for e in profile.program if e.address <= address < e.address + len(e.code))


@pytest.mark.quick          # valgrind for a few seconds
@VALGRIND
def test_wasm2c_llvm_2mm_weighted_by_its_run(subject):
    profile, art, counts = _check(subject, "wasm2c-llvm")
    assert profile.program                          # the executable's symbols, read before its run's folder went


@VALGRIND
@pytest.mark.skipif(platform.machine() not in artefacts.ARCHES, reason="wasmtime compiles no code of this ISA")
def test_wasmtime_2mm_weighted_by_its_run(subject):
    _check(subject, "wasmtime")


@pytest.mark.quick
@VALGRIND
def test_codegen_dynamic_rows_beside_static_ones_and_native_said_unavailable():
    # wasm2c-llvm inlines the kernel (main) into _start, which the native build does not have as a function.
    config = run.CodegenConfig("2mm", "mini", ("wasm2c-llvm", "native"), "_start", dynamic=True)
    result = run.run(config)
    kinds = [(r["target"], r["scope"], r["weighting"]) for r in result.rows]
    assert kinds == [("wasm2c-llvm", "module", "static"), ("wasm2c-llvm", "function", "static"),
                     ("native", "module", "static"),
                     ("wasm2c-llvm", "module", "dynamic"), ("wasm2c-llvm", "function", "dynamic")]
    assert result.unavailable["native (dynamic)"] == dynamic.NATIVE
    module, function = result.rows[3], result.rows[4]
    assert module["ran_functions"] >= 1 and module["windows_32"] is None and "apart_bytes" not in module
    assert module["instructions"] >= function["instructions"] > 10 * result.rows[1]["instructions"]


@pytest.mark.quick
@VALGRIND
def test_the_command_shows_dynamic_tables_after_static_ones():
    from typer.testing import CliRunner

    from hwprof.cli import app

    assert "--dynamic" in CliRunner().invoke(app, ["codegen", "--help"]).output
    done = CliRunner().invoke(app, ["codegen", "2mm", "--size", "mini", "-r", "wasm2c-llvm", "-r", "native",
                                    "--function", "_start", "--dynamic"])
    assert done.exit_code == 0, done.output
    out = done.output
    titles = [out.index(t) for t in ("module: the module's own", "function _start (asked for)\n",
                                      "module: the module's own compiled functions; dynamic",
                                      "function _start (asked for); dynamic")]
    assert titles == sorted(titles)
    assert "ran_functions" in out and f"unavailable: native (dynamic): {dynamic.NATIVE}" in out
