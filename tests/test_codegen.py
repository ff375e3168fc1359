"""Machine code extraction and code metrics (hwprof.codegen): real compilers, hand-checkable answers."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest
import wasmtime

from hwprof.codegen import artefacts, metrics
from hwprof.codegen.artefacts import ArtefactError

pytestmark = pytest.mark.quick
X86_HOST = pytest.mark.skipif(platform.machine() != "x86_64", reason="the wasmtime package compiles for its host "
                              "ISA only; these answers are x86-64 code")

WAT = """(module
  (memory (export "memory") 1)
  (func $add (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
  (func $loadadd (export "loadadd") (param i32 i32) (result i32) local.get 0 i32.load local.get 1 i32.add)
  (func $max (export "max") (param i32 i32) (result i32)
    local.get 0 local.get 1 i32.lt_s if (result i32) local.get 1 else local.get 0 end))"""


def x86(code: bytes, address: int = 0) -> list[metrics.Instruction]:
    return metrics.disassemble(code, "x86_64", address)


@X86_HOST
def test_wasmtime_artefacts_name_each_wasm_function_and_keep_stubs_apart():
    wasm = wasmtime.wat2wasm(WAT)
    cranelift = artefacts.wasmtime_artefact(wasm, "cranelift")
    assert [f.label for f in cranelift.wasm_functions()] == ["add", "loadadd", "max"]
    assert any(f.kind == "other" for f in cranelift.functions)           # trampolines, reported apart
    add = [i.mnemonic for i in x86(cranelift.function("add").code)]
    assert "lea" in add or "add" in add
    most = metrics.function_metrics(cranelift.function("max"), "x86_64")
    assert most["conditional_branches"] == 1 and most["setcc_branch_sequences"] == 0   # cmp + jl, no setcc chain
    assert metrics.function_metrics(cranelift.function("loadadd"), "x86_64")["loads"] >= 1
    winch = artefacts.wasmtime_artefact(wasm, "winch")
    for name in ("add", "loadadd", "max"):
        single_pass = metrics.function_metrics(winch.function(name), "x86_64")
        optimised = metrics.function_metrics(cranelift.function(name), "x86_64")
        # Winch keeps every local in its stack frame: spills that Cranelift's register allocator avoids.
        assert single_pass["instructions"] > optimised["instructions"] and single_pass["stores"] > optimised["stores"]


@X86_HOST
def test_a_module_without_names_labels_functions_by_index_and_an_unknown_name_is_one_line():
    wasm = wasmtime.wat2wasm("(module (func (export \"f\") (result i32) i32.const 7))")
    art = artefacts.wasmtime_artefact(wasm)
    assert [f.label for f in art.wasm_functions()] == ["function[0]"] and art.function("function[0]").index == 0
    with pytest.raises(ArtefactError, match=r"has no function 'kernel_2mm' \(it has: function\[0\]\)"):
        art.function("kernel_2mm")


def test_another_isa_from_the_wasmtime_package_is_refused_in_one_line():
    other = "aarch64" if platform.machine() == "x86_64" else "x86_64"
    with pytest.raises(ArtefactError, match="this machine's ISA only"):
        artefacts.wasmtime_artefact(b"\0asm\1\0\0\0", arch=other)


def test_rex_prefixes_that_change_nothing():
    bare_mov, wide_mov, byte_sil = x86(bytes.fromhex("4089c0")), x86(bytes.fromhex("4889c0")), x86(bytes.fromhex("4088f0"))
    assert bare_mov[0].rex == 0x40 and metrics.meaningless_rex(bare_mov[0])          # mov eax, eax with a bare REX
    assert wide_mov[0].rex == 0x48 and not metrics.meaningless_rex(wide_mov[0])      # REX.W: a 64-bit move
    assert byte_sil[0].rex == 0x40 and not metrics.meaningless_rex(byte_sil[0])      # mov al, sil needs the REX
    assert metrics.count(bare_mov + wide_mov + byte_sil, "x86_64")["meaningless_rex"] == 1


def test_jumps_that_cross_or_end_on_a_32_byte_boundary():
    jmp = bytes.fromhex("eb00")                                                     # jmp $+2, two bytes
    at = lambda address: metrics.crosses_or_ends(x86(jmp, address)[0], 32)
    assert (at(10), at(30), at(31), at(32)) == (False, True, True, False)          # ends on 31, crosses 31..32
    nops = x86(bytes.fromhex("90" * 30) + jmp)
    assert metrics.count(nops, "x86_64")["jcc_erratum_jumps"] == 1 and metrics.windows(nops, 32) == 1


def test_the_setcc_movzx_test_jcc_chain_and_counts_done_by_hand():
    chain = x86(bytes.fromhex("39d0" "0f9cc0" "0fb6c0" "85c0" "7500" "c3"))   # cmp; setl; movzx; test; jne; ret
    assert [i.mnemonic for i in chain] == ["cmp", "setl", "movzx", "test", "jne", "ret"]
    got = metrics.count(chain, "x86_64")
    assert got["setcc_branch_sequences"] == 1 and got["conditional_branches"] == 1 and got["branches"] == 1
    assert (got["instructions"], got["code_bytes"], got["loads"], got["register_moves"]) == (6, 13, 0, 0)       # 2+3+3+2+2+1 bytes
    memory = metrics.count(x86(bytes.fromhex("0307" "8b07" "8907" "4889d8")), "x86_64")  # add eax,[rdi]; mov eax,[rdi]; mov [rdi],eax; mov rax,rbx
    assert (memory["alu_memory_operand"], memory["loads"], memory["stores"], memory["register_moves"]) == (1, 2, 1, 1)


def test_aarch64_code_from_zig_is_read_and_disassembled(tmp_path):
    src = tmp_path / "f.c"
    src.write_text("long f(long a, long b) { return a > b ? a * 3 : b + 7; }\n")
    obj = tmp_path / "f.o"
    subprocess.run([sys.executable, "-m", "ziglang", "cc", "-target", "aarch64-linux-musl", "-O2", "-c", str(src),
                    "-o", str(obj)], check=True, capture_output=True)
    (f,) = [f for f in artefacts.read_elf_functions(obj.read_bytes()) if f.name == "f"]
    code = metrics.disassemble(f.code, "aarch64", f.address)
    assert code[-1].mnemonic == "ret" and code[-1].ret and {i.size for i in code} == {4}
    assert "cmp" in [i.mnemonic for i in code]
    assert metrics.function_metrics(f, "aarch64")["code_bytes"] == len(f.code) == 4 * len(code)


def test_unreadable_artefacts_are_one_line(tmp_path):
    with pytest.raises(ArtefactError, match="not a readable ELF"):
        artefacts.read_elf_functions(b"not an elf at all")
    exe = tmp_path / "stripped"
    src = tmp_path / "m.c"
    src.write_text("int main(void) { return 0; }\n")
    subprocess.run([sys.executable, "-m", "ziglang", "cc", "-target", "x86_64-linux-musl", "-s", str(src), "-o",
                    str(exe)], check=True, capture_output=True)
    with pytest.raises(ArtefactError, match="stripped"):
        artefacts.read_elf_functions(exe.read_bytes())
    with pytest.raises(ArtefactError, match="not aarch64 code"):
        metrics.disassemble(bytes.fromhex("ffffffff" "00"), "aarch64")
