"""The same wasm function as two compilers made it, side by side (the study's Fig. 6), differences annotated.

Rows pair what each side made of one wasm instruction where both sides keep an address map (two Wasmtime
strategies or opt levels), otherwise of one basic block, blocks paired in order. Each row is annotated
with the metrics (hwprof.codegen.metrics) whose counts differ between its two sides.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Sequence

from hwprof.codegen import metrics
from hwprof.codegen.artefacts import Artefact, Function
from hwprof.codegen.metrics import Instruction

# Metric -> how many instructions, starting at the one annotated, it looks at (1: that instruction alone).
# A new metric of metrics.count that one instruction or a short run can be blamed for: one line here.
ANNOTATED = {
    "register_moves": 1, "loads": 1, "stores": 1, "alu_memory_operand": 1, "meaningless_rex": 1,
    "branches": 1, "calls": 1, "jcc_erratum_jumps": 1, "setcc_branch_sequences": 4,
}
_STACK_BASE = {"x86_64": re.compile(r"\[(rsp|rbp)\b"), "aarch64": re.compile(r"\[(sp|x29)\b")}
_TARGET = re.compile(r"^#?(0x[0-9a-f]+)$")
Side = tuple[Artefact, Function]


@dataclass(frozen=True)
class Row:
    """One aligned row: a wasm offset (or a block label) and what each side compiled it to."""

    key: int | str | None           # wasm file offset; a block label ("block 3"); None: code before any wasm
    left: tuple[Instruction, ...]
    right: tuple[Instruction, ...]
    left_notes: tuple[tuple[str, ...], ...]     # per instruction: the metrics it counts toward
    right_notes: tuple[tuple[str, ...], ...]
    annotations: tuple[tuple[str, int, int], ...]   # (metric, left count, right count) where the two differ

    def as_dict(self) -> dict:
        """The row as plain data (for --json)."""
        def side(instructions, notes):
            return [{"address": i.address, "size": i.size, "mnemonic": i.mnemonic, "op_str": i.op_str,
                     "annotations": list(n)} for i, n in zip(instructions, notes)]
        key = {"wasm_offset": self.key} if isinstance(self.key, int) or self.key is None else {"block": self.key}
        return {**key, "left": side(self.left, self.left_notes), "right": side(self.right, self.right_notes),
                "annotations": {m: [a, b] for m, a, b in self.annotations}}


def stack_store(i: Instruction, arch: str) -> bool:
    """A store whose address is the stack or frame pointer plus a displacement."""
    return i.writes_memory and bool(_STACK_BASE[arch].search(i.op_str))


# Annotations metrics.py does not count (yet): name -> (its one-line definition, a predicate on one instruction).
LOCAL = {
    "stack_stores": ("stores to the stack frame through the stack or frame pointer (spills, saved registers, "
                     "a single-pass compiler's locals)", stack_store),
}


def annotate(window: Instruction | Sequence[Instruction], arch: str) -> list[str]:
    """The metrics the window's first instruction counts toward, a run starting there (a setcc chain) included."""
    run = [window] if isinstance(window, Instruction) else list(window)
    if not run:
        return []
    counted = {n: metrics.count(run[:n], arch) for n in set(ANNOTATED.values()) if n <= len(run)}
    # A run of exactly `length` instructions can hold only the one that starts at its first instruction.
    names = [name for name, length in ANNOTATED.items() if length in counted and counted[length][name]]
    return names + [name for name, (_, holds) in LOCAL.items() if holds(run[0], arch)]


def annotate_listing(instructions: Sequence[Instruction], arch: str) -> list[tuple[str, ...]]:
    """Each instruction's annotations, windows taken from the listing that follows it."""
    widest = max(ANNOTATED.values())
    return [tuple(annotate(instructions[k:k + widest], arch)) for k in range(len(instructions))]


def align(left: Side, right: Side, arch: str | None = None) -> list[Row]:
    """Rows of the two functions: by wasm offset where both carry an address map, else by basic block."""
    arch = arch or left[0].arch
    listings = [metrics.disassemble(f.code, arch, f.address) for _, f in (left, right)]
    notes = [annotate_listing(listing, arch) for listing in listings]
    if left[1].wasm_offsets and right[1].wasm_offsets:
        groups = [_by_wasm_offset(f, listing) for (_, f), listing in zip((left, right), listings)]
        keys = sorted(set(groups[0]) | set(groups[1]), key=lambda k: -1 if k is None else k)
        pairs = [(k, groups[0].get(k, []), groups[1].get(k, [])) for k in keys]
    else:
        blocks = [_blocks(listing) for listing in listings]
        n = max(len(b) for b in blocks)
        pairs = [(f"block {k}", _at(blocks[0], k), _at(blocks[1], k)) for k in range(n)]
    index = [{i.address: k for k, i in enumerate(listing)} for listing in listings]
    rows = []
    for key, a, b in pairs:
        na = tuple(notes[0][index[0][i.address]] for i in a)
        nb = tuple(notes[1][index[1][i.address]] for i in b)
        rows.append(Row(key, tuple(a), tuple(b), na, nb, _differences(na, nb)))
    return rows


def _at(blocks: list[list[Instruction]], k: int) -> list[Instruction]:
    return blocks[k] if k < len(blocks) else []


def _by_wasm_offset(f: Function, listing: list[Instruction]) -> dict[int | None, list[Instruction]]:
    """Instructions grouped by the wasm offset they came from; code of no wasm source joins what precedes it."""
    groups: dict[int | None, list[Instruction]] = {}
    current = None
    for i in listing:
        offset = f.wasm_offset_at(i.address)
        current = current if offset is None else offset
        groups.setdefault(current, []).append(i)
    return groups


def _blocks(listing: list[Instruction]) -> list[list[Instruction]]:
    """The listing cut before every direct branch target inside it and after every jump or return."""
    targets = set()
    for i in listing:
        found = _TARGET.match(i.op_str.strip()) if i.jump else None
        if found:
            targets.add(int(found.group(1), 16))
    blocks: list[list[Instruction]] = []
    cut = True
    for i in listing:
        if cut or i.address in targets:
            blocks.append([])
        blocks[-1].append(i)
        cut = i.jump or i.ret
    return blocks


def _differences(left: Sequence[tuple[str, ...]], right: Sequence[tuple[str, ...]]) -> tuple[tuple[str, int, int], ...]:
    a, b = Counter(n for ns in left for n in ns), Counter(n for ns in right for n in ns)
    order = list(ANNOTATED) + list(LOCAL)
    return tuple((m, a[m], b[m]) for m in order if a[m] != b[m])


def render(rows: Sequence[Row], width: int = 40, titles: tuple[str, str] | None = None) -> str:
    """Rows as text: the key (@0x41, `entry`, `block 2`), each side's `address: mnemonic operands`, what differs."""
    lines = []
    if titles:
        lines.append(f"{'':10} {_cell(titles[0], width)} | {_cell(titles[1], width)}".rstrip())
    for row in rows:
        key = "entry" if row.key is None else (f"@{row.key:#x}" if isinstance(row.key, int) else row.key)
        note = ", ".join(f"{m} {a}|{b}" for m, a, b in row.annotations)
        for k in range(max(len(row.left), len(row.right), 1)):
            cells = [_cell(_text(side[k]) if k < len(side) else "", width) for side in (row.left, row.right)]
            tail = f"  {note}" if k == 0 and note else ""
            lines.append(f"{key if k == 0 else '':10} {cells[0]} | {cells[1]}{tail}".rstrip())
    return "\n".join(lines) + "\n"


def _text(i: Instruction) -> str:
    return f"{i.address:6x}: {i.mnemonic} {i.op_str}".rstrip()


def _cell(text: str, width: int) -> str:
    return text[:width].ljust(width)
