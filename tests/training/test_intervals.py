"""Confidence intervals of the report against hand-computed values and their defining properties."""

import math

import numpy as np
import pytest

from training.evaluate import classification_metrics
from training.intervals import accuracy_interval, macro_f1_interval

Z95 = 1.959963984540054


def wilson_by_hand(correct: int, n: int) -> tuple[float, float]:
    p = correct / n
    centre = (p + Z95**2 / (2 * n)) / (1 + Z95**2 / n)
    half = Z95 / (1 + Z95**2 / n) * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n))
    return centre - half, centre + half


def test_accuracy_interval_is_the_wilson_interval():
    labels = np.zeros(100, dtype=int)
    predicted = labels.copy()
    predicted[:5] = 1  # 95 of 100 right
    low, high = accuracy_interval(labels, predicted)
    assert (low, high) == pytest.approx(wilson_by_hand(95, 100), abs=1e-9)
    assert (low, high) == pytest.approx((0.8882, 0.9785), abs=1e-4)


def test_perfect_accuracy_still_has_a_lower_bound_below_one():
    # The normal approximation would claim [1, 1]; Wilson says what n images can show.
    labels = np.arange(2563) % 8
    low, high = accuracy_interval(labels, labels)
    assert high == pytest.approx(1.0)
    assert low == pytest.approx(2563 / (2563 + Z95**2), abs=1e-9)
    assert low < 0.9986


def test_macro_f1_interval_brackets_the_estimate_is_seeded_and_shrinks_with_n():
    rng = np.random.default_rng(0)

    def sample(n):
        labels = rng.integers(0, 8, n)
        predicted = np.where(rng.random(n) < 0.9, labels, (labels + 1) % 8)
        return labels, predicted

    small = sample(200)
    large = sample(5000)
    from sklearn.metrics import f1_score

    estimate = f1_score(*small, average="macro")
    low, high = macro_f1_interval(*small, seed=3)
    assert low < estimate < high
    assert macro_f1_interval(*small, seed=3) == (low, high)
    large_low, large_high = macro_f1_interval(*large, seed=3)
    assert (large_high - large_low) < (high - low) / 2


def test_macro_f1_interval_of_perfect_predictions_is_a_point():
    labels = np.arange(64) % 8
    assert macro_f1_interval(labels, labels, seed=0, resamples=50) == (1.0, 1.0)


def test_intervals_refuse_an_empty_split():
    empty = np.array([], dtype=int)
    with pytest.raises(ValueError):
        accuracy_interval(empty, empty)
    with pytest.raises(ValueError):
        macro_f1_interval(empty, empty, seed=0)


def test_classification_metrics_report_intervals_around_their_estimates():
    labels = np.arange(80) % 8
    predicted = labels.copy()
    predicted[::10] = (predicted[::10] + 1) % 8  # 8 of 80 wrong
    probs = np.full((80, 8), 0.01)
    probs[np.arange(80), predicted] = 0.93
    m = classification_metrics(labels, probs, seed=1)
    assert m["accuracy"] == pytest.approx(0.9)
    assert m["accuracy_ci95"] == pytest.approx(list(wilson_by_hand(72, 80)))
    low, high = m["macro_f1_ci95"]
    assert low < m["macro_f1"] < high
