#!/usr/bin/env python3
"""Benchmark: the study's Fig. 7 for every installed target. For 2mm, atax, bicg, durbin and trisolv
(the study's short-lived four plus 2mm): one cold invocation (start-up = bootstrap + compile + instantiate,
or a CLI runtime's startup; then execute) and, where the target has a warm mode, 50 sequential
invocations in one process (one start-up, then 50 x (instantiate + execute)). Also the harness's
per-invocation overhead on an empty kernel (the execute phase of a module that calls bench.start then
bench.end). Prints tables; asserts nothing. Software events only (task-clock), so it runs anywhere.

    .venv/bin/python scripts/bench_startup.py [--targets a,b] [--workloads a,b] [--size small] [--invocations 50]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

import wasmtime

from hwprof import runtimes
from hwprof.collect import CollectConfig, CollectError, collect

WORKLOADS = ("2mm", "atax", "bicg", "durbin", "trisolv")
STARTUP = ("bootstrap", "compile", "instantiate", "startup")   # aot_compile is offline work, not start-up
EMPTY = '''(module (import "bench" "start" (func $s)) (import "bench" "end" (func $e))
  (memory (export "memory") 1) (func (export "_start") call $s call $e))'''


def walls(records, phase):
    return [r.value for r in records if r.phase == phase and r.name == "wall_time" and r.value is not None]


def installed() -> list[str]:
    found = []
    for name in runtimes.names():
        try:
            runtimes.get(name).probe()
            found.append(name)
        except runtimes.RuntimeTargetError:
            pass
    return found


def run(target, workload, size, mode, invocations, store):
    config = CollectConfig(workload, runtime=target, size=size, repetitions=1, warmup=0, results=store,
                           events=("task_clock",), mode=mode, invocations=invocations, timeout=600)
    return collect(config).records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", default="")
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--size", default="small")
    parser.add_argument("--invocations", type=int, default=50)
    args = parser.parse_args()
    targets = args.targets.split(",") if args.targets else installed()
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "results"
        empty = Path(tmp) / "empty.wasm"
        empty.write_bytes(wasmtime.wat2wasm(EMPTY))
        print(f"Fig. 7 (a) one cold invocation, size {args.size}: start-up and execute, ms")
        print(f"{'target':18} {'workload':10} {'start-up':>10} {'execute':>10} {'start-up share':>15}")
        for target in targets:
            for workload in args.workloads.split(","):
                try:
                    recs = run(target, workload, args.size, "cold", 1, store)
                except CollectError as exc:
                    print(f"{target:18} {workload:10} failed: {exc}")
                    continue
                start = sum(sum(walls(recs, p)) for p in STARTUP)
                execute = sum(walls(recs, "execute"))
                print(f"{target:18} {workload:10} {start * 1e3:10.2f} {execute * 1e3:10.2f} "
                      f"{100 * start / (start + execute):14.1f}%", flush=True)
        print(f"\nFig. 7 (b) {args.invocations} sequential invocations in one process, ms")
        print(f"{'target':18} {'workload':10} {'start-up':>10} {'inst+exec':>10} {'total':>10} {'per invocation':>15}")
        for target in targets:
            if "warm" not in runtimes.get(target).modes:
                print(f"{target:18} (no warm mode)")
                continue
            for workload in args.workloads.split(","):
                try:
                    recs = run(target, workload, args.size, "warm", args.invocations, store)
                except CollectError as exc:
                    print(f"{target:18} {workload:10} failed: {exc}")
                    continue
                start = sum(sum(walls(recs, p)) for p in ("bootstrap", "compile"))
                body = sum(walls(recs, "instantiate")) + sum(walls(recs, "execute"))
                print(f"{target:18} {workload:10} {start * 1e3:10.2f} {body * 1e3:10.2f} {(start + body) * 1e3:10.2f} "
                      f"{(start + body) / args.invocations * 1e3:15.3f}", flush=True)
        print("\nharness overhead on an empty execute phase (bench.start then bench.end), microseconds")
        for target in targets:
            try:
                recs = collect(CollectConfig(str(empty), runtime=target, repetitions=5, warmup=1, results=store,
                                             events=("task_clock",))).records
            except CollectError as exc:
                print(f"{target:18} n/a: {exc}")
                continue
            wall = walls(recs, "execute")
            print(f"{target:18} median {statistics.median(wall) * 1e6:8.2f}  min {min(wall) * 1e6:8.2f}")


if __name__ == "__main__":
    main()
