"""`hwprof codegen` through the command line: rows per target and scope, tables, bad input in one line each."""

from __future__ import annotations

import json
import platform

import pytest
import wasmtime
from typer.testing import CliRunner

from hwprof.cli import app
from hwprof.codegen import metrics
from hwprof.codegen.metrics import METRICS

pytestmark = [pytest.mark.quick,
              pytest.mark.skipif(platform.machine() != "x86_64", reason="answers checked on x86-64 code")]
WAT = """(module
  (memory (export "memory") 1)
  (func $small (export "small") (param i32) (result i32) local.get 0 i32.const 1 i32.add)
  (func $loop (export "loop") (param i32) (result i32) (local i32)
    (block (loop local.get 1 local.get 0 i32.add local.set 1
      local.get 0 i32.const 1 i32.sub local.tee 0 br_if 0))
    local.get 1))"""


@pytest.fixture
def module(tmp_path):
    path = tmp_path / "two.wasm"
    path.write_bytes(wasmtime.wat2wasm(WAT))
    return path


def invoke(*args):
    return CliRunner().invoke(app, ["codegen", *map(str, args)])


def test_json_rows_are_one_per_target_and_scope_with_every_metric(module):
    done = invoke(module, "-r", "wasmtime", "-r", "wasmtime-winch", "--function", "loop", "--json")
    assert done.exit_code == 0, done.output
    rows = json.loads(done.stdout)
    assert [(r["target"], r["scope"], r["function"]) for r in rows] == [
        ("wasmtime", "module", ""), ("wasmtime", "function", "loop"),
        ("wasmtime-winch", "module", ""), ("wasmtime-winch", "function", "loop")]
    for r in rows:
        assert set(METRICS) <= set(r)
    by = {(r["target"], r["scope"]): r for r in rows}
    # The module row is the sum of the module's own two functions (stubs apart), for counts that add up.
    from hwprof.codegen import artefacts
    art = artefacts.wasmtime_artefact(module.read_bytes())
    per_function = [metrics.function_metrics(f, "x86_64") for f in art.wasm_functions()]
    for key in ("instructions", "code_bytes", "loads", "stores", "branches"):
        assert by["wasmtime", "module"][key] == sum(m[key] for m in per_function)
    assert by["wasmtime", "module"]["apart_functions"] == len([f for f in art.functions if f.kind != "wasm"]) > 0
    assert by["wasmtime-winch", "function"]["instructions"] > by["wasmtime", "function"]["instructions"]


def test_the_table_shows_each_target_and_a_function_is_chosen_and_said_how(module, tmp_path):
    done = invoke(module, "-r", "wasmtime", "--csv", tmp_path / "rows.csv", "--markdown", tmp_path / "rows.md")
    assert done.exit_code == 0, done.output
    assert "wasmtime: strategy=cranelift opt_level=speed" in done.stdout
    assert "module: the module's own compiled functions" in done.stdout
    assert "function loop (" in done.stdout or "function small (" in done.stdout
    assert (tmp_path / "rows.csv").read_text().startswith("target,scope,function,index,")
    assert "| instructions |" in (tmp_path / "rows.md").read_text()


def test_bad_input_is_one_line_each(module, tmp_path):
    unnamed = tmp_path / "unnamed.wasm"
    unnamed.write_bytes(wasmtime.wat2wasm("(module (func (export \"f\") (result i32) i32.const 7))"))
    cases = [
        ((module, "-r", "wasmtime", "-f", "nope"), "wasmtime has no function 'nope' (it has: small, loop)"),
        ((module, "-r", "wasmtime-pulley"), "wasmtime-pulley: wasmtime-pulley runs Pulley bytecode"),
        ((module, "-r", "no-such-target"), "no code source for target 'no-such-target'"),
        ((module, "--diff", "wasmtime"), "--diff 'wasmtime': give two targets"),
        ((tmp_path / "missing.wasm",), "missing.wasm: no such file"),
        (("2mm", "--opt", "-O7"), "unknown optimisation level '-O7'"),
        ((module, "--opt-level", "fast"), "--opt-level 'fast': not a Cranelift opt level"),
        ((module, "-r", "wasmtime", "--arch", "sparc"), "unknown ISA 'sparc'"),
        ((unnamed, "-r", "wasmtime", "-f", "f"), "has no function 'f' (it has: function[0])"),
    ]
    for args, message in cases:
        done = invoke(*args)
        assert done.exit_code == 2, (args, done.output)
        lines = done.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("hwprof: error:") and message in lines[0], (args, done.output)


def test_a_module_without_names_is_shown_by_index(tmp_path):
    unnamed = tmp_path / "unnamed.wasm"
    unnamed.write_bytes(wasmtime.wat2wasm("(module (func (export \"f\") (result i32) i32.const 7))"))
    done = invoke(unnamed, "-r", "wasmtime", "-f", "function[0]", "--json")
    assert done.exit_code == 0, done.output
    assert [r["function"] for r in json.loads(done.stdout) if r["scope"] == "function"] == ["function[0]"]


def test_a_constant_pool_after_the_code_is_not_read_as_instructions():
    # mov eax, [rip+2]; ret; then a 4-byte constant the code reads (ff ff ff ff), as Cranelift lays out its pool.
    code = bytes.fromhex("8b0502000000" "c3" "00" "ffffffff")
    listed = [i.mnemonic for i in metrics.disassemble(code, "x86_64")]
    assert listed == ["mov", "ret"]


def test_rows_kept_in_a_store_are_the_reports_codegen_section(tmp_path):
    from hwprof.data.store import load_results
    from hwprof.report import build_report

    store = tmp_path / "store"
    done = invoke("2mm", "--size", "mini", "-r", "wasmtime", "-r", "wasmtime-winch", "--results", store, "--json")
    assert done.exit_code == 0, done.output
    rows = json.loads(done.stdout)
    frame = load_results(store)
    assert set(frame["backend"]) == {"codegen"} and set(frame["phase"]) == {"compile"}
    kept = frame.set_index(["runtime", "scope", "name"])["value"]
    for r in rows:
        scope = "module" if r["scope"] == "module" else f"function={r['function']}"
        assert kept[r["target"], scope, "instructions"] == r["instructions"]
    out = build_report(frame, tmp_path / "report", names=["codegen", "codegen_rank"])
    section = {s.name: s for s in out.sections}
    assert not section["codegen"].missing and set(section["codegen"].table["target"]) == {"wasmtime", "wasmtime-winch"}
    assert "no execute-time ratios" in section["codegen_rank"].missing      # nothing was timed: said, not invented


def test_a_jump_table_among_the_code_is_stepped_over_and_lea_of_the_own_address_marks_nothing():
    # lea rcx,[rip+9] -> the table at 0x10; movsxd; add; jmp rax; the table: +8 (-> 0x18, right after it) and
    # -0x10 (-> 0x0: a case may jump back, as Winch's default does); then ret; lea rax,[rip] (V8's idiom); ret.
    code = bytes.fromhex("488d0d09000000" "48630481" "4801c8" "ffe0" "08000000" "f0ffffff" "c3" "488d0500000000" "c3")
    listed = [(i.address, i.mnemonic) for i in metrics.disassemble(code, "x86_64")]
    assert listed == [(0x0, "lea"), (0x7, "movsxd"), (0xB, "add"), (0xE, "jmp"), (0x18, "ret"), (0x19, "lea"),
                      (0x20, "ret")]


def test_every_compiled_function_of_bundled_modules_decodes_to_its_end_on_instruction_starts():
    """Wasmtime's address map names instruction starts: every one inside a function is one the sweep decoded."""
    from hwprof import workloads
    from hwprof.codegen import artefacts

    wasm = workloads.build("2mm", "mini").program.read_bytes()
    for strategy in ("cranelift", "winch"):
        art = artefacts.wasmtime_artefact(wasm, strategy)
        for f in art.wasm_functions():
            starts = {i.address for i in metrics.disassemble(f.code, "x86_64", f.address)}
            mapped = {offset for offset, wasm in f.wasm_offsets if wasm is not None}   # (the end has none)
            assert mapped <= starts, (strategy, f.label, sorted(mapped - starts)[:5])


def test_rex_is_read_from_the_bytes_so_vex_code_carries_none():
    listing = metrics.disassemble(bytes.fromhex("c5e358dc" "4088740802" "4089f0" "4889f0"), "x86_64")
    # vaddsd (VEX: no REX, though capstone reports 0x40), mov [..], sil (REX needed), rex mov eax,esi (the study's
    # meaningless REX), mov rax, rsi (REX.W).
    assert [i.rex for i in listing] == [0, 0x40, 0x40, 0x48]
    assert [metrics.meaningless_rex(i) for i in listing] == [False, False, True, False]


def test_the_readme_defines_every_metric_in_the_words_of_metrics():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    missing = [k for k, v in METRICS.items() if f"| `{k}` | {v} |" not in readme]
    assert not missing, f"README's metric table lacks or words differently: {missing}"


def test_vex_stores_are_stores_and_vex_loads_loads():
    # vmovsd [rax], xmm0; vmovaps [rsp+0x10], xmm3; movsd [rax], xmm0; vmovsd xmm0, [rax]; movsb (reads and writes)
    listing = metrics.disassemble(bytes.fromhex("c5fb1100" "c5f8295c2410" "f20f1100" "c5fb1000" "a4"), "x86_64")
    assert [(i.reads_memory, i.writes_memory) for i in listing] == [(False, True)] * 3 + [(True, False), (True, True)]
