"""Readable tables of summaries, for terminals."""

from __future__ import annotations

from hwprof.analysis import robust
from hwprof.analysis.stats import Summary
from hwprof.data import schema


def fmt(value: float | None) -> str:
    """A number in at most 6 significant digits, '-' for none."""
    if value is None:
        return "-"
    if value != 0 and (abs(value) >= 1e7 or abs(value) < 1e-3):
        return f"{value:.4g}"
    return f"{value:,.6g}" if abs(value) >= 1000 else f"{value:.6g}"


def statistic_line(statistic: str, confidence: float = 0.95) -> str:
    """What the summary's numbers are: which statistic, and which interval low and high bound."""
    if statistic == robust.MEDIAN:
        return (f"statistic: median; low, high: its {confidence:.0%} order-statistic interval (distribution-free); "
                "+-: half that interval over the median")
    return f"statistic: mean; low, high: its Student-t {confidence:.0%} interval; +-: half that interval over the mean"


def render(summaries: list[Summary], title: str = "", repetitions: int | None = None) -> str:
    """A fixed-width table of measured figures (the chosen statistic, its interval, the spread), a line saying
    which statistic they are and how many repetitions were left out, then one line per kind of unavailable figure."""
    statistic = summaries[0].statistic if summaries else robust.MEAN
    rows = [("phase", "event / metric", statistic, "low", "high", "+-", "stdev", "CV", "n", "unit")]
    for s in summaries:
        if s.status == schema.OK:
            cv = f"{100 * s.cv:.1f}%" if s.cv is not None else "-"
            rel = f"{100 * s.relative:.1f}%" if s.relative is not None else "-"
            rows.append((s.phase, s.name, fmt(s.value), fmt(s.low), fmt(s.high), rel, fmt(s.stdev), cv, str(s.n),
                         s.unit))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    right = set(range(2, 9))
    lines = [title] if title else []
    for i, r in enumerate(rows):
        cells = [c.rjust(w) if j in right else c.ljust(w) for j, (c, w) in enumerate(zip(r, widths))]
        lines.append("  ".join(cells).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    lines.append(statistic_line(statistic, summaries[0].confidence if summaries else 0.95))
    no_interval = sorted({s.interval_note for s in summaries if s.status == schema.OK and s.low is None})
    lines += [f"no interval: {why}" for why in no_interval]
    excluded = max((s.excluded for s in summaries), default=0)
    if excluded:
        of = f" of {repetitions}" if repetitions else ""
        lines.append(f"{excluded}{of} repetitions left out as disturbed (--exclude-disturbed; they stay in the store)")
    missing: dict[tuple[str, str], tuple[dict, dict]] = {}     # (status, why) -> (names, phases), in order
    for s in summaries:
        if s.status != schema.OK:
            if s.kind == schema.EVENT:
                why = s.note.split(":")[0]
            else:
                why = "their events were not counted" if s.note.startswith("needs") else s.note
            names, phases = missing.setdefault((s.status, why), ({}, {}))
            names[s.name] = phases[s.phase] = None
    shown = {s.name for s in summaries if s.status == schema.OK}
    for (status, why), (names, phases) in missing.items():
        label = status.replace("_", " ")
        # a name shown in the table for one phase and missing in others: say in which
        where = f" in {', '.join(phases)}" if shown & names.keys() else ""
        lines.append(f"{label}{where}: {', '.join(names)}" + (f" ({why})" if why else ""))
    return "\n".join(lines)


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    if isinstance(value, float):
        return fmt(value)
    return str(value)


def text_table(frame, title: str = "") -> str:
    """Any DataFrame as a fixed-width table for terminals (numbers right-aligned, missing as '-')."""
    header = [str(c) for c in frame.columns]
    body = [[_cell(v) for v in row] for row in frame.itertuples(index=False)]
    numeric = [frame[c].dtype.kind in "if" for c in frame.columns]
    widths = [max([len(h)] + [len(r[i]) for r in body]) for i, h in enumerate(header)]
    lines = [title] if title else []
    for i, r in enumerate([header] + body):
        lines.append("  ".join(c.rjust(w) if numeric[j] else c.ljust(w)
                               for j, (c, w) in enumerate(zip(r, widths))).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown(frame) -> str:
    """Any DataFrame as a GitHub Markdown table (missing values as '-', pipes escaped)."""
    esc = lambda s: s.replace("|", "\\|")
    numeric = [frame[c].dtype.kind in "if" for c in frame.columns]
    lines = ["| " + " | ".join(esc(str(c)) for c in frame.columns) + " |",
             "|" + "".join(" ---: |" if n else " --- |" for n in numeric)]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(esc(_cell(v)) for v in row) + " |")
    return "\n".join(lines) + "\n"
