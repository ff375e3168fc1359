"""gem5's stats.txt: its blocks, the region-of-interest block, and the cache, branch and IPC metrics.

A stats.txt holds one "Begin/End Simulation Statistics" block per stats dump. Names are read as gem5
wrote them, in either scheme: current camelCase (v21+: `demandMissRate::total`, `simInsts`, caches
such as `board.cache_hierarchy.l1i-cache-0.`, cores `board.processor.cores.core.`) or the older
snake_case (`overall_miss_rate::total`, `sim_insts`, `system.cpu.icache.`). Values gem5 printed as
nan or inf stay so; a stat gem5 did not print is absent, and a metric needing it is None, never 0 (but a
cache that printed its accesses and no misses had none: gem5 leaves zero miss counts out).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

BEGIN = "---------- Begin Simulation Statistics ----------"
END = "---------- End Simulation Statistics"
_VALUE = re.compile(r"[-+]?(?:nan|inf|(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)", re.IGNORECASE)
# The object that holds a cache's stats: its last path element names an instruction or data L1.
_L1I = re.compile(r"(icache|l1i)", re.IGNORECASE)
_L1D = re.compile(r"(dcache|l1d)", re.IGNORECASE)
# Per cache: (misses, accesses, rate) under each naming scheme, preferred first (demand, then overall).
_CACHE_NAMES = (("demandMisses::total", "demandAccesses::total", "demandMissRate::total"),
                ("demand_misses::total", "demand_accesses::total", "demand_miss_rate::total"),
                ("overallMisses::total", "overallAccesses::total", "overallMissRate::total"),
                ("overall_misses::total", "overall_accesses::total", "overall_miss_rate::total"))
_INSTS = ("commitStats0.numInsts", "committedInsts", "commit.committedInsts")


class StatsError(Exception):
    """A stats.txt that cannot be read as gem5 statistics, said in one line."""


def _text(source) -> str:
    if isinstance(source, Path) or (isinstance(source, str) and source and "\n" not in source
                                     and BEGIN not in source):
        path = Path(source)
        if not path.is_file():
            raise StatsError(f"{path}: no such stats file")
        return path.read_text(errors="replace")
    return str(source)


def _number(token: str) -> float | None:
    if not _VALUE.fullmatch(token):
        return None
    return float(token)


def parse(source) -> list[dict[str, float]]:
    """Every Begin/End block of a stats.txt (path or text), in file order, as {stat name: value}."""
    blocks: list[dict[str, float]] = []
    current: dict[str, float] | None = None
    for number, line in enumerate(_text(source).splitlines(), 1):
        line = line.strip()
        if line.startswith(BEGIN):
            current = {}
            continue
        if line.startswith(END):
            if current is None:
                raise StatsError(f"line {number}: End Simulation Statistics without a Begin")
            blocks.append(current)
            current = None
            continue
        if current is None or not line or line.startswith("#"):
            continue
        fields = line.split("#", 1)[0].split()
        if len(fields) < 2:
            continue
        value = _number(fields[1])
        if value is None:
            raise StatsError(f"line {number}: {fields[0]} has no number ({fields[1]!r})")
        current[fields[0]] = value
    if current is not None:
        raise StatsError("the last Begin Simulation Statistics block has no End (a truncated stats.txt?)")
    if not blocks:
        raise StatsError("no Begin/End Simulation Statistics block found")
    return blocks


def roi(blocks: list[dict[str, float]]) -> dict[str, float]:
    """The region-of-interest block: the first one.

    hwprof's configurations reset the statistics at work_begin and dump them at work_end, which ends
    the simulation: gem5 v24.0.0.1 then writes no other block. A configuration that runs on and dumps
    again at exit puts that block after it; gem5's default work-item handling (reset at work_begin,
    dump at work_end) also makes the first block the region of interest, and a file with one block
    (no m5 ops) is the whole run.
    """
    if not blocks:
        raise StatsError("no statistics blocks to choose the region of interest from")
    return blocks[0]


def _present(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else value


def _cache(block: dict[str, float], kind: re.Pattern) -> tuple[float | None, float | None, float | None]:
    """(misses, accesses, miss rate) summed over every cache whose holder's name matches."""
    for misses_name, accesses_name, rate_name in _CACHE_NAMES:
        holders = sorted({k[: -len(name) - 1] for name in (misses_name, accesses_name, rate_name)
                          for k in block if k.endswith("." + name)})
        holders = [h for h in holders if kind.search(h.rsplit(".", 1)[-1])]
        if not holders:
            continue
        accesses = [_present(block.get(f"{h}.{accesses_name}")) for h in holders]
        # gem5 flags its miss counts nozero: a cache that printed its accesses but no misses had none.
        misses = [_present(block.get(f"{h}.{misses_name}", 0.0 if a is not None else None))
                  for h, a in zip(holders, accesses)]
        if None not in misses and None not in accesses:
            total_m, total_a = sum(misses), sum(accesses)
            return total_m, total_a, (total_m / total_a if total_a else None)
        rates = [_present(block.get(f"{h}.{rate_name}")) for h in holders]
        if len(holders) == 1 and rates[0] is not None:
            return None, None, rates[0]
    return None, None, None


def _sum_suffix(block: dict[str, float], suffix: str) -> float | None:
    values = [_present(v) for k, v in block.items() if k.endswith(suffix)]
    values = [v for v in values if v is not None]
    return sum(values) if values else None


def _sum_cond(block: dict[str, float], vector: str) -> float | None:
    """Conditional branches (DirectCond + IndirectCond) of one of v24's per-thread branch-type vectors,
    summed over threads and cores."""
    pattern = re.compile(rf"\.branchPred\.{vector}_\d+::(DirectCond|IndirectCond)$")
    values = [v for k, v in block.items() if pattern.search(k) and _present(v) is not None]
    return sum(values) if values else None


def _cores(block: dict[str, float]) -> list[str]:
    return sorted(k[: -len(".numCycles")] for k in block if k.endswith(".numCycles"))


def _ipc(block: dict[str, float]) -> tuple[float | None, float | None, float | None]:
    """(instructions, cycles, IPC) over the cores that ran: all committed instructions / the most cycles."""
    insts = cycles = 0.0
    found = False
    for core in _cores(block):
        n_cycles = _present(block.get(f"{core}.numCycles"))
        n_insts = next((block[f"{core}.{s}"] for s in _INSTS if f"{core}.{s}" in block), None)
        if not n_cycles or n_insts is None or math.isnan(n_insts):
            continue
        insts += n_insts
        cycles = max(cycles, n_cycles)
        found = True
    if not found:
        return None, None, None
    return insts, cycles, insts / cycles


def derive(block: dict[str, float]) -> dict[str, float | None]:
    """The study's gem5 metrics from one block: L1I / L1D miss rates, branch misprediction rate, IPC."""
    l1i_misses, l1i_accesses, l1i_rate = _cache(block, _L1I)
    l1d_misses, l1d_accesses, l1d_rate = _cache(block, _L1D)
    cond = _sum_suffix(block, ".branchPred.condPredicted")
    wrong = _sum_suffix(block, ".branchPred.condIncorrect")
    # condPredicted counts every prediction, wrong-path ones too; v24's committed_N / mispredicted_N
    # count the committed conditional branches (as cachegrind's Bc / Bcm do).
    committed = _sum_cond(block, "committed")
    committed_wrong = _sum_cond(block, "mispredicted")
    # Not simInsts: gem5 never resets it, so it counts from the simulation's start, not from work_begin.
    insts, cycles, ipc = _ipc(block)
    return {
        "l1i_miss_rate": l1i_rate, "l1i_misses": l1i_misses, "l1i_accesses": l1i_accesses,
        "l1d_miss_rate": l1d_rate, "l1d_misses": l1d_misses, "l1d_accesses": l1d_accesses,
        "branch_mispredict_rate": wrong / cond if cond and wrong is not None else None,
        "cond_branches": cond, "cond_mispredicted": wrong,
        "committed_branch_mispredict_rate": (committed_wrong / committed if committed and committed_wrong is not None
                                             else None),
        "committed_cond_branches": committed, "committed_cond_mispredicted": committed_wrong,
        "ipc": ipc, "instructions": insts, "cycles": cycles,
    }
