"""The campaign's stopping rule on constructed runs: median, flagged runs excluded, the noise floor, the pool."""

from __future__ import annotations

import random

import pytest

from hwprof.campaign.spec import Cell, Repetitions, parse
from hwprof.campaign.state import CellState, Run, decisions, next_cell, pool
from hwprof.campaign.stopping import (AT_MAX, CONVERGED, EXTRA_CAP, NOISE_FLOOR, Evidence, decide,
                                      interval_min_runs)
from hwprof.campaign.runner import unconverged
from hwprof.campaign import SpecError
from hwprof.collect import CollectConfig

pytestmark = pytest.mark.quick
WIDE = (1.0, 1.12, 0.9, 1.08, 0.95, 1.15, 0.88, 1.05)          # CV about 10%
QUIET = (1.0, 1.03, 0.97, 1.02, 0.98, 1.01)                     # CV about 2%: +-2.4% after 6, converging
CALM = (1.0, 1.01, 1.0, 1.005, 1.0, 1.01)                       # calibration slowdowns of a quiet host
STORMY = (1.0, 1.3, 0.95, 1.2, 1.05, 1.35, 1.0, 1.15)           # of a host interfering by 13%


def cell(name, target="wasmtime", **policy):
    return Cell(CollectConfig(name, runtime=target, size="mini", backend="perf"), repetitions=Repetitions(**policy))


def test_the_median_stops_where_an_outlier_keeps_the_mean_open():
    values = (1.0, 1.001, 0.999, 1.0005, 0.9995, 1.0002, 0.9998, 1.0001, 0.9999, 1.0003, 0.9997, 3.0)
    mean = decide(Evidence(values), Repetitions(min=3, max=20))
    assert mean.stop == NOISE_FLOOR and mean.relative > 0.3                        # the outlier widens the mean's
    median = decide(Evidence(values), Repetitions(min=3, max=20, statistic="median"))
    assert median.stop == CONVERGED and median.estimate.statistic == "median" and median.relative < 0.02
    # Five values are too few for a 95% interval of the median, however close they are.
    assert interval_min_runs("median", 0.95) == 6 and interval_min_runs("mean", 0.95) == 2
    five = decide(Evidence(values[:5]), Repetitions(min=3, max=20, statistic="median"))
    eight = decide(Evidence(values[:7] + values[-1:]), Repetitions(min=3, max=20, statistic="median"))
    assert eight.stop is None and eight.relative > 0.5          # at 8 its interval is still (min, max)
    assert five.stop is None and five.relative is None


def test_excluded_flagged_runs_are_counted_and_left_out():
    values = (1.0, 1.001, 0.999, 1.6, 1.0005, 1.7)
    flagged = (False, False, False, True, False, True)
    kept = decide(Evidence(values, flagged), Repetitions(min=3, max=20))
    assert kept.stop != CONVERGED and (kept.n, kept.excluded) == (6, 0)
    out = decide(Evidence(values, flagged), Repetitions(min=3, max=20, exclude_disturbed=True))
    assert out.stop == CONVERGED and (out.runs, out.n, out.excluded) == (6, 4, 2)
    assert out.estimate.center == pytest.approx(1.000125)
    # The maximum counts every run, flagged ones too.
    assert decide(Evidence(values, flagged), Repetitions(min=5, max=6, exclude_disturbed=True)).stop == AT_MAX


def test_a_cell_at_its_noise_floor_stops_early_and_says_why():
    policy = Repetitions(min=3, max=20, target_ci=0.02)
    d = decide(Evidence(WIDE, (False,) * 5 + (True,) * 3, STORMY), policy)
    assert d.stop == NOISE_FLOOR and d.projected > 0.02
    assert d.reason.startswith("noise floor: its mean interval is +-8.3% after 8 runs;")
    assert "at max 20 (target 2%)" in d.reason and "calibration loop slowdown median 1.10x" in d.reason
    assert "3 of 8 runs flagged" in d.reason
    # Not before FLOOR_MIN_RUNS: five runs say too little.
    assert decide(Evidence(WIDE[:5], (), STORMY[:5]), policy).stop is None


def test_a_quiet_cell_is_not_stopped_early_but_the_same_cell_on_a_stormy_host_is():
    policy = Repetitions(min=3, max=20, target_ci=0.02)
    quiet = decide(Evidence(QUIET, (), CALM), policy)
    assert quiet.stop is None and quiet.relative > 0.02 and quiet.projected < 0.02
    assert decide(Evidence(QUIET), policy).stop is None            # no calibration evidence: its own spread
    stormy = decide(Evidence(QUIET, (), STORMY[:6]), policy)       # the host's spread bounds it from below
    assert stormy.stop == NOISE_FLOOR and "the host's spread alone" in stormy.reason


def test_flagged_runs_lost_to_exclusion_shrink_the_budget():
    values = (1.0, 1.06, 0.95, 1.04, 0.96, 1.03) + (1.9, 2.1, 1.8, 2.2, 1.7, 2.0)   # CV 4%; six flagged, far off
    flags = (False,) * 6 + (True,) * 6
    policy = dict(min=3, max=14, target_ci=0.02, exclude_disturbed=True)
    # Half the runs are flagged: of the 2 runs left, about 1 will count: 7 in all, not enough for 2%
    # (with 40, about 20 would count: enough, even for the spread's optimistic end).
    lossy = decide(Evidence(values, flags), Repetitions(**policy))
    assert lossy.stop == NOISE_FLOOR and "6 of 12 runs flagged (6 excluded)" in lossy.reason
    more = decide(Evidence(values, flags), Repetitions(**{**policy, "max": 40}))
    assert more.stop is None


def grow(states, pairs=(), seed=1, rng=None):
    """Run the scheduler to the end on synthetic values: each cell draws from its own spread."""
    rng = rng or random.Random(0)
    order = []
    while (st := next_cell(states, seed, pairs)) is not None:
        spread = float(st.cell.config.workload.split("-")[1]) / 100
        st.runs.append(Run(rng.gauss(1.0, spread)))
        order.append(st.cell.key)
        assert len(order) < 10_000
    return order


def test_the_pool_spends_saved_runs_but_never_past_the_sum_of_the_maxima():
    # Short cells (max 5, too few runs to judge a floor) that could converge by 10, beside noisy long ones.
    spreads = {1.5: 5, 2: 5, 2.5: 5, 3: 5, 3.5: 5, 20: 20, 25: 20, 30: 20, 4: 20, 1: 20}
    spent_any = 0
    for seed in range(6):
        cells = [cell(f"w{i}-{s}", min=3, max=m) for i, (s, m) in enumerate(spreads.items())]
        states = {c.key: CellState(c) for c in cells}
        grow(states, seed=seed, rng=random.Random(seed))
        saved, spent = pool(states)
        total = sum(len(s.runs) for s in states.values())
        assert total <= sum(c.repetitions.max for c in cells) and spent <= saved
        assert all(len(s.runs) <= EXTRA_CAP * s.cell.repetitions.max for s in states.values())
        stops = {d.stop for d in decisions(states).values()}
        assert NOISE_FLOOR in stops and None not in stops
        spent_any += spent
    assert spent_any > 0                                            # some pool runs were spent (else it proves little)


def test_a_cell_at_max_takes_runs_only_while_the_pool_holds_some():
    floor = CellState(cell("a-10", max=10), runs=[Run(v) for v in WIDE])          # noise floor: saves 2
    near = CellState(cell("b-3", max=10), runs=[Run(v) for v in (1.0, 1.05, 0.96, 1.04, 0.97, 1.03, 0.95,
                                                                 1.02, 1.0, 0.98)])
    states = {s.cell.key: s for s in (floor, near)}
    assert floor.stop() == NOISE_FLOOR and near.stop() == AT_MAX
    assert decisions(states)[near.cell.key].stop is None and pool(states) == (2, 0)
    near.runs += [Run(1.06), Run(0.94)]
    assert pool(states) == (2, 2) and decisions(states)[near.cell.key].stop == AT_MAX
    assert next_cell(states, 1) is None
    alone = {near.cell.key: near}                                   # with no noise-floor stop, no pool
    near.runs[10:] = []
    assert next_cell(alone, 1) is None


def test_unconverged_cells_are_those_stopped_at_the_floor_or_max_and_not_yet_simulated():
    done = CellState(cell("a-1", max=6), runs=[Run(1.0)] * 3)
    at_max = CellState(cell("b-1", min=1, max=1), runs=[Run(1.0)])
    floor = CellState(cell("c-1", max=20), runs=[Run(v) for v in WIDE])
    failed = CellState(cell("d-1"), runs=[Run(1.0)], failure="trap")
    running = CellState(cell("e-1"), runs=[Run(1.0)])
    states = {s.cell.key: s for s in (done, at_max, failed, running)}
    assert done.stop() == CONVERGED
    assert [s.cell.key for s in unconverged(states)] == [at_max.cell.key]
    states[floor.cell.key] = floor                  # its saved runs reopen the cell at max: not finished yet
    assert [s.cell.key for s in unconverged(states)] == [floor.cell.key]
    floor.simulation_failure = "valgrind: not found"
    assert unconverged(states) == []
    del states[floor.cell.key]
    at_max.simulated = "run-1"
    assert unconverged(states) == []


PAIRS = """
[campaign]
seed = 9
[repetitions]
min = 3
max = 8
[[matrix]]
workloads = ["2mm", "atax", "gemm"]
sizes = ["mini"]
targets = ["wasmtime", "wasmtime-aot", "native"]
[[pairs]]
a = "wasmtime"
b = "wasmtime-aot"
"""


def test_a_pair_runs_back_to_back_in_a_seeded_order_per_round():
    from hwprof.campaign.state import first_side, pair_id, pair_tag

    spec = parse(PAIRS)
    assert len(spec.pairs) == 3 and all(a.split()[1] == "wasmtime" and b.split()[1] == "wasmtime-aot"
                                        for a, b in spec.pairs)
    assert spec.digest != parse(PAIRS.split("[[pairs]]")[0]).digest
    states = {c.key: CellState(c) for c in spec.cells}
    spread = {"2mm": 0.001, "atax": 0.2, "gemm": 0.05}
    rng = random.Random(3)
    order, tags = [], []
    while (st := next_cell(states, spec.seed, spec.pairs)) is not None:
        tags.append(pair_tag(spec, states, st.cell.key))
        st.runs.append(Run(rng.gauss(1.0, spread[st.cell.config.workload])))
        order.append(st.cell.key)
    for pair in spec.pairs:
        a, b = pair
        where = [i for i, k in enumerate(order) if k in pair]
        assert len(where) % 2 == 0 and all(where[i + 1] == where[i] + 1 for i in range(0, len(where), 2))
        assert len(states[a].runs) == len(states[b].runs)           # a pair runs until both sides stop
        firsts = [order[i] for i in where[::2]]
        assert firsts == [a if first_side(spec.seed, pair, r) == "a" else b for r in range(len(firsts))]
        mine = [(order[i], t) for i, t in enumerate(tags) if t and t["id"] == pair_id(pair)]
        for r, ((k1, t1), (k2, t2)) in enumerate(zip(mine[::2], mine[1::2])):
            assert t1["round"] == t2["round"] == r and t1["first"] == t2["first"] == t1["side"]
            assert {t1["side"], t2["side"]} == {"a", "b"} and (k1 == a) == (t1["side"] == "a")
    assert len(states[spec.pairs[0][0]].runs) == 3                  # 2mm: both converge at min
    assert {first_side(spec.seed, spec.pairs[1], r) for r in range(8)} == {"a", "b"}
    assert all(t is None for k, t in zip(order, tags) if "native" in k)


def test_a_pair_left_half_way_by_a_kill_finishes_its_round_first():
    spec = parse(PAIRS)
    states = {c.key: CellState(c) for c in spec.cells}
    first = next_cell(states, spec.seed, spec.pairs)
    first.runs.append(Run(1.0))
    a, b = spec.pair_of(first.cell.key)
    assert next_cell(states, spec.seed, spec.pairs).cell.key == (b if first.cell.key == a else a)


@pytest.mark.parametrize("text, message", [
    (PAIRS.replace('"wasmtime", "wasmtime-aot", "native"]', '"wasmtime", "native"]\n[[matrix]]\nworkloads = '
                   '["2mm"]\nsizes = ["mini"]\ntargets = ["wasmtime-aot"]'), "atax[mini] wasmtime perf cold has no partner"),
    (PAIRS + '[[pairs]]\na = "wasmtime"\nb = "native"\n', "is already paired"),
    (PAIRS + '[[pairs]]\na = "native"\nb = "native"\n', "a and b are both 'native'"),
    (PAIRS + '[[pairs]]\na = "native"\n', "needs exactly a and b"),
    (PAIRS + '[[pairs]]\na = "native"\nb = "nope"\n', "unknown target 'nope'"),
    (PAIRS.replace("max = 8", "max = 8\nstatistic = 'mode'"), "statistic must be one of mean, median"),
    (PAIRS.replace("max = 8", "max = 8\nexclude_disturbed = 1"), "exclude_disturbed must be true or false"),
])
def test_bad_pairs_and_policies_fail_with_one_line(text, message):
    with pytest.raises(SpecError) as exc:
        parse(text, "p.toml")
    assert message in str(exc.value) and "\n" not in str(exc.value)


def test_the_command_line_policy_overrides_the_spec_and_changes_the_digest():
    from hwprof.campaign.spec import with_policy

    spec = parse(PAIRS)
    median = with_policy(spec, "median", True)
    assert all(c.repetitions.statistic == "median" and c.repetitions.exclude_disturbed for c in median.cells)
    assert median.digest != spec.digest and with_policy(spec).digest == spec.digest
    assert parse(PAIRS.replace("max = 8", "max = 8\nstatistic = 'median'\nexclude_disturbed = true")).digest \
        == median.digest


def test_a_borderline_cell_is_not_given_up_on_a_spread_read_from_six_runs():
    from hwprof.campaign.stopping import optimistic, project, spread

    values = (1.0, 1.055, 0.945, 1.045, 0.955, 1.0)                 # CV about 4.5%: six runs say it only roughly
    policy = Repetitions(min=3, max=20, target_ci=0.02)
    point, _ = project(spread(values, "mean"), None, 20, "mean", 0.95)
    assert point > 0.02                                              # its point estimate says "out of reach" ...
    d = decide(Evidence(values), policy)
    assert d.stop is None and d.projected < 0.02                     # ... its optimistic end does not: it goes on
    assert optimistic(0.04, 6, "median") < optimistic(0.04, 6, "mean") < 0.04   # a MAD says less than an sd
    wide = (1.0, 1.12, 0.9, 1.08, 0.95, 1.15)                        # CV about 10%: out of reach either way
    assert decide(Evidence(wide), policy).stop == NOISE_FLOOR
