"""The study's timing figures from a results frame: Fig. 5, Fig. 7 (a) and (b), Fig. 8 and Fig. 9."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd

from hwprof.report.section import (RUN_KEY, Entry, Section, baseline_target, cold_runs, error_bars, in_suite,
                                   mean_interval, provenance, ratio, target_order, timing_rows, warm_runs,
                                   workload_label)

COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
          "#17becf"]


def layout(fig, title: str, prov: str, **axes) -> None:
    """Title the figure with where its numbers came from, wrapped so the provenance stays readable."""
    lines = textwrap.wrap(prov, 120)
    fig.update_layout(title={"text": title + "".join(f"<br><sup>{line}</sup>" for line in lines), "x": 0.01},
                      margin={"t": 60 + 16 * len(lines)}, template="plotly_white", height=480, **axes)


def colors(targets: list[str]) -> dict[str, str]:
    """A fixed color per target, in reading order, so a target looks the same in every figure."""
    return {t: COLORS[i % len(COLORS)] for i, t in enumerate(targets)}


def sort_targets(table: pd.DataFrame, base: str | None, keys=("workload", "size")) -> pd.DataFrame:
    """Rows by workload, then target in reading order (baseline first, native last)."""
    order = {t: i for i, t in enumerate(target_order(table["target"], base))}
    return (table.assign(_o=table["target"].map(order)).sort_values([*keys, "_o"], kind="stable")
            .drop(columns="_o").reset_index(drop=True))


def grouped_bars(table: pd.DataFrame, y: str, base: str | None, errors: bool = True):
    """One bar trace per target over the workloads, with the table's low/high as error bars."""
    import plotly.graph_objects as go

    fig = go.Figure()
    targets = target_order(table["target"], base)
    palette = colors(targets)
    for t in targets:
        g = table[table["target"] == t]
        name = f"{t} (execute only)" if "covers" in g and (g["covers"] == "execute only").all() else t
        fig.add_trace(go.Bar(name=name, x=list(workload_label(g)), y=g[y].astype(float).tolist(),
                             marker_color=palette[t], error_y=error_bars(g, y) if errors else None))
    fig.update_layout(barmode="group")
    return fig


def stacked_bars(table: pd.DataFrame, parts: dict[str, str], base: str | None):
    """Bars stacked from `parts` (column -> legend name) for each workload x target pair."""
    import plotly.graph_objects as go

    table = sort_targets(table, base)
    x = [list(workload_label(table)), table["target"].tolist()]
    fig = go.Figure([go.Bar(name=label, x=x, y=table[col].astype(float).tolist()) for col, label in parts.items()])
    fig.update_layout(barmode="stack")
    return fig


def cold_polybench(frame: pd.DataFrame) -> pd.DataFrame:
    """Measured wall times of cold PolyBench runs."""
    times = in_suite(timing_rows(frame), "polybench")
    return times[times["invocation"] == "cold"]


def fig5(frame: pd.DataFrame, entry: Entry) -> Section:
    """Execute time of every PolyBench kernel per target, as a ratio to Wasmtime (Cranelift) with its CI."""
    times = cold_polybench(frame)
    execute = times[times["phase"] == "execute"]
    if execute.empty:
        return entry.empty("Fig. 5 needs cold runs of PolyBench kernels with an execute wall time; "
                           "none in these results")
    base = baseline_target(execute)
    if base is None:
        return entry.empty("Fig. 5 normalizes to Wasmtime (Cranelift); these results have no wasmtime runs "
                           "of PolyBench kernels")
    per_run = execute.groupby(RUN_KEY)["value"].sum().reset_index()
    rows, notes = [], []
    for (workload, size), g in per_run.groupby(["workload", "size"]):
        b = g.loc[g["target"] == base, "value"]
        if b.empty:
            notes.append(f"{workload} ({size}) has no {base} run to normalize to: left out")
            continue
        for (target, version), gt in g.groupby(["target", "runtime_version"]):
            row = {"workload": workload, "size": size, "target": target, "runtime_version": version,
                   "n": len(gt), "execute_mean_s": gt["value"].mean(), **ratio(gt["value"], b)}
            if target == base:     # its interval against itself shows the baseline's own noise; no verdict
                row["verdict"] = "baseline"
            rows.append(row)
    table = sort_targets(pd.DataFrame(rows), base)
    prov = provenance(execute)
    fig = grouped_bars(table, "ratio", base)
    layout(fig, f"Fig. 5: execute time normalized to {base} (= 1), 95% CI", prov,
           yaxis_title=f"execute time / {base}", xaxis_title="PolyBench kernel")
    notes.append("Execute phase wall time of cold runs; error bars: Welch 95% interval of the ratio of means.")
    return Section(entry.name, entry.title, table, fig, prov, notes=notes)


def _means(runs: pd.DataFrame, columns: list[str], keys=("workload", "size", "target", "runtime_version")):
    """Mean of each column per key, with the number of runs."""
    grouped = runs.groupby(list(keys))
    out = grouped[columns].mean()
    out.insert(0, "n", grouped.size())
    return out.reset_index()


# Targets whose measured process is a Python host around an embedded engine: their bootstrap is Python's.
PYTHON_HOSTED = ("wasmtime", "wasmtime-winch", "wasmtime-aot", "wasmtime-pulley", "wasmer")


def fig7a(frame: pd.DataFrame, entry: Entry) -> Section:
    """Startup and execute time of one cold invocation per PolyBench kernel and target."""
    times = cold_polybench(frame)
    runs = cold_runs(times)
    if runs.empty:
        return entry.empty("Fig. 7 (a) needs cold runs of PolyBench kernels; none in these results")
    table = _means(runs, ["startup_s", "execute_s", "total_s", "aot_compile_s"],
                   keys=("workload", "size", "target", "runtime_version", "covers"))
    base = baseline_target(times)
    fig = stacked_bars(table, {"startup_s": "startup", "execute_s": "execute"}, base)
    prov = provenance(times)
    layout(fig, "Fig. 7 (a): one cold invocation, startup and execute (mean seconds)", prov,
           yaxis_title="seconds")
    notes = ["startup = bootstrap + compile + instantiate (a command-line target's own startup phase)."]
    hosted = sorted(t for t in set(runs["runtime"]) if t in PYTHON_HOSTED)
    if hosted:
        notes.append(f"The bootstrap of {', '.join(hosted)} is a Python host's start-up (the interpreter and the "
                     "engine's package), not the engine's own: "
                     + ("wasmtime-cli beside them is Wasmtime's real command line." if "wasmtime-cli" in set(runs["runtime"])
                        else "run wasmtime-cli (Wasmtime's real command line) to see Wasmtime's own start-up."))
    if table["aot_compile_s"].notna().any():
        notes.append("aot_compile (ahead of time, a separate process) is not part of startup: see its column.")
    else:
        table = table.drop(columns="aot_compile_s")
    unmarked = sorted(set(runs.loc[runs["startup_s"].isna(), "target"]))
    if unmarked:
        notes.append(f"No startup measured for {', '.join(unmarked)} (only its execute phase is marked).")
    return Section(entry.name, entry.title, sort_targets(table, base), fig, prov, notes=notes)


def fig7b(frame: pd.DataFrame, entry: Entry) -> Section:
    """One warm process per kernel and target: startup once, then N instantiations and executions."""
    times = in_suite(timing_rows(frame), "polybench")
    runs = warm_runs(times)
    if runs.empty:
        return entry.empty("Fig. 7 (b) needs warm runs of PolyBench kernels (collect --mode warm "
                           "--invocations 50); none in these results")
    table = _means(runs, ["invocations", "startup_s", "instantiate_s", "execute_s", "total_s"])
    base = baseline_target(times[times["invocation"] == "warm"])
    counts = sorted({int(n) for n in runs["invocations"].dropna()})
    fig = stacked_bars(table, {"startup_s": "bootstrap + compile (once)", "instantiate_s": "instantiate (all)",
                               "execute_s": "execute (all)"}, base)
    prov = provenance(times[times["invocation"] == "warm"])
    layout(fig, f"Fig. 7 (b): one process, {'/'.join(map(str, counts))} sequential invocations (mean seconds)",
           prov, yaxis_title="seconds")
    notes = ["Each bar is one process: bootstrap and compile once, then instantiate and execute summed over "
             "its invocations."]
    return Section(entry.name, entry.title, sort_targets(table, base), fig, prov, notes=notes)


def fig8(frame: pd.DataFrame, entry: Entry) -> Section:
    """Total time of the matrix-multiplication sweep against matrix size, one line per target."""
    import plotly.graph_objects as go

    times = in_suite(timing_rows(frame), "sweep")
    runs = cold_runs(times)
    sizes = sorted(set(runs["size"]), key=lambda s: (not str(s).isdigit(), int(s) if str(s).isdigit() else 0, s))
    if len(sizes) < 2:
        have = f"only size {sizes[0]}" if sizes else "none"
        return entry.empty(f"Fig. 8 needs cold matmul runs at several sizes; {have} in these results")
    rows = []
    for (workload, size, target, version, covers), g in runs.groupby(
            ["workload", "size", "target", "runtime_version", "covers"]):
        m = mean_interval(g["total_s"])
        rows.append({"workload": workload, "size": size, "target": target, "runtime_version": version,
                     "covers": covers, "n": m["n"], "total_mean_s": m["mean"], "low": m["low"], "high": m["high"]})
    table = pd.DataFrame(rows)
    table["_n"] = pd.to_numeric(table["size"], errors="coerce")
    base = baseline_target(times)
    table = sort_targets(table.sort_values("_n"), base, keys=("workload", "_n")).drop(columns="_n")
    fig = go.Figure()
    palette = colors(target_order(table["target"], base))
    for t in target_order(table["target"], base):
        g = table[table["target"] == t]
        name = t if (g["covers"] != "execute only").all() else f"{t} (execute only)"
        fig.add_trace(go.Scatter(name=name, x=pd.to_numeric(g["size"]).tolist(), y=g["total_mean_s"].tolist(),
                                 mode="lines+markers", line={"color": palette[t]},
                                 error_y=error_bars(g, "total_mean_s")))
    prov = provenance(times)
    layout(fig, "Fig. 8: total time vs matrix size (N x N matmul), mean with 95% CI", prov,
           xaxis={"type": "log", "title": "matrix size N"}, yaxis={"type": "log", "title": "total seconds"})
    notes = ["total = startup + execute of one cold run; a target marked 'execute only' has no startup phase."]
    return Section(entry.name, entry.title, table, fig, prov, notes=notes)


def fig9(frame: pd.DataFrame, entry: Entry) -> Section:
    """Total time of each edge application per target, with its ratio to Wasmtime where Wasmtime ran it."""
    times = in_suite(timing_rows(frame), "edge")
    runs = cold_runs(times)
    if runs.empty:
        return entry.empty("Fig. 9 needs cold runs of the edge applications (canny, plate, attitude, lenet, "
                           "inflate); none in these results")
    base = baseline_target(times)
    rows = []
    for (workload, size, target, version, covers), g in runs.groupby(
            ["workload", "size", "target", "runtime_version", "covers"]):
        m = mean_interval(g["total_s"])
        b = runs[(runs["workload"] == workload) & (runs["size"] == size) & (runs["target"] == base)
                 & (runs["covers"] == covers)]
        rows.append({"workload": workload, "size": size, "target": target, "runtime_version": version,
                     "covers": covers, "n": m["n"], "startup_mean_s": g["startup_s"].mean(),
                     "execute_mean_s": g["execute_s"].mean(), "total_mean_s": m["mean"], "low": m["low"],
                     "high": m["high"],
                     "total_ratio_to_baseline": ratio(g["total_s"], b["total_s"])["ratio"] if len(b) else np.nan})
    table = sort_targets(pd.DataFrame(rows), base)
    fig = grouped_bars(table, "total_mean_s", base)
    prov = provenance(times)
    layout(fig, "Fig. 9: edge applications, total time per target (mean, 95% CI)", prov,
           yaxis={"type": "log", "title": "total seconds"}, xaxis_title="edge application")
    notes = [f"total = startup + execute of one cold run; total_ratio_to_baseline is against {base or 'wasmtime'}, "
             "and only where both totals cover the same phases."]
    if (table["covers"] == "execute only").any():
        notes.append("A target marked 'execute only' has no startup phase: its bar is its execute time alone.")
    return Section(entry.name, entry.title, table, fig, prov, notes=notes)


FIGURES = (
    Entry("fig5", "Fig. 5: PolyBench execute time per target, normalized to Wasmtime (Cranelift)", fig5),
    Entry("fig7a", "Fig. 7 (a): startup vs execute, one cold invocation", fig7a),
    Entry("fig7b", "Fig. 7 (b): startup vs execute, sequential invocations in one process", fig7b),
    Entry("fig8", "Fig. 8: total time vs matrix size", fig8),
    Entry("fig9", "Fig. 9: the edge applications per target", fig9),
)
