"""The study's Table I (instruction-supply events) and the wasm/native slowdown, from a results frame."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd

from hwprof.analysis import verdict
from hwprof.data import schema
from hwprof.events import NOT_ON_MICROARCH, TABLE1_METRICS
from hwprof.report.figures import colors, layout
from hwprof.report.section import (NATIVE, RUN_KEY, SIMULATED_BACKENDS, Entry, Section, baseline_target, geomean,
                                   provenance, ratio, statistic_note, target_order, timing_rows, undisturbed,
                                   with_targets)

# Table I's columns, as metrics of the event maps (events/*.toml), in the study's order.
TABLE_I = TABLE1_METRICS
SIMULATED = ("Ir", "I1mr") + TABLE_I   # what a simulator or the front-end model can give (cachegrind: no DSB)
MODELLED = "frontend"                   # the front-end model's backend: its rows are 'modelled', not 'simulated'
NO_DSB = "the cache simulator has no DSB (decoded uop cache)"
KEY = ["workload", "size", "target"]


def _per_run_mean(rows: pd.DataFrame) -> tuple[float, int]:
    """Mean over runs of each run's value (a run's several rows, e.g. warm invocations, averaged first)."""
    per_run = rows.groupby("run_id")["value"].mean()
    return float(per_run.mean()), len(per_run)


def _why_missing(rows: pd.DataFrame, name: str, all_rows: pd.DataFrame) -> tuple[str, str]:
    """Status and note of an unmeasured metric, traced to an event it needs when that event was not supported."""
    first = rows.iloc[0]
    status, note = str(first["status"]), str(first["note"])
    if status == schema.UNAVAILABLE and note.startswith("needs "):
        needed = [e.strip() for e in note.removeprefix("needs ").split(",")]
        events = all_rows[all_rows["name"].isin(needed) & (all_rows["status"] == schema.NOT_SUPPORTED)]
        if not events.empty:
            return schema.NOT_SUPPORTED, f"{events['name'].iloc[0]}: {events['note'].iloc[0]}"
    return status, note


def hardware_cells(rows: pd.DataFrame) -> list[dict]:
    """One cell per Table I metric from counter rows of one workload x target: a mean, or why there is none."""
    cells = []
    for name in TABLE_I:
        m = rows[rows["name"] == name]
        ok = m[m["status"] == schema.OK]
        if not ok.empty:
            value, n = _per_run_mean(ok)
            cells.append({"metric": name, "value": value, "unit": ok["unit"].iloc[0], "status": schema.OK, "n": n,
                          "note": ""})
        elif not m.empty:
            status, note = _why_missing(m, name, rows)
            cells.append({"metric": name, "value": np.nan, "unit": m["unit"].iloc[0], "status": status, "n": 0,
                          "note": note})
        else:
            cells.append({"metric": name, "value": np.nan, "unit": "", "status": schema.UNAVAILABLE, "n": 0,
                          "note": "not collected in these runs"})
    return [{**c, "source": "hardware"} for c in cells]


def simulated_cells(rows: pd.DataFrame) -> list[dict]:
    """Table I cells from one simulating backend: its own metrics where it has them (the front-end model has all
    of them), else L1I from cachegrind's I1mr and Ir and every DSB column unavailable."""
    by_run = rows[rows["status"] == schema.OK].pivot_table(index="run_id", columns="name", values="value")
    cells = []

    def add(name, series, unit, note=""):
        series = series.dropna() if series is not None else pd.Series(dtype=float)
        if series.empty:
            cells.append({"metric": name, "value": np.nan, "unit": unit, "status": schema.UNAVAILABLE, "n": 0,
                          "note": note or "not collected in these runs"})
        else:
            cells.append({"metric": name, "value": float(series.mean()), "unit": unit, "status": schema.OK,
                          "n": len(series), "note": note})

    def col(name):
        return by_run[name] if name in by_run else None

    units = rows.groupby("name")["unit"].first()
    for name in TABLE_I:
        if name.startswith("dsb") and col(name) is not None:
            add(name, col(name), units[name])          # the model's own rows, in its map's units
        elif name.startswith("dsb"):
            cells.append({"metric": name, "value": np.nan, "unit": "", "status": schema.UNAVAILABLE, "n": 0,
                          "note": NO_DSB})
        elif name == "l1i_misses":
            own = col("l1i_misses")
            add(name, own if own is not None else col("I1mr"), "misses", "" if own is not None else "= I1mr")
        elif name == "l1i_hits":
            own = col("l1i_hits")
            hits = own if own is not None else (col("Ir") - col("I1mr") if col("Ir") is not None
                                                and col("I1mr") is not None else None)
            add(name, hits, "hits", "" if own is not None else "computed as Ir - I1mr")
        else:
            add(name, col(name), "ratio")
    source = "modelled" if set(rows["backend"]) == {MODELLED} else "simulated"
    return [{**c, "source": source} for c in cells]


def _about(rows: pd.DataFrame) -> dict:
    return {"runtime_version": ", ".join(sorted(set(rows["runtime_version"]))),
            "backend": ", ".join(sorted(set(rows["backend"])))}


def _cell_text(row) -> str:
    if row["status"] != schema.OK:
        # A core without the structure's event ([unavailable] in its map) says so, not just "unavailable".
        return NOT_ON_MICROARCH if str(row["note"]).startswith(NOT_ON_MICROARCH) else row["status"].replace("_", " ")
    if row["unit"] == "ratio":
        return f"{100 * row['value']:.2f}%"
    return f"{row['value']:.4g}" if row["metric"] == "dsb_to_l1i_ref_ratio" else f"{row['value']:.3E}"


def table1(frame: pd.DataFrame, entry: Entry) -> Section:
    """Table I per workload and target: hardware counters where measured, else the simulator, labelled which."""
    rows = with_targets(frame[(frame["invocation"] == "cold") & (frame["phase"] == "execute")
                              & (frame["sweep"].fillna("") == "") & frame["kind"].isin([schema.EVENT, schema.METRIC])])
    simulated = rows["backend"].isin(SIMULATED_BACKENDS)
    hw = rows[~simulated]
    if not hw.empty:     # only the (workload, size, target) groups with a row of a Table I event or metric
        hw = hw[hw.groupby(KEY)["name"].transform(lambda names: names.isin(TABLE_I).any()).astype(bool)]
    sim = rows[simulated & rows["name"].isin(SIMULATED)]
    if hw.empty and sim.empty:
        return entry.empty("Table I needs DSB and L1I counters (collect -e dsb_misses,dsb_hits,l1i_misses,... on an "
                           "Intel CPU with a PMU) or the simulator's Ir and I1mr (--backend cachegrind); none in "
                           "these results")
    hw_groups = dict(tuple(hw.groupby(KEY))) if not hw.empty else {}
    sim_groups = dict(tuple(sim.groupby(KEY))) if not sim.empty else {}
    out = []
    for key in sorted(set(hw_groups) | set(sim_groups)):
        cells = []
        h = hw_groups.get(key)
        if h is not None:
            cells += [{**c, **_about(h)} for c in hardware_cells(h)]
        if (h is None or not (h["name"].isin(TABLE_I) & (h["status"] == schema.OK)).any()) and key in sim_groups:
            for _, by_backend in sim_groups[key].groupby("backend"):      # cachegrind and the model: a row each
                cells += [{**c, **_about(by_backend)} for c in simulated_cells(by_backend)]
        out += [dict(zip(KEY, key), **c) for c in cells]
    table = pd.DataFrame(out)[KEY + ["runtime_version", "source", "backend", "metric", "value", "unit", "status", "n",
                                     "note"]]
    display = (table.assign(text=table.apply(_cell_text, axis=1))
               .pivot_table(index=KEY + ["source"], columns="metric", values="text", aggfunc="first", sort=False)
               .reindex(columns=list(TABLE_I)).reset_index())
    display.columns.name = None
    modelled = (table["source"] == "modelled").any()
    sources = ("'simulated' rows from valgrind's cache simulator and 'modelled' rows from hwprof's front-end model "
               "(backend frontend, fed by a lackey trace)" if modelled else "'simulated' rows from valgrind's cache "
               "simulator")
    notes = ["Execute phase of cold runs. 'hardware' rows come from the CPU's counters (perf or VTune); "
             f"{sources}, used only where no hardware value was measured."]
    if (table["status"] == schema.NOT_SUPPORTED).any():
        why = table.loc[table["status"] == schema.NOT_SUPPORTED, "note"].iloc[0]
        notes.append(f"'not supported': this machine cannot count the event ({why}).")
    absent = table[table["note"].astype(str).str.startswith(NOT_ON_MICROARCH)]
    if not absent.empty:
        notes.append(f"'{NOT_ON_MICROARCH}': {absent['note'].iloc[0]}")
    if modelled:
        sims = sorted({f.split("sim: ", 1)[1] for f in sim.loc[sim["backend"] == MODELLED, "runtime_flags"].astype(str)
                       if "sim: " in f})
        notes.append(f"'modelled' rows are the front-end model's ({'; '.join(sims)}): the DSB and L1I of a model with "
                     "a public geometry, not this CPU's counters.")
    if (table["note"] == NO_DSB).any():
        notes.append(f"DSB columns of simulated rows are unavailable: {NO_DSB}; they are never 0.")
    if (table["note"] == "computed as Ir - I1mr").any():
        notes.append("Simulated l1i_hits computed as Ir - I1mr and l1i_misses taken as I1mr "
                     "(the simulator's map defines no l1i_hits/l1i_misses metrics).")
    used = pd.concat([hw, sim])
    return Section(entry.name, entry.title, table, None, provenance(used), notes=notes, display=display)


def slowdown(frame: pd.DataFrame, entry: Entry) -> Section:
    """Execute time of each wasm target over native, per workload and as a geometric mean per target."""
    import plotly.graph_objects as go

    options = entry.options
    times = timing_rows(frame)
    execute, excluded = undisturbed(times[(times["invocation"] == "cold") & (times["phase"] == "execute")], options)
    if NATIVE not in set(execute["runtime"]):
        return entry.empty("The wasm/native slowdown needs cold native runs (--runtime native) of the same "
                           "workloads; none in these results")
    execute = execute[execute["workload"].isin(execute.loc[execute["runtime"] == NATIVE, "workload"])]
    per_run = execute.groupby(RUN_KEY)["value"].sum().reset_index()
    native = per_run[per_run["runtime"] == NATIVE]
    rows = []
    for (workload, size), g in per_run[per_run["runtime"] != NATIVE].groupby(["workload", "size"]):
        n = native.loc[(native["workload"] == workload) & (native["size"] == size), "value"]
        if n.empty:
            continue
        for (target, version), gt in g.groupby(["target", "runtime_version"]):
            rows.append({"workload": workload, "size": size, "target": target, "runtime_version": version,
                         "n": len(gt), "n_native": len(n), "statistic": options.statistic,
                         **ratio(gt["value"], n, options.confidence, options.statistic)})
    if not rows:
        return entry.empty("The wasm/native slowdown needs wasm and native runs of the same workload and size; "
                           "none in these results")
    kernels = pd.DataFrame(rows)
    base = baseline_target(execute)
    targets = target_order(kernels["target"], base)
    pairs = kernels.groupby("target").apply(lambda g: set(zip(g["workload"], g["size"])), include_groups=False)
    common = set.intersection(*pairs) if len(pairs) else set()
    shared = kernels[[(w, s) in common for w, s in zip(kernels["workload"], kernels["size"])]] if common else kernels
    means = [{"workload": "geometric mean", "size": "", "target": t,
              "runtime_version": kernels.loc[kernels["target"] == t, "runtime_version"].iloc[0],
              "n": int((shared["target"] == t).sum()), "n_native": np.nan, "statistic": options.statistic,
              "ratio": geomean(shared.loc[shared["target"] == t, "ratio"]), "low": np.nan, "high": np.nan,
              "verdict": ""} for t in targets]
    table = pd.concat([kernels.sort_values(["workload", "size", "target"]), pd.DataFrame(means)], ignore_index=True)
    palette = colors(targets)
    fig = go.Figure(go.Bar(name="geometric mean", x=targets, y=[m["ratio"] for m in means],
                           marker_color=[palette[t] for t in targets], opacity=0.6))
    fig.add_trace(go.Scatter(name="per workload", x=kernels["target"].tolist(), y=kernels["ratio"].tolist(),
                             mode="markers", text=kernels["workload"].tolist(), marker={"color": "black"},
                             hovertemplate="%{text}: %{y:.3f}x<extra></extra>"))
    prov = provenance(execute)
    layout(fig, "Wasm/native slowdown: execute time over native (bars: geometric mean; dots: workloads)", prov,
           yaxis={"type": "log", "title": "execute time / native"})
    notes = ["Execute phase wall time of cold runs; per-workload rows carry the interval of the ratio; "
             "the geometric mean rows (n = workloads, of the per-workload ratios) have none.",
             statistic_note(options, excluded),
             f"Geometric means over the {len(common)} workload x size pairs every target ran." if common else
             "No workload ran under every target: each geometric mean is over that target's own workloads."]
    return Section(entry.name, entry.title, table, fig, prov, notes=notes)


def pairs(frame: pd.DataFrame, entry: Entry) -> Section:
    """Every pair of targets on every workload: execute-time ratio, its Welch interval, effect size, verdict."""
    options = entry.options
    times = timing_rows(frame)
    execute, excluded = undisturbed(times[times["phase"] == "execute"], options)
    per_run = execute.groupby(["invocation"] + RUN_KEY)["value"].mean().reset_index()   # warm: per invocation
    base = baseline_target(execute) if not execute.empty else None
    rows = []
    for (mode, workload, size), g in per_run.groupby(["invocation", "workload", "size"]):
        samples = {t: gt["value"].tolist() for t, gt in g.groupby("target")}
        order = target_order(list(samples), base)
        for a, b in combinations(order, 2):
            c = verdict.compare(samples[a], samples[b], options.confidence, statistic=options.statistic)
            rows.append({"workload": workload, "size": size, "invocation": mode, "target_a": a, "target_b": b,
                         "n_a": c.n_a, "n_b": c.n_b, "statistic": c.statistic, "ratio": c.ratio, "low": c.low, "high": c.high,
                         "verdict": f"{a} {c.verdict}" if c.verdict in (verdict.FASTER, verdict.SLOWER) else c.verdict,
                         "hedges_g": c.hedges_g})
    if not rows:
        return entry.empty("Pairwise verdicts need execute times of at least two targets on one workload; "
                           "none in these results")
    table = pd.DataFrame(rows)
    notes = [f"ratio = {options.statistic} execute time of target_a / target_b (per invocation for warm runs), "
             f"with its {options.confidence:.0%} interval. 'A faster' / 'A slower' only when the whole interval is "
             "below / above 1; 'same' only when it lies within 1 +- 2%; otherwise 'unsure' (too few or too noisy "
             "samples). Hedges' g is the standardized difference of the means (a - b).",
             statistic_note(options, excluded)]
    return Section(entry.name, entry.title, table, None, provenance(execute), notes=notes)


def failures(frame: pd.DataFrame, entry: Entry) -> Section:
    """Runs that failed (trap, timeout, wrong result, a target that could not start), grouped by reason."""
    bad = frame[frame["status"] == schema.ERROR]
    keys = ["workload", "size", "runtime", "backend", "invocation", "note"]
    table = (bad.groupby(keys, dropna=False).size().reset_index(name="runs")
             .rename(columns={"runtime": "target", "note": "reason"}))
    notes = ["No failed runs in these results."] if bad.empty else [
        "A failed repetition stores one error row and stops its cell (a campaign does not retry it); "
        "the figures use measured rows only."]
    return Section(entry.name, entry.title, table, None, provenance(frame if bad.empty else bad), notes=notes)


TABLES = (
    Entry("table1", "Table I: instruction supply (DSB and L1I) per workload and target", table1),
    Entry("slowdown", "Wasm/native slowdown per target (geometric mean and per workload)", slowdown),
    Entry("pairs", "Every pair of targets on every workload: ratio, 95% interval, verdict", pairs),
    Entry("failures", "Failed runs, by reason", failures),
)
