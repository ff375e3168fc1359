#!/usr/bin/env python3
"""Benchmark: the front-end model's cost against cachegrind's on the same phase, and Table I's campaign under it.

Default: for each target, one phase (2mm SMALL's execute by default) timed three ways: the cachegrind backend's run
(`collect --backend cachegrind`), the lackey trace of the same run (frontend.run.phase_trace), and the model on
that trace (frontend.stream: disassembly into blocks, then model.simulate). Prints the phase's instructions,
seconds and ns per phase instruction of each, and the model's total (trace + input + simulate) over cachegrind's.
Both valgrind runs simulate the whole process, start-up included, so their ns per phase instruction carry the
start-up too; the issue's aim is a model no slower than cachegrind.

--table1: the cells of campaigns/table1-frontend.toml (Table I's 6 workloads x 4 targets) under the model, cell
by cell (trace and simulate, sequentially), with per-cell and total seconds; --budget stops starting cells after that many seconds.

    .venv/bin/python scripts/bench_frontend_cost.py [--workload 2mm] [--size small] [--targets native,wasmtime]
    .venv/bin/python scripts/bench_frontend_cost.py --table1 [--budget 600]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hwprof import workloads  # noqa: E402
from hwprof.codegen.sources import Subject  # noqa: E402
from hwprof.collect import CollectConfig, collect  # noqa: E402
from hwprof.data import schema  # noqa: E402
from hwprof.frontend import model, run, stream, uarch  # noqa: E402

TABLE1_SPEC = "table1-frontend"      # campaigns/table1-frontend.toml: Table I's kernels x targets under the model


def table1_cells() -> list[tuple[str, str]]:
    """(workload, target) of each cell of the shipped Table I campaign, in its order."""
    from hwprof.campaign import load
    from hwprof.data.paths import campaigns_dir

    return [(c.config.workload, c.config.runtime) for c in load(campaigns_dir() / f"{TABLE1_SPEC}.toml").cells]


def _timed(fn, *args):
    t = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t


def cachegrind_phase(workload: str, target: str, size: str) -> float | None:
    """The execute phase's Ir as the cachegrind backend counts it (one run, every simulated event)."""
    with tempfile.TemporaryDirectory(prefix="bench-frontend-cost-") as tmp:
        result = collect(CollectConfig(workload, target, size, backend="cachegrind", repetitions=1, warmup=0,
                                       results=Path(tmp) / "results", count_phases=("execute",)))
    ir = [r.value for r in result.records if r.phase == "execute" and r.name == "Ir" and r.status == schema.OK]
    return ir[0] if ir else None


def model_phase(subject: Subject, target: str, u: uarch.Uarch) -> dict:
    """The model's three steps on one execute phase, each timed: trace, input (disassembly), simulate."""
    traced, trace_s = _timed(run.phase_trace, subject, target)
    (blocks, order), input_s = _timed(stream.model_input, traced)
    counts, simulate_s = _timed(model.simulate, blocks, order, u)
    return {"counts": counts, "trace": trace_s, "input": input_s, "simulate": simulate_s}


def _line(label: str, seconds: float, instructions: int) -> str:
    return f"  {label:<28} {seconds:8.2f} s  {seconds / instructions * 1e9:10.1f} ns/instruction"


def compare(workload: str, size: str, targets: list[str], u: uarch.Uarch) -> None:
    """Prints cachegrind's and the model's cost on one phase per target."""
    w = workloads.resolve(workload, size)
    subject = Subject(w.program, w)
    for target in targets:
        ir, cg_s = _timed(cachegrind_phase, workload, target, size)
        m = model_phase(subject, target, u)
        n = m["counts"].instructions
        total = m["trace"] + m["input"] + m["simulate"]
        print(f"{workload} {size} {target}: {n:,} instructions in the execute phase (cachegrind's Ir {ir:,.0f}); "
              f"dsb_miss_rate {m['counts'].dsb_miss_rate:.3f}, l1i_misses {m['counts'].l1i_misses}")
        print(_line("cachegrind backend run", cg_s, n))
        print(_line("lackey trace (phase_trace)", m["trace"], n))
        print(_line("model input (disassembly)", m["input"], n))
        print(_line("model simulate", m["simulate"], n))
        print(_line("model total", total, n) + f"   model total / cachegrind = {total / cg_s:.2f}")
        sys.stdout.flush()


def table1(size: str, u: uarch.Uarch, budget: float | None) -> None:
    """Prints the time of Table I's campaign under the model, cell by cell, sequentially."""
    todo = table1_cells()
    start, done, cells = time.perf_counter(), 0, len(todo)
    for workload, target in todo:
        if budget is not None and time.perf_counter() - start > budget:
            print(f"budget of {budget:g} s spent: {done} of {cells} cells in "
                  f"{time.perf_counter() - start:.1f} s (partial)")
            return
        w = workloads.resolve(workload, size)
        m = model_phase(Subject(w.program, w), target, u)
        done += 1
        print(f"{workload:<10} {target:<15} {m['counts'].instructions:>12,} instructions  trace {m['trace']:7.2f} s"
              f"  input {m['input']:6.2f} s  simulate {m['simulate']:6.2f} s  "
              f"dsb_miss_rate {m['counts'].dsb_miss_rate:.3f}", flush=True)
    print(f"Table I under the model ({cells} cells, {size}, {u.name}): {time.perf_counter() - start:.1f} s")


def main(argv: list[str]) -> None:
    """Parses the options and runs the comparison or the Table I timing."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workload", default="2mm")
    p.add_argument("--size", default="small")
    p.add_argument("--targets", default="native,wasmtime", help="comma-separated targets")
    p.add_argument("--uarch", default="skylake")
    p.add_argument("--table1", action="store_true", help="time Table I's campaign under the model instead")
    p.add_argument("--budget", type=float, default=None, help="with --table1: seconds after which no cell starts")
    args = p.parse_args(argv)
    u = uarch.load(args.uarch)
    if args.table1:
        table1(args.size, u, args.budget)
    else:
        compare(args.workload, args.size, args.targets.split(","), u)


if __name__ == "__main__":
    main(sys.argv[1:])
