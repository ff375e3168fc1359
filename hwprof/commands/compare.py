"""`hwprof compare`: results stores side by side, through the analysis layer's comparison."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from hwprof.cli_common import fail, warnings_as_lines


def compare(
    stores: list[Path] = typer.Argument(..., help="Two or more results stores (the first is the baseline)."),
    label: list[str] = typer.Option([], "--label", help="A name per store, in order (default arch:machine)."),
    phase: list[str] = typer.Option([], "--phase", help="Only these phases (repeatable)."),
    name: list[str] = typer.Option([], "--name", help="Only these events/metrics, comma-separated or repeated."),
    csv_out: Optional[Path] = typer.Option(None, "--csv", help="Also write the tidy comparison as CSV."),
    md_out: Optional[Path] = typer.Option(None, "--markdown", help="Also write the side-by-side table as Markdown."),
    statistic: str = typer.Option("mean", "--statistic", help="The statistic each side is summarized by and "
                                  "compared on: mean (Welch interval) or median (bootstrap interval)."),
    exclude_disturbed: bool = typer.Option(False, "--exclude-disturbed", help="Leave out, on every side, the runs "
                                           "their noise record flagged (how many per side is said)."),
    as_json: bool = typer.Option(False, "--json", help="Print the tidy comparison as JSON."),
    strict: bool = typer.Option(False, "--strict", help="Refuse a store with an unreadable run file (default: "
                                                        "skip it with a warning)."),
):
    """Compare results from machines side by side: target x workload x metric, ratio [95% CI], verdict."""
    from hwprof.analysis.compare import CompareError, compare_stores, excluded_line, statistic_note, wide
    from hwprof.analysis.robust import STATISTICS
    from hwprof.analysis.table import markdown, text_table
    from hwprof.data.store import atomic_write_text

    if statistic not in STATISTICS:
        fail(f"--statistic must be one of {', '.join(STATISTICS)}, not {statistic!r}")
    names = tuple(n.strip() for item in name for n in item.split(",") if n.strip())
    try:
        with warnings_as_lines():
            tidy, sides = compare_stores(stores, strict=strict, labels=label or None, phases=tuple(phase), names=names,
                                          statistic=statistic, exclude_disturbed=exclude_disturbed)
    except CompareError as exc:
        fail(str(exc))
    view = wide(tidy, sides)
    if csv_out:
        atomic_write_text(csv_out, tidy.to_csv(index=False))
    if md_out:
        atomic_write_text(md_out, markdown(view))
    if as_json:
        typer.echo(tidy.to_json(orient="records", indent=1))
        return
    for s in sides:
        typer.echo(f"{s.label}: {s.path} ({s.cpu or 'unknown CPU'}, {s.arch})")
    typer.echo(statistic_note(statistic))
    if exclude_disturbed:
        typer.echo("; ".join(excluded_line(s) for s in sides) + " (--exclude-disturbed; they stay in the stores)")
    typer.echo(text_table(view))

