"""The study's Section V figures from sweep rows: Fig. 11 (L1 miss rate vs cache size) and Table III
(misprediction rate per branch predictor), plus the short table `gem5-sweep` prints.

Input is (provenance, Record) pairs of finished sweep points (hwprof.gem5.records.sweep_records).
"""

from __future__ import annotations

import csv
from pathlib import Path

from hwprof.data import schema
from hwprof.data.units import SizeError, parse_size

# The axis of each Fig. 11 panel: (sweep key, metric, panel title).
PANELS = (("l1i_size", "l1i_miss_rate", "(a) L1 I-cache"), ("l1d_size", "l1d_miss_rate", "(b) L1 D-cache"))
BRANCH_METRICS = ("branch_mispredict_rate", "branch_miss_rate")   # gem5's name, cachegrind's name
SUMMARY_METRICS = ("l1i_miss_rate", "l1d_miss_rate", "branch_mispredict_rate", "ipc")


def setting(sweep: str) -> dict[str, str]:
    """A row's sweep text 'key=value[; key=value]' as a dict."""
    return dict(part.strip().split("=", 1) for part in sweep.split(";") if "=" in part)


def size_value(text: str) -> int:
    """16KiB -> 16384 (for ordering and a log axis); 0 when not a size."""
    try:
        return parse_size(text)
    except SizeError:
        return 0


def _title(pairs, simulator: str) -> str:
    machines = sorted({p.get("machine", "") for p, _ in pairs} - {""})
    sims = sorted({f"{simulator} {p.get('simulator_version', '')}".strip() for p, _ in pairs})
    runtimes = sorted({f"{r.runtime} {r.runtime_version}".strip() for _, r in pairs})
    sizes = sorted({f"{r.workload} ({r.size})" for _, r in pairs})
    return (f"Fig. 11: L1 miss rate vs cache size, simulated by {', '.join(sims)} on {', '.join(machines)}<br>"
            f"<sup>{', '.join(sizes)}; {', '.join(runtimes)}; region of interest: bench.start..bench.end</sup>")


def curves(pairs) -> dict[str, dict[str, list[tuple[int, str, float]]]]:
    """panel key -> line label -> [(size in bytes, size text, miss rate)], ordered by size."""
    out: dict[str, dict[str, list]] = {}
    several_sizes = len({(r.workload, r.size) for _, r in pairs}) > len({r.workload for _, r in pairs})
    for _, r in pairs:
        s = setting(r.sweep)
        label = f"{r.workload}{f' ({r.size})' if several_sizes else ''} · {r.runtime}"
        for key, metric, _ in PANELS:
            if key in s and r.name == metric and r.status == schema.OK and r.value is not None:
                out.setdefault(key, {}).setdefault(label, []).append((size_value(s[key]), s[key], r.value))
    return {k: {lbl: sorted(pts) for lbl, pts in lines.items()} for k, lines in out.items()}


def fig11(pairs, simulator: str):
    """Plotly figure: miss rate (%) vs cache size, one line per workload and target, I-cache and D-cache panels."""
    import plotly.colors
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    data = curves(pairs)
    labels = sorted({label for lines in data.values() for label in lines})
    palette = plotly.colors.qualitative.Plotly
    color = {label: palette[i % len(palette)] for i, label in enumerate(labels)}   # one colour per line, both panels
    fig = make_subplots(rows=1, cols=2, subplot_titles=[title for _, _, title in PANELS])
    shown: set[str] = set()
    for col, (key, metric, _) in enumerate(PANELS, start=1):
        for label, pts in sorted(data.get(key, {}).items()):
            fig.add_trace(go.Scatter(x=[p[0] for p in pts], y=[100 * p[2] for p in pts], mode="lines+markers",
                                     name=label, legendgroup=label, showlegend=label not in shown,
                                     line={"color": color[label]}, text=[p[1] for p in pts],
                                     hovertemplate="%{text}: %{y:.4f}%"), row=1, col=col)
            shown.add(label)
        ticks = sorted({(p[0], p[1]) for pts in data.get(key, {}).values() for p in pts})
        fig.update_xaxes(type="log", tickvals=[t[0] for t in ticks], ticktext=[t[1] for t in ticks],
                         title_text=f"{key.split('_')[0].upper()} size", row=1, col=col)
        fig.update_yaxes(title_text=f"{metric} (%)", rangemode="tozero", row=1, col=col)
        if key not in data:
            fig.add_annotation(text=f"no {key.split('_')[0]} sweep yet", showarrow=False, row=1, col=col,
                               xref="x domain" if col == 1 else "x2 domain", yref="y domain" if col == 1 else "y2 domain",
                               x=0.5, y=0.5)
    fig.update_layout(title=_title(pairs, simulator), template="plotly_white", height=480, width=1100)
    return fig


def table3(pairs) -> list[dict]:
    """Table III: misprediction rate (%) per predictor, one row per workload and target."""
    rows: dict[tuple[str, str], dict] = {}
    for _, r in pairs:
        bp = setting(r.sweep).get("bp")
        if bp and r.name in BRANCH_METRICS and r.status == schema.OK and r.value is not None:
            row = rows.setdefault((r.workload, r.runtime), {"application": r.workload, "runtime": r.runtime})
            row[bp] = round(100 * r.value, 2)
    return [rows[k] for k in sorted(rows)]


def write_table3(rows: list[dict], folder: Path) -> list[Path]:
    """Table III as CSV and Markdown; returns the files."""
    from hwprof.gem5.config import (
        PREDICTORS,  # the study's order: 2-bit, bi-mode, tournament
    )

    found = list(dict.fromkeys(k for row in rows for k in row if k not in ("application", "runtime")))
    columns = ["application", "runtime"] + sorted(found, key=lambda p: (PREDICTORS + (p,)).index(p))
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "table3.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    lines = ["Table III: branch misprediction rate (%) under different branch predictors", "",
             "| " + " | ".join(columns) + " |", "|" + "|".join(" --- " for _ in columns) + "|"]
    lines += ["| " + " | ".join(str(row.get(c, "-")) for c in columns) + " |" for row in rows]
    (folder / "table3.md").write_text("\n".join(lines) + "\n")
    return [folder / "table3.csv", folder / "table3.md"]


def write_all(pairs, folder: Path, simulator: str) -> list[Path]:
    """Every figure the rows allow: fig11-<simulator>.html (self-contained), table3 CSV/Markdown."""
    written = []
    if curves(pairs):
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"fig11-{simulator}.html"
        fig11(pairs, simulator).write_html(path, include_plotlyjs=True, full_html=True)
        written.append(path)
    rows = table3(pairs)
    if rows:
        written += write_table3(rows, folder)
    return written


def summary(records) -> list[dict]:
    """One row per workload, target and sweep point with its miss and misprediction rates."""
    rows: dict[tuple, dict] = {}
    for r in records:
        key = (r.workload, r.runtime, size_value(next(iter(setting(r.sweep).values()), "")), r.sweep)
        row = rows.setdefault(key, {"workload": r.workload, "target": r.runtime, "sweep": r.sweep,
                                    "simulator": r.backend})
        name = "branch_mispredict_rate" if r.name == "branch_miss_rate" else r.name
        if name in SUMMARY_METRICS:
            row[name] = r.value
        if r.status == schema.ERROR:
            row["error"] = r.note
    return [rows[k] for k in sorted(rows)]


def render(rows: list[dict]) -> str:
    """A fixed-width text table of summary rows (rates in %)."""
    metrics = [m for m in SUMMARY_METRICS if any(r.get(m) is not None for r in rows)]
    head = ["workload", "target", "sweep"] + [m.replace("_rate", " %") if m != "ipc" else "ipc" for m in metrics]
    body = [[r["workload"], r["target"], r["sweep"]] +
            [("-" if r.get(m) is None else f"{r[m]:.3f}" if m == "ipc" else f"{100 * r[m]:.4f}") for m in metrics]
            for r in rows]
    widths = [max(len(x[i]) for x in [head] + body) for i in range(len(head))]
    fmt = lambda cells: "  ".join(c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))
    return "\n".join([fmt(head), "  ".join("-" * w for w in widths)] + [fmt(b).rstrip() for b in body])
