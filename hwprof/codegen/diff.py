"""The same wasm function as two compilers made it, side by side (the study's Fig. 6), differences annotated.

Rows pair what each side made of one wasm instruction where both sides keep an address map (two Wasmtime
strategies or opt levels), otherwise of one basic block, blocks paired by an order-keeping alignment (a block
one side has and the other lacks gets a row of its own instead of shifting every later pair). Each row is
annotated with the metrics (hwprof.codegen.metrics) whose counts differ between its two sides.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Sequence

from hwprof.codegen import metrics
from hwprof.codegen.artefacts import Artefact, Function
from hwprof.codegen.metrics import Instruction

# Metrics of metrics.count that mark single instructions (metrics.marks), shown beside the one each marks: a
# redundant move, a load_then_alu's load, a setcc chain's jcc. A new such metric: one name here.
ANNOTATED = (
    "register_moves", "redundant_moves", "zero_extensions", "loads", "stores", "alu_memory_operand", "load_then_alu",
    "stack_checks", "rex_prefixes", "meaningless_rex", "branches", "calls", "setcc_branch_sequences",
    "jcc_erratum_jumps",
)
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


def annotate(listing: Instruction | Sequence[Instruction], arch: str, at: int = 0) -> list[str]:
    """The metrics instruction `at` of the listing counts toward, counted over the whole listing (a setcc chain
    marks its jcc, load_then_alu its load, looking at what follows)."""
    run = [listing] if isinstance(listing, Instruction) else list(listing)
    return list(annotate_listing(run, arch)[at]) if run else []


def annotate_listing(instructions: Sequence[Instruction], arch: str) -> list[tuple[str, ...]]:
    """Each instruction's annotations: the ANNOTATED metrics that mark it, then the LOCAL ones that hold of it."""
    marked = metrics.marks(list(instructions), arch)
    shown = [name for name in ANNOTATED if marked.get(name) is not None]
    return [tuple([name for name in shown if marked[name][k]] + [name for name, (_, holds) in LOCAL.items()
                                                                  if holds(i, arch)])
            for k, i in enumerate(instructions)]


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
        pairs = [(_block_key(a, b), blocks[0][a] if a is not None else [], blocks[1][b] if b is not None else [])
                 for a, b in pair_blocks(*blocks)]
    index = [{i.address: k for k, i in enumerate(listing)} for listing in listings]
    rows = []
    for key, a, b in pairs:
        na = tuple(notes[0][index[0][i.address]] for i in a)
        nb = tuple(notes[1][index[1][i.address]] for i in b)
        rows.append(Row(key, tuple(a), tuple(b), na, nb, _differences(na, nb)))
    return rows


def pair_blocks(left: Sequence[Sequence[Instruction]], right: Sequence[Sequence[Instruction]]) \
        -> list[tuple[int | None, int | None]]:
    """Block indices paired in order so that the paired blocks' similarity (the share of mnemonics two blocks have
    in common) sums to the most; a block paired with none stands alone (None on the other side)."""
    bags = [[Counter(i.mnemonic for i in block) for block in side] for side in (left, right)]
    n, m = len(left), len(right)
    best = [[0.0] * (m + 1) for _ in range(n + 1)]
    for a in range(1, n + 1):
        for b in range(1, m + 1):
            best[a][b] = max(best[a - 1][b], best[a][b - 1],
                             best[a - 1][b - 1] + _similarity(bags[0][a - 1], bags[1][b - 1]))
    out: list[tuple[int | None, int | None]] = []
    a, b = n, m
    while a or b:
        same = _similarity(bags[0][a - 1], bags[1][b - 1]) if a and b else 0.0
        if same and best[a][b] == best[a - 1][b - 1] + same:
            a, b = a - 1, b - 1
            out.append((a, b))
        elif b and (not a or best[a][b] == best[a][b - 1]):
            b -= 1
            out.append((None, b))           # taken last, so it comes after the other side's lone block
        else:
            a -= 1
            out.append((a, None))
    return out[::-1]


def _similarity(a: Counter, b: Counter) -> float:
    return 2 * sum((a & b).values()) / (sum(a.values()) + sum(b.values()))


def _block_key(a: int | None, b: int | None) -> str:
    """`block 3` where both sides' third block face each other, else `block 3|4`, `block 3|-`, `block -|4`."""
    return f"block {a}" if a == b else f"block {'-' if a is None else a}|{'-' if b is None else b}"


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
    """Rows as text: the key (@0x41, `entry`, `block 2`), each side's `address: mnemonic operands`, what differs;
    each side's column at least `width` wide and as wide as its longest line (operands are never cut)."""
    widths = [max([width, len(titles[k]) if titles else 0] + [len(_text(i)) for row in rows
                                                               for i in (row.left, row.right)[k]]) for k in (0, 1)]
    keys = max([10] + [len(_key(row)) for row in rows])
    lines = []
    if titles:
        lines.append(f"{'':{keys}} {titles[0]:{widths[0]}} | {titles[1]:{widths[1]}}".rstrip())
    for row in rows:
        note = ", ".join(f"{m} {a}|{b}" for m, a, b in row.annotations)
        for k in range(max(len(row.left), len(row.right), 1)):
            cells = [(_text(side[k]) if k < len(side) else "").ljust(w) for side, w in zip((row.left, row.right), widths)]
            tail = f"  {note}" if k == 0 and note else ""
            lines.append(f"{_key(row) if k == 0 else '':{keys}} {cells[0]} | {cells[1]}{tail}".rstrip())
    return "\n".join(lines) + "\n"


def _key(row: Row) -> str:
    return "entry" if row.key is None else (f"@{row.key:#x}" if isinstance(row.key, int) else row.key)


def _text(i: Instruction) -> str:
    return f"{i.address:6x}: {i.mnemonic} {i.op_str}".rstrip()

