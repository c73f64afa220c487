"""Calibration and metrics against hand-computed values."""

import numpy as np
import pytest

from training.calibration import (
    choose_review_threshold,
    expected_calibration_error,
    fit_temperature,
    negative_log_likelihood,
    review_outcome,
    risk_coverage,
    softmax,
)
from training.evaluate import classification_metrics


def test_softmax_rows_sum_to_one_and_temperature_flattens():
    logits = np.array([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    p1 = softmax(logits)
    np.testing.assert_allclose(p1.sum(axis=1), 1.0)
    np.testing.assert_allclose(p1[0, 0], np.e**2 / (np.e**2 + 2))
    assert softmax(logits, 2.0)[0, 0] < p1[0, 0]


def test_fit_temperature_recovers_the_scale_of_overconfident_logits():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 8, 4000)
    true_logits = rng.normal(size=(4000, 8))
    true_logits[np.arange(4000), labels] += 2.0
    # Draw labels from the true model so that T=1 is right for true_logits ...
    probs = softmax(true_logits)
    labels = np.array([rng.choice(8, p=p) for p in probs])
    # ... then make the model 3x overconfident: the fitted T must undo it.
    fitted = fit_temperature(true_logits * 3.0, labels)
    assert fitted == pytest.approx(3.0, rel=0.1)
    assert negative_log_likelihood(true_logits * 3.0, labels, fitted) < negative_log_likelihood(true_logits * 3.0, labels, 1.0)


def test_ece_hand_computed():
    # Two bins used: confidence 0.95 (2 samples, 1 correct) and 0.65 (2 samples, both correct).
    probs = np.array([[0.95, 0.05], [0.95, 0.05], [0.65, 0.35], [0.35, 0.65]])
    labels = np.array([0, 1, 0, 1])
    # |0.5-0.95|*2/4 + |1.0-0.65|*2/4 = 0.225 + 0.175
    assert expected_calibration_error(probs, labels, n_bins=10) == pytest.approx(0.4)


def test_review_threshold_is_lowest_that_reaches_precision():
    probs = np.array([[0.99, 0.01], [0.97, 0.03], [0.80, 0.20], [0.60, 0.40], [0.55, 0.45]])
    labels = np.array([0, 0, 1, 0, 0])  # the 0.80 prediction is wrong
    assert choose_review_threshold(probs, labels, target_precision=1.0) == pytest.approx(0.81)
    assert choose_review_threshold(probs, labels, target_precision=0.75) == pytest.approx(0.5)


def test_classification_metrics_hand_computed():
    labels = np.array([0, 0, 1, 1, 2, 2, 2, 3])
    predicted = np.array([0, 1, 1, 1, 2, 2, 0, 3])
    probs = np.full((8, 8), 0.01)
    probs[np.arange(8), predicted] = 0.93
    m = classification_metrics(labels, probs)
    assert m["accuracy"] == pytest.approx(6 / 8)
    confusion = np.array(m["confusion"])
    assert confusion[0, 1] == 1 and confusion[2, 0] == 1 and np.trace(confusion) == 6
    # class 0 predicted twice, once right; class 1: precision 2/3, recall 1 -> F1 0.8
    assert m["report"]["basophil"]["precision"] == pytest.approx(1 / 2)
    assert m["report"]["eosinophil"]["precision"] == pytest.approx(2 / 3)
    assert m["report"]["eosinophil"]["f1-score"] == pytest.approx(0.8)
    assert m["confusion_normalized"][2][2] == pytest.approx(2 / 3)


# Five cells, two classes: confidences 0.95, 0.9, 0.8, 0.7, 0.6; the 0.9 and 0.6 ones are wrong.
_REVIEW_PROBS = np.array([[0.95, 0.05], [0.1, 0.9], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
_REVIEW_LABELS = np.array([0, 0, 0, 1, 1])


def test_review_outcome_hand_computed():
    outcome = review_outcome(_REVIEW_PROBS, _REVIEW_LABELS, threshold=0.75)
    # Unflagged: 0.95 (right), 0.9 (wrong), 0.8 (right); flagged: 0.7 (right), 0.6 (wrong).
    assert outcome["flagged"] == 2 and outcome["flagged_fraction"] == pytest.approx(0.4)
    assert outcome["errors"] == 2 and outcome["errors_flagged"] == 1 and outcome["unflagged_wrong"] == 1
    assert outcome["unflagged_accuracy"] == pytest.approx(2 / 3)
    low, high = outcome["unflagged_accuracy_ci95"]
    assert low < 2 / 3 < high


def test_review_outcome_when_every_cell_is_flagged():
    outcome = review_outcome(_REVIEW_PROBS, _REVIEW_LABELS, threshold=0.99)
    assert outcome["flagged"] == 5 and outcome["unflagged_wrong"] == 0
    assert outcome["unflagged_accuracy"] is None and outcome["unflagged_accuracy_ci95"] is None


def test_risk_coverage_hand_computed():
    coverage, error = risk_coverage(_REVIEW_PROBS, _REVIEW_LABELS)
    np.testing.assert_allclose(coverage, [0.2, 0.4, 0.6, 0.8, 1.0])
    # Accepting by falling confidence: right, wrong, right, right, wrong.
    np.testing.assert_allclose(error, [0.0, 1 / 2, 1 / 3, 1 / 4, 2 / 5])


def test_risk_coverage_accepts_equal_confidences_together():
    probs = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.7, 0.3]])
    labels = np.array([0, 0, 0, 0])  # the second cell is wrong, tied with two right ones at 1.0
    coverage, error = risk_coverage(probs, labels)
    np.testing.assert_allclose(coverage, [0.75, 1.0])
    np.testing.assert_allclose(error, [1 / 3, 1 / 4])
