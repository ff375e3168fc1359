"""Spearman's rank correlation and its interval, against answers worked by hand."""

from __future__ import annotations

import math

import pytest

from hwprof.analysis.rank import ranks, spearman

pytestmark = pytest.mark.quick


def test_ties_share_the_mean_of_their_ranks():
    assert ranks([30, 10, 20, 20]) == [4.0, 1.0, 2.5, 2.5]


def test_rho_equals_the_textbook_formula_without_ties_and_its_interval_holds_it():
    x, y = [1, 2, 3, 4, 5, 6], [2, 1, 4, 3, 6, 5]
    # No ties: rho = 1 - 6 * sum(d^2) / (n (n^2 - 1)); every d is +-1 here, so sum(d^2) = 6.
    assert spearman(x, y).rho == pytest.approx(1 - 6 * 6 / (6 * 35))
    rc = spearman(x, y)
    z, half = math.atanh(rc.rho), 1.959964 * math.sqrt((1 + rc.rho ** 2 / 2) / 3)
    assert (rc.low, rc.high) == pytest.approx((math.tanh(z - half), math.tanh(z + half)), rel=1e-5)
    assert -1 < rc.low < rc.rho < rc.high < 1 and rc.verdict == "no evidence"   # 6 pairs: wide


def test_a_strong_ordering_over_many_pairs_is_called_and_a_reversed_one_too():
    x = list(range(20))
    y = [v + (1 if v % 2 else -1) for v in x]          # neighbours swapped: still strongly ordered
    assert spearman(x, y).verdict == "orders alike"
    assert spearman(x, [-v for v in y]).verdict == "orders opposite"


def test_few_pairs_a_constant_side_and_a_perfect_ordering():
    assert spearman([1, 2, 3], [1, 2, 3]).low is None and spearman([1, 2, 3], [1, 2, 3]).verdict == "too few"
    assert spearman([1, 2, 3, 4], [5, 5, 5, 5]).rho is None
    perfect = spearman([1, 2, 3, 4, 5], [10, 20, 30, 40, 50])
    assert perfect.rho == pytest.approx(1) and perfect.low is None and perfect.p_exact == pytest.approx(2 / 120)
    assert perfect.verdict == "orders alike" and spearman([1, 2, 3, 4], [1, 2, 3, 4]).verdict == "no evidence"
    with pytest.raises(ValueError, match="differ in length"):
        spearman([1, 2], [1])
