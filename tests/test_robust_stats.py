"""Robust summaries on constructed samples: hand-checked order-statistic ranks, their coverage by simulation,
the bootstrap ratio of medians, and too-small samples saying so. Nothing here depends on this machine's noise."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.stats import norm

from hwprof.analysis import robust, verdict
from hwprof.analysis.robust import median_ci, order_statistic_ranks, ratio_of_medians

pytestmark = pytest.mark.quick   # part of the quick subset: python -m pytest -m quick


def shuffled(values, seed):
    return list(np.random.default_rng(seed).permutation(values))


@pytest.mark.parametrize("n, ranks, coverage", [
    # coverage = 1 - 2 P(Binomial(n, 1/2) <= j - 1), by hand:
    (6, (1, 6), 1 - 2 / 64),                                   # j=1: 1 - 2 * 1/64
    (10, (2, 9), 1 - 2 * 11 / 1024),                           # j=2: C(10,0)+C(10,1) = 11; j=3 gives 0.891
    (15, (4, 12), 1 - 2 * 576 / 32768),                        # 1+15+105+455 = 576; j=5 gives 0.882
    (20, (6, 15), 1 - 2 * 21700 / 2 ** 20),                    # 1+20+190+1140+4845+15504; j=7 gives 0.885
])
def test_order_statistic_ranks_match_the_binomial_by_hand(n, ranks, coverage):
    j, k, got = order_statistic_ranks(n, 0.95)
    assert (j, k) == ranks and got == pytest.approx(coverage, abs=1e-12) and got >= 0.95


def test_constructed_samples_have_known_medians_and_intervals():
    ten = median_ci(shuffled(range(1, 11), 1))             # ranks 2 and 9 of 1..10
    assert (ten.n, ten.median, ten.low, ten.high) == (10, 5.5, 2.0, 9.0)
    assert ten.relative == pytest.approx((9 - 2) / 2 / 5.5)
    twenty = median_ci(shuffled([10.0 * i for i in range(1, 21)], 2))   # ranks 6 and 15 of 10..200
    assert (twenty.median, twenty.low, twenty.high) == (105.0, 60.0, 150.0)
    assert "exact coverage 95.9%" in twenty.note
    lenient = median_ci(shuffled(range(1, 11), 3), confidence=0.80)     # 80%: ranks 3 and 8
    assert (lenient.low, lenient.high) == (3.0, 8.0)


def test_five_values_are_too_few_for_95_percent_and_say_what_they_can_reach():
    five = median_ci([5.0, 1.0, 4.0, 2.0, 3.0])
    assert five.median == 3.0 and five.low is None and five.high is None and five.relative is None
    assert five.coverage == pytest.approx(1 - 2 / 32)                   # (min, max) of 5 values: 93.75%
    assert "too few" in five.note and "93.8%" in five.note
    assert median_ci([5.0, 1.0, 4.0, 2.0, 3.0], confidence=0.90).low == 1.0   # 90% is within reach


def coverage(draw, true_median, trials=2000, n=15, seed=11):
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(trials):
        ci = median_ci(draw(rng, n))
        hits += ci.low <= true_median <= ci.high
    return hits / trials


def test_the_95_percent_interval_covers_the_median_of_a_lognormal():
    """Coverage is exactly 96.5% for n=15 whatever the distribution: conservative, as whole ranks must be."""
    got = coverage(lambda rng, n: rng.lognormal(0.0, 1.0, n), true_median=1.0)
    assert 0.93 <= got <= 0.99
    assert got == pytest.approx(order_statistic_ranks(15)[2], abs=0.0125)   # 3 binomial standard errors


def test_the_95_percent_interval_covers_the_median_of_a_bimodal_mixture():
    """70% of runs near 10, 30% near 20 (a host that is sometimes shared): the median is still covered."""
    def draw(rng, n):
        slow = rng.random(n) < 0.3
        return np.where(slow, rng.normal(20, 1, n), rng.normal(10, 1, n))

    true_median = brentq(lambda m: 0.7 * norm.cdf(m - 10) + 0.3 * norm.cdf(m - 20) - 0.5, 5, 25)
    got = coverage(draw, true_median)
    assert 0.93 <= got <= 0.99
    assert got == pytest.approx(order_statistic_ranks(15)[2], abs=0.0125)


def test_a_ratio_of_medians_twice_apart_has_its_interval_around_2():
    b = shuffled([0.90, 0.93, 0.95, 0.97, 0.99, 1.00, 1.01, 1.03, 1.05, 1.07, 1.10], 4)
    a = shuffled([2 * x for x in [0.91, 0.92, 0.96, 0.98, 0.995, 1.00, 1.005, 1.02, 1.04, 1.08, 1.09]], 5)
    r = ratio_of_medians(a, b)
    assert r.ratio == pytest.approx(2.0) and r.median_a == pytest.approx(2.0) and r.median_b == 1.0
    assert 1.85 < r.low < 2.0 < r.high < 2.15 and r.reason == ""
    assert (r.resamples, r.seed, r.confidence) == (2000, 0, 0.95)


def test_the_bootstrap_is_deterministic_for_a_seed():
    rng = np.random.default_rng(6)
    a, b = list(rng.lognormal(0.1, 0.3, 12)), list(rng.lognormal(0.0, 0.3, 9))
    first, again = ratio_of_medians(a, b, seed=3), ratio_of_medians(a, b, seed=3)
    assert (first.low, first.high) == (again.low, again.high)
    other = ratio_of_medians(a, b, seed=4)
    assert (other.low, other.high) != (first.low, first.high) and other.ratio == first.ratio


def test_the_bootstrap_drawn_in_blocks_gives_the_same_interval(monkeypatch):
    """Long samples are resampled block by block to bound memory; the blocks draw the same stream."""
    rng = np.random.default_rng(8)
    a, b = list(rng.lognormal(0.0, 0.2, 30)), list(rng.lognormal(0.0, 0.2, 25))
    whole = ratio_of_medians(a, b, resamples=500)
    monkeypatch.setattr(robust, "BLOCK_VALUES", 7 * 30)
    assert ratio_of_medians(a, b, resamples=500) == whole


def test_too_few_or_non_positive_values_give_no_interval_and_say_why():
    one = ratio_of_medians([1.0], [1.8, 2.2])
    assert one.ratio == 0.5 and one.low is None and "too few samples" in one.reason
    zero = ratio_of_medians([1.0, 2.0], [0.0, 0.0, 1.0])
    assert zero.ratio is None and "positive medians" in zero.reason
    with pytest.raises(ValueError, match="no values"):
        median_ci([])


def test_summarize_gives_the_chosen_statistic_with_its_interval():
    values = [1.0, 1.1, 0.9, 1.05, 0.95, 1.02, 0.98, 3.0, 1.01, 0.99]     # one run from a busy moment
    mean = verdict.summarize(values, "mean")
    ci = verdict.mean_ci(values)
    assert (mean.statistic, mean.center, mean.n) == ("mean", ci.mean, 10)
    assert (mean.low, mean.high) == pytest.approx((ci.mean - ci.half_width, ci.mean + ci.half_width))
    median = verdict.summarize(values, "median")
    assert (median.statistic, median.center, median.low, median.high) == ("median", 1.005, 0.95, 1.1)
    assert median.high - median.low < mean.high - mean.low           # the outlier widens only the mean's
    assert verdict.summarize([2.0], "mean").low is None and verdict.summarize([2.0], "median").low is None
    with pytest.raises(ValueError, match="unknown statistic 'mode'"):
        verdict.summarize(values, "mode")
