"""V8's code through perf's jitdump (hwprof.codegen.jitdump, hwprof.codegen.v8): files the real node writes here."""

from __future__ import annotations

import platform
import struct
import subprocess

import pytest
import wasmtime

from hwprof import workloads
from hwprof.codegen import jitdump, metrics, sources, v8
from hwprof.codegen.artefacts import ArtefactError
from hwprof.runtimes import RuntimeTargetError
from hwprof.runtimes.node import NodeLiftoffRuntime, NodeRuntime, NodeTurbofanRuntime, find_node

pytestmark = pytest.mark.quick


def _node() -> str:
    try:
        return find_node()[0]
    except RuntimeTargetError:
        return ""


NODE = _node()
needs_node = pytest.mark.skipif(not NODE, reason="node is not installed (the node targets' code cannot be read)")

# One import (function index 0), then named functions: a sum, a loop over locals, stores, a br_table.
NAMED = """(module
  (import "env" "log" (func $log (param i32)))
  (memory (export "memory") 1)
  (func $add (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
  (func $sum (export "sum") (param $n i32) (result i32) (local $s i32)
    (loop $l
      (local.set $s (i32.add (local.get $s) (local.get $n)))
      (local.tee $n (i32.sub (local.get $n) (i32.const 1)))
      br_if $l)
    local.get $s)
  (func $fill (export "fill") (param $p i32)
    (i32.store (local.get $p) (i32.const 1)) (i32.store offset=4 (local.get $p) (i32.const 2))
    (i32.store offset=8 (local.get $p) (i32.const 3)))
  (func $pick (export "pick") (param $k i32) (result i32)
    (block $d (block $c (block $b (block $a (br_table $a $b $c $d (local.get $k)))
      (return (i32.const 10))) (return (i32.const 20))) (return (i32.const 30)))
    (call $log (local.get $k)) (i32.const 40)))"""

# A WASI-shaped command whose _start calls $hot until V8's default tiering recompiles it with TurboFan.
HOT = """(module
  (memory (export "memory") 1)
  (func $hot (param $n i32) (result i32) (local $s i32)
    (loop $l
      (local.set $s (i32.add (local.get $s) (i32.mul (local.get $n) (local.get $n))))
      (local.tee $n (i32.sub (local.get $n) (i32.const 1)))
      br_if $l)
    local.get $s)
  (func $cold (param i32) (result i32) local.get 0 i32.const 3 i32.mul)
  (func $_start (export "_start") (local $i i32)
    (loop $l
      (drop (call $hot (i32.const 100000)))
      (local.tee $i (i32.add (local.get $i) (i32.const 1)))
      (i32.const 200) i32.lt_u
      br_if $l)))"""


def _subject(tmp_path, wat: str) -> sources.Subject:
    path = tmp_path / "module.wasm"
    path.write_bytes(wasmtime.wat2wasm(wat))
    return sources.Subject(path)


def _decodes_to_the_end(function, arch: str) -> list[metrics.Instruction]:
    instructions = metrics.disassemble(function.code, arch, function.address)
    assert sum(i.size for i in instructions) == len(function.code), function.label
    return instructions


@pytest.fixture(scope="module")
def real_dump(tmp_path_factory) -> tuple[bytes, int]:
    """A jitdump node wrote here, and node's pid."""
    folder = tmp_path_factory.mktemp("jitdump")
    done = subprocess.Popen([NODE, "--perf-prof", "-e", "let s = 0; for (let i = 0; i < 1e5; i++) s += i;"],
                            cwd=folder)
    assert done.wait(timeout=120) == 0
    return (folder / f"jit-{done.pid}.dump").read_bytes(), done.pid


def _big_endian(data: bytes) -> bytes:
    """The same file as a big-endian writer would lay out its header, record prefixes and code-load fields.

    The payloads of the other records are left as they are: the parser reads only their prefix."""
    out = bytearray(struct.pack(">" + jitdump.HEADER, *struct.unpack_from("<" + jitdump.HEADER, data)))
    at = struct.unpack_from("<I", data, 8)[0]
    while at < len(data):
        kind, size, stamp = struct.unpack_from("<" + jitdump.PREFIX, data, at)
        record = bytearray(data[at:at + size])
        record[:16] = struct.pack(">" + jitdump.PREFIX, kind, size, stamp)
        if kind == 0:
            record[16:56] = struct.pack(">" + jitdump.LOAD, *struct.unpack_from("<" + jitdump.LOAD, data, at + 16))
        out += record
        at += size
    return bytes(out)


@needs_node
def test_a_jitdump_node_wrote_parses_and_a_cut_or_foreign_file_is_refused_in_one_line(real_dump, tmp_path):
    data, pid = real_dump
    dump = jitdump.read(data)
    assert dump.byte_order == "little" and dump.version == 1 and dump.pid == pid
    assert dump.arch == platform.machine()
    assert dump.counts["load"] == len(dump.loads) > 100                       # V8's builtins, at least
    assert all(load.pid == pid and load.vma == load.code_addr and load.code for load in dump.loads)
    assert any(load.name.startswith("Builtin:") for load in dump.loads)
    swapped = jitdump.read(_big_endian(data))
    assert swapped.byte_order == "big" and swapped.pid == pid and swapped.loads == dump.loads
    cut = tmp_path / "cut.dump"
    cut.write_bytes(data[:len(data) - 7])
    with pytest.raises(ArtefactError, match=r"^truncated jitdump: record \d+ at offset \d+ declares \d+ bytes, "
                                            r"\d+ remain$") as err:
        jitdump.read_file(cut)
    assert "\n" not in str(err.value)
    with pytest.raises(ArtefactError, match=r"^truncated jitdump: 30 bytes, shorter than its 40-byte header$"):
        jitdump.read(data[:30])
    with pytest.raises(ArtefactError, match="^not a jitdump file"):
        jitdump.read(b"\0asm\1\0\0\0" + data[8:])


@needs_node
@pytest.mark.parametrize("target, runtime", [("node-liftoff", NodeLiftoffRuntime),
                                             ("node-turbofan", NodeTurbofanRuntime)])
def test_every_named_function_is_found_at_its_index_and_decodes_to_its_end(tmp_path, target, runtime):
    subject = _subject(tmp_path, NAMED)
    art = sources.artefact(target, subject)
    assert [(f.index, f.label) for f in art.wasm_functions()] == [(1, "add"), (2, "sum"), (3, "fill"), (4, "pick")]
    assert " ".join(runtime().v8_flags()) in art.flags                       # the measured target's own flags
    for function in art.wasm_functions():
        _decodes_to_the_end(function, art.arch)                             # TurboFan's br_table data is cut off
    assert any(f.kind == "other" and "wasm-to-js" in f.name for f in art.functions)   # the import's wrapper


@needs_node
def test_liftoff_checks_the_stack_in_every_function_and_turbofan_makes_straight_code_shorter(tmp_path):
    subject = _subject(tmp_path, NAMED)
    liftoff, turbofan = (sources.artefact(t, subject) for t in ("node-liftoff", "node-turbofan"))
    for name in ("add", "fill"):                    # no loop, no call: TurboFan leaves out the stack check
        slow = metrics.function_metrics(liftoff.function(name), liftoff.arch)
        fast = metrics.function_metrics(turbofan.function(name), turbofan.arch)
        assert slow["instructions"] > fast["instructions"] and slow["loads"] > fast["loads"], name
    # add touches no memory: Liftoff's loads are its prologue's stack check (the limit, through the instance);
    # TurboFan's only read is the frame's own (pop rbp, a load of the stack slot).
    add = turbofan.function("add")
    assert [i.mnemonic for i in metrics.disassemble(add.code, turbofan.arch, add.address) if i.reads_memory] == ["pop"]


@needs_node
def test_default_tiering_gives_each_run_function_its_last_code_and_keeps_the_replaced_one_apart(tmp_path):
    subject = _subject(tmp_path, HOT)
    art = sources.artefact("node", subject)
    assert " ".join(NodeRuntime().v8_flags()) in art.flags and "liftoff=1 turbofan=1" in art.flags
    assert [f.label for f in art.wasm_functions()] == ["hot", "_start"]       # cold never ran: V8 compiled none
    eager = sources.artefact("node-turbofan", subject).function("hot")
    tiered = art.function("hot")
    assert [i.mnemonic for i in _decodes_to_the_end(tiered, art.arch)] == \
        [i.mnemonic for i in _decodes_to_the_end(eager, art.arch)]          # hot's code is TurboFan's
    assert [f.name for f in art.functions if f.kind == "other" and f.name.endswith("-0-liftoff")]


@needs_node
def test_a_module_node_cannot_run_is_refused_in_one_line(tmp_path):
    with pytest.raises(ArtefactError, match=r"^node compiles lazily and the run compiled nothing: the module exports "
                                            r"no _start function to run$"):
        sources.artefact("node", _subject(tmp_path, NAMED))
    bad = tmp_path / "bad.wasm"
    bad.write_bytes(wasmtime.wat2wasm("(module (func (result i32) i32.const 1))")[:-3])
    for target in ("node", "node-liftoff"):
        with pytest.raises(ArtefactError, match=r"^node cannot compile it: CompileError: WebAssembly.compile\(\): "):
            sources.artefact(target, sources.Subject(bad))


@needs_node
@pytest.mark.parametrize("target", ["node", "node-liftoff", "node-turbofan"])
def test_the_bundled_2mm_through_each_node_target(target):
    built = workloads.build("2mm", "mini")
    subject = sources.Subject(built.program, built)
    module = subject.functions()
    art = sources.artefact(target, subject)
    found = [f.index for f in art.wasm_functions()]
    if target == "node":
        assert found and set(found) < set(module.indices())                 # what one run called, not all
    else:
        assert found == list(module.indices())
    for function in art.wasm_functions():
        assert metrics.function_metrics(function, art.arch)["instructions"] > 0
        _decodes_to_the_end(function, art.arch)


def test_the_listing_reader_cuts_jump_tables_and_refuses_a_table_in_the_middle():
    listing = ["--- WebAssembly code ---\n", "index: 3\n", "kind: wasm function\n", "compiler: TurboFan\n",
               "Instructions (size = 24)\n", "0x1000     0  c3                   retl\n",
               "0x1001     1  0f1f8000000000       nop\n", "0x1008     8  1040       jump table entry 64\n",
               "0x1010    10  1044       jump table entry 68\n", "\n", "Safepoints (entries = 0, byte size = 8)\n",
               "0x1004     4  slots (sp->fp): 00000000\n", "--- End code ---\n"]
    assert v8.read_listing(listing) == [v8.ListedCode(3, "turbofan", 0x1000, 8)]
    middle = listing[:6] + ["0x1001     1  1040       jump table entry 64\n", "0x1009     9  c3       retl\n"] + \
        listing[9:]
    with pytest.raises(ArtefactError, match=r"^V8's code of function 3 has jump tables that are not all at its end"):
        v8.read_listing(middle)


def test_the_listing_reader_keeps_v8s_protected_instructions_and_their_landing_pads():
    listing = ["--- WebAssembly code ---\n", "index: 5\n", "kind: wasm function\n", "compiler: Liftoff\n",
               "Instructions (size = 16)\n", "0x2000     0  8b0408               movl rax,[rax+rcx*1]\n",
               "0x2003     3  c3                   retl\n", "\n", "Protected instructions:\n",
               " pc offset  land pad\n", "         0         8\n", "\n", "Source positions:\n",
               " pc offset  position\n", "         0        66  statement\n", "--- End code ---\n"]
    assert v8.read_listing(listing) == [v8.ListedCode(5, "liftoff", 0x2000, 16, ((0, 8),))]


@needs_node
def test_v8s_trap_landing_pads_are_traps_not_calls(tmp_path):
    wasm = workloads.build("matmul17", "mini").program
    subject = sources.Subject(wasm, None)
    for target in ("node-liftoff", "node-turbofan"):
        art = sources.artefact(target, subject)
        f = art.function("matmul17")
        assert f.traps and f.trap_pads                       # every linear-memory access is a protected one
        listing = metrics.disassemble(f.code, art.arch, f.address)
        pads = [i for i in listing if i.address in f.trap_pads]
        assert pads and all(i.call for i in pads)            # each pad calls V8's trap builtin
        counted = metrics.function_metrics(f, art.arch, metrics.Context.of(art))
        assert counted["trap_instructions"] == len(pads) and counted["trap_sites"] == len(f.traps)
        assert counted["calls"] == sum(i.call for i in listing) - len(pads)
