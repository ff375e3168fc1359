#!/usr/bin/env python3
"""Benchmark: the full PolyBench suite x 6 targets, adaptive repetitions to a 2% CI vs a fixed 10 per pair.

Prints the wall time of each campaign, their ratio, why the adaptive cells stopped (converged, noise-floor
with its reason, max, failed), and how many cells of each ended with their 95% interval within 2% of the
chosen statistic (the mean, the campaigns' default, or --statistic median). Targets: at least 90% of the
adaptive campaign's cells converged or stopped early on their noise floor with a stated reason, in no more
than 7.4 minutes (the campaign's time before noise-floor stops) on 2 cores.

    .venv/bin/python scripts/bench_campaign.py                       # the issue's benchmark
    .venv/bin/python scripts/bench_campaign.py --workloads 2mm,atax  # a quick look
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hwprof import workloads  # noqa: E402
from hwprof.campaign import parse, run_campaign  # noqa: E402
from hwprof.campaign.display import duration, progress_line  # noqa: E402

TARGETS = "wasmtime,wasmtime-winch,wasmtime-aot,node-liftoff,node-turbofan,native"


def spec_text(names: list[str], targets: list[str], size: str, lo: int, hi: int, target_ci: float,
              statistic: str = "mean", exclude_disturbed: bool = False) -> str:
    quoted = lambda xs: "[" + ", ".join(f'"{x}"' for x in xs) + "]"
    return f"""
[campaign]
name = "bench"
seed = 1
events = ["task_clock"]
count_phases = ["execute"]
warmup = 1

[repetitions]
min = {lo}
max = {hi}
target_ci = {target_ci}
statistic = "{statistic}"
exclude_disturbed = {str(exclude_disturbed).lower()}

[[matrix]]
workloads = {quoted(names)}
sizes = ["{size}"]
targets = {quoted(targets)}
"""


def run(label: str, text: str, quiet: bool) -> tuple[float, list[dict]]:
    spec = parse(text, label)
    with tempfile.TemporaryDirectory(prefix=f"hwprof-bench-{label}-") as tmp:
        show = None if quiet else (lambda p: print("  " + progress_line(p)[:150], file=sys.stderr, flush=True))
        t0 = time.monotonic()
        result = run_campaign(spec, Path(tmp), progress=show)
        seconds = time.monotonic() - t0
    if result.failures:
        for why, n in result.failures.items():
            print(f"  {label}: {n} cell(s) failed: {why}", file=sys.stderr)
    return seconds, result.cells


def within(cells: list[dict], target_ci: float) -> int:
    return sum(1 for c in cells if c["ci_rel"] is not None and c["ci_rel"] <= target_ci)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workloads", default="@polybench", help="comma-separated names, or @polybench")
    ap.add_argument("--targets", default=TARGETS)
    ap.add_argument("--size", default="small")
    ap.add_argument("--min", type=int, default=3)
    ap.add_argument("--max", type=int, default=20)
    ap.add_argument("--target-ci", type=float, default=0.02)
    ap.add_argument("--statistic", default="mean", choices=("mean", "median"), help="the campaign's stopping statistic")
    ap.add_argument("--exclude-disturbed", action="store_true", help="leave flagged runs out of the statistic")
    ap.add_argument("--budget-s", type=float, default=7.4 * 60, help="the time goal of the adaptive campaign")
    ap.add_argument("--naive", type=int, default=10, help="fixed repetitions of the naive campaign (0: skip it)")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args()
    cat = workloads.catalogue()["workload"]
    names = (sorted(n for n, s in cat.items() if s.get("suite") == "polybench") if args.workloads == "@polybench"
             else args.workloads.split(","))
    targets = args.targets.split(",")
    cells = len(names) * len(targets)
    print(f"{len(names)} workloads x {len(targets)} targets = {cells} cells at {args.size}; "
          f"targets: {', '.join(targets)}")
    adaptive_s, adaptive = run("adaptive", spec_text(names, targets, args.size, args.min, args.max, args.target_ci,
                                                     args.statistic, args.exclude_disturbed), args.quiet)
    runs = sum(c["runs"] for c in adaptive)
    stops = Counter(c["stopped"] for c in adaptive)
    print(f"adaptive ({args.min}..{args.max} repetitions, stop at a {args.target_ci:.0%} interval of the "
          f"{args.statistic}{', disturbed runs left out' if args.exclude_disturbed else ''}): "
          f"{duration(adaptive_s)} ({adaptive_s:.1f} s), {runs} runs, "
          + ", ".join(f"{n} cells {why}" for why, n in sorted(stops.items()))
          + f"; {within(adaptive, args.target_ci)}/{cells} cells within {args.target_ci:.0%}")
    if args.naive:
        naive_s, naive = run("naive", spec_text(names, targets, args.size, args.naive, args.naive, 0.5), args.quiet)
        print(f"naive (fixed {args.naive} repetitions): {duration(naive_s)} ({naive_s:.1f} s), "
              f"{sum(c['runs'] for c in naive)} runs; {within(naive, args.target_ci)}/{cells} cells within "
              f"{args.target_ci:.0%}")
        print(f"adaptive / naive wall time: {adaptive_s / naive_s:.2f}")
    noisiest = sorted((c for c in adaptive if c["ci_rel"] is not None), key=lambda c: -c["ci_rel"])[:5]
    for c in noisiest:
        print(f"  noisiest: {c['workload']} {c['target']}: n={c['n']}, CI +-{100 * c['ci_rel']:.1f}% "
              f"of {c['center_s'] * 1e3:.3f} ms ({c['stopped']})")
    for c in [c for c in adaptive if c["stopped"] == "noise-floor"][:3]:
        print(f"  noise-floor example: {c['workload']} {c['target']}: {c['reason']}")
    accounted = stops.get("converged", 0) + stops.get("noise-floor", 0)
    share = accounted / cells if cells else 0.0
    print(f"target (>= 90% of cells converged or stopped on their noise floor): {accounted}/{cells} = "
          f"{share:.0%}: {'met' if share >= 0.9 else 'NOT met'}")
    print(f"target (adaptive campaign <= {duration(args.budget_s)}): {duration(adaptive_s)}: "
          f"{'met' if adaptive_s <= args.budget_s else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
