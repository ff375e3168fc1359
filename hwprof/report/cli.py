"""The Typer command function for `hwprof report` (registered on the app in hwprof/cli.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from hwprof.cli_common import fail


def report(
    results: Path = typer.Argument(..., help="Results store folder (collect --results or a campaign's folder)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o",
                                       help="Folder for report.html, report.md and each figure's CSV and Markdown "
                                            "(default: <results>/report)."),
    as_json: bool = typer.Option(False, "--json", help="Print what was written as JSON."),
    strict: bool = typer.Option(False, "--strict", help="Refuse a store with an unreadable run file (default: "
                                                        "skip it with a warning)."),
):
    """Write the study's figures and tables (Figs. 5, 7, 8, 9, Table I, wasm/native slowdown) as HTML, CSV, Markdown."""
    from hwprof.cli_common import warnings_as_lines
    from hwprof.report import ReportError, build_report

    try:
        with warnings_as_lines():
            written = build_report(results, out or Path(results) / "report", strict=strict)
    except ReportError as exc:
        fail(str(exc))
    if as_json:
        doc = {"html": str(written.html), "markdown": str(written.markdown), "files": [str(p) for p in written.files],
               "sections": [{"name": s.name, "title": s.title, "rows": len(s.table), "missing": s.missing}
                            for s in written.sections]}
        typer.echo(json.dumps(doc, indent=1))
        return
    for s in written.sections:
        typer.echo(f"{s.name:9} {'missing: ' + s.missing if s.missing else f'{len(s.table)} rows'}")
    typer.echo(f"wrote {written.html} and {written.markdown} (+{len(written.files)} section files)")
