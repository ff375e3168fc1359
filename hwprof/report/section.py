"""What every report figure and table shares: the Section it builds, provenance, targets and per-run times."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Callable, Protocol

import numpy as np
import pandas as pd

from hwprof.analysis import robust, verdict
from hwprof.data import phases, schema

BASELINE = "wasmtime"                 # the study normalizes to Wasmtime (Cranelift)
NATIVE = "native"
SIMULATED_BACKENDS = ("cachegrind", "frontend")  # a simulator (or the lackey-traced model) slows the run ~50x: its wall times never enter a timing figure
REPLAY_BACKENDS = ("schedule-sim", "schedule-live")   # `hwprof schedule` replays: their "runtimes" are policies
STARTUP_PHASES = phases.STARTUP_PARTS


@dataclass
class Section:
    """One figure or table of the report: tidy numbers, an optional plot, where they came from, what is missing."""

    name: str
    title: str
    table: pd.DataFrame = field(default_factory=pd.DataFrame)
    figure: object | None = None          # a plotly Figure
    provenance: str = ""
    missing: str = ""                     # set when the results lack what this section needs
    notes: list[str] = field(default_factory=list)
    display: pd.DataFrame | None = None   # a wider view of `table` for reading (Markdown, HTML); CSV keeps `table`

    @property
    def view(self) -> pd.DataFrame:
        """The frame people read: `display` when there is one, else the tidy table."""
        return self.table if self.display is None else self.display


@dataclass(frozen=True)
class ReportOptions:
    """How the sections that summarise repeated timings summarise them (one set for the whole report)."""

    statistic: str = robust.MEAN          # mean (Welch intervals) or median (order-statistic / bootstrap intervals)
    exclude_disturbed: bool = False       # leave out the runs their noise record flagged
    confidence: float = 0.95
    target_ci: float = 0.02               # the precision section's target: interval half-width / statistic

    def __post_init__(self):
        robust.check_statistic(self.statistic)
        if not 0 < self.target_ci < 1:
            raise ValueError(f"a target interval must lie in (0, 1), not {self.target_ci}")


class Report(Protocol):
    """A figure or table: a name (fig5), a title, and build(frame, options) -> Section."""

    name: str
    title: str

    def build(self, frame: pd.DataFrame, options: ReportOptions = ReportOptions()) -> Section: ...


@dataclass(frozen=True)
class Entry:
    """A registry entry: a report from its name, title and build function.

    The builder gets the entry with `options` set to the report's: `entry.options.statistic`, and so on.
    """

    name: str
    title: str
    builder: Callable[[pd.DataFrame, "Entry"], Section]
    options: ReportOptions = ReportOptions()

    def build(self, frame: pd.DataFrame, options: ReportOptions = ReportOptions()) -> Section:
        """Build this section from a results frame (one row per Record) under the report's options."""
        return self.builder(frame, dataclasses.replace(self, options=options))

    def empty(self, missing: str) -> Section:
        """This section with nothing to show, saying why."""
        return Section(self.name, self.title, missing=missing)


def _join(values) -> str:
    vals = sorted({str(v) for v in values if pd.notna(v) and str(v) != ""})
    return ", ".join(vals) if vals else "?"


def provenance(frame: pd.DataFrame) -> str:
    """One line naming the machine, CPU, backend(s) and versions the given rows came from."""
    if frame.empty:
        return ""
    replay = frame["backend"].isin(REPLAY_BACKENDS)
    versions = frame[~replay].drop_duplicates(["runtime", "runtime_version"])
    runtimes = ", ".join(f"{r} {v}".strip() for r, v in sorted(zip(versions["runtime"], versions["runtime_version"])))
    policies = f"policies {_join(frame[replay]['runtime'])}; " if replay.any() else ""
    return (f"machine {_join(frame['machine'])}; CPU {_join(frame['cpu'])} ({_join(frame['microarch'])}, "
            f"{_join(frame['arch'])}); backend {_join(frame['backend'])}; {_join(frame['perf_version'])}; "
            + (f"runtimes {runtimes}; " if runtimes or not replay.any() else "")
            + f"{policies}hwprof {_join(frame['hwprof_version'])}")


def suites(workloads) -> dict[str, str]:
    """Each workload's suite (polybench, edge, sweep) from the bundled catalogue; '' for a .wasm by path."""
    from hwprof.workloads import catalogue   # the catalogue is data; nothing is built or run here

    known = catalogue()["workload"]
    return {w: known.get(w, {}).get("suite", "") for w in set(workloads)}


def in_suite(frame: pd.DataFrame, suite: str) -> pd.DataFrame:
    """The rows of workloads in one suite."""
    of = suites(frame["workload"].unique())
    return frame[frame["workload"].map(of) == suite]


def settings(flags: str) -> str:
    """A target's own settings from a row's runtime_flags (which go on with '; build: ...' and '; warm: ...')."""
    return str(flags).split(";")[0].strip()


def with_targets(frame: pd.DataFrame) -> pd.DataFrame:
    """Add a `target` column: the runtime, told apart by version or settings when one runtime ran several ways."""
    frame = frame.assign(_settings=frame["runtime_flags"].map(settings))
    labels = {}
    for runtime, g in frame.groupby("runtime"):
        combos = g[["runtime_version", "_settings"]].drop_duplicates()
        by_version = combos["runtime_version"].nunique() == len(combos)
        for version, flags in combos.itertuples(index=False):
            labels[(runtime, version, flags)] = (runtime if len(combos) == 1 else
                                                 f"{runtime} {version}" if by_version else f"{runtime} [{flags}]")
    keys = zip(frame["runtime"], frame["runtime_version"], frame["_settings"])
    return frame.assign(target=[labels[k] for k in keys]).drop(columns="_settings")


def baseline_target(frame: pd.DataFrame) -> str | None:
    """The Wasmtime (Cranelift) target of a frame with targets, preferring opt_level=speed; None if absent."""
    rows = frame[(frame["runtime"] == BASELINE)].drop_duplicates("target")
    if rows.empty:
        return None
    rank = rows["runtime_flags"].map(lambda f: ("strategy=cranelift" not in f, "opt_level=speed" not in f))
    return str(rows.loc[rank.sort_values(kind="stable").index[0], "target"])


def target_order(targets, baseline: str | None) -> list[str]:
    """Targets in reading order: the baseline first, native last, the rest by name."""
    return sorted(set(targets), key=lambda t: (t != baseline, t == NATIVE, t))


def timing_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Measured wall times a timing figure may use: ok, not under a simulator, not a simulated sweep point."""
    keep = ((frame["name"] == "wall_time") & (frame["kind"] == schema.TIME) & (frame["status"] == schema.OK)
            & ~frame["backend"].isin(SIMULATED_BACKENDS) & (frame["sweep"].fillna("") == ""))
    return with_targets(frame[keep])


PHASES = phases.ALL
RUN_KEY = ["workload", "size", "target", "runtime", "runtime_version", "run_id"]


def phase_sums(rows: pd.DataFrame) -> pd.DataFrame:
    """Seconds per run (RUN_KEY) and phase, summed over a warm run's invocations; a phase never run is missing."""
    wide = rows.pivot_table(index=RUN_KEY, columns="phase", values="value", aggfunc="sum")
    return wide.reindex(columns=list(PHASES))


def cold_runs(times: pd.DataFrame) -> pd.DataFrame:
    """One row per cold run: startup, execute, aot_compile and total seconds, and what the total covers.

    startup = bootstrap + compile + instantiate (or a command-line target's `startup`); aot_compile is
    ahead-of-time work in another process and is kept apart, never added to startup or total.
    """
    rows = times[times["invocation"] == "cold"]
    if rows.empty:
        return pd.DataFrame(columns=RUN_KEY + ["startup_s", "execute_s", "aot_compile_s", "total_s", "covers"])
    wide = phase_sums(rows)
    startup = wide[list(STARTUP_PHASES)].sum(axis=1, min_count=1).fillna(wide["startup"])
    both = startup + wide["execute"]
    covers = np.where(both.notna(), "startup + execute",
                      np.where(wide["total"].notna(), "whole process", "execute only"))
    return pd.DataFrame({"startup_s": startup, "execute_s": wide["execute"], "aot_compile_s": wide["aot_compile"],
                         "total_s": both.fillna(wide["total"]).fillna(wide["execute"]), "covers": covers}).reset_index()


def warm_runs(times: pd.DataFrame) -> pd.DataFrame:
    """One row per warm process: bootstrap + compile once, then instantiate and execute summed over N invocations."""
    rows = times[times["invocation"] == "warm"]
    if rows.empty:
        return pd.DataFrame(columns=RUN_KEY + ["invocations", "startup_s", "instantiate_s", "execute_s", "total_s"])
    wide = phase_sums(rows)
    n = rows[rows["phase"] == "execute"].groupby(RUN_KEY)["iteration"].nunique().reindex(wide.index)
    out = pd.DataFrame({"invocations": n,
                        "startup_s": wide[["bootstrap", "compile"]].sum(axis=1, min_count=1).fillna(wide["startup"]),
                        "instantiate_s": wide["instantiate"], "execute_s": wide["execute"]})
    out["total_s"] = out[["startup_s", "instantiate_s", "execute_s"]].sum(axis=1, min_count=1)
    return out.reset_index()


def ratio(a, b, confidence: float = 0.95, statistic: str = robust.MEAN) -> dict:
    """mean(a) / mean(b) (Welch interval) or median(a) / median(b) (seeded bootstrap interval) and its verdict:
    the one place figures get error bars from."""
    c = verdict.compare(list(a), list(b), confidence=confidence, statistic=statistic)
    return {"ratio": c.ratio, "low": c.low, "high": c.high, "verdict": c.verdict}


def undisturbed(rows: pd.DataFrame, options: ReportOptions) -> tuple[pd.DataFrame, int]:
    """The rows of runs the options keep, and how many runs were left out as disturbed (0 unless asked)."""
    if not options.exclude_disturbed or rows.empty:
        return rows, 0
    flagged = rows["disturbed"].fillna("").astype(str) != ""
    return rows[~flagged], int(rows.loc[flagged, "run_id"].nunique())


def statistic_note(options: ReportOptions, excluded: int) -> str:
    """One note saying which statistic a section's numbers are and how many runs it left out as disturbed."""
    c = f"{options.confidence:.0%}"
    what = (f"statistic: median; ratio = median / median with a {c} percentile bootstrap interval (seeded)"
            if options.statistic == robust.MEDIAN else
            f"statistic: mean; ratio = mean / mean with Welch's {c} interval on the log ratio")
    if not options.exclude_disturbed:
        return f"{what}; runs flagged as disturbed are kept (--exclude-disturbed leaves them out)."
    return f"{what}; {excluded} run(s) flagged as disturbed by their noise record left out."


def mean_interval(values, confidence: float = 0.95) -> dict:
    """Mean with the low and high ends of its Student-t confidence interval (None with one value)."""
    m = verdict.mean_ci([float(v) for v in values], confidence)
    half = m.half_width
    return {"n": m.n, "mean": m.mean, "low": None if half is None else m.mean - half,
            "high": None if half is None else m.mean + half}


def geomean(values) -> float:
    """Geometric mean of positive ratios (NaN when there are none)."""
    v = np.asarray([x for x in values if x is not None and np.isfinite(x) and x > 0], dtype=float)
    return float(np.exp(np.log(v).mean())) if len(v) else float("nan")


def error_bars(table: pd.DataFrame, value: str = "ratio") -> dict:
    """plotly error_y for asymmetric intervals in `low` / `high` columns (no bar where there is no interval)."""
    return {"type": "data", "symmetric": False,
            "array": (table["high"] - table[value]).astype(float).fillna(0).tolist(),
            "arrayminus": (table[value] - table["low"]).astype(float).fillna(0).tolist()}


def workload_label(table: pd.DataFrame) -> pd.Series:
    """x-axis labels: the workload, with its size when one workload ran at several sizes."""
    several = table.groupby("workload")["size"].transform("nunique") > 1
    return np.where(several, table["workload"] + " (" + table["size"].astype(str) + ")", table["workload"])
