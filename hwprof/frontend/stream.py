"""A traced phase (frontend.trace) as the model's input (frontend.model): blocks with uops, and their order.

Each traced block's bytes are disassembled (hwprof.codegen.disasm, x86-64) and given uops.toml's fused-domain
counts; the order is the trace's block order as indices. A block in the order whose bytes the trace could not
read is an error naming it, never a guess.
"""

from __future__ import annotations

import numpy as np

from hwprof.frontend import model, trace
from hwprof.frontend.uarch import Uarch


class StreamError(Exception):
    """A trace that cannot be turned into the model's input, in one line."""


def model_input(traced: trace.PhaseTrace, arch: str = "x86_64") -> tuple[list[model.Block], np.ndarray]:
    """The model's blocks (one per traced block that ran in the phase) and the phase's order as indices."""
    from hwprof.codegen.disasm import disassemble

    index: dict[int, int] = {}
    blocks: list[model.Block] = []
    for start in dict.fromkeys(traced.order):          # first-run order: the same input for the same trace
        b = traced.blocks.get(start)
        if b is None or not b.code:
            why = b.why if b is not None else "not in the trace's blocks"
            raise StreamError(f"block at {start:#x} ran in the phase but has no code bytes ({why})")
        instructions = disassemble(b.code, arch, b.start)
        if sum(i.size for i in instructions) != b.size:
            raise StreamError(f"block at {start:#x}: its {b.size} bytes decode to "
                              f"{sum(i.size for i in instructions)} (a decoder disagreement)")
        index[start] = len(blocks)
        blocks.append(model.Block.from_instructions(instructions))
    order = np.fromiter((index[s] for s in traced.order), dtype=np.int64, count=len(traced.order))
    return blocks, order


def simulate(traced: trace.PhaseTrace, uarch: Uarch) -> model.FrontendCounts:
    """The front-end model's counts for a traced phase on one microarchitecture."""
    blocks, order = model_input(traced)
    return model.simulate(blocks, order, uarch)
