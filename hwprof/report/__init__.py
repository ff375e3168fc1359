"""`hwprof report`: the study's figures and tables from a results store, as HTML, CSV and Markdown.

Every figure or table is a Report (section.py): a name, a title and build(frame, options) -> Section. REPORTS is
the one registry; a new figure is a build function and one Entry line in figures.py or tables.py (a new module
of sections: one line in build.SECTIONS). ReportOptions (the statistic, --exclude-disturbed) reach each builder
as entry.options.
The names below load on first use (build.py), so that `hwprof --help` does not import pandas.
"""

from __future__ import annotations

_PUBLIC = ("REPORTS", "ReportError", "ReportOptions", "ReportOutput", "build_report", "build_sections", "html")


def __getattr__(name: str):
    if name in _PUBLIC:
        from hwprof.report import build

        return getattr(build, name)
    raise AttributeError(f"module 'hwprof.report' has no attribute {name!r}")
