"""The report's codegen section: code metrics per target across the PolyBench kernels, and which of them
order the targets the way their measured execute times do (Fig. 5's ratios, from the same store)."""

from __future__ import annotations

import math

import pandas as pd

from hwprof.analysis.rank import spearman
from hwprof.codegen.run import DYNAMIC
from hwprof.data import schema
from hwprof.report.figures import FIGURES, layout
from hwprof.report.section import Entry, Section, in_suite, provenance, timing_rows

# A metric per instruction says more than its raw count when two compilers emit different amounts of code.
PER_INSTRUCTION = ("register_moves", "redundant_moves", "zero_extensions", "loads", "stores", "spills", "reloads",
                   "alu_memory_operand", "load_then_alu", "stack_checks", "branches", "conditional_branches", "calls",
                   "trap_instructions", "rex_prefixes", "meaningless_rex", "setcc_branch_sequences",
                   "jcc_erratum_jumps")
SCOPE_ORDER = ("function", "module")
NO_CODE = ("needs `hwprof codegen KERNEL --results STORE` rows of PolyBench kernels in these results; none here")


def code_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """hwprof codegen's static rows of PolyBench kernels (its dynamic ones, weighted by executions, left out): per
    workload and target, the hot function's metrics where recorded, else the module's; the newest run of each."""
    rows = frame[(frame["backend"] == "codegen") & (frame["status"] == schema.OK)]
    rows = rows[~rows["scope"].astype(str).str.startswith(DYNAMIC)]
    rows = in_suite(rows, "polybench")
    if rows.empty:
        return rows
    rows = rows.assign(scope_kind=rows["scope"].str.split("=").str[0])
    rank = {s: i for i, s in enumerate(SCOPE_ORDER)}
    # One scope and one run per workload and target: the hot function before the module, the newest run first.
    ordered = rows.assign(_r=rows["scope_kind"].map(rank)).sort_values(["_r", "timestamp"], ascending=[True, False])
    chosen = ordered.drop_duplicates(["workload", "runtime"])[["workload", "runtime", "run_id", "scope"]]
    return ordered.merge(chosen, on=["workload", "runtime", "run_id", "scope"]).drop(columns="_r")


def metric_table(code: pd.DataFrame) -> pd.DataFrame:
    """One row per workload and target: the scope read and every metric (per-instruction ones as densities)."""
    wide = code.pivot_table(index=["workload", "runtime", "scope"], columns="name", values="value").reset_index()
    for m in PER_INSTRUCTION:
        if m in wide and "instructions" in wide:
            wide[f"{m}_per_kinstr"] = 1000 * wide[m] / wide["instructions"]
    return wide.rename(columns={"runtime": "target"})


def correlations(metrics: pd.DataFrame, fig5_table: pd.DataFrame, base: str) -> pd.DataFrame:
    """Per metric: Spearman's rho between log(metric / baseline's) and log(execute ratio), over kernel x target."""
    times = fig5_table[fig5_table["target"] != base][["workload", "target", "ratio"]]
    base_metrics = metrics[metrics["target"] == base].set_index("workload")
    names = [c for c in metrics.columns if c not in ("workload", "target", "scope")]
    out = []
    for name in names:
        xs, ys, skipped = [], [], 0
        for row in times.itertuples(index=False):
            mine = metrics[(metrics["workload"] == row.workload) & (metrics["target"] == row.target)]
            if mine.empty or row.workload not in base_metrics.index or not row.ratio or row.ratio <= 0:
                continue
            a, b = mine[name].iloc[0], base_metrics.loc[row.workload, name]
            if not (a > 0 and b > 0):           # a ratio needs both sides; counted, not hidden
                skipped += 1
                continue
            xs.append(math.log(a / b))
            ys.append(math.log(row.ratio))
        rc = spearman(xs, ys)
        out.append({"metric": name, "pairs": rc.n, "rho": rc.rho, "low": rc.low, "high": rc.high,
                    "p_exact": rc.p_exact, "verdict": rc.verdict, "left_out_zero": skipped})
    table = pd.DataFrame(out)
    strength = pd.to_numeric(table["rho"], errors="coerce").abs().fillna(-1)
    return table.assign(_s=-strength).sort_values("_s", kind="stable").drop(columns="_s").reset_index(drop=True)


def codegen(frame: pd.DataFrame, entry: Entry) -> Section:
    """Code metrics per target and PolyBench kernel, as `hwprof codegen` recorded them."""
    code = code_rows(frame)
    if code.empty:
        return entry.empty(NO_CODE)
    table = metric_table(code)
    notes = ["Code read by `hwprof codegen`, static counts only (every instruction once; its --dynamic rows are not "
             f"read here) ({', '.join(sorted(set(code['scope_kind'])))} scope: the hot function "
             "where recorded, else the whole module); *_per_kinstr: per 1000 instructions. Metric definitions: "
             "README, 'Code metrics'."]
    return Section(entry.name, entry.title, table, None, provenance(code), notes=notes)


def codegen_rank(frame: pd.DataFrame, entry: Entry) -> Section:
    """Each code metric's rank correlation with the execute-time ratios of Fig. 5, with its interval."""
    code = code_rows(frame)
    if code.empty:
        return entry.empty(NO_CODE)
    times = next(e for e in FIGURES if e.name == "fig5").build(frame)
    if times.missing:
        return entry.empty(f"no execute-time ratios to relate the code to: {times.missing}")
    base = times.table.loc[times.table["verdict"] == "baseline", "target"].iloc[0]
    table = correlations(metric_table(code), times.table, base)
    timed = timing_rows(frame)
    prov = provenance(pd.concat([code, timed[timed["phase"] == "execute"]]))   # both the code and the times
    notes = [f"rho: Spearman's rank correlation, over every kernel and target but {base}, between the metric "
             f"relative to {base}'s for the same kernel and the execute-time ratio to {base} (Fig. 5); "
             "interval: 95%, Fisher z with Bonett and Wright's variance; where rho is +-1 there is no such interval and "
             "p_exact (2/n!, the chance of a perfect ordering) decides. 'orders alike': more of the metric goes "
             "with slower execution on this machine; 'too few': under 4 pairs or a metric that does not vary. "
             "Pairs with a zero metric on either side are left out and counted (left_out_zero). Targets are "
             "matched by runtime name, kernels by workload."]
    fig = _scatter(table)
    if fig is not None:
        layout(fig, "Code metrics against execute-time ratios: Spearman's rho, 95% interval", prov,
               yaxis_title="Spearman's rho", xaxis_title="code metric (relative to the baseline's)",
               yaxis_range=[-1.05, 1.05])
    return Section(entry.name, entry.title, table, fig, prov, notes=notes)


def _scatter(table: pd.DataFrame):
    import plotly.graph_objects as go

    shown = table.dropna(subset=["rho"])
    if shown.empty:
        return None
    rho, lo, hi = (pd.to_numeric(shown[c], errors="coerce") for c in ("rho", "low", "high"))
    low, high = (rho - lo).fillna(0).tolist(), (hi - rho).fillna(0).tolist()   # no bar where there is no interval
    return go.Figure(go.Scatter(x=shown["metric"].tolist(), y=rho.tolist(), mode="markers",
                                error_y={"type": "data", "symmetric": False, "array": high, "arrayminus": low}))


CODEGEN = (
    Entry("codegen", "Code metrics per target and PolyBench kernel (Section III-B)", codegen),
    Entry("codegen_rank", "Which code metrics order the targets as their execute times do (Fig. 5)", codegen_rank),
)
