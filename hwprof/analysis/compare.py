"""Results from several machines side by side: target x workload x metric, ratios, verdicts, gaps shown."""

from __future__ import annotations

import dataclasses
import statistics
from dataclasses import dataclass
from pathlib import Path

from hwprof.analysis import robust, verdict
from hwprof.data import schema

# A simulated miss rate is not a measured one: the backend is part of what is compared.
KEY = ["runtime", "workload", "size", "input", "invocation", "backend", "sweep", "scope", "phase", "name"]
# For times a smaller ratio is faster; for everything else only lower/higher can be said.
WORDS = {verdict.FASTER: "lower", verdict.SLOWER: "higher"}


class CompareError(Exception):
    """Results that cannot be compared, with the one line that says why."""


@dataclass(frozen=True)
class Side:
    """One results store in a comparison: its label and the machine it came from."""

    label: str
    path: str
    machine: str
    cpu: str
    arch: str
    runs: int = 0             # runs in the store
    excluded: int = 0         # of them, left out as disturbed (--exclude-disturbed)


def _sides(frames: list, paths: list[Path], labels: list[str] | None) -> list[Side]:
    out = []
    for i, (frame, path) in enumerate(zip(frames, paths)):
        first = frame.iloc[0] if len(frame) else {}
        arch, machine = str(first.get("arch", "") or "?"), str(first.get("machine", "") or "?")
        label = labels[i] if labels and i < len(labels) else f"{arch}:{machine}"
        out.append(Side(label, str(path), machine, str(first.get("cpu", "")), arch, runs=frame["run_id"].nunique()))
    seen: dict[str, int] = {}
    for i, s in enumerate(out):          # two stores from one machine still get distinct labels
        if s.label in seen:
            out[i] = dataclasses.replace(s, label=f"{s.label}#{i + 1}")
        seen[s.label] = i
    return out


def disturbed(frame):
    """The rows of runs their noise record flagged (`disturbed` holds why; '' or missing when not)."""
    return frame["disturbed"].fillna("").astype(str) != ""


def excluded_line(side: Side) -> str:
    """How many of a side's runs --exclude-disturbed left out."""
    return f"{side.label}: {side.excluded} of {side.runs} runs left out as disturbed"


def per_repetition(frame):
    """One value per (key, run): warm per-invocation rows are averaged within their process."""
    ok = frame[(frame["status"] == schema.OK) & frame["kind"].isin([schema.EVENT, schema.METRIC, schema.TIME])]
    return ok.groupby(KEY + ["unit", "kind", "run_id"], dropna=False)["value"].mean().reset_index()


def _statuses(frame) -> dict[tuple, str]:
    """For each key with no measured value, why (not_supported, unavailable, ...)."""
    bad = frame[frame["status"] != schema.OK]
    return {tuple(k): str(g["status"].iloc[0]) for k, g in bad.groupby(KEY, dropna=False)}


def compare_frames(frames: list, paths: list[Path], labels: list[str] | None = None, phases=(), names=(),
                   confidence: float = 0.95, margin: float = 0.02, statistic: str = robust.MEAN,
                   exclude_disturbed: bool = False):
    """A tidy DataFrame: one row per (key, side) with n, mean, median and, against the first side, the ratio of
    `statistic` (mean or median, named in each row) with its interval and verdict. `exclude_disturbed` leaves
    the runs flagged by their noise record out on every side; each row's `excluded` counts them."""
    import pandas as pd

    robust.check_statistic(statistic)
    if len(frames) < 2:
        raise CompareError("compare needs at least two results stores")
    for frame, path in zip(frames, paths):
        if frame.empty:
            raise CompareError(f"{path}: no results in this store")
    sides = _sides(frames, paths, labels)
    series, missing, dropped = [], [], []
    for i, frame in enumerate(frames):
        flagged = disturbed(frame) if exclude_disturbed else pd.Series(False, index=frame.index)
        sides[i] = dataclasses.replace(sides[i], excluded=frame.loc[flagged, "run_id"].nunique())
        dropped.append({tuple(k): g["run_id"].nunique() for k, g in frame[flagged].groupby(KEY, dropna=False)})
        frame = frame[~flagged]
        if phases:
            frame = frame[frame["phase"].isin(phases)]
        if names:
            frame = frame[frame["name"].isin(names)]
        series.append({tuple(k): g for k, g in per_repetition(frame).groupby(KEY, dropna=False)})
        missing.append(_statuses(frame))
    keys = sorted(set().union(*[s.keys() for s in series]), key=lambda k: tuple(str(x) for x in k))
    rows = []
    for key in keys:
        base = series[0].get(key)
        for i, (side, values) in enumerate(zip(sides, series)):
            group = values.get(key)
            row = dict(zip(KEY, key), side=side.label, arch=side.arch, machine=side.machine, cpu=side.cpu,
                       statistic=statistic, excluded=dropped[i].get(key, 0))
            if group is None:
                why = missing[i].get(key)
                why = why.replace("_", " ") if why else "every run left out as disturbed" if row["excluded"] else \
                    "not measured"
                row.update(n=0, mean=None, median=None, unit="", ratio=None, low=None, high=None,
                           verdict=f"{why} on {side.label}")
                rows.append(row)
                continue
            vals = [float(v) for v in group["value"]]
            row.update(n=len(vals), mean=sum(vals) / len(vals), median=statistics.median(vals),
                       unit=str(group["unit"].iloc[0]))
            if i == 0:
                row.update(ratio=None, low=None, high=None, verdict="baseline")
            elif base is None:
                row.update(ratio=None, low=None, high=None, verdict=f"only on {side.label}")
            else:
                c = verdict.compare(vals, [float(v) for v in base["value"]], confidence, margin, statistic)
                word = c.verdict if key[-1] == "wall_time" else WORDS.get(c.verdict, c.verdict)
                row.update(ratio=c.ratio, low=c.low, high=c.high, verdict=word)
            rows.append(row)
    return pd.DataFrame(rows), sides


def statistic_note(statistic: str, confidence: float = 0.95) -> str:
    """One line saying which statistic the numbers of a comparison are and what their intervals are."""
    if robust.check_statistic(statistic) == robust.MEDIAN:
        return (f"statistic: median per side; ratio = median / median of the baseline, {confidence:.0%} percentile "
                f"bootstrap interval (seeded, so the same stores give the same interval)")
    return f"statistic: mean per side; ratio = mean / mean of the baseline, Welch's {confidence:.0%} interval"


def compare_stores(paths: list[Path], strict: bool = False, **options):
    """Load each store (unreadable run files skipped with a warning unless `strict`) and compare them."""
    from hwprof.data.store import StoreError, load_results

    frames = []
    for p in paths:
        try:
            frames.append(load_results(p, strict))
        except StoreError as exc:
            raise CompareError(str(exc)) from None
    return compare_frames(frames, [Path(p) for p in paths], **options)


def wide(table, sides: list[Side]):
    """The side-by-side view: one row per key, its statistic (mean or median) per side, then the ratio of that
    statistic [CI] and the verdict per other side; a `statistic` column names it."""
    import pandas as pd

    out = []
    for key, g in table.groupby(KEY, sort=False, dropna=False):
        row = dict(zip(KEY, key))
        row["unit"] = next((u for u in g["unit"] if u), "")
        row["statistic"] = statistic = g["statistic"].iloc[0]
        for side in sides:
            r = g[g["side"] == side.label].iloc[0]
            row[side.label] = r[statistic]
            if side is not sides[0]:
                if pd.isna(r["ratio"]):
                    ratio = ""
                elif pd.isna(r["low"]):           # fewer than two runs on a side: a ratio, no interval
                    ratio = f"{r['ratio']:.3f}"
                else:
                    ratio = f"{r['ratio']:.3f} [{r['low']:.3f}, {r['high']:.3f}]"
                row[f"{side.label} / {sides[0].label}"] = ratio
                row[f"verdict {side.label}"] = r["verdict"]
        out.append(row)
    return pd.DataFrame(out)
