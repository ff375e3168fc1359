"""Code metrics that follow values or control: redundant moves, spills and reloads, traps and calls (both ISAs).

Each function marks the instructions a metric counts: a list of 0/1 (or a weight) per instruction, so that the
metric is the sum (static) or the sum weighted by executions (dynamic). Straight-line runs end after any
jump, call or return and before any address a direct jump in the listing targets; what follows values looks
only within one run (nothing is known at a run's start).
"""

from __future__ import annotations

from hwprof.codegen.disasm import Instruction, gpr, register_width

STACK_BASES = {"x86_64": {"rsp", "rbp"}, "aarch64": {"sp", "x29"}}
STACK_POINTER = {"x86_64": "rsp", "aarch64": "sp"}
FRAME_RECORD = {"x29", "x30"}                       # AArch64's frame pointer and link register: push rbp's kin
TRAPS = {"x86_64": {"ud2", "ud1", "ud0"}, "aarch64": {"brk", "udf"}}
AARCH64_STORES = ("str", "stur", "stp", "stnp")
AARCH64_LOADS = ("ldr", "ldur", "ldp", "ldnp")


def runs(instructions: list[Instruction]) -> list[list[int]]:
    """The instructions' indices cut into straight-line runs (see the module's docstring)."""
    targets = {i.target for i in instructions if i.jump and i.target is not None}
    out, current = [], []
    for k, i in enumerate(instructions):
        if current and i.address in targets:
            out.append(current)
            current = []
        current.append(k)
        if i.jump or i.call or i.ret:
            out.append(current)
            current = []
    return out + ([current] if current else [])


def _register_move(i: Instruction, arch: str) -> tuple[str, str, int] | None:
    """(destination, source, width) of a full copy between two GPRs of one width (32 or 64 bits), else None."""
    if i.mnemonic != "mov" or len(i.register_operands) != 2 or i.memory_operand:
        return None
    d, s = i.register_operands
    width = register_width(d, arch)
    if width not in (4, 8) or register_width(s, arch) != width or STACK_POINTER[arch] in (gpr(d, arch), gpr(s, arch)):
        return None                   # frame setup and teardown (mov rbp, rsp; mov rsp, rbp) are no value moves
    return gpr(d, arch), gpr(s, arch), width


def redundant_moves(instructions: list[Instruction], arch: str) -> list[int]:
    """Marks register moves whose destination already holds exactly what the move would put there.

    Values are numbered within a run: a 64-bit move copies its source's value; a 32-bit move (x86 `mov r32, r32`,
    AArch64 `mov wD, wN`) zero-extends it, which changes nothing only where the source is known zero-extended
    (last written as a 32-bit register). Any other write gives a register a new value. So `mov rax, rbx;
    mov rbx, rax` marks the second, as does a copy moved back (`mov rcx, rax; ...; mov rax, rcx` with neither
    written between) and `mov rax, rax`; `mov eax, eax` after a 64-bit write is a zero-extension, not marked.
    Moves to or from the stack pointer (frame setup and teardown) are left out.
    """
    marks = [0] * len(instructions)
    for run in runs(instructions):
        value: dict[str, object] = {}
        extended: set[str] = set()
        for k in run:
            i = instructions[k]
            move = _register_move(i, arch)
            if move:
                d, s, width = move
                source = value.get(s, ("entry", s))
                new = source if width == 8 or s in extended else ("zero-extended", source)
                marks[k] = int(value.get(d, ("entry", d)) == new)
                _assign(value, extended, d, new, width == 4 or s in extended)
                continue
            for reg in i.regs_written:
                if gpr(reg, arch):
                    _assign(value, extended, gpr(reg, arch), ("written", k, reg), register_width(reg, arch) == 4)
    return marks


def _assign(value: dict, extended: set, reg: str, new: object, zero_extended: bool) -> None:
    value[reg] = new
    if zero_extended:
        extended.add(reg)
    else:
        extended.discard(reg)


def _moves_register(i: Instruction, arch: str, stores: bool) -> bool:
    if arch == "x86_64":
        return i.mnemonic.startswith(("mov", "vmov")) and bool(i.register_operands)
    if not i.mnemonic.startswith(AARCH64_STORES if stores else AARCH64_LOADS):
        return False
    return bool(set(i.register_operands) - FRAME_RECORD - {"xzr", "wzr"})


def spills(instructions: list[Instruction], arch: str) -> list[int]:
    """Marks moves of a register to a stack slot (base rsp/rbp; sp/x29); push and the x29/x30 frame record apart."""
    bases = STACK_BASES[arch]
    return [int(i.writes_memory and i.memory_base in bases and _moves_register(i, arch, True)) for i in instructions]


def reloads(instructions: list[Instruction], arch: str) -> list[int]:
    """Marks moves of a stack slot (base rsp/rbp; sp/x29) into a register; pop and the x29/x30 frame record apart."""
    bases = STACK_BASES[arch]
    return [int(i.reads_memory and not i.writes_memory and i.memory_base in bases and _moves_register(i, arch, False))
            for i in instructions]


def trap_instructions(instructions: list[Instruction], arch: str, traps: frozenset[int] = frozenset()) -> list[int]:
    """Marks instructions that trap by design: ud2 (ud0, ud1) on x86-64, brk and udf on AArch64, and calls at an
    address in `traps` (out-of-line trap code: V8's landing pads call the trap's builtin)."""
    return [int(i.mnemonic in TRAPS[arch] or (i.call and i.address in traps)) for i in instructions]


def calls(instructions: list[Instruction], traps: frozenset[int] = frozenset()) -> list[int]:
    """Marks calls, those at an address in `traps` (trap landing pads, see trap_instructions) apart."""
    return [int(i.call and i.address not in traps) for i in instructions]


def trap_branches(instructions: list[Instruction], arch: str, traps: frozenset[int] = frozenset()) -> list[int]:
    """Marks conditional branches to a trap: a trap instruction of the listing or an address in `traps`."""
    known = set(traps) | {i.address for i in instructions if i.mnemonic in TRAPS[arch]}
    return [int(i.jump and conditional(i, arch) and i.target in known) for i in instructions]


def conditional(i: Instruction, arch: str) -> bool:
    """A conditional jump (x86 jcc, jrcxz, loop; AArch64 b.cond, cbz, cbnz, tbz, tbnz)."""
    if arch == "x86_64":
        return i.jump and i.mnemonic != "jmp"
    return i.jump and i.mnemonic.startswith(("b.", "cbz", "cbnz", "tbz", "tbnz"))


def outside_calls(instructions: list[Instruction], functions: tuple[tuple[int, int], ...]) -> list[int]:
    """Marks direct calls whose target lies in none of the [start, end) ranges (the module's wasm functions)."""
    return [int(i.call and i.target is not None and not any(a <= i.target < b for a, b in functions))
            for i in instructions]


RETURN_REGISTERS = {"x86_64": {"rax"}, "aarch64": {"x0"}}     # where a function's (first) result is returned


def dead_from(instructions: list[Instruction], start: int, reg: str, arch: str) -> bool:
    """The 64-bit GPR is written before it is read from index `start` on, in the listing's order (control flow
    ignored), or the listing ends first; a call reads every register, a return its result register (rax; x0),
    and an 8- or 16-bit write keeps the old value's rest alive."""
    for i in instructions[start:]:
        if i.call or (i.ret and reg in RETURN_REGISTERS[arch]):
            return False
        zero_idiom = arch == "x86_64" and i.mnemonic in ("xor", "sub") and len(set(i.register_operands)) == 1 \
            and len(i.register_operands) == 2
        if not zero_idiom and reg in {gpr(r, arch) for r in i.regs_read}:
            return False
        written = [r for r in i.regs_written if gpr(r, arch) == reg]
        if written:
            return all(register_width(r, arch) >= 4 for r in written)
    return True


def zero_extensions(instructions: list[Instruction], arch: str) -> list[int]:
    """Marks 32-bit moves of a register to itself (x86 mov r32, r32; AArch64 mov wN, wN): upper half cleared."""
    return [int(i.mnemonic == "mov" and not i.memory_operand and len(i.register_operands) == 2
                and i.register_operands[0] == i.register_operands[1]
                and register_width(i.register_operands[0], arch) == 4) for i in instructions]


def stack_checks(instructions: list[Instruction], arch: str) -> list[int]:
    """Marks compares of the stack pointer with memory or another register (stack-limit checks)."""
    sp = STACK_POINTER[arch]
    return [int(i.mnemonic == "cmp" and sp in {gpr(r, arch) for r in i.register_operands}
                and (i.memory_operand or len(i.register_operands) == 2)) for i in instructions]
