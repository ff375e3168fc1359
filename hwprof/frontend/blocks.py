"""From a per-instruction address stream (what valgrind-style tracers give) to the model's blocks and order."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from hwprof.frontend.model import Block


def blocks_from_stream(addresses: Sequence[int], sizes: Sequence[int], uops: Sequence[int] | None = None,
                       branches: Sequence[bool] | None = None) -> tuple[list[Block], np.ndarray]:
    """Blocks (runs of back-to-back executed instructions, deduplicated) and the order they ran in.

    `uops` defaults to 1 per instruction and `branches` to the last instruction of each run: placeholders that
    leave the L1I counts exact but make the DSB counts an estimate; pass real ones from the code bytes.
    """
    a = np.asarray(addresses, dtype=np.int64)
    s = np.asarray(sizes, dtype=np.int64)
    if a.shape != s.shape or a.ndim != 1 or not len(a):
        raise ValueError("addresses and sizes must be non-empty one-dimensional sequences of equal length")
    if (s <= 0).any():
        raise ValueError("every instruction size must be positive")
    u = np.ones_like(s) if uops is None else np.asarray(uops, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, a[1:] != a[:-1] + s[:-1]])
    ends = np.r_[starts[1:], len(a)]
    br = None if branches is None else np.asarray(branches, dtype=bool)
    index: dict[tuple, int] = {}
    blocks: list[Block] = []
    order = np.empty(len(starts), dtype=np.int64)
    for k, (i, j) in enumerate(zip(starts.tolist(), ends.tolist())):
        key = (int(a[i]), s[i:j].tobytes(), u[i:j].tobytes())
        found = index.get(key)
        if found is None:
            flags = tuple(br[i:j].tolist()) if br is not None else (False,) * (j - i - 1) + (True,)
            found = index[key] = len(blocks)
            blocks.append(Block(int(a[i]), tuple(s[i:j].tolist()), tuple(u[i:j].tolist()), flags))
        order[k] = found
    return blocks, order
