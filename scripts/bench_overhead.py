#!/usr/bin/env python3
"""Benchmark: what the harness adds to an execute phase whose kernel is empty.

A module calls bench.start then bench.end and nothing between. Under the cachegrind backend the
execute phase's instruction count is then exactly the harness's cost (the markers' return and call
paths through Wasmtime's trampolines and hwprof's C helper); under perf, the phase's wall time is.
Target: at most 1,000 instructions (Sightglass's markers cost 470). Prints figures; asserts nothing.

    .venv/bin/python scripts/bench_overhead.py [--repetitions N]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

import wasmtime

from hwprof.collect import CollectConfig, collect

EMPTY_KERNEL = """
(module
  (import "bench" "start" (func $start))
  (import "bench" "end" (func $end))
  (memory (export "memory") 1)
  (func (export "_start") call $start call $end))
"""


def phase_values(records, phase, name):
    return [r.value for r in records if r.phase == phase and r.name == name and r.value is not None]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repetitions", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        wasm = Path(tmp) / "empty_kernel.wasm"
        wasm.write_bytes(wasmtime.wat2wasm(EMPTY_KERNEL))
        store = Path(tmp) / "results"
        sim = collect(CollectConfig(str(wasm), backend="cachegrind", repetitions=2, warmup=0, results=store))
        ir = phase_values(sim.records, "execute", "Ir")
        timed = collect(CollectConfig(str(wasm), backend="perf", repetitions=args.repetitions, warmup=1,
                                      results=store, events=("task_clock",)))
        wall = phase_values(timed.records, "execute", "wall_time")
    print("harness overhead on an empty execute phase (wasmtime, markers as C host functions)")
    print(f"  instructions (callgrind, deterministic): {ir[0]:,.0f}  (runs: {', '.join(f'{v:,.0f}' for v in ir)})")
    print("  target: <= 1,000 instructions; Sightglass's markers: 470")
    print(f"  wall time (perf backend, {len(wall)} runs): median {statistics.median(wall) * 1e6:.2f} us, "
          f"min {min(wall) * 1e6:.2f} us, max {max(wall) * 1e6:.2f} us")


if __name__ == "__main__":
    main()
