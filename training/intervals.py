"""95% confidence intervals for the headline metrics.

A test split of ~2,500 images measures accuracy to about ±0.35 points, which is
wider than the gap between most published PBC results; the report states that
uncertainty next to every headline number instead of leaving readers to guess.
Accuracy gets the Wilson score interval (exact enough for proportions near 1,
where the normal approximation overshoots 100%); macro-F1, which has no closed
form, gets a seeded percentile bootstrap over images.
"""

from __future__ import annotations

import numpy as np

CONFIDENCE = 0.95
BOOTSTRAP_RESAMPLES = 1000


def accuracy_interval(labels: np.ndarray, predicted: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Wilson score interval of the accuracy of ``predicted`` against ``labels``."""
    from scipy.stats import binomtest

    n = len(labels)
    if n == 0:
        raise ValueError("an interval needs at least one image")
    correct = int(np.sum(np.asarray(labels) == np.asarray(predicted)))
    interval = binomtest(correct, n).proportion_ci(confidence_level=confidence, method="wilson")
    return float(interval.low), float(interval.high)


def macro_f1_interval(
    labels: np.ndarray,
    predicted: np.ndarray,
    seed: int,
    confidence: float = CONFIDENCE,
    resamples: int = BOOTSTRAP_RESAMPLES,
) -> tuple[float, float]:
    """Percentile bootstrap interval of the macro-F1 over the classes present in ``labels``.

    Images are resampled with replacement (label and prediction together); the
    class set is fixed to the one the point estimate uses, so a resample that
    happens to miss a rare class scores it 0 rather than silently dropping it.
    """
    from sklearn.metrics import f1_score

    labels, predicted = np.asarray(labels), np.asarray(predicted)
    if len(labels) == 0:
        raise ValueError("an interval needs at least one image")
    present = sorted(set(labels.tolist()))
    rng = np.random.default_rng(seed)
    scores = np.empty(resamples)
    for i in range(resamples):
        pick = rng.integers(0, len(labels), size=len(labels))
        scores[i] = f1_score(labels[pick], predicted[pick], labels=present, average="macro", zero_division=0)
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(scores, [tail, 100.0 - tail])
    return float(low), float(high)
