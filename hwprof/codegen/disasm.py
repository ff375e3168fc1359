"""Machine code decoded with capstone (x86-64 and AArch64) into what the code metrics need of each instruction."""

from __future__ import annotations

from dataclasses import dataclass

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


def disassemble(code: bytes, arch: str, address: int = 0) -> list[Instruction]:
    """Decode machine code with capstone; ArtefactError when it stops before the end (not code of that ISA)."""
    import capstone as cs

    md = {"x86_64": lambda: cs.Cs(cs.CS_ARCH_X86, cs.CS_MODE_64),
          "aarch64": lambda: cs.Cs(cs.CS_ARCH_ARM64, cs.CS_MODE_ARM)}.get(arch)
    if md is None:
        raise ArtefactError(f"no disassembler for ISA {arch!r}")
    md = md()
    md.detail = True
    out, end = _sweep(cs, md, bytes(code), address, arch)
    if end != address + len(code) and bytes(code[end - address:]).strip(b"\x00\xcc"):
        pool, code_end = _constant_pool(out, address, end)
        if pool is None or bytes(code[code_end - address:pool - address]).strip(b"\x00\xcc\x90"):
            raise ArtefactError(f"capstone stopped at offset {end - address} of {len(code)} bytes: not {arch} code")
        out = [i for i in out if i.address + i.size <= code_end]
    return out


def _sweep(cs, md, code: bytes, address: int, arch: str) -> tuple[list[Instruction], int]:
    """A linear sweep that steps over Cranelift's x86 jump tables (br_table: `lea r, [rip + table]` ... `jmp r`,
    the table of 32-bit offsets from its own start placed right after the jmp)."""
    out, at, tables = [], address, set()
    while at < address + len(code):
        resumed = False
        for insn in md.disasm(code[at - address:], at):
            i = _instruction(cs, insn, arch)
            out.append(i)
            at = i.address + i.size
            if i.mnemonic == "lea" and i.data_address is not None:
                tables.add(i.data_address)
            if i.jump and i.target is None and at in tables:
                resumed = (after := _jump_table_end(code, address, at)) is not None
                if resumed:
                    at = after
                    break
        if not resumed:
            break
    return out, at


def _jump_table_end(code: bytes, address: int, table: int) -> int | None:
    """The end of a table of 32-bit offsets from `table` to code after it (None: these bytes are no such table)."""
    end, first, at = address + len(code), address + len(code), table
    while at < first and at + 4 <= end:
        target = table + int.from_bytes(code[at - address:at - address + 4], "little", signed=True)
        if not table < target < end:
            return None
        first, at = min(first, target), at + 4
    return at if at == first else None


def _constant_pool(out: list[Instruction], start: int, stop: int) -> tuple[int | None, int]:
    """Where a constant pool after the code begins and where the code before it ends (after its last return,
    jump or trap, with no direct jump beyond): the first such rip-relative address (Cranelift's constants)."""
    ends = [i.address + i.size for i in out if i.ret or i.mnemonic in ("jmp", "ud2")]
    for at in sorted({i.data_address for i in out if i.data_address is not None and start < i.data_address <= stop}):
        code_end = max((e for e in ends if e <= at), default=None)
        targets = [i.target for i in out if i.jump and i.target is not None and i.address < at]   # not data's
        if code_end is not None and all(t < code_end for t in targets):
            return at, code_end
    return None, 0


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
    elif not x86 and memory:
        # capstone marks an AArch64 store's operand read and written, a post-indexed load's written: the mnemonic says
        atomic = mnemonic.startswith(AARCH64_ATOMICS)
        reads, writes = mnemonic.startswith("ld") or atomic, mnemonic.startswith("st") or atomic
    call = insn.group(cs.CS_GRP_CALL)
    jump = insn.group(cs.CS_GRP_JUMP) and not call
    read, written = insn.regs_access()
    return Instruction(
        insn.address, insn.size, mnemonic, insn.op_str, reads, writes, tuple(regs), memory,
        getattr(insn, "rex", 0) if x86 else 0, jump, call, insn.group(cs.CS_GRP_RET),
        regs_read=tuple(_name(insn.reg_name(r), arch) for r in read),
        regs_written=tuple(_name(insn.reg_name(r), arch) for r in written),
        memory_base=base, target=imm if (jump or call) and imm is not None else None,
        immediate=imm is not None and not (jump or call),
        width=insn.operands[0].size if x86 and insn.operands else 0, data_address=data)


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
