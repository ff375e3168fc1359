"""A front-end model: an L1I and a DSB / op cache (both set-associative LRU), fed by basic blocks in execution order.

Input (what a trace producer hands the model):
- `Block(address, sizes, uops, branches)`: one basic block's static code: the instructions lie back to back from
  `address`; `sizes[k]` is instruction k's length in bytes, `uops[k]` its fused-domain uops (0 for a jcc that
  macro-fuses with the instruction before it, as hwprof.codegen.metrics_x86.uops gives them) and `branches[k]`
  whether it is a jump, call or return (for the JCC-erratum rule). `Block.from_instructions` builds one from
  disassembled instructions with hwprof/codegen/uops.toml's counts.
- `order`: the executed blocks, as indices into the block list, in execution order (any iterable of ints, e.g.
  a numpy array). A block is entered at its first instruction and left after its last.

Model, per executed block:
- L1I: one lookup per distinct 64-byte line the block's bytes touch (a block within one line is one lookup),
  whichever path then delivers the uops, so the L1I misses are comparable with cachegrind's I1 misses for the
  same geometry. `l1i_hits` / `l1i_misses` count those lookups.
- DSB: one lookup per code window (32 or 64 bytes) the block touches. The window's content is every distinct
  instruction any block places in it (its start byte decides its window); it needs ceil(uops / uops_per_way)
  ways. A hit delivers the block's uops of that window from the DSB (`dsb_hits`); a miss delivers them from
  legacy decode (`dsb_misses`) and fills the window, evicting LRU windows of its set until its ways fit. A
  window needing more than max_ways_per_window ways, or (JCC rule on) holding bytes of a jump, call or return
  (a fused pair taken whole) that crosses or ends on a 32-byte boundary, is never cached: legacy decode every time.
- Inclusion: an L1I eviction drops every DSB window of the evicted line.
Not modelled: the LSD, the microcode sequencer, entry points (a window cached from one entry hits from any),
the per-way slot rules. An instruction crossing a window boundary belongs to the window it starts in.
Uops come from hwprof/codegen/uops.toml (a Skylake fused-domain table, reused for every microarchitecture):
its stated gaps (un-lamination, memory-destination read-modify-writes, string/x87/AVX-512/microcoded
instructions count 1) make uops, and so ways needed, low where they occur; AMD's macro-op counts differ.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np

from hwprof.frontend.uarch import Uarch

MODEL_NAME = "hwprof-frontend"
MODEL_VERSION = "0.1"


@dataclass(frozen=True)
class Block:
    """One basic block's static code: start address and per-instruction sizes, uops and branch flags."""

    address: int
    sizes: tuple[int, ...]
    uops: tuple[int, ...]
    branches: tuple[bool, ...] = field(default=())

    def __post_init__(self):
        n = len(self.sizes)
        if n == 0 or len(self.uops) != n or (self.branches and len(self.branches) != n):
            raise ValueError(f"block at {self.address:#x}: sizes, uops and branches must be equally long, non-empty")
        if self.address < 0 or min(self.sizes) <= 0 or min(self.uops) < 0:
            raise ValueError(f"block at {self.address:#x}: sizes must be positive, uops and address non-negative")

    @classmethod
    def from_instructions(cls, instructions: Sequence) -> "Block":
        """A Block from contiguous hwprof.codegen.disasm Instructions, with uops.toml's fused-domain counts."""
        from hwprof.codegen.metrics_x86 import uops
        return cls(instructions[0].address, tuple(i.size for i in instructions), tuple(uops(list(instructions))),
                   tuple(bool(i.jump or i.call or i.ret) for i in instructions))


@dataclass(frozen=True)
class FrontendCounts:
    """The model's counts for one stream, under the event maps' metric names."""

    dsb_hits: int
    dsb_misses: int
    l1i_hits: int
    l1i_misses: int
    instructions: int

    @property
    def dsb_miss_rate(self) -> float | None:
        """dsb_misses / (dsb_misses + dsb_hits), as events/intel-dsb.toml defines it; None with no uops."""
        total = self.dsb_hits + self.dsb_misses
        return self.dsb_misses / total if total else None

    @property
    def dsb_to_l1i_ref_ratio(self) -> float | None:
        """(dsb_hits + dsb_misses) / (l1i_hits + l1i_misses), as events/intel-iftag.toml defines it."""
        lookups = self.l1i_hits + self.l1i_misses
        return (self.dsb_hits + self.dsb_misses) / lookups if lookups else None

    def metrics(self) -> dict[str, int | float | None]:
        """The six Table I values by the event maps' metric names (a ratio with no denominator is None)."""
        return {"dsb_hits": self.dsb_hits, "dsb_misses": self.dsb_misses, "l1i_hits": self.l1i_hits,
                "l1i_misses": self.l1i_misses, "dsb_miss_rate": self.dsb_miss_rate,
                "dsb_to_l1i_ref_ratio": self.dsb_to_l1i_ref_ratio}


def _windows(blocks: Sequence[Block], u: Uarch) -> tuple[list[tuple], dict[int, int]]:
    """Per block, its (window, uops) pairs; and per window, the ways it needs (0: never cached)."""
    wb, lb = u.dsb_window_bytes, u.l1i_line_bytes
    content: dict[int, dict[int, int]] = {}
    uncacheable: set[int] = set()
    per_block = []
    for b in blocks:
        segments: dict[int, int] = {}
        addr, prev = b.address, b.address
        for k, (size, n) in enumerate(zip(b.sizes, b.uops)):
            w = addr // wb
            segments[w] = segments.get(w, 0) + n
            content.setdefault(w, {})[addr] = n
            if u.jcc_erratum and b.branches and b.branches[k]:
                start = prev if n == 0 and k > 0 else addr   # a fused pair counts from its first instruction
                last, bound = addr + size - 1, u.jcc_boundary_bytes
                if start // bound != last // bound or (last + 1) % bound == 0:
                    uncacheable.update(range(start // wb, last // wb + 1))
            prev, addr = addr, addr + size
        lines = tuple(range(b.address // lb, (addr - 1) // lb + 1))
        per_block.append((lines, tuple(segments.items()), len(b.sizes)))
    ways = {}
    for w, instrs in content.items():
        need = max(1, math.ceil(sum(instrs.values()) / u.dsb_uops_per_way))
        ways[w] = 0 if w in uncacheable or need > u.dsb_max_ways_per_window else need
    return per_block, ways


def simulate(blocks: Sequence[Block], order: Iterable[int], u: Uarch) -> FrontendCounts:
    """Runs the blocks in `order` (indices into `blocks`) through u's L1I and DSB, cold at the start."""
    executed = np.asarray(order if isinstance(order, np.ndarray) else list(order), dtype=np.int64)
    if len(executed) and (executed.min() < 0 or executed.max() >= len(blocks)):
        raise ValueError(f"order names blocks outside 0..{len(blocks) - 1}")
    per_block, ways = _windows(blocks, u)
    l1i_sets, dsb_sets = u.l1i_sets, u.dsb_sets
    l1i = [OrderedDict() for _ in range(l1i_sets)]
    dsb = [OrderedDict() for _ in range(dsb_sets)]
    used = [0] * dsb_sets
    per_line = u.l1i_line_bytes // u.dsb_window_bytes
    inclusive = u.dsb_inclusive_of_l1i
    hits = misses = ihits = imisses = instructions = 0
    for index in executed.tolist():
        lines, segments, count = per_block[index]
        instructions += count
        for line in lines:
            s = l1i[line % l1i_sets]
            if line in s:
                s.move_to_end(line)
                ihits += 1
                continue
            imisses += 1
            if len(s) >= u.l1i_ways:
                victim, _ = s.popitem(last=False)
                if inclusive:
                    for w in range(victim * per_line, (victim + 1) * per_line):
                        d = dsb[w % dsb_sets]
                        if w in d:
                            used[w % dsb_sets] -= d.pop(w)
            s[line] = None
        for w, n in segments:
            d = dsb[w % dsb_sets]
            if w in d:
                d.move_to_end(w)
                hits += n
                continue
            misses += n
            need = ways[w]
            if need:
                k = w % dsb_sets
                while used[k] + need > u.dsb_ways:
                    used[k] -= d.popitem(last=False)[1]
                d[w] = need
                used[k] += need
    return FrontendCounts(dsb_hits=hits, dsb_misses=misses, l1i_hits=ihits, l1i_misses=imisses,
                          instructions=instructions)
