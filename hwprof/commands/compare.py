"""`hwprof compare`: results stores side by side, through the analysis layer's comparison."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from hwprof.cli_common import fail, warnings_as_lines


def compare(
    stores: list[Path] = typer.Argument(..., help="Two or more results stores (the first is the baseline); with "
                                        "--paired, one store holding a campaign with [[pairs]]."),
    label: list[str] = typer.Option([], "--label", help="A name per store, in order (default arch:machine)."),
    phase: list[str] = typer.Option([], "--phase", help="Only these phases (repeatable)."),
    name: list[str] = typer.Option([], "--name", help="Only these events/metrics, comma-separated or repeated."),
    csv_out: Optional[Path] = typer.Option(None, "--csv", help="Also write the tidy comparison as CSV."),
    md_out: Optional[Path] = typer.Option(None, "--markdown", help="Also write the side-by-side table as Markdown."),
    statistic: str = typer.Option("mean", "--statistic", help="The statistic each side is summarized by and "
                                  "compared on: mean (Welch interval) or median (bootstrap interval)."),
    exclude_disturbed: bool = typer.Option(False, "--exclude-disturbed", help="Leave out, on every side, the runs "
                                           "their noise record flagged (how many per side is said)."),
    paired: bool = typer.Option(False, "--paired", help="Compare the interleaved A/B pairs of one store's campaign "
                                "round by round (paired ratios, where slow host drift cancels)."),
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
    if paired:
        _paired(stores, statistic, exclude_disturbed, strict, as_json, csv_out, md_out)
        return
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



def _paired(stores: list[Path], statistic: str, exclude_disturbed: bool, strict: bool, as_json: bool,
            csv_out: Optional[Path], md_out: Optional[Path]) -> None:
    """`compare --paired STORE`: one row per interleaved pair of the store's campaigns."""
    import json

    import pandas as pd

    from hwprof.analysis import paired
    from hwprof.analysis.table import markdown, text_table
    from hwprof.data.store import atomic_write_text

    if len(stores) != 1:
        fail(f"--paired compares the pairs inside one results store, not {len(stores)} stores")
    try:
        with warnings_as_lines():
            rows = paired.compare_paired(stores[0], exclude_disturbed=exclude_disturbed, statistic=statistic,
                                         strict=strict)
    except paired.PairedError as exc:
        fail(str(exc))
    tidy, view = pd.DataFrame(rows), pd.DataFrame([paired.display_row(r) for r in rows])
    if csv_out:
        atomic_write_text(csv_out, tidy.to_csv(index=False))
    if md_out:
        atomic_write_text(md_out, markdown(view))
    if as_json:
        typer.echo(json.dumps(rows, indent=1))
        return
    summary = "median of the per-round ratios" if statistic == "median" else "geometric mean of the per-round ratios"
    typer.echo(f"{stores[0]}: interleaved pairs, ratio a/b taken round by round (runs back to back in a seeded "
               f"alternating order); the verdict judges the {summary}")
    typer.echo(text_table(view))
    typer.echo(f"rounds left out: {int(tidy['incomplete'].sum())} incomplete (a side missing or failed), "
               f"{int(tidy['excluded'].sum())} excluded as disturbed"
               + ("" if exclude_disturbed else " (--exclude-disturbed not asked)"))
