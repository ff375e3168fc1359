"""Typer command functions for `hwprof trace` and `hwprof export` (registered on the app in hwprof/cli.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from hwprof.cli_common import fail

FORMATS = ("pyperf",)


def trace(
    results: Path = typer.Argument(..., help="Results store folder (the one `collect --results` wrote)."),
    run: Optional[str] = typer.Option(None, "--run",
                                      help="Run id (one repetition) or a unique prefix of it; omit to list them."),
    out: Optional[Path] = typer.Option(None, "--out", "-o",
                                       help="Trace file to write (default: <results>/traces/<run id>.pftrace)."),
):
    """Write a Perfetto trace of one repetition: phases as slices per process, counters as counter tracks."""
    from hwprof.analysis.trace import TraceError, find_run, list_runs, write_trace

    try:
        if run is None:
            ids = list_runs(results)
            for run_id in ids:
                typer.echo(run_id)
            fail(f"choose a run with --run ({len(ids)} runs in {results}, listed above)" if ids
                  else f"{results} holds no runs yet")
        path = find_run(results, run)
        written = write_trace(results, path.stem, out or Path(results) / "traces" / f"{path.stem}.pftrace")
    except TraceError as exc:
        fail(str(exc))
    typer.echo(f"wrote {written} (open it at https://ui.perfetto.dev)")


def export(
    results: Path = typer.Argument(..., help="Results store folder or one run file."),
    fmt: str = typer.Option("pyperf", "--format", "-f", help=f"Output format: {', '.join(FORMATS)}."),
    out: Optional[Path] = typer.Option(None, "--out", "-o",
                                       help="Folder for the files, one per runtime target (default: <results>/pyperf)."),
    phase: str = typer.Option("execute", "--phase", help="Phase whose timings to export."),
    event: str = typer.Option("wall_time", "--event",
                              help="Row to export: wall_time, or an event in a time unit (task_clock)."),
):
    """Export timings for other tools: pyperf JSON that `python -m pyperf stats/compare_to` read."""
    from hwprof.analysis.export import ExportError, write_pyperf

    if fmt not in FORMATS:
        fail(f"--format {fmt!r}: choose {', '.join(FORMATS)}")
    try:
        store = results if results.is_dir() else results.parent
        folder = out or (store.parent if store.name == "runs" else store) / "pyperf"
        paths = write_pyperf(results, folder, phase=phase, name=event)
    except ExportError as exc:
        fail(str(exc))
    for p in paths:
        typer.echo(f"wrote {p}")
