"""perf's mapfile as data (events/cpus.toml): which CPU identities select which pmu-events table."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from hwprof.data.cpu import CpuId
from hwprof.data.paths import events_dir
from hwprof.events.files import read_toml
from hwprof.events.standard import CATALOGUE


def identity_matches(cpu: CpuId, x86: list[str], arm: list[str]) -> bool:
    """Does a CPU identity fit x86 perf-id patterns or Arm implementer:part keys, as perf's mapfile rows do?"""
    if cpu.perf_id:
        # perf compares patterns with a stepping to the full id and the others to the id without it;
        # a pattern can only fully match one of the two shapes, so trying both is the same rule.
        full = cpu.perf_id
        short = full.rsplit("-", 1)[0] if cpu.stepping is not None else full
        if any(re.fullmatch(p, full, flags=re.IGNORECASE) or re.fullmatch(p, short, flags=re.IGNORECASE)
               for p in x86):
            return True
    if cpu.midr_key:
        return any(p.lower() == cpu.midr_key for p in arm)
    return False


@dataclass(frozen=True)
class CatalogueRow:
    """One row of perf's mapfile: an identity pattern and the pmu-events table it selects."""

    arch: str          # x86 | arm
    pattern: str       # x86: regex over the perf id; arm: implementer:part
    table: str


def catalogue(directory: Path | None = None) -> tuple[CatalogueRow, ...]:
    """perf's mapfile rows (events/cpus.toml), in order; empty when the file is absent."""
    path = (directory or events_dir()) / f"{CATALOGUE}.toml"
    if not path.exists():
        return ()
    return _catalogue(path, path.stat().st_mtime_ns)


@lru_cache(maxsize=8)
def _catalogue(path: Path, mtime: int) -> tuple[CatalogueRow, ...]:
    raw = read_toml(path)
    return tuple([CatalogueRow("x86", r["pattern"], r["table"]) for r in raw.get("x86", [])]
                 + [CatalogueRow("arm", r["midr"].lower(), r["table"]) for r in raw.get("arm", [])])


def microarch_of(cpu: CpuId, directory: Path | None = None) -> str:
    """The name of the CPU's microarchitecture as perf's tables call it ('' when perf knows none)."""
    for row in catalogue(directory):
        if identity_matches(cpu, [row.pattern] if row.arch == "x86" else [], [row.pattern] if row.arch == "arm" else []):
            return row.table
    return ""
