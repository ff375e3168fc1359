"""Paired ratios of interleaved A/B rounds: constructed drift that they cancel and unpaired ratios do not, the
reader's grouping by the campaign_pair contract, and the report's paired section from a hand-made store.
Nothing is measured: every value is constructed here, so no verdict depends on this machine's noise."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import t as student_t

from hwprof.analysis import paired, robust, verdict
from hwprof.data import schema
from hwprof.data.store import ResultStore, load_results
from hwprof.report import build_report, build_sections

pytestmark = pytest.mark.quick

PROVENANCE = {"machine": "pair-box", "cpu": "a constructed CPU", "microarch": "none", "arch": "x86_64",
              "kernel": "6.1", "perf_version": "perf version 6.1", "hwprof_version": "0.0.0-test", "disturbed": ""}


def drifting_rounds(n: int = 20, ratio: float = 1.10, drift: float = 0.40, noise: float = 0.005, seed: int = 7):
    """n rounds of a and b run back to back, a first in even rounds; every time grows linearly by `drift` over
    the campaign, times a small lognormal noise: a = ratio * b at the same moment."""
    rng = np.random.default_rng(seed)
    slots = 2 * n
    grow = [1 + drift * s / (slots - 1) for s in range(slots)]
    a, b = [], []
    for i in range(n):
        slot_a, slot_b = (2 * i, 2 * i + 1) if i % 2 == 0 else (2 * i + 1, 2 * i)
        a.append(0.010 * ratio * grow[slot_a] * math.exp(rng.normal(0, noise)))
        b.append(0.010 * grow[slot_b] * math.exp(rng.normal(0, noise)))
    return a, b


def test_paired_ratios_cancel_a_linear_drift_that_unpaired_ratios_do_not():
    a, b = drifting_rounds()
    s = paired.summarize(a, b)
    width = s.median_high - s.median_low
    assert s.median_low <= 1.10 <= s.median_high and width / 2 / s.median < 0.02
    assert s.geo_low <= 1.10 <= s.geo_high and (s.geo_high - s.geo_low) / 2 / s.geomean < 0.01
    assert s.verdict == verdict.SLOWER                       # a takes 10% longer, and the pairs can tell
    u = robust.ratio_of_medians(a, b)
    assert u.high - u.low > 5 * width                        # the drift widens the unpaired interval ...
    assert verdict.decide(u.low, u.high, 0.95, 0.02)[0] == verdict.UNSURE   # ... so far that it holds 1


def test_pairs_cancel_the_drift_only_within_a_round():
    a, b = drifting_rounds()
    across = paired.summarize(a[:-1], b[1:])                 # a of each round against b of the next one
    assert across.median_high < 1.10 and across.geo_high < 1.10   # two slots apart, the drift no longer cancels


def test_geometric_interval_is_student_t_on_the_log_ratios():
    ratios = [1.0, 1.2, 0.9, 1.1, 1.05]
    logs = np.log(ratios)
    half = student_t.ppf(0.975, 4) * logs.std(ddof=1) / math.sqrt(5)
    gm, low, high = paired.geometric_interval(ratios)
    assert gm == pytest.approx(math.exp(logs.mean()))
    assert (low, high) == pytest.approx((math.exp(logs.mean() - half), math.exp(logs.mean() + half)))
    assert paired.geometric_interval([1.3]) == (pytest.approx(1.3), None, None)


def test_verdicts_follow_the_interval_rules_for_either_statistic():
    b = [1.0 + 0.01 * i for i in range(8)]
    faster = paired.summarize([0.8 * x for x in b], b)
    assert faster.verdict == verdict.FASTER and faster.median == pytest.approx(0.8)
    wobble = [1.001, 0.999, 1.002, 0.998, 1.0, 1.001, 0.999, 1.0]
    same = paired.summarize([w * x for w, x in zip(wobble, b)], b, statistic=robust.MEAN)
    assert same.verdict == verdict.SAME and same.statistic == robust.MEAN
    wide = [1.3, 0.7, 1.2, 0.8, 1.1, 0.9, 1.25, 0.75]
    assert paired.summarize([w * x for w, x in zip(wide, b)], b).verdict == verdict.UNSURE
    few = paired.summarize([2.0, 2.1, 1.9], [1.0, 1.0, 1.0])          # too few rounds for the median's interval
    assert few.verdict == verdict.UNSURE and few.median_low is None and "too few" in few.reason
    assert paired.summarize([2.0, 2.1, 1.9], [1.0, 1.0, 1.0], statistic=robust.MEAN).verdict == verdict.SLOWER


def test_paired_ratios_are_taken_round_by_round_and_refuse_unmatched_or_non_positive_values():
    assert paired.paired_ratios([2.0, 1.0, 4.0], [1.0, 2.0, 2.0]) == [2.0, 0.5, 2.0]
    with pytest.raises(ValueError, match="one value per side per round"):
        paired.paired_ratios([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="positive"):
        paired.paired_ratios([1.0, 0.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="unknown statistic"):
        paired.summarize([1.0, 2.0], [1.0, 1.0], statistic="mode")


# ---- the reader, on run files written by the store's own writer ----------------------------------------------

KEY_A, KEY_B = "2mm[small] wasmtime perf cold", "2mm[small] wasmtime-aot perf cold"
PAIR_ID = f"{KEY_A} ~ {KEY_B}"


def run_records(runtime: str, execute: list[float] | None, workload: str = "2mm", error: str = "") -> list:
    """A run's rows: startup and execute wall times (several execute rows: a warm run's invocations), or an error."""
    base = dict(runtime=runtime, runtime_version="1", runtime_flags="", workload=workload, size="small",
                invocation="cold", repetition=0, kind=schema.TIME, unit="s", backend="perf")
    if error:
        return [schema.Record(phase="total", name="error", value=None, status=schema.ERROR, note=error,
                              **{**base, "kind": schema.INFO, "unit": ""})]
    rows = [schema.Record(phase="compile", name="wall_time", value=0.5, **base)]
    return rows + [schema.Record(phase="execute", name="wall_time", value=v, iteration=i, **base)
                   for i, v in enumerate(execute)]


def write(store: ResultStore, run_id: str, side: str, rnd: int, records: list, pair_id: str = PAIR_ID,
          disturbed: str = "") -> None:
    keys = pair_id.split(" ~ ")
    tag = {"id": pair_id, "side": side, "round": rnd, "first": "a" if rnd % 2 == 0 else "b"}
    prov = {**PROVENANCE, "campaign": "pairs", "campaign_digest": "d1", "disturbed": disturbed,
            "campaign_cell": keys[0 if side == "a" else 1], "campaign_pair": tag}
    store.write_run("campaign-1", prov, records, run_id=run_id)


@pytest.fixture
def store(tmp_path):
    """8 rounds of one pair (round 3 without its b, round 5's a failed, round 6's b disturbed), 3 of another
    pair, and a run of no pair."""
    store = ResultStore(tmp_path / "store")
    for rnd in range(8):
        b = 0.010 + 0.001 * rnd
        if rnd == 5:
            write(store, f"r{rnd}a", "a", rnd, run_records("wasmtime", None, error="wasm trap"))
        else:
            write(store, f"r{rnd}a", "a", rnd, run_records("wasmtime", [1.2 * b, 1.2 * b + 0.002]))
        if rnd != 3:
            write(store, f"r{rnd}b", "b", rnd, run_records("wasmtime-aot", [b + 0.001]),
                  disturbed="calibration 30% slower" if rnd == 6 else "")
    other = "atax[small] wasmtime perf cold ~ atax[small] wasmtime-aot perf cold"
    for rnd in range(3):
        write(store, f"s{rnd}a", "a", rnd, run_records("wasmtime", [0.02], "atax"), other)
        write(store, f"s{rnd}b", "b", rnd, run_records("wasmtime-aot", [0.04], "atax"), other)
    store.write_run("campaign-1", PROVENANCE, run_records("native", [0.005]), run_id="z-unpaired")
    return store


def test_reader_matches_rounds_by_pair_id_and_counts_what_it_dropped(store):
    pairs = {p.id: p for p in paired.read_pairs(store.root)}
    assert set(pairs) == {PAIR_ID, "atax[small] wasmtime perf cold ~ atax[small] wasmtime-aot perf cold"}
    p = pairs[PAIR_ID]
    assert [r.round for r in p.rounds] == [0, 1, 2, 4, 6, 7] and (p.incomplete, p.excluded) == (2, 0)
    assert (p.workload, p.size, p.invocation, p.target_a, p.target_b) == ("2mm", "small", "cold", "wasmtime",
                                                                          "wasmtime-aot")
    a, b = p.values()
    expected_b = [0.010 + 0.001 * r + 0.001 for r in (0, 1, 2, 4, 6, 7)]
    assert b == pytest.approx(expected_b)                                     # stopping_value: execute rows' mean
    assert a == pytest.approx([1.2 * (x - 0.001) + 0.001 for x in expected_b])
    assert [r.first for r in p.rounds] == ["a", "b", "a", "a", "a", "b"]
    assert len(pairs["atax[small] wasmtime perf cold ~ atax[small] wasmtime-aot perf cold"].rounds) == 3


def test_disturbed_runs_can_drop_their_whole_round_counted(store):
    p = next(p for p in paired.read_pairs(store.root, exclude_disturbed=True) if p.id == PAIR_ID)
    assert [r.round for r in p.rounds] == [0, 1, 2, 4, 7] and (p.incomplete, p.excluded) == (2, 1)
    kept = {"r0a", "r0b", "r1a", "r1b", "r2a", "r2b", "r6a"}          # a frame without r6b (it was disturbed)
    p = next(p for p in paired.read_pairs(store.root, run_ids=kept) if p.id == PAIR_ID)
    assert [r.round for r in p.rounds] == [0, 1, 2] and (p.incomplete, p.excluded) == (4, 1)


def test_compare_paired_rows_and_clear_errors(store, tmp_path):
    rows = {r["pair"]: r for r in paired.compare_paired(store.root)}
    r = rows[PAIR_ID]
    assert r["rounds"] == 6 and r["incomplete"] == 2 and r["statistic"] == robust.MEDIAN
    assert r["median_ratio"] is not None and r["median_low"] is not None and r["unpaired_low"] is not None
    assert r["geomean_low"] < r["geomean_ratio"] < r["geomean_high"]
    atax = rows["atax[small] wasmtime perf cold ~ atax[small] wasmtime-aot perf cold"]
    assert atax["median_ratio"] == pytest.approx(0.5) and atax["median_low"] is None and atax["verdict"] == "unsure"
    assert paired.compare_paired(store.root, statistic=robust.MEAN)[1]["verdict"] == verdict.FASTER
    with pytest.raises(paired.PairedError, match="no runs tagged campaign_pair"):
        ResultStore(tmp_path / "plain").write_run("s", PROVENANCE, run_records("wasmtime", [0.01]))
        paired.compare_paired(tmp_path / "plain")
    with pytest.raises(paired.PairedError, match="not a results store folder"):
        paired.read_pairs(tmp_path / "nowhere")


def test_a_side_run_twice_in_a_round_counts_its_latest_run(tmp_path):
    store = ResultStore(tmp_path / "s")
    write(store, "r0a-1", "a", 0, run_records("wasmtime", [0.030]))
    write(store, "r0a-2", "a", 0, run_records("wasmtime", [0.020]))      # a resumed campaign ran it again
    write(store, "r0b", "b", 0, run_records("wasmtime-aot", [0.010]))
    (p,) = paired.read_pairs(store.root)
    assert (p.rounds[0].a, p.rounds[0].run_a, p.incomplete) == (0.020, "r0a-2", 0)


def test_an_unreadable_run_file_is_skipped_with_a_warning_or_refused_when_strict(store):
    (store.root / "runs" / "r0b.json").write_text("{ truncated")
    with pytest.warns(UserWarning, match="r0b.json"):
        p = next(p for p in paired.read_pairs(store.root) if p.id == PAIR_ID)
    assert [r.round for r in p.rounds] == [1, 2, 4, 6, 7] and p.incomplete == 3
    with pytest.raises(paired.PairedError, match="r0b.json"):
        paired.read_pairs(store.root, strict=True)


def test_a_malformed_pair_tag_is_refused_with_its_file(tmp_path):
    store = ResultStore(tmp_path / "s")
    store.write_run("c", {**PROVENANCE, "campaign_pair": {"id": PAIR_ID, "side": "c", "round": 0, "first": "a"}},
                    run_records("wasmtime", [0.01]), run_id="bad")
    with pytest.raises(paired.PairedError, match=r"bad\.json: its campaign_pair .* is not"):
        paired.read_pairs(store.root)


# ---- the report's paired section ----------------------------------------------------------------------------

def test_report_section_renders_pairs_from_the_store(store, tmp_path):
    out = build_report(store.root, tmp_path / "report", names=["paired"])
    section = out.sections[0]
    assert not section.missing and len(section.table) == 2
    row = section.table.set_index("pair").loc[PAIR_ID]
    assert (row["target_a"], row["target_b"], row["rounds"], row["incomplete"]) == ("wasmtime", "wasmtime-aot", 6, 2)
    text = (tmp_path / "report" / "paired.md").read_text()
    assert "seeded alternating order" in text and "2 incomplete" in text and "0 excluded" in text
    assert "wasmtime slower" in text or "wasmtime faster" in text or "unsure" in text
    assert "machine pair-box" in section.provenance and "wasmtime-aot 1" in section.provenance
    assert (tmp_path / "report" / "paired.csv").exists()


def test_report_section_says_what_it_needs(store):
    frame = load_results(store.root)
    without_store = frame.copy()
    without_store.attrs = {}
    assert "results store folder" in build_sections(without_store, ["paired"])[0].missing
    unpaired = frame[frame["run_id"] == "z-unpaired"]
    assert "[[pairs]]" in build_sections(unpaired, ["paired"])[0].missing


def test_compare_paired_cli_prints_each_pair_and_what_it_left_out(store, tmp_path):
    import json

    from typer.testing import CliRunner

    from hwprof.cli import app

    runner = CliRunner()
    out = runner.invoke(app, ["compare", "--paired", "--statistic", "median", str(store.root),
                              "--csv", str(tmp_path / "p.csv")])
    assert out.exit_code == 0, out.output
    assert "round by round" in out.output and "median of the per-round ratios" in out.output
    assert "2 incomplete" in out.output and "2mm" in out.output and "atax" in out.output
    assert (tmp_path / "p.csv").read_text().startswith("pair,")
    rows = json.loads(runner.invoke(app, ["compare", "--paired", "--json", str(store.root)]).output)
    assert {r["pair"] for r in rows} == {r["pair"] for r in paired.compare_paired(store.root)}
    two = runner.invoke(app, ["compare", "--paired", str(store.root), str(store.root)])
    assert two.exit_code != 0 and "one results store" in two.output
