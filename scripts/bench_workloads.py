#!/usr/bin/env python3
"""Benchmark: the weight of the workload suite. For each workload at its default size: native time,
Wasmtime execute time, and their ratio (the wasm/native slowdown; related work reports 1.45-1.55x on
SPEC). Each default size should run between 10 ms and 2 s natively. Prints figures; asserts nothing.

Both times are the execute phase between bench.start and bench.end, median of --repetitions: natively
from the static build's own marks, under Wasmtime from `hwprof collect` (perf backend, software events).

    .venv/bin/python scripts/bench_workloads.py [NAME ...] [--repetitions N] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

from hwprof import workloads
from hwprof.collect import CollectConfig, CollectError, collect


def native_seconds(w, repetitions: int) -> float:
    return statistics.median(workloads.native_execute_seconds(w) for _ in range(repetitions))


def wasmtime_seconds(name: str, size: str, repetitions: int, store: Path) -> float:
    result = collect(CollectConfig(name, size=size, repetitions=repetitions, warmup=0, results=store,
                                   events=("task_clock",), timeout=600))
    values = [r.value for r in result.records if r.phase == "execute" and r.name == "wall_time"]
    return statistics.median(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="workloads (default: all)")
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    cat = workloads.catalogue()["workload"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.names or sorted(cat):
            size = workloads.default_size(cat[name])
            native = workloads.build(name, size, flavour="native")
            try:
                n = native_seconds(native, args.repetitions)
                w = wasmtime_seconds(name, size, args.repetitions, Path(tmp))
            except (workloads.WorkloadError, CollectError) as exc:
                print(f"{name}: {exc}", file=sys.stderr)
                continue
            flag = "" if 0.010 <= n <= 2.0 else ("  < 10 ms" if n < 0.010 else "  > 2 s")
            rows.append({"workload": name, "size": size, "native_s": n, "wasmtime_execute_s": w, "ratio": w / n})
            if not args.json:
                print(f"{name:16} {size:8} native {n * 1e3:9.2f} ms  wasmtime {w * 1e3:9.2f} ms  "
                      f"ratio {w / n:5.2f}{flag}", flush=True)
    if args.json:
        print(json.dumps(rows, indent=1))
    elif rows:
        geo = statistics.geometric_mean([r["ratio"] for r in rows])
        inside = sum(0.010 <= r["native_s"] <= 2.0 for r in rows)
        print(f"geometric mean wasm/native: {geo:.2f}; {inside}/{len(rows)} default sizes within 10 ms..2 s natively")


if __name__ == "__main__":
    main()
