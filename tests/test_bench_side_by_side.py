"""scripts/bench_side_by_side.py's pure parts: hyperfine's real JSON read, and each round's figures and goal."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "bench_side_by_side.py"
spec = importlib.util.spec_from_file_location("bench_side_by_side", SCRIPT)
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


@pytest.mark.skipif(shutil.which("hyperfine") is None,
                    reason="hyperfine is not installed (scripts/setup.sh installs it)")
def test_the_times_of_a_real_hyperfine_export_are_read(tmp_path):
    out = tmp_path / "hf.json"
    subprocess.run(["hyperfine", "--shell=none", "--style", "none", "--runs", "4", "--export-json", str(out), "true"],
                   check=True, capture_output=True)
    doc = json.loads(out.read_text())
    times = bench.hyperfine_times(doc)
    assert len(times) == 4 and all(t > 0 for t in times)
    assert sum(times) / 4 == pytest.approx(doc["results"][0]["mean"], rel=1e-9)   # the runs hyperfine's mean is of


@pytest.mark.quick
@pytest.mark.parametrize("doc", [{}, {"results": []}, {"results": [{"times": []}]}, {"results": [{"times": ["x"]}]},
                                 [1, 2]])
def test_a_hyperfine_document_without_times_is_refused_in_one_line(doc):
    with pytest.raises(bench.BenchError, match="hyperfine's JSON"):
        bench.hyperfine_times(doc)


def _hwprof(execute, reasons=None):
    reasons = reasons or [""] * len(execute)
    return {"execute": execute, "process": [t + 0.1 for t in execute], "reasons": reasons,
            "disturbed": sum(1 for r in reasons if r)}


TIGHT = [0.010 + 0.00001 * i for i in range(20)]            # 10.0 .. 10.19 ms: a narrow median interval
WIDE = [0.040 * (1 + 0.1 * ((i * 7) % 10)) for i in range(20)]   # +-50% around the middle: a wide mean interval


@pytest.mark.quick
def test_the_goal_holds_when_the_median_interval_is_the_narrower_and_not_otherwise():
    held = bench.summarize_round(1, ("hyperfine", "hwprof"), WIDE, _hwprof(TIGHT))
    assert held["goal_held"] is True and held["hwprof"]["ci_rel"] < held["hyperfine"]["ci_rel"]
    missed = bench.summarize_round(2, ("hwprof", "hyperfine"), TIGHT, _hwprof(WIDE))
    assert missed["goal_held"] is False and missed["order"] == ["hwprof", "hyperfine"]
    assert missed["hwprof"]["process_median_s"] > missed["hwprof"]["median_s"]


@pytest.mark.quick
def test_the_goal_in_seconds_can_hold_where_the_relative_one_does_not():
    # A phase ten times shorter than the process, twice as noisy relative to its length: in seconds its
    # interval is still the narrower one.
    process = [0.100 * (1 + 0.01 * ((i * 7) % 10 - 4.5)) for i in range(20)]
    phase = [0.010 * (1 + 0.02 * ((i * 3) % 10 - 4.5)) for i in range(20)]
    r = bench.summarize_round(1, ("hyperfine", "hwprof"), process, _hwprof(phase))
    assert r["goal_held"] is False and r["goal_held_seconds"] is True
    assert r["hwprof"]["width_s"] == pytest.approx(r["hwprof"]["high_s"] - r["hwprof"]["low_s"])
    assert r["hyperfine"]["width_s"] == pytest.approx(2 * r["hyperfine"]["ci_rel"] * r["hyperfine"]["mean_s"])


@pytest.mark.quick
def test_too_few_repetitions_for_a_median_interval_leave_the_goal_unjudged():
    r = bench.summarize_round(1, ("hyperfine", "hwprof"), WIDE, _hwprof(TIGHT[:5]))   # n=5: (min, max) covers 93.8%
    assert r["goal_held"] is None and r["hwprof"]["ci_rel"] is None and "too few" in r["hwprof"]["interval_note"]


@pytest.mark.quick
def test_flagged_repetitions_are_counted_and_left_out_of_the_undisturbed_interval():
    execute = TIGHT[:14] + [0.05 + 0.001 * i for i in range(6)]      # six slow runs: rank 15 of 20 is one
    reasons = [""] * 14 + ["other tasks used 40.0% of the measured CPU (> 10%)"] * 6
    hw = bench.summarize_round(1, ("hyperfine", "hwprof"), WIDE, _hwprof(execute, reasons))["hwprof"]
    assert hw["disturbed"] == 6 and len(hw["disturbed_reasons"]) == 6
    assert hw["ci_rel_undisturbed"] < hw["ci_rel"]
