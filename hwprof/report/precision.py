"""The report's precision section: how well each timed cell's chosen statistic is known against a target, and,
where timing did not reach it, the cachegrind counts of the same cell (exact run to run) as its precision floor."""

from __future__ import annotations

import numpy as np
import pandas as pd

from hwprof.analysis import robust, stats, verdict
from hwprof.analysis.table import fmt
from hwprof.data import schema
from hwprof.report.section import SIMULATED_BACKENDS, Entry, Section, provenance, timing_rows, with_targets

# sim-cachegrind's instruction count and its I1, D1 and LL miss counts (events/sim-cachegrind.toml).
FLOOR_EVENTS = ("Ir", "I1mr", "D1mr", "D1mw", "ILmr", "DLmr", "DLmw")
CELL = ["workload", "size", "target", "invocation", "backend"]
TIMED_PHASES = ("execute", "total")      # the phase a cell is timed by: execute where it has one (as campaigns do)
POINTER = ("no cachegrind rows of this cell in these results: `hwprof campaign SPEC --simulate-unconverged` "
           "adds them")
FLOOR = "cachegrind counts of the same cell: exact run to run, the precision timing could not reach"


def labelled(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Timed wall-time rows and cachegrind count rows, their targets labelled together so that they match."""
    timed = timing_rows(frame).index
    sim = frame[frame["backend"].isin(SIMULATED_BACKENDS) & (frame["sweep"].fillna("") == "")
                & frame["name"].isin(FLOOR_EVENTS) & (frame["status"] == schema.OK)].index
    both = with_targets(frame.loc[timed.union(sim)])
    return both.loc[timed], both.loc[sim]


def per_run(rows: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """One value per run and name in the cell's timed phase (execute, else total); warm: per invocation."""
    rows = rows[rows["phase"].isin(TIMED_PHASES)]
    has_execute = rows.groupby(keys)["phase"].transform(lambda p: (p == "execute").any()).astype(bool)
    rows = rows[(rows["phase"] == "execute") == has_execute]
    flagged = rows["disturbed"].fillna("").astype(str) != ""
    return (rows.assign(flagged=flagged).groupby(keys + ["phase", "name", "run_id"])
            .agg(value=("value", "mean"), flagged=("flagged", "any")).reset_index())


def floor(sim: pd.DataFrame) -> dict:
    """The cachegrind counts of one cell (mean over its runs), how many runs, and their largest relative spread."""
    wide = sim.pivot_table(index="run_id", columns="name", values="value")
    out = {name: float(wide[name].mean()) if name in wide else np.nan for name in FLOOR_EVENTS}
    spread = [(wide[c].max() - wide[c].min()) / wide[c].mean() for c in wide if wide[c].mean()]
    return {"sim_phase": str(sim["phase"].iloc[0]), "sim_runs": len(wide), **out,
            "sim_spread": float(max(spread)) if spread else np.nan}


def cell_row(key: tuple, runs: pd.DataFrame, sims: dict, options) -> dict:
    """One timed cell: n, the statistic and its interval, against the target; its floor where it fell short."""
    kept = runs[~runs["flagged"]] if options.exclude_disturbed else runs
    values = kept["value"].astype(float).tolist()
    row = dict(zip(CELL, key), phase=str(runs["phase"].iloc[0]), n=len(values), statistic=options.statistic)
    center = low = high = rel = np.nan
    note = stats.ALL_EXCLUDED
    if values:
        est = verdict.summarize(values, options.statistic, options.confidence)
        center, note = est.center, stats.interval(values, options.statistic, options.confidence)[2]
        if est.relative is not None:
            low, high, rel = est.low, est.high, est.relative
    within = "no interval" if np.isnan(rel) else "yes" if rel <= options.target_ci else "no"
    row.update(value_s=center, low=low, high=high, rel_half_width=rel, within_target=within,
               disturbed=int(runs["flagged"].sum()), interval_note=note)
    sim = sims.get(key[:4])
    if within == "yes":
        row.update({"sim_phase": "", "sim_runs": np.nan, **{e: np.nan for e in FLOOR_EVENTS}, "sim_spread": np.nan,
                    "floor": ""})
    elif sim is None:
        row.update({"sim_phase": "", "sim_runs": 0, **{e: np.nan for e in FLOOR_EVENTS}, "sim_spread": np.nan,
                    "floor": POINTER})
    else:
        row.update({**floor(sim), "floor": FLOOR})
    return row


def precision(frame: pd.DataFrame, entry: Entry) -> Section:
    """Per timed cell: n, the chosen statistic, its interval and relative half-width against the target; the
    cachegrind counts of the cells that fell short (or how to get them)."""
    options = entry.options
    times, sim = labelled(frame)
    if times.empty:
        return entry.empty("The precision section needs timed runs (wall times under a real backend); none in "
                           "these results")
    runs = per_run(times[times["name"] == "wall_time"], CELL)
    sims = dict(tuple(per_run(sim, CELL[:4]).groupby(CELL[:4]))) if not sim.empty else {}
    rows = [cell_row(key, g, sims, options) for key, g in runs.groupby(CELL)]
    table = pd.DataFrame(rows)
    excluded = int(table["disturbed"].sum()) if options.exclude_disturbed else 0
    c, target = f"{options.confidence:.0%}", f"{options.target_ci:.0%}"
    notes = [f"One row per timed cell (workload, size, target, invocation, backend), timed by its {'/'.join(TIMED_PHASES)} "
             "wall time (execute where the cell has it; per invocation for warm runs). n: runs used; value_s: the "
             f"{options.statistic} in seconds; low, high: its {c} interval ("
             + ("order statistics, distribution-free; none under n = 6" if options.statistic == robust.MEDIAN else
                "Student t") + "); rel_half_width: half the interval over the value; within_target: whether that is "
             f"at most {target} (--target-ci); disturbed: runs their noise record flagged; interval_note: what the "
             "interval is, or why there is none.",
             f"Where a cell did not reach {target}: {', '.join(FLOOR_EVENTS)} are valgrind's simulated instruction "
             "count and I1, D1 (read, write) and LL (instruction, data read, data write) miss counts of the same "
             "workload, size, target and invocation (mean over sim_runs cachegrind runs, in sim_phase); sim_spread: "
             "their largest relative run-to-run difference (0: exact). They are a precision floor, not a time.",
             (f"{excluded} run(s) flagged as disturbed left out." if options.exclude_disturbed else
              "Runs flagged as disturbed are kept (--exclude-disturbed leaves them out).")]
    return Section(entry.name, entry.title, table, None, provenance(pd.concat([times, sim])), notes=notes,
                   display=readable(table))


def readable(table: pd.DataFrame) -> pd.DataFrame:
    """The table for reading: the interval as [low, high], the half-width in percent, the floor in one cell."""
    def interval(r) -> str:
        return "-" if pd.isna(r["low"]) else f"[{fmt(r['low'])}, {fmt(r['high'])}]"

    def floor_text(r) -> str:
        if r["floor"] != FLOOR:
            return r["floor"]
        counts = ", ".join(f"{e} {r[e]:,.0f}" for e in FLOOR_EVENTS if pd.notna(r[e]))
        return f"{counts} ({r['sim_phase']}, {int(r['sim_runs'])} runs, spread {r['sim_spread']:.2%})"

    out = table[CELL + ["n", "statistic", "value_s"]].copy()
    out["interval"] = table.apply(interval, axis=1)
    out["+-"] = table["rel_half_width"].map(lambda v: "-" if pd.isna(v) else f"{v:.1%}")
    out["within_target"] = table["within_target"]
    out["disturbed"] = table["disturbed"]
    out["cachegrind floor"] = table.apply(floor_text, axis=1)
    return out


PRECISION = (Entry("precision", "Precision per timed cell: the interval against the target, cachegrind counts "
                   "as the floor", precision),)
