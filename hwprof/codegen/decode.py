"""Decoding a function's bytes where compilers keep data among the code.

Cranelift puts a function's constants after its code (read rip-relative on x86-64, by literal loads on
AArch64) and a `br_table`'s jump table right after the indirect jump that uses it (32-bit offsets from the
table's start, whose address a `lea` or `adr` takes); the code goes on after the table. A linear sweep would
decode both as instructions, or stop at the first byte that is not one. This sweep skips them: a pc-relative
read of an address inside the function marks the data from there to the end; a `lea` or `adr` of an address
inside it whose 32-bit entries, read as offsets from that address, land inside the function marks a jump
table, which ends at the first case placed after it. `lea reg, [rip]` (V8's way to read its own address)
and references outside the function mark nothing.
"""

from __future__ import annotations

import struct


def _references(cs, insn, arch: str):
    """(address, is_address_only) for each pc-relative reference: x86's rip-relative operands (a `lea` only takes
    the address), AArch64's literal loads (`ldr reg, #label`: data) and `adr` (the address: a jump table's base)."""
    if arch == "x86_64":
        for op in insn.operands:
            if op.type == cs.x86.X86_OP_MEM and op.mem.base == cs.x86.X86_REG_RIP and op.mem.disp:
                yield insn.address + insn.size + op.mem.disp, insn.mnemonic == "lea"
    elif insn.mnemonic in ("adr", "ldr", "ldrsw") and len(insn.operands) == 2 \
            and insn.operands[1].type == cs.arm64.ARM64_OP_IMM:
        yield insn.operands[1].imm, insn.mnemonic == "adr"


def jump_table_end(code: bytes, start: int, table: int, end: int) -> int:
    """Where a jump table at `table` ends: entries are read while each lands inside the function, and no
    further than the first case placed after the table (a case may also jump back, e.g. Winch's default)."""
    pos, first_case = table, end
    while pos + 4 <= first_case:
        (entry,) = struct.unpack_from("<i", code, pos - start)
        target = table + entry
        if not start <= target < end or table <= target < pos + 4:
            break
        if target > table:
            first_case = min(first_case, target)
        pos += 4
    return pos


def sweep(cs, md, code: bytes, start: int, arch: str) -> tuple[list, list[tuple[int, int]]]:
    """The instructions capstone decodes from `code` (at address `start`) and the (begin, end) data ranges skipped.

    The sweep stops where capstone stops (bytes that are no instruction); the caller says whether that is the end.
    """
    end = start + len(code)
    out, data, pos, pool = [], [], start, end
    tables: dict[int, int] = {}                      # jump table start -> its end
    limit = lambda after: min([t for t in tables if t >= after] + [pool])
    while pos < pool:
        if pos in tables:
            data.append((pos, tables[pos]))
            pos = tables[pos]
            continue
        stop, again = limit(pos), False
        for insn in md.disasm(code[pos - start:stop - start], pos):
            if insn.address + insn.size > stop:      # data found meanwhile begins inside it: decode up to the data
                again = True
                break
            out.append(insn)
            pos = insn.address + insn.size
            for target, address_only in _references(cs, insn, arch):
                if not pos <= target < end:
                    continue
                if address_only:
                    after = jump_table_end(code, start, target, pool)
                    if after > target:
                        tables[target] = after
                elif target < pool:
                    pool = target            # a constant the code reads: the pool runs from there to the end
            stop = limit(pos)
            if pos >= stop:
                break
        if again:
            if code[pos - start:stop - start].strip(b"\x00\xcc"):
                continue                     # real bytes before the data: decode them within the new limit
            pos = stop                       # padding up to the data
        elif pos < stop:                     # capstone stopped before the next data: not code of this ISA
            break
    if pool < end:
        data.append((pool, end))
    return out, data
