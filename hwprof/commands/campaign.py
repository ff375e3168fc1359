"""`hwprof campaign`: a campaign spec (a path or a shipped name) loaded into a plan and run by the campaign runner."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from hwprof.cli_common import fail, interrupted_exit, signals_as_interrupts, warnings_as_lines


def campaign(
    spec: Path = typer.Argument(..., help="Campaign spec (TOML): workloads x sizes x targets x backend x modes; "
                                          "or the name of one in campaigns/ (quick, study, table1, ...)."),
    results: Optional[Path] = typer.Option(None, "--results", help="Results folder (default results/<campaign name>)."),
    resume: bool = typer.Option(False, "--resume", help="Continue an interrupted campaign in its results folder."),
    dry_run: bool = typer.Option(False, "--dry-run", help="List the cells and the run budget, run nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    statistic: Optional[str] = typer.Option(None, "--statistic", help="Stop on the interval of the mean or the "
                                            "median (default: the spec's [repetitions] statistic, else mean)."),
    exclude_disturbed: Optional[bool] = typer.Option(None, "--exclude-disturbed/--keep-disturbed",
                                                     help="Leave runs their noise record flagged out of the "
                                                          "stopping statistic, counted (default: the spec's)."),
    simulate_unconverged: bool = typer.Option(False, "--simulate-unconverged",
                                              help="Then give every cell that did not converge one cachegrind run "
                                                   "of the same workload, size, target and mode."),
    executor: str = typer.Option("local", "--executor", help="local, or dask: simulated cells on a Dask cluster "
                                                              "(timed cells always run here, with local)."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Dask scheduler address (tcp://HOST:PORT); "
                                                                      "--executor dask without it: a LocalCluster."),
):
    """Run a characterization campaign: seeded random order, adaptive repetitions (to a 2% CI by default), resumable."""
    from hwprof.campaign import CampaignError, SpecError, load, run_campaign
    from hwprof.campaign.spec import with_policy
    from hwprof.campaign.display import progress_line, summary
    from hwprof.data.paths import campaigns_dir, results_root
    from hwprof.data.store import StoreError

    shipped = campaigns_dir() / f"{spec}.toml"
    if not spec.exists() and spec.suffix != ".toml" and shipped.exists():
        spec = shipped
    try:
        plan = with_policy(load(spec), statistic, exclude_disturbed)
    except SpecError as exc:
        fail(str(exc))
    folder = results or results_root() / plan.name
    if dry_run:
        _list_cells(plan, folder)
        return
    tty = sys.stderr.isatty()

    def show(p):
        line = progress_line(p)
        typer.echo(("\r" + line[:160].ljust(160)) if tty else line, err=True, nl=not tty)

    try:
        with signals_as_interrupts(), warnings_as_lines():
            result = run_campaign(plan, folder, resume=resume, progress=None if quiet else show,
                                  simulate_unconverged=simulate_unconverged, executor=executor,
                                  scheduler=scheduler)
    except (CampaignError, SpecError, StoreError) as exc:
        fail(str(exc))
    except KeyboardInterrupt as exc:
        what, code = interrupted_exit(exc)
        again = "".join([f" --results {results}" if results else "", f" --statistic {statistic}" if statistic else "",
                         {True: " --exclude-disturbed", False: " --keep-disturbed", None: ""}[exclude_disturbed],
                         " --simulate-unconverged" if simulate_unconverged else "",
                         f" --executor {executor}" if executor != "local" else "",
                         f" --scheduler {scheduler}" if scheduler else ""])
        fail(f"interrupted by {what}; finished runs are in {folder}: `hwprof campaign {spec} --resume{again}` "
             "continues", code)
    if tty and not quiet:
        typer.echo("", err=True)
    if as_json:
        typer.echo(json.dumps({"name": result.name, "campaign_id": result.campaign_id, "results": str(folder),
                               "state": result.state, "runs_this_time": result.runs_this_time,
                               "runs_total": result.runs_total, "seconds": result.seconds,
                               "failures": result.failures, "disturbed": result.disturbed,
                               "pool": {"saved": result.pool_saved, "spent": result.pool_spent},
                               "simulated": result.simulated, "cells": result.cells},
                              indent=1))
    else:
        typer.echo(summary(result))
        typer.echo(f"stored: {folder}; `hwprof report {folder}` draws the figures")
    if result.failures:
        raise typer.Exit(1)


def _list_cells(plan, folder: Path) -> None:
    """--dry-run: each cell's run budget and stopping rule, the pairs, and the totals; nothing runs."""
    for cell in plan.cells:
        r = cell.repetitions
        typer.echo(f"{cell.key}: {r.min}..{r.max} runs, until the {r.confidence:.0%} CI of the {r.statistic} is "
                   f"within {r.target_ci:.0%}" + (" (flagged runs excluded)" if r.exclude_disturbed else ""))
    for a, b in plan.pairs:
        typer.echo(f"pair: {a} ~ {b}")
    typer.echo(f"{len(plan.cells)} cells, {sum(c.repetitions.min for c in plan.cells)}.."
               f"{sum(c.repetitions.max for c in plan.cells)} runs, into {folder}")
