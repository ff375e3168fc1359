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
    statistic: str = typer.Option("mean", "--statistic", help="What the timing sections summarise repeated runs by: "
                                  "mean (Welch intervals) or median (order-statistic and bootstrap intervals)."),
    exclude_disturbed: bool = typer.Option(False, "--exclude-disturbed", help="Leave out the runs their noise record "
                                           "flagged (each section says how many)."),
    target_ci: float = typer.Option(0.02, "--target-ci", help="The precision section's target: interval half-width "
                                    "over the statistic (0.02 = 2%)."),
    as_json: bool = typer.Option(False, "--json", help="Print what was written as JSON."),
    strict: bool = typer.Option(False, "--strict", help="Refuse a store with an unreadable run file (default: "
                                                        "skip it with a warning)."),
):
    """Write the study's figures and tables (Figs. 5, 7, 8, 9, Table I, wasm/native slowdown, precision) as HTML, CSV,
    Markdown."""
    from hwprof.cli_common import warnings_as_lines
    from hwprof.analysis.robust import STATISTICS
    from hwprof.report import ReportError, ReportOptions, build_report

    if statistic not in STATISTICS:
        fail(f"--statistic must be one of {', '.join(STATISTICS)}, not {statistic!r}")
    if not 0 < target_ci < 1:
        fail(f"--target-ci must lie between 0 and 1 (0.02 = 2%), not {target_ci:g}")
    options = ReportOptions(statistic=statistic, exclude_disturbed=exclude_disturbed, target_ci=target_ci)
    try:
        with warnings_as_lines():
            written = build_report(results, out or Path(results) / "report", strict=strict, options=options)
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
