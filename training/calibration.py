"""Temperature scaling, expected calibration error and the review threshold."""

from __future__ import annotations

import numpy as np

from hemoapp.core.classifier import softmax

__all__ = ["softmax", "fit_temperature", "expected_calibration_error", "reliability_bins", "choose_review_threshold"]


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
