"""`hwprof validate-frontend`: the front-end model's rows against the measured rows of the same cells."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from hwprof.cli_common import fail, warnings_as_lines


def validate_frontend(
    store: Path = typer.Argument(..., help="Results store with both frontend (modelled) and perf/vtune rows."),
    phase: list[str] = typer.Option(["execute"], "--phase", help="Phases to compare (repeatable)."),
    uarch: Optional[str] = typer.Option(None, "--uarch", help="Only the model's rows run as this microarchitecture."),
    as_json: bool = typer.Option(False, "--json", help="Print cells, summary and provenance as JSON."),
):
    """Compare the front-end model with measured DSB/L1I counts: error per cell and metric, median per metric."""
    from hwprof.analysis.table import text_table
    from hwprof.analysis.validate_frontend import ValidateError, validate_store

    try:
        with warnings_as_lines():
            table, summary, prov = validate_store(store, tuple(phase), uarch)
    except ValidateError as exc:
        fail(str(exc))
    if as_json:
        typer.echo(json.dumps({"cells": json.loads(table.to_json(orient="records")),
                               "summary": json.loads(summary.to_json(orient="records")),
                               "model_uarch": prov.model_uarch, "measured_cpu": prov.measured_cpu,
                               "measured_microarch": prov.measured_microarch, "mismatch": prov.mismatch()}, indent=1))
        return
    typer.echo(f"model: --uarch={prov.model_uarch or '?'}; measured on {prov.measured_cpu or 'unknown CPU'} "
               f"({prov.measured_microarch or 'unknown microarch'})")
    if prov.mismatch():
        typer.echo(f"hwprof: warning: {prov.mismatch()}", err=True)
    typer.echo("rel_error = (modelled - measured) / measured; abs_error_pp for rates, in percentage points")
    shown = table.drop(columns=[c for c in ("input", "scope") if not table[c].astype(str).str.len().any()])
    typer.echo(text_table(shown))
    typer.echo(text_table(summary, "median |relative error| over cells"))
    missing = table[table["status"] != "ok"]
    for _, r in missing.iterrows():
        typer.echo(f"{r['runtime']} {r['workload']} {r['size']} {r['phase']} {r['name']}: modelled, {r['status']}")
