"""gem5 stats.txt parsing, on a real 2020 gem5 file and on current-format text written from gem5's names.

tests/data/gem5/stats-x86-o3-mcf-2020.txt: a real stats.txt of gem5 (snake_case era, 2020) simulating mcf
on an x86 O3 CPU in SE mode (system.cpu.*), supplied to the project at /work/shared/data/gem5/ and copied
here unchanged. tests/data/gem5/stats-v24-se-o3-documented-format.txt: written by hand from gem5 v24.0's
stat names (not gem5 output), two blocks. tests/data/gem5/stats-v24.0.0.1-se-o3-2mm-mini-wasm2c-real.txt: real
output of gem5 v24.0.0.1 (../shared/gem5/gem5.fast) running hwprof's configuration for 2mm mini, wasm2c, 32 KiB L1D.
"""

import math
from pathlib import Path

import pytest

from hwprof.gem5 import stats
from hwprof.gem5.stats import StatsError, derive, parse, roi

pytestmark = pytest.mark.quick   # part of the quick subset: python -m pytest -m quick

DATA = Path(__file__).parent / "data" / "gem5"
REAL_2020 = DATA / "stats-x86-o3-mcf-2020.txt"
V24 = DATA / "stats-v24-se-o3-documented-format.txt"
REAL_V24 = DATA / "stats-v24.0.0.1-se-o3-2mm-mini-wasm2c-real.txt"


def test_real_2020_file_parses_every_stat():
    blocks = parse(REAL_2020)
    assert len(blocks) == 1
    stat_lines = [ln for ln in REAL_2020.read_text().splitlines()
                  if ln.strip() and not ln.startswith("----------")]
    assert len(blocks[0]) == len(stat_lines)
    assert blocks[0]["sim_insts"] == 157988547
    assert math.isnan(blocks[0]["system.cpu.icache.avg_blocked_cycles::no_targets"])


def test_real_2020_file_metrics_agree_with_gem5s_own_ratios():
    block = roi(parse(REAL_2020))
    got = derive(block)
    # gem5 printed its own ratios with six decimals: the derived values must round to them.
    assert round(got["ipc"], 6) == block["system.cpu.ipc"]
    assert round(got["l1i_miss_rate"], 6) == block["system.cpu.icache.demand_miss_rate::total"]
    assert round(got["l1d_miss_rate"], 6) == block["system.cpu.dcache.demand_miss_rate::total"]
    assert got["l1i_misses"] == 1453 and got["l1i_accesses"] == 29660169
    assert got["branch_mispredict_rate"] == pytest.approx(1431845 / 40406290)
    assert got["instructions"] == 157988547 and got["cycles"] == 131442990
    assert got["committed_branch_mispredict_rate"] is None      # 2020's gem5 has no committed_N vectors


def test_v24_documented_format_takes_the_first_block_as_roi():
    blocks = parse(V24)
    assert len(blocks) == 2 and roi(blocks) is blocks[0]
    got = derive(roi(blocks))
    assert got["l1i_miss_rate"] == pytest.approx(100000 / 2000000)
    assert got["l1d_miss_rate"] == pytest.approx(35000 / 735000)
    assert got["branch_mispredict_rate"] == pytest.approx(12500 / 250000)
    assert got["ipc"] == pytest.approx(2000000 / 3000000)


def test_empty_exit_block_gives_missing_metrics_not_zeros():
    got = derive(parse(V24)[1])
    assert got["l1i_miss_rate"] is None and got["l1d_miss_rate"] is None
    assert got["branch_mispredict_rate"] is None and got["ipc"] is None


def test_absent_stats_stay_absent():
    text = ("---------- Begin Simulation Statistics ----------\n"
            "simInsts 1000 # Number of instructions simulated (Count)\n"
            "---------- End Simulation Statistics   ----------\n")
    got = derive(roi(parse(text)))
    assert {k for k, v in got.items() if v is None} >= {"l1i_miss_rate", "l1d_miss_rate", "ipc",
                                                         "branch_mispredict_rate", "instructions"}


def test_real_v24_file_roi_counts_the_core_not_siminsts():
    """Real gem5 v24.0.0.1 output (2mm mini, wasm2c SE binary, O3, 32 KiB L1D; stats reset at work_begin, dumped
    at work_end): simInsts counts from the simulation's start, the core's committed instructions the ROI."""
    blocks = parse(REAL_V24)
    assert len(blocks) == 1
    block = roi(blocks)
    got = derive(block)
    assert block["simInsts"] == 204488 and got["instructions"] == 157784 and got["cycles"] == 41706
    assert round(got["ipc"], 6) == block["board.processor.cores.core.ipc"]
    assert round(got["l1i_miss_rate"], 6) == block["board.cache_hierarchy.l1i-cache-0.demandMissRate::total"]
    assert got["branch_mispredict_rate"] == pytest.approx(47 / 24466)
    # Committed conditional branches (DirectCond + IndirectCond): fewer than the predictions, wrong path left out.
    assert (got["committed_cond_branches"], got["committed_cond_mispredicted"]) == (24161, 45)
    assert got["committed_branch_mispredict_rate"] == pytest.approx(45 / 24161)


def test_real_v24_file_cache_without_misses_has_a_zero_miss_rate():
    """gem5 prints a cache's miss counts only when nonzero: this L1D printed 34147 accesses and no misses."""
    block = roi(parse(REAL_V24))
    assert not any("l1d-cache-0.demandMiss" in k for k in block)
    got = derive(block)
    assert (got["l1d_misses"], got["l1d_accesses"], got["l1d_miss_rate"]) == (0, 34147, 0.0)


def test_two_cores_and_nan_inf_values():
    """cores0/cores1 (several cores), l1i-cache-0/1; NaN and inf printed by gem5 are kept as such."""
    lines = ["---------- Begin Simulation Statistics ----------"]
    for i, (insts, cycles, hits, misses) in enumerate(((600, 1000, 90, 10), (400, 800, 45, 5))):
        core = f"board.processor.cores{i}.core"
        lines += [f"{core}.numCycles {cycles}", f"{core}.commitStats0.numInsts {insts}",
                  f"{core}.branchPred.condPredicted 100", f"{core}.branchPred.condIncorrect {i + 1}",
                  f"board.cache_hierarchy.l1i-cache-{i}.demandMisses::total {misses}",
                  f"board.cache_hierarchy.l1i-cache-{i}.demandAccesses::total {hits + misses}",
                  f"board.cache_hierarchy.l1i-cache-{i}.demandMissRate::total {misses / (hits + misses)}",
                  f"board.cache_hierarchy.l1d-cache-{i}.demandMissRate::total nan",
                  f"board.cache_hierarchy.l1d-cache-{i}.demandAvgMissLatency::total inf"]
    lines.append("---------- End Simulation Statistics   ----------")
    block = roi(parse("\n".join(lines)))
    assert math.isnan(block["board.cache_hierarchy.l1d-cache-0.demandMissRate::total"])
    assert math.isinf(block["board.cache_hierarchy.l1d-cache-1.demandAvgMissLatency::total"])
    got = derive(block)
    assert got["l1i_miss_rate"] == pytest.approx(15 / 150)
    assert got["ipc"] == pytest.approx(1000 / 1000)
    assert got["branch_mispredict_rate"] == pytest.approx(3 / 200)
    assert got["l1d_miss_rate"] is None


def test_snake_case_overall_names_when_demand_names_are_absent():
    text = ("---------- Begin Simulation Statistics ----------\n"
            "system.cpu0.icache.overall_miss_rate::total 0.125\n"
            "system.cpu0.dcache.overall_misses::total 30\n"
            "system.cpu0.dcache.overall_accesses::total 120\n"
            "---------- End Simulation Statistics   ----------\n")
    got = derive(roi(parse(text)))
    assert got["l1i_miss_rate"] == 0.125 and got["l1d_miss_rate"] == 0.25


@pytest.mark.parametrize("text, words", [
    ("", "no Begin/End"),
    ("---------- Begin Simulation Statistics ----------\nsimInsts 5\n", "no End"),
    ("---------- End Simulation Statistics   ----------\n", "without a Begin"),
    (("---------- Begin Simulation Statistics ----------\nsimInsts five\n"
      "---------- End Simulation Statistics   ----------\n"), "line 2"),
])
def test_bad_stats_raise_one_line_error(text, words):
    with pytest.raises(StatsError) as err:
        parse(text + "\n")
    assert "\n" not in str(err.value) and words in str(err.value)


def test_missing_file_and_empty_block_list():
    with pytest.raises(StatsError, match="no such stats file"):
        parse("/nonexistent/stats.txt")
    with pytest.raises(StatsError):
        stats.roi([])
