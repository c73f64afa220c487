"""Fit and cross-validate a lab profile's head on pooled features, in numpy (no TensorFlow, no SciPy).

The head (:class:`Head`) gives new logits to the classes the lab reviewed enough cells of
(``FitSettings.min_cells``): a multinomial logistic regression on the cell's pooled features,
centred on the mean of the lab's cells and L2-normalised (``scale * (f - mu) / |f - mu|``),
fitted with an L2 penalty, class-balanced weights and the eight dihedral views of every
reviewed cell (a cell has no "up"). Every other class keeps the base model's logit
``f @ W + b``, and the softmax is over all eight classes, so the new classes learn to beat the
others only where the lab's cells say so. With the gate on (the default), a cell the base
model knows (its energy at or below the model card's limit, the cells "like the training
cells") keeps the base model's logits entirely: the lab's head decides only where the base
model cannot (measured: PBC test stays above 98% for a profile fitted on another lab).

Logits come out already divided by the base model's calibration temperature where the base
model decides, so a profile's temperature is 1.

:func:`cross_validate` measures the head on held-out reviewed cells (stratified folds) beside
the base model on the same cells.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from hemoapp.core.assessability import energy_score


class FitCancelled(Exception):
    """The fit was cancelled (its cancel event was set)."""


@dataclass(frozen=True)
class FitSettings:
    """How a head is fitted (the defaults are the measured ones: training/EXPERIMENTS.md, "Lab profiles").

    Attributes:
        min_cells: reviewed cells a class needs before the lab's head takes it over.
        l2: L2 penalty on the head's weights.
        scale: length of the normalised feature vector (the logits' scale).
        steps: full-batch Adam steps.
        learning_rate: Adam's step size.
        views: how many of the 8 dihedral views of each reviewed cell are fitted on.
        class_balanced: weight each class's cells by ``n / (classes * n_class)``.
        gate: cells the base model knows (energy <= the card's limit) keep its logits.
        folds: folds of the stratified cross-validation (fewer when a class has fewer cells).
        seed: the folds' shuffle.
    """

    min_cells: int = 5
    l2: float = 1e-3
    scale: float = 10.0
    steps: int = 300
    learning_rate: float = 0.05
    views: int = 8
    class_balanced: bool = True
    gate: bool = True
    folds: int = 5
    seed: int = 0

    def to_dict(self) -> dict:
        """The settings as JSON-ready values."""
        return asdict(self)


@dataclass
class Head:
    """A fitted lab head (see the module's docstring for the logits it gives).

    Attributes:
        adapted: indices of the classes the head gives logits to (contract order).
        weights: float64 ``(C, len(adapted))``.
        biases: float64 ``(len(adapted),)``.
        centre: float64 ``(C,)``, the lab cells' mean feature vector.
        scale: the normalised features' length.
        energy_limit: cells whose base energy is at or below it keep the base logits (``None``: never).
        temperature: the base model's calibration temperature (divides the base logits).
    """

    adapted: tuple[int, ...]
    weights: np.ndarray
    biases: np.ndarray
    centre: np.ndarray
    scale: float
    energy_limit: float | None = None
    temperature: float = 1.0
    extra: dict = field(default_factory=dict)


def normalised(features: np.ndarray, centre: np.ndarray, scale: float) -> np.ndarray:
    """``scale * (f - centre) / |f - centre|`` row by row (float64)."""
    shifted = np.asarray(features, dtype=np.float64) - centre
    norms = np.linalg.norm(shifted, axis=-1, keepdims=True)
    return scale * shifted / np.maximum(norms, 1e-12)


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    np.exp(shifted, out=shifted)
    return shifted / shifted.sum(axis=1, keepdims=True)


def head_logits(head: Head, pooled: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """The profile's logits ``(N, 8)`` (float64) for pooled features ``(N, C)``."""
    pooled = np.asarray(pooled, dtype=np.float64)
    base = pooled @ np.asarray(kernel, dtype=np.float64) + np.asarray(bias, dtype=np.float64)
    logits = base / head.temperature
    if head.adapted:
        logits[:, list(head.adapted)] = normalised(pooled, head.centre, head.scale) @ head.weights + head.biases
    if head.energy_limit is not None:
        known = energy_score(base) <= head.energy_limit
        logits[known] = base[known] / head.temperature
    return logits


def adapted_classes(labels: np.ndarray, min_cells: int, class_count: int) -> tuple[int, ...]:
    """Classes with at least ``min_cells`` of ``labels`` (indices), in order."""
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=class_count)
    return tuple(int(c) for c in np.flatnonzero(counts >= min_cells))


def fit_head(features: np.ndarray, labels: np.ndarray, kernel: np.ndarray, bias: np.ndarray,
             settings: FitSettings = FitSettings(), energy_limit: float | None = None,
             temperature: float = 1.0, cancel: threading.Event | None = None,
             adapted: Sequence[int] | None = None) -> Head:
    """Fit a :class:`Head` on reviewed cells.

    Args:
        features: float ``(N, V, C)`` pooled features of each cell's dihedral views (view 0 the
            picture as it is), or ``(N, C)`` for one view.
        labels: ``(N,)`` class indices (contract order).
        kernel, bias: the base model's head (``(C, K)``, ``(K,)``).
        settings: see :class:`FitSettings`.
        energy_limit: the base model card's energy limit (used when ``settings.gate``).
        temperature: the base model's calibration temperature.
        cancel: when set, :class:`FitCancelled` is raised between steps.
        adapted: the classes to adapt (default: those with ``settings.min_cells`` cells here; the
            cross-validation passes those of all the reviewed cells, so each fold fits the same classes).

    Raises:
        ValueError: no class has ``settings.min_cells`` cells.
    """
    features = np.asarray(features, dtype=np.float64)
    if features.ndim == 2:
        features = features[:, None]
    labels = np.asarray(labels, dtype=np.int64)
    class_count = int(np.asarray(kernel).shape[1])
    if adapted is None:
        adapted = adapted_classes(labels, settings.min_cells, class_count)
    adapted = tuple(int(c) for c in adapted if np.any(labels == c))
    if not adapted:
        raise ValueError(f"no class has {settings.min_cells} reviewed cells")
    views = max(1, min(settings.views, features.shape[1]))
    centre = features[:, 0].mean(axis=0)
    rows = features[:, :views].reshape(-1, features.shape[2])
    y = np.repeat(labels, views)
    z = normalised(rows, centre, settings.scale)
    base = rows @ np.asarray(kernel, dtype=np.float64) + np.asarray(bias, dtype=np.float64)
    base /= temperature
    counts = np.bincount(y, minlength=class_count).astype(np.float64)
    if settings.class_balanced:
        present = counts > 0
        class_weight = np.where(present, len(y) / (present.sum() * np.maximum(counts, 1)), 0.0)
    else:
        class_weight = np.ones(class_count)
    sample_weight = class_weight[y]
    sample_weight /= sample_weight.sum()
    target = np.eye(class_count)[y]
    columns = list(adapted)
    weights = np.zeros((z.shape[1], len(adapted)))
    biases = np.zeros(len(adapted))
    moments = [[np.zeros_like(weights), np.zeros_like(weights)], [np.zeros_like(biases), np.zeros_like(biases)]]
    beta1, beta2 = 0.9, 0.999
    for step in range(1, settings.steps + 1):
        if cancel is not None and step % 25 == 0 and cancel.is_set():
            raise FitCancelled("the fit was cancelled")
        logits = base.copy()
        logits[:, columns] = z @ weights + biases
        grad = (_softmax(logits) - target)[:, columns] * sample_weight[:, None]
        grads = (z.T @ grad + settings.l2 * weights, grad.sum(axis=0))
        for param, gradient, moment in zip((weights, biases), grads, moments):
            moment[0] = beta1 * moment[0] + (1 - beta1) * gradient
            moment[1] = beta2 * moment[1] + (1 - beta2) * gradient * gradient
            param -= settings.learning_rate * (moment[0] / (1 - beta1 ** step)) / (
                np.sqrt(moment[1] / (1 - beta2 ** step)) + 1e-8)
    return Head(adapted, weights, biases, centre, float(settings.scale),
                float(energy_limit) if (settings.gate and energy_limit is not None) else None, float(temperature))


def stratified_folds(labels: np.ndarray, folds: int, seed: int = 0) -> list[np.ndarray]:
    """Held-out index sets of a stratified ``folds``-fold split (each class dealt round the folds)."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    parts: list[list[int]] = [[] for _ in range(folds)]
    offset = 0
    for name in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == name))
        for i, index in enumerate(members):
            parts[(offset + i) % folds].append(int(index))
        offset += len(members)
    return [np.array(sorted(p), dtype=np.int64) for p in parts if p]


@dataclass(frozen=True)
class CrossValidation:
    """A head and the base model on the same held-out reviewed cells.

    Attributes:
        n: held-out cells (every reviewed cell, once).
        profile_correct: those the profile classified right.
        base_correct: those the base model classified right.
        folds: folds used.
        per_class: ``{class index: (n, profile right, base right)}``.
    """

    n: int
    profile_correct: int
    base_correct: int
    folds: int
    per_class: dict[int, tuple[int, int, int]]

    @property
    def profile_accuracy(self) -> float:
        """The profile's share right."""
        return self.profile_correct / self.n if self.n else 0.0

    @property
    def base_accuracy(self) -> float:
        """The base model's share right."""
        return self.base_correct / self.n if self.n else 0.0


def cross_validate(features: np.ndarray, labels: np.ndarray, kernel: np.ndarray, bias: np.ndarray,
                   settings: FitSettings = FitSettings(), energy_limit: float | None = None,
                   temperature: float = 1.0, progress: Callable[[int, int], None] | None = None,
                   cancel: threading.Event | None = None) -> CrossValidation:
    """Stratified k-fold cross-validation of :func:`fit_head`, beside the base model.

    Each fold is held out once; the head is fitted on the other folds (a fold whose training
    part has no cell of the adapted classes gives the base model's answers). Each fold adapts the
    classes that have ``min_cells`` among all the cells, as the profile itself does. ``folds`` is
    ``settings.folds``, fewer when the smallest adapted class has fewer cells (at least 2).
    ``progress(done, total)`` after each fold.

    Raises:
        FitCancelled: ``cancel`` was set.
        ValueError: fewer than 2 cells of every class that has ``min_cells``.
    """
    features = np.asarray(features, dtype=np.float64)
    if features.ndim == 2:
        features = features[:, None]
    labels = np.asarray(labels, dtype=np.int64)
    counts = np.bincount(labels, minlength=int(np.asarray(kernel).shape[1]))
    adapted = [c for c in np.flatnonzero(counts >= settings.min_cells)]
    if not adapted:
        raise ValueError(f"no class has {settings.min_cells} reviewed cells")
    folds = int(max(2, min(settings.folds, min(counts[c] for c in adapted))))
    parts = stratified_folds(labels, folds, settings.seed)
    profile_pred = np.zeros(len(labels), dtype=np.int64)
    base_pred = np.argmax(features[:, 0] @ np.asarray(kernel, np.float64) + np.asarray(bias, np.float64), axis=1)
    for done, held in enumerate(parts, start=1):
        if cancel is not None and cancel.is_set():
            raise FitCancelled("the fit was cancelled")
        train = np.setdiff1d(np.arange(len(labels)), held)
        try:
            head = fit_head(features[train], labels[train], kernel, bias, settings, energy_limit, temperature, cancel,
                            adapted)
            profile_pred[held] = np.argmax(head_logits(head, features[held, 0], kernel, bias), axis=1)
        except ValueError:
            profile_pred[held] = base_pred[held]
        if progress is not None:
            progress(done, len(parts))
    per_class = {}
    for c in np.unique(labels):
        mask = labels == c
        per_class[int(c)] = (int(mask.sum()), int((profile_pred[mask] == c).sum()), int((base_pred[mask] == c).sum()))
    return CrossValidation(len(labels), int((profile_pred == labels).sum()), int((base_pred == labels).sum()),
                           len(parts), per_class)


def views_to_fit(settings: FitSettings, available: Sequence) -> Sequence:
    """The first ``settings.views`` of ``available`` dihedral views (at least the picture itself)."""
    return list(available)[: max(1, min(settings.views, len(available)))]
