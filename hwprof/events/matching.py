"""Which map a CPU gets: the maps whose [match] covers its identity, its core PMU on a hybrid, else generic."""

from __future__ import annotations

from pathlib import Path

from hwprof.data.cpu import SYSFS_PMUS, CpuId, core_pmu_of, identify
from hwprof.events.files import available
from hwprof.events.loading import load
from hwprof.events.mapfile import microarch_of
from hwprof.events.model import EventMap
from hwprof.events.standard import GENERIC


def candidates(cpu: CpuId, directory: Path | None = None) -> list[EventMap]:
    """Every concrete map that matches this identity (two on a hybrid CPU: one per core PMU)."""
    return [m for m in (load(n, directory) for n in available(directory))
            if not m.abstract and m.name != GENERIC and m.matches(cpu)]


def for_cpu(cpu: CpuId, directory: Path | None = None, core_pmu: str | None = None) -> EventMap:
    """The map for this CPU, else the generic one.

    Where two maps match one identity (a hybrid CPU), `core_pmu` (the core PMU whose CPUs hold the
    pinned CPU, e.g. cpu_atom) chooses; without it the first map is taken, as perf's default PMU would.
    """
    found = candidates(cpu, directory)
    if core_pmu:
        found = [m for m in found if m.pmu == core_pmu] or found
    return found[0] if found else load(GENERIC, directory)


def for_logical_cpu(index: int, directory: Path | None = None, sysfs: Path = SYSFS_PMUS,
                    cpuinfo: str | None = None) -> EventMap:
    """The map for logical CPU `index` of this machine: its own identity, and its core PMU on a hybrid CPU."""
    return for_cpu(identify(index, cpuinfo), directory, core_pmu_of(index, sysfs))


def microarch_name(cpu: CpuId, emap: EventMap | None = None, directory: Path | None = None) -> str:
    """What to call the CPU's microarchitecture: its map's name, else perf's table name, else 'unknown'."""
    if emap is not None and emap.name != GENERIC:
        return emap.name
    return microarch_of(cpu, directory) or "unknown"


def identity_report(cpu: CpuId, directory: Path | None = None) -> dict:
    """For one CPU identity: perf's table, the microarchitecture name and every map (one per core PMU) that applies."""
    maps = candidates(cpu, directory)
    table = microarch_of(cpu, directory)
    return {"key": cpu.key, "model_name": cpu.model_name, "arch": cpu.arch, "perf_table": table,
            "microarch": maps[0].name if maps else (table or "unknown"),
            "maps": [{"name": m.name, "title": m.title, "pmu": m.pmu or "", "perf_table": m.perf_table,
                      "unavailable": sorted(m.unavailable)} for m in maps]}
