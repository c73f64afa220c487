"""Exact binomial probabilities and intervals, without SciPy (which the app does not ship).

Two questions in the app are binomial: is a batch's share of unsure cells more than
chance would give (:mod:`hemoapp.core.unsure_share`), and how precisely does a count of
N cells measure a class's share of the blood (the differential's interval,
:func:`proportion_interval`). Both are answered exactly here, in log space so that
counts of tens of thousands of cells neither overflow nor lose the tail.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

#: The confidence of the intervals the app shows: the 95% of Rümke's table (CLSI H20).
CONFIDENCE = 0.95

# An interval's bound is found to this relative precision (far below the 0.01 points printed),
# in at most _MAX_STEPS tails (bisection alone reaches 2**-60 of the bracket in 60).
_TOLERANCE = 1e-13
_MAX_STEPS = 60

# Terms summed per step of a tail: past the distribution's mode the sum stops at the first
# step whose last term no longer counts, so a tail costs the few thousand terms that matter,
# not one per counted cell.
_CHUNK = 1024

# log(i!) for i = 0, 1, …, grown on demand: a summary asks for ever larger counts while
# a batch runs, and each new count then costs only the factorials it adds. The table is
# replaced when it grows, never changed in place, so the report's worker thread and the
# GUI thread can both read it without a lock.
_log_factorial = np.zeros(1)


def _log_factorials(n: int) -> np.ndarray:
    """``log(i!)`` for at least ``i = 0 … n``."""
    global _log_factorial
    table = _log_factorial
    if n >= len(table):
        grown = range(len(table), max(n + 1, 2 * len(table)))
        table = np.concatenate([table, [math.lgamma(i + 1) for i in grown]])
        _log_factorial = table
    return table


def binomial_tail(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p), exact (summed in log space)."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    if p <= 0.0:
        return 0.0
    if p >= 1.0:
        return 1.0
    log_factorial = _log_factorials(n)
    log_p, log_q = math.log(p), math.log1p(-p)
    # The sum is kept as scale * exp(log_scale), with log_scale the largest log-term so far,
    # so a tail of 1e-300 is still summed rather than lost to underflow.
    log_scale, scaled_sum = -math.inf, 0.0
    for start in range(k, n + 1, _CHUNK):
        j = np.arange(start, min(n, start + _CHUNK - 1) + 1)
        log_terms = log_factorial[n] - log_factorial[j] - log_factorial[n - j] + j * log_p + (n - j) * log_q
        largest = float(log_terms.max())
        if largest > log_scale:
            scaled_sum *= math.exp(log_scale - largest)
            log_scale = largest
        scaled_sum += float(np.exp(log_terms - log_scale).sum())
        # Past the mode the terms only shrink, geometrically: once the last one is this
        # small against the sum, the rest cannot change it.
        if j[-1] > n * p and math.exp(float(log_terms[-1]) - log_scale) < scaled_sum * 1e-17:
            break
    return min(1.0, math.exp(log_scale) * scaled_sum)


def proportion_interval(count: int, total: int, confidence: float = CONFIDENCE) -> tuple[float, float] | None:
    """The exact (Clopper–Pearson) interval of a proportion ``count / total``, as fractions.

    It is the interval Rümke's table of confidence limits for differential counts
    lists (CLSI H20): the range of true shares that would give ``count`` of ``total``
    counted cells with probability above ``(1 - confidence) / 2`` either way. It
    covers counting (sampling) error only, not classification errors. ``None`` when
    nothing was counted.
    """
    if total <= 0:
        return None
    if not 0 <= count <= total:
        raise ValueError(f"count {count} is outside 0…{total}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence {confidence} is not between 0 and 1")
    return _interval(int(count), int(total), float(confidence))


@lru_cache(maxsize=256)
def _interval(count: int, total: int, confidence: float) -> tuple[float, float]:
    tail = (1.0 - confidence) / 2.0
    # Lower bound: the share at which `count` or more is as unlikely as `tail` (0 for no cells).
    low = 0.0 if count == 0 else _tail_root(count, total, tail)
    # Upper bound: the share at which `count` or fewer is that unlikely; P(X <= count | p)
    # is P(total - X >= total - count | 1 - p), which keeps the sum free of cancellation.
    high = 1.0 if count == total else 1.0 - _tail_root(total - count, total, tail)
    return low, high


def _tail_root(k: int, n: int, target: float) -> float:
    """The ``p`` in (0, 1) at which ``binomial_tail(k, n, p) == target``, for ``1 <= k <= n``.

    The tail rises with ``p`` from 0 to 1, and its slope is known in closed form (the density
    of a Beta(k, n - k + 1) variable), so Newton's method finds the root in a handful of tails
    where bisection to the same precision took 50: a summary of 12,000 cells asks for a dozen
    intervals each time it is refreshed while a batch runs. A step that would leave the bracket
    in which the root is known to lie bisects it instead, so the search cannot diverge.
    """
    low, high = 0.0, 1.0
    log_scale = math.log(k) + _log_choose(n, k)
    p = _start(k, n)
    for _ in range(_MAX_STEPS):
        excess = binomial_tail(k, n, p) - target
        if excess < 0.0:
            low = p
        else:
            high = p
        slope = math.exp(log_scale + (k - 1) * math.log(p) + (n - k) * math.log1p(-p))  # 0.0 if it underflows
        following = p - excess / slope if slope > 0.0 else math.nan
        if abs(following - p) <= _TOLERANCE * p:  # converged (the step may round to p itself: a bound)
            return following
        if not low < following < high:  # outside the bracket, or no slope to follow (NaN)
            following = (low + high) / 2.0
        if high - low <= _TOLERANCE * high:
            return following
        p = following
    return (low + high) / 2.0


def _start(k: int, n: int) -> float:
    """A first guess at :func:`_tail_root`: where the normal approximation puts the bound."""
    share = k / n
    guess = share - 2.0 * math.sqrt(share * (1.0 - share) / n)
    return min(max(guess, share / 2.0), 1.0 - 1e-9)  # inside (0, 1): k >= 1, so share / 2 > 0


def _log_choose(n: int, k: int) -> float:
    """``log(n choose k)``."""
    log_factorial = _log_factorials(n)
    return float(log_factorial[n] - log_factorial[k] - log_factorial[n - k])
