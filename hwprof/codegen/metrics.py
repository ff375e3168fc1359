"""Static code metrics of compiled functions, from capstone's disassembly (x86-64 and AArch64).

Each metric is one count over a function's instructions; METRICS says what each counts, in one line.
"""

from __future__ import annotations

from dataclasses import dataclass

from hwprof.codegen import decode
from hwprof.codegen.artefacts import ArtefactError, Function

METRICS = {
    "instructions": "instructions decoded",
    "code_bytes": "bytes of machine code",
    "bytes_per_instruction": "code_bytes / instructions",
    "register_moves": "moves from one general-purpose register to another",
    "loads": "instructions that read memory (lea excluded)",
    "stores": "instructions that write memory",
    "alu_memory_operand": "x86 arithmetic or compare taking a memory operand directly (the study's 'indirect memory address' done right)",
    "branches": "jumps, conditional or not (calls and returns apart)",
    "conditional_branches": "conditional jumps",
    "calls": "calls (to other functions or runtime helpers)",
    "rex_prefixes": "x86 instructions carrying a REX prefix",
    "meaningless_rex": "x86 REX prefixes that change nothing: 0x40 with no extended register, no 64-bit operand and no spl/bpl/sil/dil",
    "setcc_branch_sequences": "x86 setcc, movzx, test/and, jcc where one jcc would do (the study's 'inappropriate instruction choice')",
    "windows_32": "distinct 32-byte code windows the function's bytes touch",
    "windows_64": "distinct 64-byte code windows the function's bytes touch",
    "jcc_erratum_jumps": "jumps, calls and returns that cross or end on a 32-byte boundary (Skylake's JCC erratum keeps their window out of the uop cache)",
}
ALU = {"add", "sub", "and", "or", "xor", "cmp", "test", "adc", "sbb", "imul"}
BYTE_REGS_NEEDING_REX = {"spl", "bpl", "sil", "dil"}


@dataclass(frozen=True)
class Instruction:
    """What the metrics need of one decoded instruction."""

    address: int
    size: int
    mnemonic: str
    op_str: str
    reads_memory: bool
    writes_memory: bool
    register_operands: tuple[str, ...]
    memory_operand: bool
    rex: int                # x86's REX byte (0: none); 0 on AArch64
    jump: bool
    call: bool
    ret: bool


def disassemble(code: bytes, arch: str, address: int = 0) -> list[Instruction]:
    """Decode machine code with capstone; ArtefactError when it stops before the end (not code of that ISA)."""
    import capstone as cs

    md = {"x86_64": lambda: cs.Cs(cs.CS_ARCH_X86, cs.CS_MODE_64),
          "aarch64": lambda: cs.Cs(cs.CS_ARCH_ARM64, cs.CS_MODE_ARM)}.get(arch)
    if md is None:
        raise ArtefactError(f"no disassembler for ISA {arch!r}")
    md = md()
    md.detail = True
    decoded, data = decode.sweep(cs, md, bytes(code), address, arch)
    # Zero padding before data (or at the end) is not code either.
    while decoded and not bytes(decoded[-1].bytes).strip(b"\x00"):
        decoded.pop()
    end = decoded[-1].address + decoded[-1].size if decoded else address
    code_end = min([b for b, _ in data if b >= end] + [address + len(code)])
    if bytes(code[end - address:code_end - address]).strip(b"\x00\xcc"):
        raise ArtefactError(f"capstone stopped at offset {end - address} of {len(code)} bytes: not {arch} code")
    return [_instruction(cs, insn, arch) for insn in decoded]


def _instruction(cs, insn, arch: str) -> Instruction:
    regs, memory, reads, writes = [], False, False, False
    for op in insn.operands:
        kind = op.type
        if kind == (cs.x86.X86_OP_REG if arch == "x86_64" else cs.arm64.ARM64_OP_REG):
            regs.append(insn.reg_name(op.reg))
        elif kind == (cs.x86.X86_OP_MEM if arch == "x86_64" else cs.arm64.ARM64_OP_MEM):
            memory = True
            reads |= bool(op.access & cs.CS_AC_READ)
            writes |= bool(op.access & cs.CS_AC_WRITE)
    if insn.mnemonic == "lea":
        reads = writes = False        # an address computation: no memory is touched
    return Instruction(insn.address, insn.size, insn.mnemonic, insn.op_str, reads, writes, tuple(regs), memory,
                       getattr(insn, "rex", 0) if arch == "x86_64" else 0, insn.group(cs.CS_GRP_JUMP),
                       insn.group(cs.CS_GRP_CALL), insn.group(cs.CS_GRP_RET))


def count(instructions: list[Instruction], arch: str) -> dict[str, float]:
    """Every metric of METRICS over one sequence of instructions (a function, or a module's functions joined)."""
    n = len(instructions)
    size = sum(i.size for i in instructions)
    gpr = _gpr(arch)
    out = {
        "instructions": n,
        "code_bytes": size,
        "bytes_per_instruction": size / n if n else 0.0,
        "register_moves": sum(1 for i in instructions if i.mnemonic == "mov" and len(i.register_operands) == 2
                              and not i.memory_operand and all(gpr(r) for r in i.register_operands)),
        "loads": sum(i.reads_memory for i in instructions),
        "stores": sum(i.writes_memory for i in instructions),
        "alu_memory_operand": sum(1 for i in instructions if i.mnemonic in ALU and i.memory_operand)
        if arch == "x86_64" else 0,
        "branches": sum(i.jump for i in instructions),
        "conditional_branches": sum(1 for i in instructions if i.jump and _conditional(i, arch)),
        "calls": sum(i.call for i in instructions),
        "rex_prefixes": sum(1 for i in instructions if i.rex),
        "meaningless_rex": sum(1 for i in instructions if meaningless_rex(i)),
        "setcc_branch_sequences": setcc_sequences(instructions) if arch == "x86_64" else 0,
        "windows_32": windows(instructions, 32),
        "windows_64": windows(instructions, 64),
        "jcc_erratum_jumps": sum(1 for i in instructions if (i.jump or i.call or i.ret) and crosses_or_ends(i, 32)),
    }
    return out


def _gpr(arch: str):
    if arch == "x86_64":
        return lambda r: r[0] in "re" or r in {"ax", "bx", "cx", "dx", "si", "di", "sp", "bp"} or \
            (r.startswith("r") and r[1:].rstrip("dwb").isdigit())
    return lambda r: r[0] in "xw" and (r[1:].isdigit() or r in ("xzr", "wzr"))


def _conditional(i: Instruction, arch: str) -> bool:
    if arch == "x86_64":
        return i.mnemonic.startswith("j") and i.mnemonic != "jmp"
    return i.mnemonic.startswith(("b.", "cbz", "cbnz", "tbz", "tbnz"))


def meaningless_rex(i: Instruction) -> bool:
    """A bare REX (0x40: no W, R, X or B bit) on an instruction that names none of spl, bpl, sil, dil."""
    return i.rex == 0x40 and not BYTE_REGS_NEEDING_REX & set(i.register_operands)


def setcc_sequences(instructions: list[Instruction]) -> int:
    """setcc; movzx; test|and; jcc in a row (the value of a compare turned into a byte, widened, tested, branched on)."""
    found = 0
    for a, b, c, d in zip(instructions, instructions[1:], instructions[2:], instructions[3:]):
        if a.mnemonic.startswith("set") and b.mnemonic.startswith("movz") and c.mnemonic in ("test", "and") \
                and d.jump and d.mnemonic != "jmp":
            found += 1
    return found


def windows(instructions: list[Instruction], size: int) -> int:
    """Distinct aligned windows of `size` bytes that any instruction's bytes fall in."""
    touched = set()
    for i in instructions:
        touched.update(range(i.address // size, (i.address + i.size - 1) // size + 1))
    return len(touched)


def crosses_or_ends(i: Instruction, boundary: int) -> bool:
    """The instruction spans a `boundary`-byte line or its last byte is the line's last (ends on the boundary)."""
    last = i.address + i.size - 1
    return i.address // boundary != last // boundary or (last + 1) % boundary == 0


def function_metrics(function: Function, arch: str) -> dict[str, float]:
    """The metrics of one compiled function (addresses as in the artefact, so windows are the real ones)."""
    return count(disassemble(function.code, arch, function.address), arch)
