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
                                          "or the name of a shipped one (quick, study, table1, table1-sim)."),
    results: Optional[Path] = typer.Option(None, "--results", help="Results folder (default results/<campaign name>)."),
    resume: bool = typer.Option(False, "--resume", help="Continue an interrupted campaign in its results folder."),
    dry_run: bool = typer.Option(False, "--dry-run", help="List the cells and the run budget, run nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
):
    """Run a characterization campaign: seeded random order, adaptive repetitions (to a 2% CI by default), resumable."""
    from hwprof.campaign import CampaignError, SpecError, load, run_campaign
    from hwprof.campaign.display import progress_line, summary
    from hwprof.data.paths import campaigns_dir, results_root
    from hwprof.data.store import StoreError

    shipped = campaigns_dir() / f"{spec}.toml"
    if not spec.exists() and spec.suffix != ".toml" and shipped.exists():
        spec = shipped
    try:
        plan = load(spec)
    except SpecError as exc:
        fail(str(exc))
    folder = results or results_root() / plan.name
    if dry_run:
        for cell in plan.cells:
            r = cell.repetitions
            typer.echo(f"{cell.key}: {r.min}..{r.max} runs, until the {r.confidence:.0%} CI is within {r.target_ci:.0%}")
        typer.echo(f"{len(plan.cells)} cells, {sum(c.repetitions.min for c in plan.cells)}.."
                   f"{sum(c.repetitions.max for c in plan.cells)} runs, into {folder}")
        return
    tty = sys.stderr.isatty()

    def show(p):
        line = progress_line(p)
        typer.echo(("\r" + line[:160].ljust(160)) if tty else line, err=True, nl=not tty)

    try:
        with signals_as_interrupts(), warnings_as_lines():
            result = run_campaign(plan, folder, resume=resume, progress=None if quiet else show)
    except (CampaignError, SpecError, StoreError) as exc:
        fail(str(exc))
    except KeyboardInterrupt as exc:
        what, code = interrupted_exit(exc)
        fail(f"interrupted by {what}; finished runs are in {folder}: `hwprof campaign {spec} --resume"
             + (f" --results {results}" if results else "") + "` continues", code)
    if tty and not quiet:
        typer.echo("", err=True)
    if as_json:
        typer.echo(json.dumps({"name": result.name, "campaign_id": result.campaign_id, "results": str(folder),
                               "state": result.state, "runs_this_time": result.runs_this_time,
                               "runs_total": result.runs_total, "seconds": result.seconds,
                               "failures": result.failures, "disturbed": result.disturbed, "cells": result.cells},
                              indent=1))
    else:
        typer.echo(summary(result))
        typer.echo(f"stored: {folder}; `hwprof report {folder}` draws the figures")
    if result.failures:
        raise typer.Exit(1)

