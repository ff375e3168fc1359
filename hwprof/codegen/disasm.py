"""Machine code decoded with capstone (x86-64 and AArch64) into what the code metrics need of each instruction."""

from __future__ import annotations

from dataclasses import dataclass

from hwprof.codegen import decode
from hwprof.codegen.artefacts import ArtefactError

_X86_LEGACY = {"a": "rax", "b": "rbx", "c": "rcx", "d": "rdx"}
_X86_INDEX = {"si": "rsi", "di": "rdi", "bp": "rbp", "sp": "rsp"}
AARCH64_ATOMICS = ("ldadd", "ldclr", "ldeor", "ldset", "ldsmax", "ldsmin", "ldumax", "ldumin", "swp", "cas")
_AARCH64_ALIASES = {"fp": "x29", "lr": "x30", "wsp": "sp"}


@dataclass(frozen=True)
class Instruction:
    """What the metrics need of one decoded instruction."""

    address: int
    size: int
    mnemonic: str
    op_str: str
    reads_memory: bool
    writes_memory: bool
    register_operands: tuple[str, ...]   # explicit register operands, destination first (as capstone lists them)
    memory_operand: bool
    rex: int                # x86's REX byte (0: none); 0 on AArch64
    jump: bool              # a jump, conditional or not; never a call (capstone marks AArch64's bl/blr both)
    call: bool
    ret: bool
    regs_read: tuple[str, ...] = ()      # every register read, implicit ones and address registers included
    regs_written: tuple[str, ...] = ()   # every register written, implicit ones included (flags too)
    memory_base: str = ""                # the memory operand's base register ("" when none)
    target: int | None = None            # a direct jump's or call's target address; None when indirect or none
    immediate: bool = False              # an immediate operand
    width: int = 0                       # bytes of the first operand (x86); 0 where capstone gives none
    data_address: int | None = None      # the address an x86 rip-relative memory operand names
    immediate_value: int | None = None   # the value of a non-branch instruction's (last) immediate operand


def disassemble(code: bytes, arch: str, address: int = 0) -> list[Instruction]:
    """Decode machine code with capstone; ArtefactError when it stops before the end (not code of that ISA)."""
    import capstone as cs

    md = {"x86_64": lambda: cs.Cs(cs.CS_ARCH_X86, cs.CS_MODE_64),
          "aarch64": lambda: cs.Cs(cs.CS_ARCH_ARM64, cs.CS_MODE_ARM)}.get(arch)
    if md is None:
        raise ArtefactError(f"no disassembler for ISA {arch!r}")
    md = md()
    md.detail = True
    decoded, data = decode.sweep(cs, md, bytes(code), address, arch)   # data among the code stepped over
    while decoded and not bytes(decoded[-1].bytes).strip(b"\x00"):
        decoded.pop()                  # zero padding before data (or at the end) is not code either
    end = decoded[-1].address + decoded[-1].size if decoded else address
    code_end = min([b for b, _ in data if b >= end] + [address + len(code)])
    if bytes(code[end - address:code_end - address]).strip(b"\x00\xcc"):
        raise ArtefactError(f"capstone stopped at offset {end - address} of {len(code)} bytes: not {arch} code")
    return [_instruction(cs, insn, arch) for insn in decoded]


def _instruction(cs, insn, arch: str) -> Instruction:
    x86 = arch == "x86_64"
    reg_kind, mem_kind, imm_kind = ((cs.x86.X86_OP_REG, cs.x86.X86_OP_MEM, cs.x86.X86_OP_IMM) if x86 else
                                    (cs.arm64.ARM64_OP_REG, cs.arm64.ARM64_OP_MEM, cs.arm64.ARM64_OP_IMM))
    regs, memory, reads, writes, base, imm, data = [], False, False, False, "", None, None
    for op in insn.operands:
        if op.type == reg_kind:
            regs.append(_name(insn.reg_name(op.reg), arch))
        elif op.type == mem_kind:
            memory = True
            reads |= bool(op.access & cs.CS_AC_READ)
            writes |= bool(op.access & cs.CS_AC_WRITE)
            base = _name(insn.reg_name(op.mem.base) or "", arch)
            data = insn.address + insn.size + op.mem.disp if x86 and base == "rip" else None
        elif op.type == imm_kind:
            imm = op.imm
    mnemonic = insn.mnemonic
    if mnemonic == "lea" or mnemonic.startswith("nop"):
        reads = writes = False        # an address computation or a long nop: no memory is touched
    elif x86 and mnemonic in ("push", "pop"):
        reads, writes = reads or mnemonic == "pop", writes or mnemonic == "push"   # the stack slot
    elif x86 and mnemonic.startswith(("mov", "vmov")) and insn.operands and insn.operands[0].type == mem_kind \
            and sum(op.type == mem_kind for op in insn.operands) == 1:
        reads, writes = False, True   # a store: capstone 5 marks some VEX stores' memory read (vmovsd, vmovaps)
    elif not x86 and memory:
        # capstone marks an AArch64 store's operand read and written, a post-indexed load's written: the mnemonic says
        atomic = mnemonic.startswith(AARCH64_ATOMICS)
        reads, writes = mnemonic.startswith("ld") or atomic, mnemonic.startswith("st") or atomic
    call = insn.group(cs.CS_GRP_CALL)
    jump = insn.group(cs.CS_GRP_JUMP) and not call
    read, written = insn.regs_access()
    return Instruction(
        insn.address, insn.size, mnemonic, insn.op_str, reads, writes, tuple(regs), memory,
        rex_byte(bytes(insn.bytes)) if x86 else 0, jump, call, insn.group(cs.CS_GRP_RET),
        regs_read=tuple(_name(insn.reg_name(r), arch) for r in read),
        regs_written=tuple(_name(insn.reg_name(r), arch) for r in written),
        memory_base=base, target=imm if (jump or call) and imm is not None else None,
        immediate=imm is not None and not (jump or call),
        width=insn.operands[0].size if x86 and insn.operands else 0, data_address=data,
        immediate_value=None if imm is None or jump or call else imm)


_LEGACY_PREFIXES = frozenset(b"\xf0\xf2\xf3\x2e\x36\x3e\x26\x64\x65\x66\x67")


def rex_byte(code: bytes) -> int:
    """The REX prefix of one x86-64 instruction's bytes (0: none), read from the bytes themselves: a REX is
    0x40..0x4F right after the legacy prefixes (capstone reports 0x40 for VEX-encoded instructions, which have none)."""
    for b in code:
        if b not in _LEGACY_PREFIXES:
            return b if 0x40 <= b <= 0x4F else 0
    return 0


def _name(reg: str, arch: str) -> str:
    return reg if arch == "x86_64" else _AARCH64_ALIASES.get(reg, reg)


def gpr(reg: str, arch: str) -> str:
    """The 64-bit general-purpose register a register name is part of ('' when it is no GPR: flags, vector, zero)."""
    if arch == "aarch64":
        if reg == "sp" or (reg[:1] == "x" and reg[1:].isdigit()):
            return reg
        return "x" + reg[1:] if reg[:1] == "w" and reg[1:].isdigit() else ""
    if reg.startswith("r") and reg[1:].rstrip("dwb").isdigit():
        return reg[:3] if reg[2:3].isdigit() else reg[:2]            # r8..r15 and their d/w/b parts
    body = reg[1:] if len(reg) == 3 and reg[0] in "re" else reg
    if body in _X86_INDEX or body.rstrip("l") in _X86_INDEX:
        return _X86_INDEX[body if body in _X86_INDEX else body.rstrip("l")]
    if len(body) == 2 and body[0] in _X86_LEGACY and body[1] in "xlh":
        return _X86_LEGACY[body[0]]
    return ""


def register_width(reg: str, arch: str) -> int:
    """Bytes of a general-purpose register name (8 for rax or x0, 4 for eax or w0, 2, 1); 0 for any other."""
    if not gpr(reg, arch):
        return 0
    if arch == "aarch64":
        return 4 if reg[0] == "w" else 8
    if reg.startswith("r") and reg[1:2].isdigit():
        return {"d": 4, "w": 2, "b": 1}.get(reg[-1], 8)
    if reg[0] == "r":
        return 8
    if reg[0] == "e":
        return 4
    return 1 if reg[-1] in "lh" else 2
