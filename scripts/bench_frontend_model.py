#!/usr/bin/env python3
"""Benchmark: the front-end model's speed on a synthetic stream, in instructions per second.

    .venv/bin/python scripts/bench_frontend_model.py [instructions] [uarch]     # default 2000000 skylake
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hwprof.frontend import uarch  # noqa: E402
from hwprof.frontend.model import Block, simulate  # noqa: E402


def synthetic(instructions: int, seed: int = 1) -> tuple[list[Block], list[int]]:
    """Blocks of 2-12 instructions (1-7 bytes, 1-2 uops) laid out back to back, run as loops of 1-40 blocks."""
    rng = random.Random(seed)
    blocks, address = [], 0x400000
    for _ in range(4000):
        n = rng.randint(2, 12)
        sizes = tuple(rng.randint(1, 7) for _ in range(n))
        blocks.append(Block(address, sizes, tuple(rng.choice((1, 1, 1, 2)) for _ in range(n)),
                            (False,) * (n - 1) + (True,)))
        address += sum(sizes)
    order, done = [], 0
    while done < instructions:
        start, length = rng.randrange(len(blocks) - 40), rng.randint(1, 40)
        for _ in range(rng.randint(1, 200)):
            order.extend(range(start, start + length))
            done += sum(len(blocks[i].sizes) for i in range(start, start + length))
    return blocks, order


def main(argv: list[str]) -> None:
    """Prints instructions per second of `simulate` on a synthetic stream."""
    wanted = int(argv[0]) if argv else 2_000_000
    u = uarch.load(argv[1] if len(argv) > 1 else "skylake")
    blocks, order = synthetic(wanted)
    t = time.perf_counter()
    got = simulate(blocks, order, u)
    elapsed = time.perf_counter() - t
    print(f"{u.name}: {got.instructions:,} instructions, {len(order):,} blocks in {elapsed:.2f} s: "
          f"{got.instructions / elapsed:,.0f} instructions/s; dsb_miss_rate {got.dsb_miss_rate:.3f}, "
          f"l1i_misses {got.l1i_misses:,}")


if __name__ == "__main__":
    main(sys.argv[1:])
