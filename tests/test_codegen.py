"""Machine code extraction and code metrics (hwprof.codegen): real compilers, hand-checkable answers."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest
import wasmtime

from hwprof.codegen import artefacts, metrics, metrics_flow, metrics_x86
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


def test_another_isa_comes_from_the_wasmtime_cli_and_decodes_to_the_end(monkeypatch):
    other = "aarch64" if platform.machine() == "x86_64" else "x86_64"
    wasm = wasmtime.wat2wasm(WAT)
    for strategy in ("cranelift", "winch"):
        art = artefacts.wasmtime_artefact(wasm, strategy, arch=other)
        assert art.arch == other and "compile (the CLI, not the package" in art.flags
        assert [f.label for f in art.wasm_functions()] == ["add", "loadadd", "max"]
        for f in art.wasm_functions():
            listing = metrics.disassemble(f.code, other, f.address)
            assert listing and all(i.size == 4 for i in listing) == (other == "aarch64")
    # Without the CLI, the package's one ISA is all there is: said in one line, never a crash of the process.
    from hwprof.runtimes import RuntimeTargetError, command_line

    def absent(name):
        raise RuntimeTargetError("wasmtime-cli is not installed")
    monkeypatch.setattr(command_line, "load", absent)
    with pytest.raises(ArtefactError, match="this machine's ISA only .* not usable: wasmtime-cli is not installed"):
        artefacts.wasmtime_artefact(wasm, arch=other)


def test_a_cranelift_literal_pool_on_aarch64_is_not_decoded():
    # ldr d0, #8 (a literal two instructions on); ret; then the 8-byte constant (not instructions).
    code = bytes.fromhex("4000005c" "c0035fd6" "0000000000004540")
    listing = metrics.disassemble(code, "aarch64")
    assert [i.mnemonic for i in listing] == ["ldr", "ret"]


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


def test_setcc_chains_as_winch_liftoff_and_turbofan_make_them_and_what_is_no_chain():
    chains = lambda hexes: metrics.count(x86(bytes.fromhex(hexes)), "x86_64")["setcc_branch_sequences"]
    # Winch at -O2 zeroes first (be0d..be1e): mov eax, [rsp+8]; cmp eax, 0x40; mov eax, 0; setne al; test; jne
    assert chains("8b442408" "83f840" "b800000000" "0f95c0" "85c0" "0f855f000000") == 1
    # Winch at -O0 (c6bc..c6d8): cmp; mov eax, 0; setl al; and eax, 1; cmp eax, 0; mov eax, 0; sete al; test; jne:
    # two setcc, one jcc reached, one count
    assert chains("3bc1" "b800000000" "0f9cc0" "2501000000" "83f800" "b800000000" "0f94c0" "85c0"
                  "0f85b2020000") == 1
    # Liftoff at -O0 (68d..6a0): cmp; setl cl; movzx ecx, cl; and ecx, 1; test ecx, ecx; jne; jmp (no chain's)
    assert chains("3bcb" "0f9cc1" "0fb6c9" "83e101" "85c9" "0f8505000000" "e944010000") == 1
    assert chains("4539c4" "400f96c6" "85f6" "7500") == 1      # TurboFan: cmp r12d, r8d; setbe sil; test esi, esi
    assert chains("0f9cc0" "8b0f" "0fb6c0" "85c0" "7500") == 1  # mov ecx, [rdi] between touches neither: stepped over
    assert chains("413bf8" "7d00") == 0                         # Cranelift: cmp edi, r8d; jge
    # wasm2c-gcc's printf_core: setae [rsp+0x14]; movzx eax, [rsp+0x14]; test r12d, 0x2000; jne: no register made
    assert chains("0f93442414" "0fb6442414" "41f7c400200000" "7500") == 0
    assert chains("0f9cc0" "0fb6c0" "85c9" "7500") == 0         # the test reads ecx, not the setcc's eax
    assert chains("0f9cc0" "eb00" "85c0" "7500") == 0           # another branch between
    assert chains("0f9cc0" "7c00") == 0                         # setl al; jl: the jcc reads the compare, not al
    assert chains("0f9cc0" "0fb6c0" "85c0" "83c101" "7500") == 0   # add ecx, 1 rewrites the flags after the test
    assert chains("0f9cc0" "83c001" "85c0" "7500") == 0         # add eax, 1 changes the value: no chain


def test_register_moves_leave_the_frame_and_zero_extensions_apart():
    got = metrics.count(x86(bytes.fromhex("4889e5" "4889ec" "89c9" "4889c0" "89d8" "4c89c7")), "x86_64")
    # mov rbp, rsp; mov rsp, rbp (frame); mov ecx, ecx (a zero-extension); mov rax, rax; mov eax, ebx; mov rdi, r8
    assert (got["register_moves"], got["zero_extensions"], got["redundant_moves"]) == (2, 1, 1)
    # cmp sp, x16 (a stack check); mov x29, sp (frame); mov w0, w0 (a zero-extension); mov x1, x2 (zig's assembler)
    a64 = metrics.count(metrics.disassemble(bytes.fromhex("ff6330eb" "fd030091" "e003002a" "e10302aa"), "aarch64"),
                        "aarch64")
    assert (a64["register_moves"], a64["zero_extensions"], a64["stack_checks"]) == (1, 1, 1)


def test_stack_limit_checks_are_counted_apart_from_alu_memory_operands():
    # V8: cmp rsp, [r8]; Cranelift: cmp r10, rsp; cmp [rdi], rsp; then cmp [rdi], eax and cmp rsp, 8 (no check)
    got = metrics.count(x86(bytes.fromhex("493b20" "4c3bd4" "483927" "3907" "4883fc08")), "x86_64")
    assert (got["stack_checks"], got["alu_memory_operand"]) == (3, 1)


def test_calls_at_trap_landing_pads_are_traps_not_calls():
    # TurboFan's matmul17 ends in landing pads: call (the trap builtin, through the jump table), twice
    pads = x86(bytes.fromhex("e8e235ffff" "e8dd35ffff" "e800000000"), 0x1000)
    known = metrics.Context(traps=frozenset({0x1000, 0x1005}))
    got, plain = metrics.count(pads, "x86_64", known), metrics.count(pads, "x86_64")
    assert (got["calls"], got["trap_instructions"]) == (1, 2) and (plain["calls"], plain["trap_instructions"]) == (3, 0)


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


def test_redundant_moves_follow_values_within_a_straight_line_run():
    red = lambda hexes: metrics.count(x86(bytes.fromhex(hexes)), "x86_64")["redundant_moves"]
    assert red("4889d8" "4889c3") == 1                    # mov rax, rbx; mov rbx, rax: the second changes nothing
    assert red("4889c1" "4883c201" "4889c8") == 1         # mov rcx, rax; add rdx, 1; mov rax, rcx: moved back unchanged
    assert red("4889c1" "4883c001" "4889c8") == 0         # ... add rax, 1 between: a real restore
    assert red("4889c0") == 1                             # mov rax, rax
    assert red("488b07" "89c0") == 0 and red("8b07" "89c0") == 1   # mov eax, eax zero-extends unless a 32-bit load did
    assert red("89d8" "89c3") == 0                        # mov eax, ebx; mov ebx, eax clears rbx's upper half
    assert red("89d8" "89c3" "89d8") == 1                 # ... after which mov eax, ebx again changes nothing
    assert red("4889d8" "eb00" "4889c3") == 0             # a jump ends the run: nothing is known after it
    assert red("4889e5" "4889ec") == 0                    # mov rbp, rsp; mov rsp, rbp: frame teardown, apart
    marks = metrics_flow.redundant_moves(x86(bytes.fromhex("4889d8" "4889c3")), "x86_64")
    assert marks == [0, 1]


def test_loads_feeding_one_alu_op_against_alu_memory_operands():
    lta = lambda hexes: metrics.count(x86(bytes.fromhex(hexes)), "x86_64")["load_then_alu"]
    assert lta("8b0f" "01c8" "b901000000") == 1       # mov ecx, [rdi]; add eax, ecx; mov ecx, 1: add eax, [rdi]
    assert lta("8b0f" "39c1" "b902000000") == 1       # mov ecx, [rdi]; cmp ecx, eax; mov ecx, 2: cmp [rdi], eax
    assert lta("8b0f" "01c8" "01c8") == 0             # ecx read again: live
    assert lta("8b0f" "01c8" "31c9") == 1             # xor ecx, ecx writes without reading
    assert lta("8b0f" "01c8" "b101") == 0             # mov cl, 1 keeps the rest of ecx: live
    assert lta("8b0f" "01c8" "c3") == 1               # never read again (a return reads rax only)
    assert lta("8b07" "39c1" "c3") == 0               # mov eax, [rdi]; cmp ecx, eax; ret: the result, live
    assert lta("8b0f" "01c8" "e800000000") == 0       # a call reads every register
    assert lta("8b07" "01c8" "b901000000") == 0       # mov eax, [rdi]; add eax, ecx: the load is the destination
    # Cranelift -O0 (7ad8..): mov r8d, [rcx+rax+0x2c]; cmp edi, r8d; jge; mov r8d, [rcx+rax+0x20] (r8 rewritten)
    assert lta("448b44012c" "413bf8" "7d00" "448b440120") == 1
    # Cranelift -O2 (793f..): mov r15d, [rax+r15]; imul r14d, r15d; add r13d, r14d; jne; mov r15, [rsp+0x20]
    assert lta("468b3c38" "450faff7" "4503ee" "7500" "4c8b7c2420") == 1
    assert lta("468b3c38" "450faff7" "4503ee" "7500" "4d01fe") == 0   # add r14, r15 reads it (the jne ignored)
    # wasm2c-llvm (b2b): mov edi, [rax+rdi]; imul edi, esi: edi holds the product, so not counted
    assert lta("8b3c38" "0faffe" "be01000000") == 0
    got = metrics.count(x86(bytes.fromhex("0307" "8b0f" "01c8" "b901000000")), "x86_64")
    assert (got["alu_memory_operand"], got["load_then_alu"], got["loads"]) == (1, 1, 2)


def test_spills_and_reloads_are_register_moves_to_and_from_stack_slots():
    code = x86(bytes.fromhex("55" "48897c2408" "488b442408" "488945f8" "48894708" "48c7042400000000"
                             "f20f11442408" "5d"))
    # push rbp; mov [rsp+8], rdi; mov rax, [rsp+8]; mov [rbp-8], rax; mov [rdi+8], rax; mov qword [rsp], 0;
    # movsd [rsp+8], xmm0; pop rbp
    got = metrics.count(code, "x86_64")
    assert (got["spills"], got["reloads"], got["stores"], got["loads"]) == (3, 1, 6, 2)


def test_aarch64_known_bytes_from_zig():
    # zig cc -target aarch64-linux-musl -O2 -c of: long g(long); long f(long a, long b)
    # { if (b == 0) __builtin_trap(); long x = g(a); return x / b + a; } (the call left unrelocated: bl to itself)
    code = metrics.disassemble(bytes.fromhex(
        "810100b4" "fd7bbea9" "f44f01a9" "fd030091" "f40301aa" "f30300aa" "00000094" "080cd49a" "0001138b"
        "f44f41a9" "fd7bc2a8" "c0035fd6" "200020d4"), "aarch64")
    assert [i.mnemonic for i in code] == ["cbz", "stp", "stp", "mov", "mov", "mov", "bl", "sdiv", "add", "ldp",
                                          "ldp", "ret", "brk"]
    got = metrics.count(code, "aarch64")
    assert (got["stores"], got["loads"], got["spills"], got["reloads"]) == (2, 2, 1, 1)   # x29/x30 record apart
    assert (got["branches"], got["calls"], got["conditional_branches"]) == (1, 1, 1)      # bl is no branch
    assert (got["trap_instructions"], got["trap_branches"], got["register_moves"]) == (1, 1, 2)   # mov x29, sp apart
    assert got["runtime_calls"] is None and not metrics.applies("runtime_calls", "aarch64")
    for name in metrics.X86_ONLY:                            # another ISA's notion: None, not 0
        assert got[name] is None and not metrics.applies(name, "aarch64")
    inside = metrics.count(code, "aarch64", metrics.Context(((0, 52),)))
    assert inside["runtime_calls"] == 0 and metrics.count(code, "aarch64", metrics.Context())["runtime_calls"] == 1


def test_traps_guards_and_calls_to_runtime_helpers():
    # test ecx, ecx; je 7; idiv ecx; ret; ud2 (Cranelift's division-by-zero guard)
    guard = x86(bytes.fromhex("85c9" "7403" "f7f9" "c3" "0f0b"))
    got = metrics.count(guard, "x86_64")
    assert (got["trap_instructions"], got["trap_branches"], got["conditional_branches"]) == (1, 1, 1)
    jb = x86(bytes.fromhex("72fe"), 0x100)                  # jb to itself: a trap only if the context says so
    assert metrics.count(jb, "x86_64")["trap_branches"] == 0
    assert metrics.count(jb, "x86_64", metrics.Context(traps=frozenset({0x100})))["trap_branches"] == 1
    # at 0x40: call 0x10 (a wasm function), call 0x500 (outside them), call rax
    calls = x86(bytes.fromhex("e8cbffffff" "e8b6040000" "ffd0"), 0x40)
    assert [i.target for i in calls] == [0x10, 0x500, None]
    got = metrics.count(calls, "x86_64", metrics.Context(((0, 0x80),)))
    assert (got["calls"], got["runtime_calls"], got["indirect_calls"]) == (3, 1, 1)
    assert metrics.count(calls, "x86_64")["runtime_calls"] is None and metrics.applies("runtime_calls", "x86_64",
                                                                                          metrics.Context())


def test_uops_with_macro_fusion_from_the_table():
    uops = lambda hexes: metrics.count(x86(bytes.fromhex(hexes)), "x86_64")["uops"]
    assert uops("39c8" "7c00") == 1            # cmp eax, ecx; jl: one fused uop
    assert uops("31c8" "7c00") == 2            # xor does not fuse
    assert uops("ffc0" "7200") == 2            # inc fuses with je/jl/jle, not jb (inc leaves CF alone)
    assert uops("ffc0" "7400") == 1
    assert uops("833f05" "7400") == 2          # cmp dword [rdi], 5: a memory operand and an immediate do not fuse
    assert uops("3907" "7400") == 1            # cmp [rdi], eax; je: fused (and micro-fused)
    assert (uops("48f7f9"), uops("f7f9"), uops("c3"), uops("0107"), uops("d3e0")) == (57, 10, 2, 2, 3)
    model = metrics_x86.uops_model()
    assert model["microarchitecture"] == "Skylake" and model["domain"] == "fused" and model["default"] == 1
    assert all(entry["source"] and entry["uops"] >= 1 for entry in model["class"])


def test_a_fused_pair_that_crosses_a_32_byte_line_is_a_jcc_erratum_jump():
    fused = x86(bytes.fromhex("90" * 31 + "39c8" "7c00"))     # cmp at 31..32 crosses the line, jl at 33..34 does not
    assert metrics.crosses_or_ends(fused[-1], 32) is False
    assert metrics.count(fused, "x86_64")["jcc_erratum_jumps"] == 1
    unfused = x86(bytes.fromhex("90" * 31 + "31c8" "7c00"))   # xor: no pair, the jl alone is clear of the line
    assert metrics.count(unfused, "x86_64")["jcc_erratum_jumps"] == 0


def test_weighted_metrics_count_each_instruction_as_often_as_it_ran():
    code = x86(bytes.fromhex("8b0f" "01c8" "b901000000" "85c9" "75f3" "c3"), 0x10)
    # mov ecx, [rdi] (x10); add eax, ecx (x10); mov ecx, 1 (x10); test; jne back (x10); ret (x1)
    assert code[-2].mnemonic == "jne" and code[-2].target == 0x10
    runs = {i.address: 10 for i in code[:-1]} | {code[-1].address: 1}
    dyn = metrics.weighted(code, runs, "x86_64")
    assert (dyn["instructions"], dyn["loads"], dyn["load_then_alu"], dyn["conditional_branches"]) == (51, 10, 10, 10)
    assert dyn["code_bytes"] == 10 * 13 + 1 and dyn["bytes_per_instruction"] == 131 / 51
    assert dyn["windows_32"] is None and "windows_32" in metrics.STATIC_ONLY
    assert dyn["uops"] == 10 * 4 + 2                          # test+jne fused: 4 a round, ret 2
    ones = metrics.weighted(code, {i.address: 1 for i in code}, "x86_64")
    static = metrics.count(code, "x86_64")
    assert {k: v for k, v in ones.items() if k not in metrics.STATIC_ONLY} == \
        {k: v for k, v in static.items() if k not in metrics.STATIC_ONLY}
    assert metrics.weighted(code, {}, "x86_64")["bytes_per_instruction"] is None    # nothing ran: no ratio


def test_fixed_counts_of_the_first_metrics():
    got = metrics.count(x86(bytes.fromhex("0f1f440000" "8ec0" "88d8" "4887d8" "4863c1" "48b80100000000000000")),
                        "x86_64")
    # nop dword [rax+rax] reads nothing; mov es, eax is no GPR move; mov al, bl and xchg rax, rbx are;
    # movsxd (an extension) and movabs (an immediate) are not
    assert (got["loads"], got["register_moves"]) == (0, 2)
    a64 = metrics.count(metrics.disassemble(bytes.fromhex("e0031faa" "e00f00f9" "00003fd6"), "aarch64"), "aarch64")
    assert (a64["register_moves"], a64["loads"], a64["stores"], a64["branches"], a64["calls"]) == (0, 0, 1, 0, 1)
    rex_b = x86(bytes.fromhex("4189c0"))                     # mov r8d, eax: REX.B names r8, needed
    assert rex_b[0].rex == 0x41 and not metrics.meaningless_rex(rex_b[0])


def pressure_wat(values: int = 24) -> str:
    """A function that loads `values` i64s and multiplies them in reverse: all live at once, more than 16 GPRs."""
    loads = "".join(f"(local.set {k + 1} (i64.load offset={8 * k} (local.get 0)))" for k in range(values))
    product = f"(local.get {values})"
    for k in range(values - 1, 0, -1):
        product = f"(i64.mul {product} (local.get {k}))"
    return f"""(module (memory 1)
  (func $pressure (export "pressure") (param i32) (local {' i64' * values}) {loads} (i64.store (local.get 0) {product}))
  (func $add (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
  (func $grow (export "grow") (param i32) (result i32) local.get 0 memory.grow)
  (func $fill (export "fill") (param i32 i32 i32) local.get 0 local.get 1 local.get 2 memory.fill))"""


@X86_HOST
def test_register_pressure_makes_cranelift_spill_and_winch_spill_more():
    wasm = wasmtime.wat2wasm(pressure_wat())
    cranelift, winch = artefacts.wasmtime_artefact(wasm, "cranelift"), artefacts.wasmtime_artefact(wasm, "winch")
    optimised = {f.label: metrics.function_metrics(f, "x86_64", metrics.Context.of(cranelift))
                 for f in cranelift.wasm_functions()}
    single = {f.label: metrics.function_metrics(f, "x86_64", metrics.Context.of(winch)) for f in winch.wasm_functions()}
    assert optimised["pressure"]["spills"] > 0 and optimised["pressure"]["reloads"] > 0
    assert optimised["add"]["spills"] == optimised["add"]["reloads"] == 0
    for name in ("pressure", "add"):
        # Winch keeps every value in its stack frame and moves it back and forth; Cranelift allocates registers
        assert single[name]["spills"] > optimised[name]["spills"] and single[name]["uops"] > optimised[name]["uops"]
        assert single[name]["redundant_moves"] >= optimised[name]["redundant_moves"]
    assert single["pressure"]["redundant_moves"] > 0 and single["pressure"]["load_then_alu"] > 0
    # memory.grow is a call to a runtime helper (outside the module's wasm functions); memory.fill also checks bounds
    assert optimised["grow"]["runtime_calls"] == optimised["grow"]["calls"] == 1
    assert optimised["fill"]["runtime_calls"] == 1 and optimised["fill"]["trap_branches"] >= 2
    assert optimised["add"]["runtime_calls"] == 0 and single["grow"]["runtime_calls"] >= 1


@X86_HOST
def test_metrics_of_a_winch_function_equal_a_count_by_hand_from_its_listing():
    import re

    art = artefacts.wasmtime_artefact(wasmtime.wat2wasm(pressure_wat(6)), "winch")
    f = art.function("pressure")
    listing = [(i.address, f"{i.mnemonic} {i.op_str}") for i in x86(f.code, f.address)]
    stack = r"ptr \[r[sb]p(?: [+-] 0x[0-9a-f]+| [+-] \d+)?\]"
    register = r"(?:[re]?[a-z]{2}|r\d+[dwb]?|xmm\d+)"
    hand = {
        "spills": sum(bool(re.fullmatch(rf"v?mov\w* \w+ {stack}, {register}", text)) for _, text in listing),
        "reloads": sum(bool(re.fullmatch(rf"v?mov\w* {register}, \w+ {stack}", text)) for _, text in listing),
        "trap_instructions": sum(text.strip() == "ud2" for _, text in listing),
        "trap_branches": sum(text.split()[0] not in ("jmp", "call") and text.startswith("j")
                             and int(text.split()[1], 16) in {a for a, t in listing if t.strip() == "ud2"}
                             for _, text in listing),
        "stores": sum(bool(re.search(r"ptr \[[^]]*\], ", text)) or text.startswith("push") for _, text in listing),
    }
    got = metrics.function_metrics(f, "x86_64")
    assert hand["spills"] > 0 and hand["trap_branches"] >= 1
    assert {name: got[name] for name in hand} == hand


@X86_HOST
def test_cranelift_jump_tables_and_constant_pools_are_stepped_over_not_decoded():
    cases = " ".join(f"(block $b{k}" for k in range(8))
    ends = "".join(f") (return (i32.const {k * 7 + 3}))" for k in range(8))
    wat = f"""(module
      (func $switch (export "switch") (param i32) (result i32)
        {cases} (block $d (br_table $b0 $b1 $b2 $b3 $b4 $b5 $b6 $b7 $d (local.get 0))) (return (i32.const 99)) {ends}
        i32.const 0)
      (func $pool (export "pool") (param f64) (result f64) (f64.mul (f64.add (local.get 0) (f64.const 1.25))
        (f64.const 3.5))))"""
    art = artefacts.wasmtime_artefact(wasmtime.wat2wasm(wat), "cranelift")
    for name in ("switch", "pool"):
        f = art.function(name)
        code = x86(f.code, f.address)                      # raised before: the table or the constants are no code
        starts = {i.address for i in code}
        assert all(i.target in starts for i in code if i.jump and i.target is not None), name
        assert all(i.data_address not in starts for i in code if i.data_address is not None), name
    switch = x86(art.function("switch").code, art.function("switch").address)
    (jmp,) = [k for k, i in enumerate(switch) if i.jump and i.target is None]
    assert switch[jmp + 1].address > switch[jmp].address + switch[jmp].size      # the table lies between
