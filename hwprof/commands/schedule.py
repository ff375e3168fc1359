"""`hwprof schedule`: replay a request trace through every scheduling policy (Table II); `hwprof schedule-trace`
writes a seeded trace."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from hwprof.cli_common import fail


def _budget(text: str | None) -> int | None:
    from hwprof.data.units import SizeError, parse_size

    if text is None:
        return None
    try:
        value = parse_size(text)
    except SizeError as exc:
        fail(f"--memory-budget: {exc}")
    if value < 0:
        fail(f"--memory-budget {text!r}: a budget cannot be negative")
    return value


def schedule(
    trace: Path = typer.Argument(..., help="A request trace (at_s,function,size; see `hwprof schedule-trace`)."),
    profiles: Path = typer.Option(..., "--profiles", help="The results store the profiles come from "
                                                          "(e.g. results/edge-profiles)."),
    policy: list[str] = typer.Option([], "--policy", help="Only these policies (repeatable): only:<target>, "
                                                          "hybrid, online-hybrid, pattern-hybrid, oracle."),
    target: list[str] = typer.Option([], "--target", help="Only these targets (repeatable; default: every one "
                                                          "profiled for the whole trace)."),
    workers: int = typer.Option(1, "--workers", min=1, help="Request workers of the simulated host."),
    memory_budget: Optional[str] = typer.Option(None, "--memory-budget", help="Bytes of compiled artefacts the "
                                                "host keeps (e.g. 256MiB; default: no limit)."),
    host_model: str = typer.Option("persistent", "--host-model", help="persistent: a long-lived host (hwprof "
                                   "serve) that never pays a process's start-up; process: a process per request, "
                                   "as the study ran each runtime's command line."),
    keep_alive: float = typer.Option(600.0, "--keep-alive", min=0, help="Seconds an unused artefact is kept "
                                     "(default: AWS Lambda's ten minutes; 'inf': until the budget needs its room)."),
    live: Optional[str] = typer.Option(None, "--live", help="Also replay the trace against a running `hwprof "
                                       "serve` at this URL (e.g. http://127.0.0.1:8080), each policy from a clean "
                                       "host, and simulate a host with its workers, budget and keep-alive."),
    speed: float = typer.Option(1.0, "--speed", help="Replay the trace this many times faster (with --live; the "
                                "simulation sees the same compressed times)."),
    max_requests: Optional[int] = typer.Option(None, "--max-requests", min=1, help="Only the trace's first N "
                                               "requests."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON entry per policy (with --live: an object "
                                 "with simulated, live and comparison lists)."),
    csv_out: Optional[Path] = typer.Option(None, "--csv", help="Also write the table as CSV."),
    md_out: Optional[Path] = typer.Option(None, "--markdown", help="Also write the table as Markdown."),
    results: Optional[Path] = typer.Option(None, "--results", help="Also keep every request's latency in this "
                                           "results store (e.g. results/edge-schedule), for `hwprof report`'s "
                                           "Table II and latency figure."),
):
    """Replay a trace through every policy by simulation from a store's profiles: the study's Table II."""
    from hwprof.data.store import StoreError, atomic_write_text
    from hwprof.schedule import table
    from hwprof.schedule.live import LiveConfig, LiveError
    from hwprof.schedule.policies import PolicyError
    from hwprof.schedule.profiles import ProfileError
    from hwprof.schedule.run import ScheduleConfig, keep, schedule_live, simulated
    from hwprof.schedule.simulate import SimConfig
    from hwprof.schedule.trace import TraceError

    forever = keep_alive == float("inf")
    sim = SimConfig(workers=workers, memory_budget=_budget(memory_budget), keep_alive_s=None if forever else keep_alive)
    config = ScheduleConfig(trace, profiles, tuple(policy), tuple(target), sim, max_requests,
                            LiveConfig(live, speed) if live else None, host_model)
    try:
        if live:
            found = schedule_live(config, results)
        else:
            outcomes = simulated(config)
            if results is not None:
                keep(config, outcomes, "simulated", results)
            found = table.rows(outcomes)
    except (TraceError, ProfileError, PolicyError, LiveError, StoreError) as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"--results {results}: {exc.strerror or exc}")
    rows = found["simulated"] if live else found
    if csv_out:
        atomic_write_text(csv_out, table.csv(rows))
    if md_out:
        atomic_write_text(md_out, table.markdown(rows))
    if as_json:
        typer.echo(json.dumps(found, indent=1))
    elif live:
        typer.echo("\n\n".join([table.text(rows), table.text(found["live"], table.LIVE_TITLE),
                                 table.comparison_text(found["comparison"]),
                                 table.overhead_text(found["overhead_s"])]))
    else:
        typer.echo(table.text(rows))


def schedule_trace(
    kind: str = typer.Argument(..., help="steady, bursty, cold-heavy or mixed."),
    output: Path = typer.Option(..., "-o", "--output", help="The trace file to write."),
    seed: int = typer.Option(1, "--seed", help="The generator's seed (the same seed, the same trace)."),
    requests: int = typer.Option(300, "--requests", min=1, help="How many requests."),
    azure: Optional[Path] = typer.Option(None, "--azure", help="Instead, read an Azure Functions 2019 "
                                         "invocations_per_function file (kind: azure)."),
    minutes: Optional[int] = typer.Option(None, "--minutes", min=1, help="With --azure: only the first minutes."),
):
    """Write a seeded request trace over the five edge applications and the matmul sizes."""
    from hwprof.schedule import trace

    try:
        if kind == "azure":
            if azure is None:
                fail("kind azure needs --azure FILE (an invocations_per_function_md.anon.dNN.csv)")
            reqs = trace.read_azure(azure, seed=seed, minutes=minutes)
        else:
            reqs = trace.generate(kind, n=requests, seed=seed)
    except trace.TraceError as exc:
        fail(str(exc))
    trace.write(output, reqs)
    typer.echo(f"{output}: {len(reqs)} requests over {reqs[-1].at_s:.1f} s ({kind}, seed {seed})")
