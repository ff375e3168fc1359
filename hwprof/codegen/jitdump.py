"""Linux perf's jitdump format (tools/perf/Documentation/jitdump-specification.txt), as a JIT such as V8 writes it.

A file is a 40-byte header (magic "JiTD", version, header size, ELF e_machine, reserved, pid, timestamp,
flags) and then records, each a 16-byte prefix (id, total size including the prefix, timestamp) and its
payload. JIT_CODE_LOAD (id 0) carries one piece of code: pid, tid, vma, code_addr, code_size, code_index,
the NUL-terminated name, then code_size bytes of machine code as the JIT left them at vma (relocated, in
place). JIT_CODE_MOVE (1) says code moved; DEBUG_INFO (2), CLOSE (3) and UNWINDING_INFO (4) say nothing
of the code's bytes and are only counted. The magic, read in the writer's byte order, says that order.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from hwprof.codegen.artefacts import ArtefactError

MAGIC = 0x4A695444                      # "JiTD" read as a little-endian u32 in the writer's byte order
HEADER = "IIIIIIQQ"                     # magic, version, total_size, elf_mach, pad1, pid, timestamp, flags
PREFIX = "IIQ"                          # id, total_size, timestamp
LOAD = "IIQQQQ"                         # pid, tid, vma, code_addr, code_size, code_index
MOVE = "IIQQQQQ"                        # pid, tid, vma, old_code_addr, new_code_addr, code_size, code_index
RECORDS = {0: "load", 1: "move", 2: "debug_info", 3: "close", 4: "unwinding_info"}
ELF_MACHINES = {62: "x86_64", 183: "aarch64"}   # ELF e_machine -> the ISA names of artefacts.ARCHES


@dataclass(frozen=True)
class CodeLoad:
    """One JIT_CODE_LOAD record: a piece of code, its name and its bytes at the address it runs at."""

    timestamp: int
    pid: int
    tid: int
    vma: int
    code_addr: int
    code_index: int
    name: str
    code: bytes


@dataclass(frozen=True)
class CodeMove:
    """One JIT_CODE_MOVE record: the code of an earlier load (by code_index) now at another address."""

    timestamp: int
    pid: int
    tid: int
    vma: int
    old_code_addr: int
    new_code_addr: int
    code_size: int
    code_index: int


@dataclass(frozen=True)
class Jitdump:
    """A parsed jitdump file: its header, every code load and move in file order, and how many of each record."""

    byte_order: str             # "little" or "big"
    version: int
    elf_mach: int
    pid: int
    timestamp: int
    flags: int
    loads: tuple[CodeLoad, ...]
    moves: tuple[CodeMove, ...]
    counts: dict[str, int]      # record kind (RECORDS' names, or "id N" for one it does not know) -> records

    @property
    def arch(self) -> str:
        """The ISA of the code (artefacts.ARCHES' names), or ArtefactError for a machine hwprof does not decode."""
        if self.elf_mach not in ELF_MACHINES:
            raise ArtefactError(f"the jitdump holds code for ELF machine {self.elf_mach}, which hwprof does not "
                                f"decode (it reads: {', '.join(ELF_MACHINES.values())})")
        return ELF_MACHINES[self.elf_mach]


def read_file(path: str | Path) -> Jitdump:
    """Parse a jitdump file (ArtefactError, in one line, when it cannot be read or is not one)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ArtefactError(f"cannot read the jitdump {path}: {exc.strerror or exc}") from None
    return read(data)


def read(data: bytes) -> Jitdump:
    """Parse jitdump bytes: ArtefactError in one line when they are not a jitdump or are cut short."""
    order = _byte_order(data)
    head = struct.calcsize(order + HEADER)
    if len(data) < head:
        raise ArtefactError(f"truncated jitdump: {len(data)} bytes, shorter than its {head}-byte header")
    _, version, header_size, elf_mach, _, pid, timestamp, flags = struct.unpack_from(order + HEADER, data)
    if header_size < head or header_size > len(data):
        raise ArtefactError(f"not a readable jitdump: its header says it is {header_size} bytes "
                            f"(at least {head}, at most the file's {len(data)})")
    loads, moves, counts = _records(data, order, header_size)
    return Jitdump("little" if order == "<" else "big", version, elf_mach, pid, timestamp, flags,
                   tuple(loads), tuple(moves), counts)


def _byte_order(data: bytes) -> str:
    if len(data) < 4:
        raise ArtefactError(f"truncated jitdump: {len(data)} bytes, shorter than its magic number")
    for order in "<>":
        if struct.unpack_from(order + "I", data)[0] == MAGIC:
            return order
    raise ArtefactError(f"not a jitdump file (its first bytes are {data[:4]!r}, not the magic 0x4A695444 ('JiTD') "
                        f"in either byte order)")


def _records(data: bytes, order: str, at: int) -> tuple[list[CodeLoad], list[CodeMove], dict[str, int]]:
    prefix = struct.calcsize(order + PREFIX)
    loads, moves, counts = [], [], {}
    number = 0
    while at < len(data):
        if len(data) - at < prefix:
            raise ArtefactError(f"truncated jitdump: record {number} at offset {at} has {len(data) - at} of its "
                                f"{prefix} prefix bytes")
        kind, size, timestamp = struct.unpack_from(order + PREFIX, data, at)
        if size < prefix or at + size > len(data):
            raise ArtefactError(f"truncated jitdump: record {number} at offset {at} declares {size} bytes, "
                                f"{len(data) - at} remain")
        body = data[at + prefix:at + size]
        name = RECORDS.get(kind, f"id {kind}")
        counts[name] = counts.get(name, 0) + 1
        if kind == 0:
            loads.append(_load(body, order, timestamp, number, at))
        elif kind == 1:
            moves.append(_move(body, order, timestamp, number, at))
        at += size
        number += 1
    return loads, moves, counts


def _load(body: bytes, order: str, timestamp: int, number: int, at: int) -> CodeLoad:
    fixed = struct.calcsize(order + LOAD)
    end = body.find(b"\0", fixed)
    if len(body) < fixed or end < 0:
        raise ArtefactError(f"not a readable jitdump: code load {number} at offset {at} ends before its name does")
    pid, tid, vma, code_addr, code_size, code_index = struct.unpack_from(order + LOAD, body)
    code = body[end + 1:end + 1 + code_size]
    if len(code) != code_size:
        raise ArtefactError(f"not a readable jitdump: code load {number} at offset {at} declares {code_size} "
                            f"code bytes, its record holds {len(code)}")
    return CodeLoad(timestamp, pid, tid, vma, code_addr, code_index, body[fixed:end].decode("utf-8", "replace"), code)


def _move(body: bytes, order: str, timestamp: int, number: int, at: int) -> CodeMove:
    if len(body) < struct.calcsize(order + MOVE):
        raise ArtefactError(f"not a readable jitdump: code move {number} at offset {at} is {len(body)} bytes long")
    return CodeMove(timestamp, *struct.unpack_from(order + MOVE, body))
