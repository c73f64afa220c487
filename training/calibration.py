"""Temperature scaling, expected calibration error and the review threshold."""

from __future__ import annotations

import numpy as np

from hemoapp.core.classifier import softmax

__all__ = [
    "softmax", "fit_temperature", "expected_calibration_error", "reliability_bins", "choose_review_threshold",
    "review_outcome", "risk_coverage",
]


def negative_log_likelihood(logits: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    """Mean NLL of the true labels under temperature-scaled softmax."""
    probs = softmax(logits, temperature)
    return float(-np.mean(np.log(np.clip(probs[np.arange(len(labels)), labels], 1e-12, None))))


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature T > 0 that minimises validation NLL (Guo et al. 2017)."""
    from scipy.optimize import minimize_scalar

    result = minimize_scalar(
        lambda log_t: negative_log_likelihood(logits, labels, float(np.exp(log_t))),
        bounds=(np.log(0.05), np.log(20.0)),
        method="bounded",
    )
    return float(np.exp(result.x))


def reliability_bins(probs: np.ndarray, labels: np.ndarray, n_bins: int = 15):
    """Per-bin (confidence, accuracy, count) of the top-1 prediction, equal-width bins on [0, 1]."""
    confidence = probs.max(axis=1)
    correct = (probs.argmax(axis=1) == labels).astype(np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # Right-closed bins so a confidence of exactly 1.0 lands in the last bin.
    index = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, n_bins - 1)
    bins = []
    for b in range(n_bins):
        mask = index == b
        count = int(mask.sum())
        bins.append(
            (
                float(confidence[mask].mean()) if count else float((edges[b] + edges[b + 1]) / 2),
                float(correct[mask].mean()) if count else float("nan"),
                count,
            )
        )
    return edges, bins


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, n_bins: int = 15) -> float:
    """ECE: the count-weighted mean |accuracy - confidence| over confidence bins."""
    _, bins = reliability_bins(probs, labels, n_bins)
    total = sum(count for _, _, count in bins)
    return float(sum(count * abs(acc - conf) for conf, acc, count in bins if count) / max(total, 1))


def choose_review_threshold(
    probs: np.ndarray, labels: np.ndarray, target_precision: float = 0.999, floor: float = 0.5, ceiling: float = 0.99
) -> float:
    """Lowest confidence threshold at which the accepted (unflagged) predictions reach the target precision.

    Cells below the threshold are flagged "review" in the app. Chosen on val so that
    at most ~1 in 1,000 unflagged cells is wrong there; clipped to [floor, ceiling].
    """
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == labels
    for threshold in np.round(np.arange(floor, ceiling + 1e-9, 0.01), 2):
        accepted = confidence >= threshold
        if accepted.sum() == 0:
            break
        if correct[accepted].mean() >= target_precision:
            return float(threshold)
    return float(ceiling)


def review_outcome(probs: np.ndarray, labels: np.ndarray, threshold: float) -> dict:
    """What the app's review flag does on a labelled split at ``threshold``.

    A technician checks the flagged cells (confidence below the threshold) and trusts
    the rest, so the numbers that matter are how many cells are flagged, how many of
    the model's errors the flag catches, and how many wrong answers pass unflagged.
    """
    from training.intervals import accuracy_interval

    confidence = probs.max(axis=1)
    predicted = probs.argmax(axis=1)
    wrong = predicted != labels
    accepted = confidence >= threshold
    outcome = {
        "threshold": float(threshold),
        "n": int(len(labels)),
        "flagged": int((~accepted).sum()),
        "flagged_fraction": float((~accepted).mean()) if len(labels) else 0.0,
        "errors": int(wrong.sum()),
        "errors_flagged": int((wrong & ~accepted).sum()),
        "unflagged_wrong": int((wrong & accepted).sum()),
        "unflagged_accuracy": None,
        "unflagged_accuracy_ci95": None,
    }
    if accepted.any():
        outcome["unflagged_accuracy"] = float((~wrong[accepted]).mean())
        outcome["unflagged_accuracy_ci95"] = list(accuracy_interval(labels[accepted], predicted[accepted]))
    return outcome


def risk_coverage(probs: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Coverage (fraction of cells not flagged) and error rate among them, for every threshold.

    One point per distinct confidence ``t``, accepting every cell with confidence >= t
    (as the app's flag does), from the highest ``t`` down: cells with equal confidence
    are accepted together, so the curve does not depend on their order.
    """
    confidence = probs.max(axis=1)
    order = np.argsort(-confidence, kind="stable")
    wrong = np.cumsum((probs.argmax(axis=1) != labels)[order])
    accepted = np.arange(1, len(labels) + 1)
    sorted_confidence = confidence[order]
    last_of_tie = np.append(sorted_confidence[1:] != sorted_confidence[:-1], True)
    return accepted[last_of_tie] / len(labels), wrong[last_of_tie] / accepted[last_of_tie]
