"""--statistic and --exclude-disturbed in collect, compare and report, and the report's precision section. Every
sample is constructed (or, for the one real collect, only checked against its own stored values), so nothing here
depends on this machine's timing noise."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hwprof.analysis import robust, stats, table, verdict
from hwprof.analysis.compare import compare_stores
from hwprof.cli import app
from hwprof.collect import CollectConfig, CollectResult
from hwprof.commands.collect import _show, summary
from hwprof.data import schema
from hwprof.data.store import ResultStore, load_results
from hwprof.report import ReportOptions, build_sections
from hwprof.report.precision import FLOOR, POINTER

PROV = {"machine": "box", "cpu": "Some CPU", "microarch": "skylake", "arch": "x86_64", "kernel": "6.1",
        "perf_version": "perf version 6.1", "hwprof_version": "0.0.0", "disturbed": ""}
FLAGS = {"wasmtime": ("29.0.1", "strategy=cranelift,opt_level=speed"), "native": ("zig cc 0.13.0", "-O2")}
# A long slow tail: the mean follows the two slow runs, the median does not.
TAILED = (1.00, 1.01, 0.99, 1.02, 0.98, 1.00, 1.01, 0.99, 3.0, 3.2)


def identity(runtime: str, workload: str = "2mm", backend: str = "perf", flags: str = "") -> schema.Identity:
    version, own = FLAGS[runtime]
    return schema.Identity(runtime=runtime, runtime_version=version, runtime_flags=own + flags, workload=workload,
                           size="mini", backend=backend)


def timed(idn: schema.Identity, rep: int, execute: float) -> list[schema.Record]:
    return [idn.record(repetition=rep, phase="execute", name="wall_time", kind=schema.TIME, value=execute, unit="s",
                       boundary="markers")]


def write(root: Path, runs: list[tuple[list[schema.Record], str]]) -> Path:
    """A store of the given runs, each with its `disturbed` reason ('' when not flagged)."""
    store = ResultStore(root)
    for i, (records, why) in enumerate(runs):
        store.write_run("constructed", {**PROV, "disturbed": why}, records, run_id=f"run-{i:03d}")
    return root


# ---- collect's summary ---------------------------------------------------------------------------------------

def records(values, phase="execute", name="wall_time") -> list[schema.Record]:
    idn = identity("wasmtime")
    return [idn.record(repetition=i, phase=phase, name=name, kind=schema.TIME, value=v, unit="s")
            for i, v in enumerate(values)]


@pytest.mark.parametrize("statistic", robust.STATISTICS)
def test_summary_interval_is_the_chosen_statistics(statistic):
    s, = stats.summarize(records(TAILED), statistic)
    est = verdict.summarize(TAILED, statistic)
    assert s.statistic == statistic and (s.value, s.low, s.high) == pytest.approx((est.center, est.low, est.high))
    if statistic == robust.MEDIAN:
        m = robust.median_ci(TAILED)
        assert (s.low, s.high) == (m.low, m.high) and s.value == pytest.approx(1.005)
    else:
        assert s.value == pytest.approx(statistics.fmean(TAILED)) and s.value > 1.3
    row = s.to_dict()
    assert {"statistic", "low", "high", "excluded", "mean", "stdev", "median", "cv"} <= set(row)
    assert row["excluded"] == 0 and row["median"] == pytest.approx(statistics.median(TAILED))


def test_too_few_for_a_median_interval_is_none_with_the_reason():
    s, = stats.summarize(records(TAILED[:5]), robust.MEDIAN)
    assert s.low is None and s.high is None and "too few" in s.interval_note and "n=5" in s.interval_note
    six, = stats.summarize(records(TAILED[:6]), robust.MEDIAN)
    assert six.low == min(TAILED[:6]) and six.high == max(TAILED[:6])        # n=6: (min, max), 96.9%
    one, = stats.summarize(records([1.0]), robust.MEAN)
    assert one.low is None and "at least 2" in one.interval_note


def test_flagged_repetitions_are_left_out_and_counted():
    flagged = frozenset({8, 9})                                           # the slow tail
    s, = stats.summarize(records(TAILED), robust.MEAN, exclude=flagged)
    assert s.excluded == 2 and s.n == 8 and s.mean == pytest.approx(statistics.fmean(TAILED[:8]))
    est = verdict.summarize(TAILED[:8])
    assert (s.low, s.high) == pytest.approx((est.low, est.high))
    gone, = stats.summarize(records(TAILED[:2]), exclude=frozenset({0, 1}))
    assert gone.n == 0 and gone.mean is None and gone.status == schema.UNAVAILABLE and gone.note == stats.ALL_EXCLUDED


def test_the_table_names_the_statistic_and_says_how_many_were_left_out():
    by_median = table.render(stats.summarize(records(TAILED), robust.MEDIAN, exclude=frozenset({8, 9})), "t", 10)
    head = by_median.splitlines()[1].split()                  # phase, event, /, metric, then the statistic
    assert head[4] == "median" and "mean" not in head
    assert "statistic: median" in by_median and "order-statistic" in by_median
    assert "2 of 10 repetitions left out as disturbed" in by_median
    by_mean = table.render(stats.summarize(records(TAILED)), "t", 10)
    assert by_mean.splitlines()[1].split()[4] == "mean" and "statistic: mean" in by_mean
    assert "left out" not in by_mean
    few = table.render(stats.summarize(records(TAILED[:4]), robust.MEDIAN))
    assert "no interval: n=4 is too few" in few


def test_collect_json_and_table_of_a_constructed_result(tmp_path, capsys):
    result = CollectResult("s1", records=records(TAILED), flagged={8: "other tasks used 40%", 9: "steal 6%"},
                           provenance={"workload": "2mm", "size": "mini", "runtime": "wasmtime",
                                       "runtime_version": "29", "runtime_flags": "x", "backend": "perf",
                                       "cpu_index": 1, "cpu": "c", "event_map": "m"})
    config = CollectConfig("2mm", repetitions=10, results=tmp_path, statistic="median", exclude_disturbed=True)
    _show(config, result, as_json=True)
    doc = json.loads(capsys.readouterr().out)
    row, = doc["summary"]
    m = robust.median_ci(TAILED[:8])
    assert (row["statistic"], row["low"], row["high"], row["excluded"]) == ("median", m.low, m.high, 2)
    assert doc["excluded"] == 2 and doc["disturbed"] == 2 and row["n"] == 8
    kept = CollectConfig("2mm", repetitions=10, results=tmp_path, statistic="median")
    assert summary(kept, result)[0].n == 10 and summary(kept, result)[0].excluded == 0
    _show(config, result, as_json=False)
    out = capsys.readouterr().out
    assert "2 of 10 repetitions left out as disturbed" in out and "left out of the summary" in out
    _show(kept, result, as_json=False)
    assert "kept in the summary (--exclude-disturbed leaves them out)" in capsys.readouterr().out


def test_a_real_collect_json_carries_the_interval_of_its_own_values(tmp_path):
    """Whatever this machine's noise, the row's interval is the median's of the values the store holds."""
    res = CliRunner().invoke(app, ["collect", "2mm", "-s", "mini", "-n", "6", "--warmup", "0", "-e", "task_clock",
                                   "--count-phases", "execute", "--statistic", "median", "--json", "-q",
                                   "--results", str(tmp_path)])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    frame = load_results(tmp_path)
    assert doc["disturbed"] == frame.loc[frame["disturbed"] != "", "run_id"].nunique() and doc["excluded"] == 0
    wall = frame[(frame["phase"] == "execute") & (frame["name"] == "wall_time")]
    row, = [s for s in doc["summary"] if s["phase"] == "execute" and s["name"] == "wall_time"]
    m = robust.median_ci(wall["value"].tolist())
    assert row["statistic"] == "median" and row["n"] == len(wall) == 6 and row["excluded"] == 0
    assert (row["low"], row["high"], row["median"]) == (m.low, m.high, m.median)
    assert row["low"] == wall["value"].min() and row["interval_note"] == m.note
    assert all({"statistic", "low", "high", "excluded", "mean", "stdev", "cv"} <= set(s) for s in doc["summary"])


def test_collect_refuses_an_unknown_statistic(tmp_path):
    res = CliRunner().invoke(app, ["collect", "2mm", "--statistic", "mode", "--results", str(tmp_path)])
    assert res.exit_code == 2 and "--statistic must be one of mean, median, not 'mode'" in res.output


# ---- compare --exclude-disturbed ----------------------------------------------------------------------------

@pytest.fixture()
def flagged_stores(tmp_path):
    """Two stores of 2mm on wasmtime: the second 1.5x slower; runs 2 and 5 of the first and run 0 of the second
    flagged and 10x slow."""
    idn = identity("wasmtime")
    a = write(tmp_path / "a", [(timed(idn, i, 10.0 if i in (2, 5) else 1.0 + 0.001 * i), "steal 9%" if i in (2, 5)
                                else "") for i in range(8)])
    b = write(tmp_path / "b", [(timed(idn, i, 15.0 if i == 0 else 1.5 + 0.001 * i), "steal 9%" if i == 0 else "")
                               for i in range(8)])
    return a, b


def test_compare_exclude_disturbed_drops_exactly_the_flagged_runs(flagged_stores):
    a, b = flagged_stores
    tidy, sides = compare_stores([a, b], labels=["a", "b"], exclude_disturbed=True)
    assert [(s.runs, s.excluded) for s in sides] == [(8, 2), (8, 1)]
    ra, rb = (tidy[tidy["side"] == s].iloc[0] for s in ("a", "b"))
    assert (ra["n"], ra["excluded"], rb["n"], rb["excluded"]) == (6, 2, 7, 1)
    kept_a = [1.0 + 0.001 * i for i in range(8) if i not in (2, 5)]
    kept_b = [1.5 + 0.001 * i for i in range(1, 8)]
    assert ra["mean"] == pytest.approx(statistics.fmean(kept_a))
    assert rb["ratio"] == pytest.approx(statistics.fmean(kept_b) / statistics.fmean(kept_a))
    assert rb["verdict"] == "slower"
    everything, _ = compare_stores([a, b], labels=["a", "b"])
    assert set(everything["n"]) == {8} and set(everything["excluded"]) == {0}
    res = CliRunner().invoke(app, ["compare", str(a), str(b), "--label", "a", "--label", "b", "--exclude-disturbed"])
    assert res.exit_code == 0, res.output
    assert "a: 2 of 8 runs left out as disturbed; b: 1 of 8 runs left out as disturbed" in res.output
    assert "left out" not in CliRunner().invoke(app, ["compare", str(a), str(b)]).output


# ---- report: --statistic in pairs and slowdown, --exclude-disturbed ------------------------------------------

@pytest.fixture()
def tailed_store(tmp_path):
    """2mm on wasmtime (TAILED, the last two runs flagged) and native (TAILED halved, nothing flagged)."""
    wt, nat = identity("wasmtime"), identity("native")
    runs = [(timed(wt, i, v), "other tasks used 50%" if i >= 8 else "") for i, v in enumerate(TAILED)]
    runs += [(timed(nat, i, v / 2 if i < 8 else 0.5), "") for i, v in enumerate(TAILED)]
    return write(tmp_path / "store", runs)


def native_times() -> list[float]:
    return [v / 2 if i < 8 else 0.5 for i, v in enumerate(TAILED)]


def sections(store, **options):
    return {s.name: s for s in build_sections(load_results(store), ["pairs", "slowdown", "precision"],
                                              ReportOptions(**options))}


def test_pairs_and_slowdown_follow_the_statistic(tailed_store):
    by_mean, by_median = sections(tailed_store), sections(tailed_store, statistic="median")
    mean_row = by_mean["pairs"].table.iloc[0]
    median_row = by_median["pairs"].table.iloc[0]
    assert (mean_row["target_a"], mean_row["target_b"]) == ("wasmtime", "native")
    assert mean_row["statistic"] == "mean" and median_row["statistic"] == "median"
    assert mean_row["ratio"] == pytest.approx(statistics.fmean(TAILED) / statistics.fmean(native_times()))
    boot = robust.ratio_of_medians(TAILED, native_times())
    assert (median_row["ratio"], median_row["low"], median_row["high"]) == pytest.approx((boot.ratio, boot.low,
                                                                                          boot.high))
    assert median_row["ratio"] == pytest.approx(1.005 / 0.5) and mean_row["ratio"] > 2.3
    slow = by_median["slowdown"].table
    assert slow.iloc[0]["ratio"] == pytest.approx(boot.ratio) and slow.iloc[0]["low"] == pytest.approx(boot.low)
    assert by_mean["slowdown"].table.iloc[0]["ratio"] == pytest.approx(mean_row["ratio"])
    for name in ("pairs", "slowdown"):
        assert any("statistic: median" in n and "bootstrap" in n for n in by_median[name].notes)
        assert any("statistic: mean" in n and "Welch" in n and "kept" in n for n in by_mean[name].notes)


def test_report_exclude_disturbed_leaves_the_flagged_runs_out_and_says_so(tailed_store):
    out = sections(tailed_store, exclude_disturbed=True)
    pair = out["pairs"].table.iloc[0]
    assert (pair["n_a"], pair["n_b"]) == (8, 10)
    assert pair["ratio"] == pytest.approx(statistics.fmean(TAILED[:8]) / statistics.fmean(native_times()))
    assert any("2 run(s) flagged as disturbed by their noise record left out" in n for n in out["pairs"].notes)
    assert out["slowdown"].table.iloc[0]["n"] == 8
    assert any("2 run(s)" in n for n in out["slowdown"].notes)


# ---- the precision section ---------------------------------------------------------------------------------

@pytest.fixture()
def precision_store(tmp_path):
    """2mm on wasmtime: noisy (unconverged) with two cachegrind runs of the same cell; on native: noisy, no
    cachegrind; atax on wasmtime: twelve runs within 0.1% (converged)."""
    wt, nat, atax = identity("wasmtime"), identity("native"), identity("wasmtime", "atax")
    sim = identity("wasmtime", backend="cachegrind", flags="; sim: I1=32768,8,64")
    runs = [(timed(wt, i, v), "steal 9%" if i == 9 else "") for i, v in enumerate(TAILED)]
    runs += [(timed(nat, i, v / 2), "") for i, v in enumerate(TAILED)]
    runs += [(timed(atax, i, 0.5 * (1 + 0.0001 * (i % 3))), "") for i in range(12)]
    counts = {"Ir": 2.0e8, "I1mr": 4.0e6, "D1mr": 1.0e6, "D1mw": 2.0e5, "ILmr": 1.0e3, "DLmr": 5.0e4, "DLmw": 1.0e4}
    for rep in range(2):
        recs = [sim.record(repetition=rep, phase="execute", name=n, kind=schema.EVENT, value=v, unit="count")
                for n, v in counts.items()]
        runs.append((recs + timed(sim, rep, 50.0), ""))         # a simulated run's wall time is never a timing
    return write(tmp_path / "store", runs), counts


def cell(table, workload, target):
    got = table[(table["workload"] == workload) & (table["target"] == target)]
    assert len(got) == 1, (workload, target, table[["workload", "target", "backend"]])
    return got.iloc[0]


def test_precision_shows_cachegrind_counts_for_an_unconverged_cell_and_the_pointer_otherwise(precision_store):
    store, counts = precision_store
    prec = sections(store, statistic="median")["precision"]
    assert not prec.missing and set(prec.table["backend"]) == {"perf"}
    noisy = cell(prec.table, "2mm", "wasmtime")
    m = robust.median_ci(TAILED)
    assert (noisy["n"], noisy["value_s"], noisy["low"], noisy["high"]) == (10, m.median, m.low, m.high)
    assert noisy["rel_half_width"] == pytest.approx((m.high - m.low) / 2 / m.median)
    assert noisy["within_target"] == "no" and noisy["disturbed"] == 1 and noisy["floor"] == FLOOR
    assert {e: noisy[e] for e in counts} == counts and noisy["sim_runs"] == 2 and noisy["sim_spread"] == 0
    bare = cell(prec.table, "2mm", "native")
    assert bare["within_target"] == "no" and bare["floor"] == POINTER and "--simulate-unconverged" in POINTER
    quiet = cell(prec.table, "atax", "wasmtime")
    assert quiet["within_target"] == "yes" and quiet["floor"] == "" and quiet["n"] == 12
    shown = prec.display
    assert "Ir 200,000,000, I1mr 4,000,000" in shown.loc[(shown["workload"] == "2mm") & (shown["target"] == "wasmtime"),
                                        "cachegrind floor"].iloc[0]
    assert any("I1, D1" in n for n in prec.notes) and any("kept" in n for n in prec.notes)


def test_precision_follows_the_target_the_statistic_and_the_exclusion(precision_store):
    store, _ = precision_store
    assert cell(sections(store)["precision"].table, "2mm", "wasmtime")["within_target"] == "no"
    loose = sections(store, target_ci=0.5)["precision"]             # the mean's interval: +-43%
    assert cell(loose.table, "2mm", "wasmtime")["within_target"] == "yes"
    assert cell(loose.table, "2mm", "wasmtime")["floor"] == ""
    by_mean = cell(sections(store)["precision"].table, "2mm", "wasmtime")
    est = verdict.summarize(TAILED)
    assert (by_mean["statistic"], by_mean["value_s"], by_mean["low"]) == ("mean", est.center, pytest.approx(est.low))
    excluded = sections(store, exclude_disturbed=True)["precision"]
    row = cell(excluded.table, "2mm", "wasmtime")
    assert row["n"] == 9 and row["value_s"] == pytest.approx(statistics.fmean(TAILED[:9]))
    assert any("1 run(s) flagged as disturbed left out" in n for n in excluded.notes)


def test_report_cli_takes_the_options_and_refuses_bad_ones(precision_store, tmp_path):
    store, _ = precision_store
    res = CliRunner().invoke(app, ["report", str(store), "--out", str(tmp_path / "r"), "--statistic", "median",
                                   "--exclude-disturbed", "--target-ci", "0.05", "--json"])
    assert res.exit_code == 0, res.output
    assert "precision" in {s["name"] for s in json.loads(res.output)["sections"]}
    assert "statistic: median" in (tmp_path / "r" / "pairs.md").read_text()
    assert "at most 5%" in (tmp_path / "r" / "precision.md").read_text()
    bad = CliRunner().invoke(app, ["report", str(store), "--statistic", "mode"])
    assert bad.exit_code == 2 and "--statistic must be one of mean, median" in bad.output
    far = CliRunner().invoke(app, ["report", str(store), "--target-ci", "2"])
    assert far.exit_code == 2 and "--target-ci must lie between 0 and 1" in far.output
