"""Export timings to other tools' formats: pyperf's JSON, so `python -m pyperf stats/show/compare_to` read them."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from hwprof.data import schema
from hwprof.data.store import StoreError, iter_rows

# Time units hwprof rows use, in seconds (pyperf stores times in seconds).
SECONDS_PER = {"s": 1.0, "sec": 1.0, "ms": 1e-3, "msec": 1e-3, "us": 1e-6, "usec": 1e-6, "ns": 1e-9, "nsec": 1e-9}
# Row fields copied into every pyperf run's metadata (pyperf refuses empty strings, so those are left out).
RUN_METADATA = ("runtime", "runtime_version", "runtime_flags", "workload", "size", "invocation", "sweep", "phase",
                "backend", "boundary", "machine", "microarch", "arch", "kernel", "perf_version", "hwprof_version",
                "run_id")


class ExportError(Exception):
    """Rows that cannot be exported in the format asked for."""


def benchmark_name(row: dict) -> str:
    """pyperf's benchmark name of a row: workload[size], and the sweep setting when there is one."""
    name = f"{row['workload']}[{row['size']}]"
    return f"{name} {{{row['sweep']}}}" if row.get("sweep") else name


def _target(row: dict) -> tuple:
    """What one pyperf file holds: one runtime configuration measured one way."""
    runtime_own_flags = str(row["runtime_flags"]).split("; ")[0]   # the rest is build and mode detail
    return row["runtime"], row["invocation"], row["backend"], row["runtime_version"], runtime_own_flags


def _file_names(targets: list[tuple]) -> dict[tuple, str]:
    """Readable file names: runtime, then the mode, backend and a hash of the flags only where needed."""
    warm = any(t[1] == "warm" for t in targets)
    backends = {t[2] for t in targets}
    names = {t: "-".join([t[0]] + ([t[1]] if warm else []) + ([t[2]] if len(backends) > 1 else []))
             for t in targets}
    for t in targets:
        if list(names.values()).count(names[t]) > 1:
            names[t] += "-" + hashlib.sha1(repr(t[3:]).encode()).hexdigest()[:8]
    return {t: re.sub(r"[^A-Za-z0-9_.+-]", "_", n) + ".json" for t, n in names.items()}


def _pyperf_date(stamp: str) -> str:
    return stamp.replace("T", " ").removesuffix("Z")


def _run(rows: list[dict], name: str, unit: str):
    """One pyperf Run: one hwprof repetition, its values (warm: one per invocation) in seconds."""
    import pyperf

    rows = sorted(rows, key=lambda r: r["iteration"])
    values = [float(r["value"]) * SECONDS_PER[unit] for r in rows]
    first = rows[0]
    bad = [v for v in values if v <= 0]
    if bad:
        raise ExportError(f"run {first['run_id']}: {name} {first['phase']} {first['name']} = {bad[0]} s; pyperf "
                          "accepts only values > 0 (export another phase or event)")
    meta = {k: first.get(k) for k in RUN_METADATA}
    meta.update({"name": name, "unit": "second", "loops": 1, "repetition": int(first["repetition"]),
                 "event": first["name"], "hwprof_unit": unit, "date": _pyperf_date(first.get("timestamp") or ""),
                 "cpu_model_name": first.get("cpu"), "invocations": len(values)})
    meta = {k: v for k, v in meta.items() if v not in (None, "")}
    try:
        return pyperf.Run(values, metadata=meta, collect_metadata=False)
    except ValueError as exc:
        raise ExportError(f"run {first['run_id']}: pyperf refuses it: {exc}") from None


def write_pyperf(results: str | os.PathLike, out_dir: str | os.PathLike, phase: str = "execute",
                 name: str = "wall_time") -> list[Path]:
    """Write one pyperf BenchmarkSuite JSON per target (runtime, and mode when warm runs exist) to out_dir."""
    import pyperf

    try:
        rows = [r for r in iter_rows(results) if r["phase"] == phase and r["name"] == name
                and r["status"] == schema.OK and r["value"] is not None and r["iteration"] >= 0]
    except StoreError as exc:
        raise ExportError(str(exc)) from None
    if not rows:
        raise ExportError(f"{results}: no measured {phase} {name} rows to export")
    units = {r["unit"] for r in rows}
    unknown = units - set(SECONDS_PER)
    if unknown:
        raise ExportError(f"{phase} {name} is in {', '.join(sorted(unknown))}; pyperf export takes times "
                          f"({', '.join(SECONDS_PER)})")
    grouped: dict[tuple, dict[str, dict[str, list[dict]]]] = {}   # target -> benchmark -> run_id -> rows
    for r in rows:
        grouped.setdefault(_target(r), {}).setdefault(benchmark_name(r), {}).setdefault(r["run_id"], []).append(r)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for target, file_name in _file_names(list(grouped)).items():
        benchmarks = []
        for bench_name, runs in grouped[target].items():
            ordered = sorted(runs.values(), key=lambda rs: (rs[0]["timestamp"], rs[0]["run_id"]))
            try:
                benchmarks.append(pyperf.Benchmark([_run(rs, bench_name, rs[0]["unit"]) for rs in ordered]))
            except ValueError as exc:   # e.g. runs from two CPUs in one benchmark
                raise ExportError(f"{bench_name} on {target[0]}: pyperf refuses its runs: {exc}") from None
        path = out / file_name
        pyperf.BenchmarkSuite(benchmarks).dump(str(path), replace=True)
        written.append(path)
    return written
