"""Code read from ELF files C compilers made (wasm2c-llvm, wasm2c-gcc, native), and the name section kept in
every bundled module: real zig, gcc and wasm2c, answers checked by hand or against Wasmtime's artefact."""

from __future__ import annotations

import io
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import wasmtime
from elftools.elf.elffile import ELFFile

from hwprof import workloads
from hwprof.codegen import c_builds, metrics, module
from hwprof.codegen.artefacts import ArtefactError, Function, read_elf_functions
from hwprof.codegen.sources import Subject, artefact
from hwprof.workloads.sections import keep_custom_sections, sections

HOST = platform.machine()
OTHER = "aarch64" if HOST == "x86_64" else "x86_64"
X86_HOST = pytest.mark.skipif(HOST != "x86_64", reason="the hand-checked answers are x86-64 code")
WASM2C = ["wasm2c-llvm", pytest.param("wasm2c-gcc", marks=pytest.mark.skipif(
    shutil.which("gcc") is None, reason="wasm2c-gcc needs gcc, not installed here"))]
ALU_WAT = """(module
  (global $bias (mut i32) (i32.const 7))
  (func $addbias (export "addbias") (param $x i32) (result i32) (i32.add (local.get $x) (global.get $bias)))
  (func $twice (param i32) (result i32) (i32.shl (local.get 0) (i32.const 1)))
  (func $uses (export "uses") (param i32) (result i32) (i32.mul (call $twice (local.get 0)) (local.get 0))))"""


@pytest.fixture(scope="session")
def mm() -> workloads.Workload:
    return workloads.build("2mm", "mini")


@pytest.fixture(scope="session")
def wasmtime_2mm(mm):
    return artefact("wasmtime", Subject(mm.program, mm))


def _agree_with_wasmtime(art, reference) -> list[str]:
    """Every named wasm function of `art` has the index Wasmtime's artefact gives that name; the names checked."""
    named = [f for f in art.wasm_functions() if f.name]
    for f in named:
        assert reference.function(f.name).index == f.index, f.name
    return [f.name for f in named]


@pytest.mark.parametrize("target", WASM2C)
def test_wasm2c_code_of_2mm_is_found_and_numbered_as_wasmtime_numbers_it(target, mm, wasmtime_2mm):
    art = artefact(target, Subject(mm.program, mm))
    names = _agree_with_wasmtime(art, wasmtime_2mm)
    # _start is an export: clang inlines it (and main, and 2mm's kernel, which the wasm build already
    # inlined into main) into its export wrapper, gcc keeps its own symbol; either way it is found.
    assert "_start" in names and len(names) >= 15
    assert "kernel_2mm" not in module.read(mm.program.read_bytes()).names.values()
    assert {f.index for f in art.wasm_functions()} <= set(Subject(mm.program).functions().indices())
    others = {f.name for f in art.functions if f.kind == "other"}
    assert {"wasm2c_workload_instantiate", "hwprof_w2c_start"} <= others          # wasm2c's and glue.c's own
    start = art.function("_start")
    assert metrics.function_metrics(start, art.arch)["calls"] >= 1              # bench.start/end, printf...


def _masked(obj: ELFFile, name: str) -> re.Pattern:
    """The bytes of the object's function `name` as a pattern, the fields its relocations fill left open."""
    sym = obj.get_section_by_name(".symtab").get_symbol_by_name(name)[0]
    section = obj.get_section(sym["st_shndx"])
    start, size = sym["st_value"], sym["st_size"]
    code = bytearray(section.data()[start:start + size])
    open_bytes = set()
    for rel in obj.get_section_by_name(".rela" + section.name).iter_relocations():
        at = rel["r_offset"] - start
        if 0 <= at < size:
            open_bytes.update(range(at, at + (8 if rel["r_info_type"] == 1 else 4)))   # R_X86_64_64: 8 bytes
    return re.compile(b"".join(b"." if i in open_bytes else re.escape(bytes([b])) for i, b in enumerate(code)),
                      re.S)


def test_native_code_of_2mm_is_matched_by_name_and_is_the_measured_builds(mm, wasmtime_2mm):
    art = artefact("native", Subject(mm.program, mm))
    names = _agree_with_wasmtime(art, wasmtime_2mm)
    assert set(names) == {"main", "hwprof_dump_double"}         # 2mm's own C (its kernel inlined into main)
    others = {f.name for f in art.functions if f.kind == "other"}
    assert {"hwprof_init", "bench_start"} <= others             # phasectl.c: no wasm function (an import there)
    measured = workloads.build("2mm", "mini", flavour="native").program.read_bytes()
    with pytest.raises(ArtefactError, match=r"^the ELF has no symbol table \(stripped\): function boundaries "
                                            r"are unknown$"):
        read_elf_functions(measured)
    if HOST == "x86_64":
        # The code read is the code run: each function's bytes occur once in the measured executable's .text,
        # bar the fields the linker filled in.
        text = ELFFile(io.BytesIO(measured)).get_section_by_name(".text").data()
        obj = ELFFile(io.BytesIO(c_builds.native_objects(mm, HOST)[0][0].read_bytes()))
        for name in names:
            assert len(_masked(obj, name).findall(text)) == 1, name


def test_a_native_name_given_twice_is_matched_to_no_wasm_function():
    found = [Function(-1, name, "other", at, b"\xc3") for at, name in enumerate(["f", "g", "g", "h"])]
    matched = c_builds.native_functions(found, {3: "f", 4: "g", 5: "h", 6: "h"})
    assert [(f.kind, f.index) for f in matched] == [("wasm", 3), ("other", -1), ("other", -1), ("other", -1)]


def test_native_of_a_users_module_is_refused_in_one_line(tmp_path):
    path = tmp_path / "user.wasm"
    path.write_bytes(wasmtime.wat2wasm('(module (func $f (export "f")))'))
    with pytest.raises(ArtefactError, match=r"^native: a user's \.wasm has no native build[^\n]*$"):
        artefact("native", Subject(path))


@X86_HOST
def test_llvm_adds_a_wasm_global_from_memory_and_the_metric_counts_it(tmp_path):
    path = tmp_path / "alu.wasm"
    path.write_bytes(wasmtime.wat2wasm(ALU_WAT))
    art = artefact("wasm2c-llvm", Subject(path))
    addbias = art.function("addbias")
    code = [(i.mnemonic, i.op_str) for i in metrics.disassemble(addbias.code, "x86_64", addbias.address)]
    # The global is the first field of wasm2c's instance struct (rdi): clang adds it straight from memory.
    assert ("add", "eax, dword ptr [rdi]") in code
    assert metrics.function_metrics(addbias, "x86_64")["alu_memory_operand"] == 1
    # $twice has no symbol left (inlined into $uses); $uses is found through its export wrapper.
    assert [f.label for f in art.wasm_functions()] == ["addbias", "uses"]


@pytest.mark.parametrize("target", WASM2C)
def test_a_module_without_a_name_section_labels_wasm2c_code_by_index(target, tmp_path):
    path = tmp_path / "anonymous.wasm"
    path.write_bytes(keep_custom_sections(wasmtime.wat2wasm(ALU_WAT), keep=()))
    assert not module.read(path.read_bytes()).has_names
    art = artefact(target, Subject(path))
    assert [f.label for f in art.wasm_functions()] == ["function[0]", "function[2]"]


def _fully_decoded(art) -> int:
    decoded = 0
    for f in art.functions:
        instructions = metrics.disassemble(f.code, "aarch64", f.address)
        assert sum(i.size for i in instructions) == len(f.code) == 4 * len(instructions), f.name
        decoded += len(instructions)
    return decoded


@pytest.mark.skipif(HOST != "x86_64", reason="cross-compiles from an x86-64 host to AArch64")
@pytest.mark.parametrize("target", ["wasm2c-llvm", "native"])
def test_aarch64_code_is_cross_compiled_and_disassembles_fully(target, mm, wasmtime_2mm):
    art = artefact(target, Subject(mm.program, mm, arch="aarch64"))
    assert art.arch == "aarch64" and "aarch64-linux-musl" in art.flags
    program = (c_builds.wasm2c_object(mm.program.read_bytes(), "zig", "aarch64")[0] if target == "wasm2c-llvm"
               else c_builds.native_objects(mm, "aarch64")[0][0])
    assert ELFFile(io.BytesIO(program.read_bytes()))["e_machine"] == "EM_AARCH64"
    assert _fully_decoded(art) > 1000
    assert "_start" in _agree_with_wasmtime(art, wasmtime_2mm) or target == "native"
    with pytest.raises(ArtefactError):           # the same bytes are not x86-64 code
        for f in art.wasm_functions():
            metrics.disassemble(f.code, "x86_64")


def test_wasm2c_gcc_for_another_isa_needs_a_cross_gcc():
    if shutil.which(c_builds.GCC_CROSS[OTHER]):
        pytest.skip(f"{c_builds.GCC_CROSS[OTHER]} is installed here")
    with pytest.raises(ArtefactError, match=rf"^wasm2c-gcc for {OTHER} needs a cross gcc"):
        c_builds.wasm2c_toolchain("gcc", OTHER)


def _zig_link(spec: dict, size: str, strip: bool, out) -> bytes:
    flags = [f for f in workloads.compile_flags(spec, size, "-O2", "wasm") if strip or f != "-s"]
    with tempfile.TemporaryDirectory() as gen:
        workloads.generate_inputs(spec, Path(gen))
        sources = [str(Path(spec["_dir"]) / s) for s in spec.get("sources", [spec.get("source")])]
        subprocess.run([sys.executable, "-m", "ziglang", "cc", *flags, f"-I{gen}", "-o", str(out), *sources,
                        *spec.get("libs", [])], check=True, capture_output=True)
    return out.read_bytes()


@pytest.mark.parametrize("name", ["2mm", "canny"])
def test_a_bundled_module_is_the_stripped_build_plus_its_name_section(name, tmp_path):
    spec = workloads.catalogue()["workload"][name]
    size = workloads.sizes_of(spec)[0]
    built = workloads.build(name, size).program.read_bytes()
    stripped = _zig_link(spec, size, True, tmp_path / "stripped.wasm")
    assert built[:len(stripped)] == stripped and keep_custom_sections(built, keep=()) == stripped
    assert [n for _, n, _ in sections(built)[-1:]] == ["name"] and name.encode() not in built[len(stripped):]
    functions = module.read(built)
    assert len(functions.names) == functions.imported + functions.defined
    if name == "canny":
        # Why not simply drop -s: zig then compiles its compiler_rt differently (math.ldexp's code changes).
        unstripped = _zig_link(spec, size, False, tmp_path / "unstripped.wasm")
        code = lambda wasm: [raw for kind, _, raw in sections(wasm) if kind == 10]
        assert code(unstripped) != code(stripped) == code(built)


@pytest.mark.skipif(HOST != "x86_64", reason="compares x86-64 code from the wasmtime package")
def test_the_name_section_changes_no_machine_code_under_cranelift(mm):
    named = mm.program.read_bytes()
    plain = keep_custom_sections(named, keep=())
    assert len(plain) < len(named)
    from hwprof.codegen.artefacts import wasmtime_artefact
    with_names, without = wasmtime_artefact(named), wasmtime_artefact(plain)
    code = lambda art: [(f.kind, f.index, f.address, f.code) for f in art.functions]
    assert code(with_names) == code(without) and len(with_names.wasm_functions()) > 50
    assert with_names.function("main").code == without.function(f"function[{with_names.function('main').index}]").code
