"""Wasmtime's side tables in a serialized module: the address map and the trap table.

Both are sections of the ELF that `Module.serialize()` (or `wasmtime compile`) writes, their offsets counted
from the start of `.text`. The layout read here is the block format Wasmtime has written since 47.0
(crates/environ/src/compile/{address_map,trap_encoding}.rs, unchanged from 48.0.0 to the 49 development
tree; this machine's wasmtime package 50.0 and wasmtime CLI 49.0 both write it):

    entry_count: u32 LE, block_count: u32 LE, block_count x (first_offset: u32 LE, body_position: u32 LE),
    then the block bodies, each of at most 128 entries, decoded on their own.

`.wasmtime.addrmap` body: per entry a ULEB token (offset delta << 1 | no_position); unless no_position, a wasm
file offset follows, the block's first as a ULEB and each later one as an SLEB delta from the previous. An entry
covers the code from its offset up to the next entry's (each function's first entry starts its own run).
`.wasmtime.traps` body: the block's default trap code (a byte), then per entry a ULEB token
(offset delta << 1 | own_code) followed, when own_code, by the entry's trap code byte. An entry names exactly
the instruction that traps.
"""

from __future__ import annotations

import io

ADDRMAP_SECTION = ".wasmtime.addrmap"
TRAPS_SECTION = ".wasmtime.traps"
BLOCK_SIZE = 128            # entries per block, both tables
# Wasmtime's `Trap` enum in declaration order: a trap code byte is its position (crates/environ/src/trap_encoding.rs).
TRAP_NAMES = (
    "StackOverflow", "MemoryOutOfBounds", "HeapMisaligned", "TableOutOfBounds", "IndirectCallToNull",
    "BadSignature", "IntegerOverflow", "IntegerDivisionByZero", "BadConversionToInteger",
    "UnreachableCodeReached", "Interrupt", "OutOfFuel", "AtomicWaitNonSharedMemory", "NullReference",
    "ArrayOutOfBounds", "AllocationTooLarge", "CastFailure", "CannotEnterComponent", "NoAsyncResult",
    "UnhandledTag", "ContinuationAlreadyConsumed", "DisabledOpcode", "AsyncDeadlock", "CannotLeaveComponent",
    "CannotBlockSyncTask", "InvalidChar", "DebugAssertStringEncodingFinished", "DebugAssertEqualCodeUnits",
    "DebugAssertPointerAligned", "DebugAssertUpperBitsUnset", "StringOutOfBounds", "ListOutOfBounds",
    "InvalidDiscriminant", "UnalignedPointer", "TaskCancelNotCancelled", "TaskCancelOrReturnTwice",
    "SubtaskCancelAfterTerminal", "TaskReturnInvalid", "WaitableSetDropHasWaiters", "SubtaskDropNotResolved",
    "ThreadNewIndirectInvalidType", "ThreadNewIndirectUninitialized", "BackpressureOverflow",
    "UnsupportedCallbackCode", "CannotResumeThread", "ConcurrentFutureStreamOp", "ReferenceCountOverflow",
    "StreamOpTooBig", "WaitableSyncAndAsync", "UncaughtException",
)
# Codes outside the enum: Wasmtime's own assertions in compiled code.
SPECIAL_TRAPS = {0xFF: "InternalAssert", 0xFE: "GcHeapCorrupt"}


class TableError(ValueError):
    """A side table that is not in the layout read here, said in one line (artefacts turns it into ArtefactError)."""


class _Bytes:
    """A cursor over one section's bytes; running off the end is a TableError naming the section."""

    def __init__(self, data: bytes, section: str, at: int = 0):
        self.data, self.section, self.at = data, section, at

    def byte(self) -> int:
        if self.at >= len(self.data):
            raise TableError(f"{self.section} is truncated (offset {self.at} of {len(self.data)})")
        self.at += 1
        return self.data[self.at - 1]

    def u32(self) -> int:
        return sum(self.byte() << (8 * k) for k in range(4))

    def uleb(self) -> int:
        return self._leb(signed=False)

    def sleb(self) -> int:
        return self._leb(signed=True)

    def _leb(self, signed: bool) -> int:
        value, shift = 0, 0
        while True:
            b = self.byte()
            value |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return value - (1 << shift) if signed and b & 0x40 else value


def _blocks(data: bytes, section: str):
    """Each block as (first offset, a cursor at its body, its entry count), checking its body ends where the next
    one starts (the last: where the section does) once the caller has read it."""
    head = _Bytes(data, section)
    entries, count = head.u32(), head.u32()
    if count != -(-entries // BLOCK_SIZE):
        raise TableError(f"{section}: {entries} entries in {count} blocks is not Wasmtime's block format "
                         f"(written since Wasmtime 47; an older module keeps flat arrays)")
    index = [(head.u32(), head.u32()) for _ in range(count)]
    bodies = head.at
    ends = [bodies + position for _, position in index[1:]] + [len(data)]
    for k, ((first, position), end) in enumerate(zip(index, ends)):
        body = _Bytes(data, section, bodies + position)
        yield first, body, min(BLOCK_SIZE, entries - k * BLOCK_SIZE)
        if body.at != end:
            raise TableError(f"{section}: block {k} ends at byte {body.at}, not {end} "
                             f"(not the layout this reader knows)")


def read_addrmap(data: bytes) -> list[tuple[int, int | None]]:
    """`.wasmtime.addrmap` as (code offset in .text, wasm file offset or None for code with no wasm source)."""
    out: list[tuple[int, int | None]] = []
    for offset, body, n in _blocks(bytes(data), ADDRMAP_SECTION):
        position = None
        for _ in range(n):
            token = body.uleb()
            offset += token >> 1
            if token & 1:
                out.append((offset, None))
                continue
            position = body.uleb() if position is None else position + body.sleb()
            out.append((offset, position))
    return out


def trap_name(code: int) -> str:
    """Wasmtime's name of a trap code byte (`unknown(N)` for a code this table does not know)."""
    if code in SPECIAL_TRAPS:
        return SPECIAL_TRAPS[code]
    return TRAP_NAMES[code] if code < len(TRAP_NAMES) else f"unknown({code})"


def read_traps(data: bytes) -> list[tuple[int, str]]:
    """`.wasmtime.traps` as (code offset in .text of the instruction that can trap, the trap's name)."""
    out: list[tuple[int, str]] = []
    for offset, body, n in _blocks(bytes(data), TRAPS_SECTION):
        default = body.byte()
        for _ in range(n):
            token = body.uleb()
            offset += token >> 1
            out.append((offset, trap_name(body.byte() if token & 1 else default)))
    return out


def read_tables(elf: bytes) -> tuple[list[tuple[int, int | None]], list[tuple[int, str]]]:
    """Both tables of a serialized module's ELF (an empty list for a table the module does not carry)."""
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile

    try:
        found = ELFFile(io.BytesIO(bytes(elf)))
        addrmap, traps = found.get_section_by_name(ADDRMAP_SECTION), found.get_section_by_name(TRAPS_SECTION)
    except ELFError as exc:
        raise TableError(f"not a readable ELF file ({exc})") from None
    return (read_addrmap(addrmap.data()) if addrmap is not None else [],
            read_traps(traps.data()) if traps is not None else [])

