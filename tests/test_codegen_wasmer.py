"""Wasmer's code read from the wasmer-sdk's compiled module (hwprof.codegen.wasmer): the real SDK compiles here."""

from __future__ import annotations

import importlib.util
import platform

import pytest
import wasmtime

from hwprof import workloads
from hwprof.codegen import metrics, sources, wasmer
from hwprof.codegen.artefacts import ArtefactError

pytestmark = [pytest.mark.quick,
              pytest.mark.skipif(importlib.util.find_spec("wasmer_sdk") is None, reason="wasmer-sdk is not installed")]
X86_HOST = pytest.mark.skipif(platform.machine() != "x86_64", reason="the answers are x86-64 code")

# The SDK compiles a package command only: the module must export _start. One import: function index 0.
NAMED = """(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func $add (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
  (func $twice (param i32) (result i32) (call $add (local.get 0) (local.get 0)))
  (func $_start (export "_start") (call $exit (call $twice (i32.const 3)))))"""


@pytest.fixture(scope="module")
def named(tmp_path_factory):
    path = tmp_path_factory.mktemp("wasmer") / "named.wasm"
    path.write_bytes(wasmtime.wat2wasm(NAMED))
    return sources.artefact("wasmer", sources.Subject(path))


@X86_HOST
def test_each_function_is_found_at_its_index_named_and_decodes_to_its_end(named):
    assert [(f.index, f.label) for f in named.wasm_functions()] == [(1, "add"), (2, "twice"), (3, "_start")]
    for f in named.wasm_functions():
        instructions = metrics.disassemble(f.code, named.arch, f.address)
        assert sum(i.size for i in instructions) == len(f.code) and f.address % wasmer.FUNCTION_ALIGNMENT == 0
    twice = metrics.disassemble(named.function("twice").code, named.arch)
    # The code is Cranelift's before Wasmer links it: a call's displacement is an unresolved relocation.
    calls = [i for i in twice if i.call]
    assert calls and [i.op_str for i in calls] == ["0x" + format(i.address + i.size, "x") for i in calls]


@X86_HOST
def test_the_bundled_2mm_has_every_defined_function_each_opening_with_its_frame():
    built = workloads.build("2mm", "mini")
    subject = sources.Subject(built.program, built)
    art = sources.artefact("wasmer", subject)
    assert [f.index for f in art.wasm_functions()] == list(subject.functions().indices())
    # Boundaries are right if every body starts where Cranelift's x86-64 prologue does: push rbp; mov rbp, rsp.
    assert all(f.code.startswith(bytes.fromhex("554889e5")) for f in art.wasm_functions())


def test_an_artefact_of_another_layout_is_refused_in_one_line():
    with pytest.raises(ArtefactError, match=r"^the wasmer-sdk's compiled module is not the archive layout hwprof "
                                            r"reads: it does not open with"):
        wasmer.function_bodies(b"\x7fELF" + bytes(60), 1)
    header = wasmer.MAGIC + wasmer.METADATA + (24).to_bytes(4, "little") + (16).to_bytes(4, "little")
    with pytest.raises(ArtefactError, match=r"no vector of 2 function bodies laid end to end from its start$"):
        wasmer.function_bodies(header + bytes(16), 2)
