"""Code metrics that only x86-64 has: REX prefixes, memory operands of ALU ops, setcc chains, uops, the JCC erratum.

As in metrics_flow, each function marks the instructions a metric counts (one number per instruction).
"""

from __future__ import annotations

import functools
import tomllib
from pathlib import Path

from hwprof.codegen.artefacts import ArtefactError
from hwprof.codegen.disasm import Instruction, gpr, register_width
from hwprof.codegen.metrics_flow import dead_after, runs

# ALU ops that can take a memory source operand in place of a register one (x86's reg, r/m forms).
ALU = {"add", "sub", "and", "or", "xor", "cmp", "test", "adc", "sbb", "imul"}
SYMMETRIC = {"cmp", "test"}           # either operand may be the memory one (cmp r/m, r and cmp r, r/m)
BYTE_REGS_NEEDING_REX = {"spl", "bpl", "sil", "dil"}
X86 = "x86_64"
UOPS_FILE = Path(__file__).with_name("uops.toml")
_CLASS_KEYS = {"name", "mnemonics", "memory", "width", "operands", "register", "direct", "uops", "source"}


def meaningless_rex(i: Instruction) -> bool:
    """A bare REX (0x40: no W, R, X or B bit) on an instruction that names none of spl, bpl, sil, dil."""
    return i.rex == 0x40 and not BYTE_REGS_NEEDING_REX & set(i.register_operands)


def setcc_chains(instructions: list[Instruction]) -> list[int]:
    """Marks the jcc of each setcc; movzx; test|and; jcc in a row (a compare made a byte, widened, tested)."""
    marks = [0] * len(instructions)
    for k in range(3, len(instructions)):
        a, b, c, d = instructions[k - 3:k + 1]
        if a.mnemonic.startswith("set") and b.mnemonic.startswith("movz") and c.mnemonic in ("test", "and") \
                and d.jump and d.mnemonic != "jmp":
            marks[k] = 1
    return marks


def alu_memory(instructions: list[Instruction]) -> list[int]:
    """Marks ALU ops (add, sub, and, or, xor, cmp, test, adc, sbb, imul) that take a memory operand directly."""
    return [int(i.mnemonic in ALU and i.memory_operand) for i in instructions]


def load_then_alu(instructions: list[Instruction]) -> list[int]:
    """Marks loads whose register only feeds the next instruction, an ALU op that could have read the memory itself.

    The load is `mov r, [m]` (32 or 64 bits); the next instruction is an ALU op without a memory operand that
    reads r as its source (either operand of cmp and test, the second of the others, never its destination)
    at the load's width; and r is written before it is read again within the straight-line run. Where the run
    ends first, r counts as live, so this is a lower bound.
    """
    marks = [0] * len(instructions)
    for run in runs(instructions):
        for at, k in enumerate(run[:-1]):
            load, op = instructions[k], instructions[run[at + 1]]
            if load.mnemonic != "mov" or not load.reads_memory or len(load.register_operands) != 1:
                continue
            (reg,) = load.register_operands
            if register_width(reg, X86) not in (4, 8) or op.mnemonic not in ALU or op.memory_operand:
                continue
            full, names = gpr(reg, X86), [gpr(r, X86) for r in op.register_operands]
            source = reg in op.register_operands if op.mnemonic in SYMMETRIC else op.register_operands[1:2] == (reg,)
            if source and names.count(full) == 1 and dead_after(instructions, run, at + 1, full, X86):
                marks[k] = 1
    return marks


@functools.cache
def uops_model(path: Path = UOPS_FILE) -> dict:
    """The uops table (uops.toml): default, fusion pairs and classes; ArtefactError naming a malformed entry."""
    model = tomllib.loads(path.read_text())
    for entry in model["class"]:
        unknown = set(entry) - _CLASS_KEYS
        if unknown or "mnemonics" not in entry or "uops" not in entry or "source" not in entry:
            raise ArtefactError(f"{path.name}: class {entry.get('name', '?')!r} needs mnemonics, uops and source "
                                f"(unknown keys: {', '.join(sorted(unknown)) or 'none'})")
    pairs = model["fusion"]["pairs"]
    model["fusion"]["pairs"] = {first: set(model["fusion"][jumps] if isinstance(jumps, str) else jumps)
                                for first, jumps in pairs.items()}
    return model


def _facts(i: Instruction) -> dict:
    memory = "write" if i.writes_memory else "read" if i.reads_memory else "none"
    return {"memory": memory, "width": i.width, "operands": len(i.op_str.split(",")) if i.op_str else 0,
            "direct": i.target is not None}


def _matches(entry: dict, i: Instruction, facts: dict) -> bool:
    if i.mnemonic not in entry["mnemonics"] or any(entry[key] != got for key, got in facts.items() if key in entry):
        return False
    return "register" not in entry or entry["register"] in i.register_operands


def fused_with_previous(instructions: list[Instruction]) -> list[bool]:
    """For each instruction: it is a jcc that macro-fuses with the instruction before it (uops.toml's [fusion])."""
    pairs = uops_model()["fusion"]["pairs"]
    out = [False] * len(instructions)
    for k in range(1, len(instructions)):
        first, jcc = instructions[k - 1], instructions[k]
        out[k] = jcc.mnemonic in pairs.get(first.mnemonic, ()) and not (first.memory_operand and first.immediate)
    return out


def uops(instructions: list[Instruction]) -> list[int]:
    """Each instruction's fused-domain uops on the table's microarchitecture; a jcc fused with its flag-setter: 0."""
    model = uops_model()
    fused = fused_with_previous(instructions)
    out = []
    for i, with_previous in zip(instructions, fused):
        facts = _facts(i)
        entry = next((e for e in model["class"] if _matches(e, i, facts)), None)
        out.append(0 if with_previous else entry["uops"] if entry else model["default"])
    return out


def jcc_erratum(instructions: list[Instruction], boundary: int = 32) -> list[int]:
    """Marks jumps, calls and returns that cross or end on a `boundary`-byte line, a fused pair taken whole."""
    fused = fused_with_previous(instructions)
    marks = []
    for k, i in enumerate(instructions):
        start = instructions[k - 1].address if fused[k] else i.address
        last = i.address + i.size - 1
        marks.append(int((i.jump or i.call or i.ret) and (start // boundary != last // boundary
                                                          or (last + 1) % boundary == 0)))
    return marks
