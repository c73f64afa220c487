"""Exact binomial tails and proportion intervals, checked against 50-digit sums, SciPy and closed forms."""

from __future__ import annotations

from decimal import Decimal, localcontext
from math import comb

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from hemoapp.core import binomial
from hemoapp.core.binomial import binomial_tail, proportion_interval


def exact_tail(k: int, n: int, p: float) -> float:
    """P(X >= k) summed with 50 significant digits (a float converts to ``Decimal`` exactly)."""
    with localcontext() as context:
        context.prec = 50
        p_exact = Decimal(p)
        q_exact = 1 - p_exact
        return float(sum(comb(n, j) * _power(p_exact, j) * _power(q_exact, n - j) for j in range(max(k, 0), n + 1)))


def _power(base: Decimal, exponent: int) -> Decimal:
    return Decimal(1) if exponent == 0 else base**exponent  # Decimal calls 0 ** 0 undefined; here it is 1


@settings(max_examples=200, deadline=None)
@given(n=st.integers(0, 400), k=st.integers(-2, 402), p=st.floats(0.0, 1.0))
@example(n=250, k=236, p=0.046875)  # where SciPy, the earlier reference, is 3.5e-9 off
def test_binomial_tail_matches_exact_arithmetic(n, k, p):
    # 50 digits, not SciPy: in far tails SciPy's own error reaches 1e-8 (for 250 cells,
    # 236 or more at p = 3/64 it is 3.5e-9 off the exact 3.32083538644094e-292; this is 3e-14 off).
    assert binomial_tail(k, n, p) == pytest.approx(exact_tail(k, n, p), rel=1e-9, abs=1e-300)


@pytest.mark.parametrize(("k", "n", "p"), [(30, 20_000, 0.001), (9_000, 20_000, 0.5), (10_100, 20_000, 0.5)])
def test_binomial_tail_holds_for_large_batches(k, n, p):
    stats = pytest.importorskip("scipy.stats")
    assert binomial_tail(k, n, p) == pytest.approx(float(stats.binom.sf(k - 1, n, p)), rel=1e-8)


@settings(max_examples=150, deadline=None)
@given(data=st.data(), total=st.integers(1, 3_000))
def test_the_interval_is_scipys_exact_clopper_pearson(data, total):
    stats = pytest.importorskip("scipy.stats")
    count = data.draw(st.integers(0, total))
    expected = stats.binomtest(count, total).proportion_ci(confidence_level=0.95, method="exact")
    low, high = proportion_interval(count, total)
    assert low == pytest.approx(expected.low, abs=1e-9)
    assert high == pytest.approx(expected.high, abs=1e-9)
    assert low <= count / total <= high


@pytest.mark.parametrize("total", [1, 10, 100, 200, 1_000])
def test_no_cells_or_all_cells_have_closed_form_bounds(total):
    # With none of n cells counted the upper bound solves (1 - p)^n = 2.5%; with all, p^n = 2.5%.
    assert proportion_interval(0, total) == (0.0, pytest.approx(1.0 - 0.025 ** (1.0 / total), abs=1e-12))
    assert proportion_interval(total, total) == (pytest.approx(0.025 ** (1.0 / total), abs=1e-12), 1.0)


def test_rumkes_table_row_for_a_100_cell_differential():
    # Rümke's table, 100 cells counted: 5% observed lies in 2-11%, 50% in 40-60% (rounded).
    low, high = proportion_interval(5, 100)
    assert (round(low * 100), round(high * 100)) == (2, 11)
    low, high = proportion_interval(50, 100)
    assert (round(low * 100), round(high * 100)) == (40, 60)


def test_counting_more_cells_narrows_the_interval():
    widths = [high - low for low, high in (proportion_interval(n // 10, n) for n in (100, 200, 500, 1_000))]
    assert widths == sorted(widths, reverse=True)
    assert widths[0] > 2 * widths[-1]


def test_a_lower_confidence_gives_a_narrower_interval():
    low95, high95 = proportion_interval(20, 100)
    low80, high80 = proportion_interval(20, 100, confidence=0.80)
    assert low95 < low80 < 0.2 < high80 < high95


def test_nothing_counted_has_no_interval_and_bad_arguments_are_refused():
    assert proportion_interval(0, 0) is None
    with pytest.raises(ValueError, match="outside"):
        proportion_interval(5, 4)
    with pytest.raises(ValueError, match="outside"):
        proportion_interval(-1, 4)
    with pytest.raises(ValueError, match="confidence"):
        proportion_interval(1, 4, confidence=1.0)


@pytest.mark.parametrize(
    ("count", "total"), [(1, 50_000), (2_330, 11_965), (25_000, 50_000), (49_999, 50_000), (7, 12_000)]
)
def test_the_interval_holds_for_large_batches(count, total):
    stats = pytest.importorskip("scipy.stats")
    expected = stats.binomtest(count, total).proportion_ci(confidence_level=0.95, method="exact")
    low, high = proportion_interval(count, total)
    assert low == pytest.approx(expected.low, abs=1e-9)
    assert high == pytest.approx(expected.high, abs=1e-9)


def test_an_interval_costs_a_few_tails_not_one_per_bisection_step(monkeypatch):
    """The window refreshes a dozen intervals several times a second while a batch runs: each must be cheap."""
    tails = []
    real_tail = binomial.binomial_tail
    monkeypatch.setattr(binomial, "binomial_tail", lambda *args: tails.append(args) or real_tail(*args))
    binomial._interval.cache_clear()
    for count, total in [(1, 11_965), (120, 11_965), (2_330, 11_965), (11_900, 11_965), (11_965, 11_965), (50, 100)]:
        tails.clear()
        proportion_interval(count, total)
        assert len(tails) <= 20, (count, total, len(tails))  # both bounds; bisection to 2**-50 took 100
