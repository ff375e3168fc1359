"""`hwprof compare`: stores from two machines side by side, ratios with intervals, gaps shown as gaps."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from hwprof.analysis import verdict
from hwprof.analysis.compare import CompareError, compare_stores, wide
from hwprof.cli import app
from hwprof.collect import CollectConfig, collect
from hwprof.data import schema
from hwprof.data.store import ResultStore, read_run


# Wall times the compare tests assert on, per phase, so no verdict depends on this machine's noise: four
# repetitions spread +-0.75% around a base (CV 0.65%), the same spread on both sides.
BASE_S = {"bootstrap": 0.2, "compile": 0.05, "instantiate": 0.001, "execute": 0.01}
SPREAD = (0.9925, 0.9975, 1.0025, 1.0075)


@pytest.fixture(scope="module")
def stores(tmp_path_factory, wasm_2mm_mini):
    """A real x86 store from this machine with constructed wall times (real rows, provenance and run files;
    known values), and an aarch64 store constructed from it (no such board here): execute exactly twice as
    slow, no task_clock, and an Arm-only event."""
    root = tmp_path_factory.mktemp("cmp")
    real = root / "real"
    collect(CollectConfig("2mm", "wasmtime", "mini", repetitions=4, warmup=0, results=real,
                          events=("task_clock", "cycles"), count_phases=("execute",)))
    x86, arm = ResultStore(root / "x86"), ResultStore(root / "arm")
    for i, f in enumerate(ResultStore(real).run_files()):
        doc = read_run(f)
        known = [schema.Record(**{**r.to_dict(), "value": BASE_S[r.phase] * SPREAD[i]})
                 if r.name == "wall_time" else r for r in doc["records"]]
        x86.write_run("constructed", doc["provenance"], known)
        prov = {**doc["provenance"], "arch": "aarch64", "machine": "tx2", "cpu": "ARM Cortex-A57"}
        recs = []
        for r in known:
            if r.name == "task_clock":
                continue
            if r.phase == "execute" and r.name == "wall_time":
                r = schema.Record(**{**r.to_dict(), "value": r.value * 2})
            recs.append(r)
        recs.append(schema.Record(**{**recs[0].to_dict(), "phase": "execute", "name": "l1i_tlb_refill",
                                     "kind": schema.EVENT, "value": 100.0 + i, "unit": "refills"}))
        arm.write_run("constructed", prov, recs)
    return root / "x86", root / "arm"


def row(tidy, side, phase, name):
    got = tidy[(tidy["side"] == side) & (tidy["phase"] == phase) & (tidy["name"] == name)]
    assert len(got) == 1, (side, phase, name)
    return got.iloc[0]


def test_compare_side_by_side_on_a_constructed_aarch64_store(stores):
    x86, arm = stores
    tidy, sides = compare_stores([x86, arm])
    assert [s.arch for s in sides] == ["x86_64", "aarch64"] and sides[1].label == "aarch64:tx2"
    slow = row(tidy, "aarch64:tx2", "execute", "wall_time")
    assert slow["verdict"] == "slower" and slow["ratio"] == pytest.approx(2.0, rel=1e-9)
    assert slow["low"] <= 2.0 <= slow["high"] and slow["n"] == 4
    assert row(tidy, sides[0].label, "execute", "wall_time")["verdict"] == "baseline"
    # Present on one side only: said so on both rows, never dropped.
    assert row(tidy, "aarch64:tx2", "execute", "task_clock")["verdict"] == "not measured on aarch64:tx2"
    assert row(tidy, "aarch64:tx2", "execute", "l1i_tlb_refill")["verdict"] == "only on aarch64:tx2"
    assert row(tidy, sides[0].label, "execute", "l1i_tlb_refill")["verdict"].startswith("not measured on x86_64")
    # Unchanged phases of the same runs: identical samples 0.65% apart, so the interval holds 1 within 2%.
    same = row(tidy, "aarch64:tx2", "compile", "wall_time")
    assert same["ratio"] == pytest.approx(1.0) and same["low"] <= 1 <= same["high"]
    assert same["verdict"] == "same"
    view = wide(tidy, sides)
    assert {"x86_64:" + sides[0].machine, "aarch64:tx2", "verdict aarch64:tx2"} <= set(view.columns)


def test_compare_cli_writes_tables_and_rejects_bad_input(stores, tmp_path):
    x86, arm = stores
    md, csv = tmp_path / "cmp.md", tmp_path / "cmp.csv"
    res = CliRunner().invoke(app, ["compare", str(x86), str(arm), "--label", "i7", "--label", "tx2",
                                   "--phase", "execute", "--markdown", str(md), "--csv", str(csv)])
    assert res.exit_code == 0, res.output
    assert "tx2 / i7" in res.output and "slower" in res.output
    assert md.read_text().startswith("| runtime |") and "only on tx2" in md.read_text()
    tidy = pd.read_csv(csv)
    assert set(tidy["phase"]) == {"execute"} and set(tidy["side"]) == {"i7", "tx2"}
    as_json = CliRunner().invoke(app, ["compare", str(x86), str(arm), "--json", "--name", "wall_time"])
    assert {r["name"] for r in json.loads(as_json.output)} == {"wall_time"}
    alone = CliRunner().invoke(app, ["compare", str(x86)])
    assert alone.exit_code == 2 and "at least two" in alone.output
    nowhere = CliRunner().invoke(app, ["compare", str(x86), str(tmp_path / "nope")])
    assert nowhere.exit_code == 2 and "no such results store" in nowhere.output
    with pytest.raises(CompareError, match="no results"):
        (tmp_path / "empty" / "runs").mkdir(parents=True)
        compare_stores([x86, tmp_path / "empty"])


def test_single_run_stores_compare_without_an_interval(tmp_path, wasm_2mm_mini):
    """One repetition a side (a simulator campaign): the ratio is shown, the interval and a direction are not."""
    a, b = tmp_path / "a", tmp_path / "b"
    for store in (a, b):
        collect(CollectConfig("2mm", "wasmtime", "mini", repetitions=1, warmup=0, results=store,
                              events=("task_clock",), count_phases=("execute",)))
    tidy, sides = compare_stores([a, b], labels=["a", "b"])
    r = row(tidy, "b", "execute", "wall_time")
    assert r["verdict"] == "unsure" and pd.isna(r["low"]) and r["ratio"] > 0
    view = wide(tidy, sides)
    cell = view.loc[(view["phase"] == "execute") & (view["name"] == "wall_time"), "b / a"].iloc[0]
    assert cell == f"{r['ratio']:.3f}"


def test_compare_by_median_says_so_in_every_row_and_in_the_output(stores, tmp_path):
    x86, arm = stores
    tidy, sides = compare_stores([x86, arm], statistic="median")
    assert set(tidy["statistic"]) == {"median"}
    slow = row(tidy, "aarch64:tx2", "execute", "wall_time")
    base = row(tidy, sides[0].label, "execute", "wall_time")
    assert base["median"] == pytest.approx(BASE_S["execute"] * (SPREAD[1] + SPREAD[2]) / 2)
    assert slow["median"] == pytest.approx(2 * base["median"]) and slow["mean"] == pytest.approx(2 * base["mean"])
    assert slow["verdict"] == "slower" and slow["ratio"] == pytest.approx(2.0) and slow["low"] <= 2 <= slow["high"]
    x86_s = [BASE_S["execute"] * f for f in SPREAD]                  # the interval is the bootstrap's, not Welch's
    boot = verdict.compare([2 * v for v in x86_s], x86_s, statistic="median")
    assert (slow["low"], slow["high"]) == pytest.approx((boot.low, boot.high))
    assert slow["low"] != pytest.approx(verdict.compare([2 * v for v in x86_s], x86_s).low)
    assert row(tidy, "aarch64:tx2", "compile", "wall_time")["verdict"] == "same"
    # SPREAD is symmetric (mean = median), so shift the medians to see the view show them, not the means.
    view = wide(tidy.assign(median=tidy["median"] + 1), sides)
    cell = view[(view["phase"] == "execute") & (view["name"] == "wall_time")].iloc[0]
    assert cell["statistic"] == "median" and cell["aarch64:tx2"] == pytest.approx(slow["median"] + 1)
    assert set(wide(compare_stores([x86, arm])[0], sides)["statistic"]) == {"mean"}
    res = CliRunner().invoke(app, ["compare", str(x86), str(arm), "--phase", "execute", "--statistic", "median"])
    assert res.exit_code == 0, res.output
    assert "statistic: median per side; ratio = median / median" in res.output and "bootstrap" in res.output
    by_mean = CliRunner().invoke(app, ["compare", str(x86), str(arm), "--phase", "execute"])
    assert "statistic: mean per side" in by_mean.output and "Welch" in by_mean.output
    bad = CliRunner().invoke(app, ["compare", str(x86), str(arm), "--statistic", "mode"])
    assert bad.exit_code == 2 and "--statistic must be one of mean, median" in bad.output
