"""Building a report: load the rows, build every section, write the HTML page, CSVs and Markdown."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from hwprof.analysis.table import markdown
from hwprof.data.store import StoreError, atomic_write_text, load_results
from hwprof.report import html
from hwprof.report.codegen import CODEGEN
from hwprof.report.figures import FIGURES
from hwprof.report.paired import PAIRED
from hwprof.report.precision import PRECISION
from hwprof.report.schedule import SCHEDULE
from hwprof.report.section import Report, ReportOptions, Section, provenance
from hwprof.report.tables import TABLES

# Every section, in report order: one line per module of sections.
SECTIONS: tuple[Report, ...] = (
    *FIGURES,
    *TABLES,
    *CODEGEN,
    *SCHEDULE,
    *PRECISION,
    *PAIRED,
)
REPORTS: dict[str, Report] = {r.name: r for r in SECTIONS}


class ReportError(Exception):
    """Results a report cannot be made from, with the one line that says why."""


@dataclass(frozen=True)
class ReportOutput:
    """What build_report wrote: the page, the Markdown of all tables, each section's files, the sections."""

    html: Path
    markdown: Path
    files: tuple[Path, ...]
    sections: tuple[Section, ...]

    @property
    def paths(self) -> list[Path]:
        """Every file written, the page first."""
        return [self.html, self.markdown, *self.files]


def load(results: str | os.PathLike | pd.DataFrame, strict: bool = False) -> pd.DataFrame:
    """A results frame from a store folder, a run file, or a frame already loaded."""
    if isinstance(results, pd.DataFrame):
        frame = results
    else:
        try:
            frame = load_results(results, strict)
        except StoreError as exc:
            raise ReportError(str(exc)) from None
    if frame.empty:
        raise ReportError(f"{results if not isinstance(results, pd.DataFrame) else 'the frame'} holds no results")
    return with_inputs(frame)


def with_inputs(frame: pd.DataFrame) -> pd.DataFrame:
    """Name a workload run with inputs of its own by them too, so no figure or table pools two inputs."""
    given = frame["input"].fillna("").astype(str)
    if not (given != "").any():
        return frame
    labelled = frame["workload"].astype(str) + given.map(lambda s: f" [{s}]" if s else "")
    return frame.assign(workload=labelled)


def build_sections(frame: pd.DataFrame, names: list[str] | None = None,
                   options: ReportOptions = ReportOptions()) -> list[Section]:
    """Build the registered sections (all, or those named) from a results frame, under one set of options."""
    unknown = sorted(set(names or ()) - set(REPORTS))
    if unknown:
        raise ReportError(f"unknown report section {', '.join(unknown)}; choose from {', '.join(REPORTS)}")
    return [REPORTS[n].build(frame, options) for n in (names or REPORTS)]


def section_markdown(section: Section) -> str:
    """One section in Markdown: heading, provenance or what is missing, notes, the table."""
    lines = [f"## {section.title}", ""]
    if section.missing:
        return "\n".join(lines + [f"*{section.missing}*", ""])
    lines += [f"From: {section.provenance}", ""] + [f"- {n}" for n in section.notes]
    return "\n".join(lines + ([""] if section.notes else []) + [markdown(section.view)])


def build_report(results: str | os.PathLike | pd.DataFrame, out_dir: str | os.PathLike,
                 names: list[str] | None = None, strict: bool = False,
                 options: ReportOptions = ReportOptions()) -> ReportOutput:
    """Write report.html, report.md and each section's <name>.csv and <name>.md into out_dir."""
    frame = load(results, strict)
    source = "a results frame" if isinstance(results, pd.DataFrame) else str(results)
    sections = build_sections(frame, names, options)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ReportError(f"{out} exists and is not a folder")
    files = []
    for s in sections:
        files.append(atomic_write_text(out / f"{s.name}.md", section_markdown(s)))
        if not s.missing:
            files.append(atomic_write_text(out / f"{s.name}.csv", s.table.to_csv(index=False)))
    prov = provenance(frame)
    md = "\n".join(["# hwprof report", "", f"Results {source}.", "", f"From: {prov}", ""]
                   + [section_markdown(s) for s in sections])
    md_path = atomic_write_text(out / "report.md", md)
    page = atomic_write_text(out / "report.html", html.render(sections, prov, source))
    return ReportOutput(page, md_path, tuple(files), tuple(sections))
