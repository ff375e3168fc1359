"""Code metrics that only x86-64 has: REX prefixes, memory operands of ALU ops, setcc chains, uops, the JCC erratum.

As in metrics_flow, each function marks the instructions a metric counts (one number per instruction).
"""

from __future__ import annotations

import functools
import tomllib
from pathlib import Path

from hwprof.codegen.artefacts import ArtefactError
from hwprof.codegen.disasm import Instruction, gpr, register_width
from hwprof.codegen.metrics_flow import dead_from

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
    """Marks each jcc that branches on a value a setcc made (see _chain_end); one mark per jcc however many
    setcc chains reach it."""
    marks = [0] * len(instructions)
    for k, i in enumerate(instructions):
        end = _chain_end(instructions, k) if _setcc_register(i) else None
        if end is not None:
            marks[end] = 1
    return marks


def _setcc_register(i: Instruction) -> str:
    """The 64-bit GPR a setcc writes ('' for a setcc to memory, or no setcc)."""
    if not i.mnemonic.startswith("set") or i.memory_operand or len(i.register_operands) != 1:
        return ""
    return gpr(i.register_operands[0], X86)


def _chain_end(instructions: list[Instruction], start: int) -> int | None:
    """The index of the jcc the value of the setcc at `start` flows to, else None.

    The value is followed through the registers holding it (its 64-bit GPR family): movzx/movsx copies it,
    `and r, 1`, `test r, r` (or `test r, imm`) and `cmp r, 0` set the flags from it. Instructions that touch neither
    its registers nor the flags are stepped over (a flag write too, until the value has been tested); anything
    else that touches them, and any other jump, call or return, ends the chain. The jcc counts where the flags it
    reads were set from the value. Winch's `cmp r, 0; mov r, 0; sete r8` (a second setcc of the first's value)
    ends the first chain and starts one that reaches the same jcc, so the jcc counts once either way.
    """
    held, tested = {_setcc_register(instructions[start])}, False
    for k in range(start + 1, len(instructions)):
        i = instructions[k]
        if i.jump:
            return k if tested and i.mnemonic != "jmp" else None
        if i.call or i.ret:
            return None
        regs, imm = [gpr(r, X86) for r in i.register_operands], i.immediate_value
        if i.mnemonic in ("movzx", "movsx") and len(regs) == 2 and regs[1] in held and not i.memory_operand:
            held = held | {regs[0]}
        elif regs and set(regs) <= held and not i.memory_operand and (
                (i.mnemonic == "and" and len(regs) == 1 and imm == 1) or (i.mnemonic == "cmp" and imm == 0)
                or (i.mnemonic == "test" and (len(regs) == 2 or imm is not None))):
            tested = True
        elif held & {gpr(r, X86) for r in i.regs_read + i.regs_written} or (tested and "rflags" in i.regs_written):
            return None
    return None


def alu_memory(instructions: list[Instruction]) -> list[int]:
    """Marks ALU ops (add, sub, and, or, xor, cmp, test, adc, sbb, imul) that take a memory operand directly,
    compares of the stack pointer (stack-limit checks) apart."""
    return [int(i.mnemonic in ALU and i.memory_operand and not (i.mnemonic == "cmp" and "rsp" in
                {gpr(r, X86) for r in i.register_operands})) for i in instructions]


def load_then_alu(instructions: list[Instruction]) -> list[int]:
    """Marks loads whose value the next instruction, an ALU op or compare, could have read from memory itself.

    The load is `mov r, [m]` (32 or 64 bits). The next instruction is an ALU op (ALU) with no memory operand,
    naming r once at the load's width as a source only (either operand of cmp and test, the second of the
    others), and r is dead after it (metrics_flow.dead_from: in the listing's order). `mov r, [m]; add r, s` is
    not counted: r holds the result, and `add s, [m]` would do only if s could take r's place from there on.
    """
    marks = [0] * len(instructions)
    for k in range(len(instructions) - 1):
        load, op = instructions[k], instructions[k + 1]
        if load.mnemonic != "mov" or not load.reads_memory or len(load.register_operands) != 1 or load.jump:
            continue
        (reg,) = load.register_operands
        width, full = register_width(reg, X86), gpr(reg, X86)
        if width not in (4, 8) or op.mnemonic not in ALU or op.memory_operand:
            continue
        names = [gpr(r, X86) for r in op.register_operands]
        if names.count(full) != 1 or any(register_width(r, X86) != width for r in op.register_operands):
            continue
        if op.mnemonic in SYMMETRIC or names.index(full) > 0:
            marks[k] = int(dead_from(instructions, k + 2, full, X86))
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
