"""How far HemoLens agrees with a lab's own classification of the same cells.

A lab checks a classifier against cells it has already classified before relying on
it (a method comparison). :func:`compare` takes a batch's predictions and the class
each file's reference gives it (:func:`~hemoapp.core.reference_labels.reference_class`)
and returns what such a check reports: the confusion matrix (reference rows, model
columns), the overall agreement and Cohen's kappa, each class's sensitivity (how many
of the reference's cells of that class HemoLens also called so) and positive
predictive value (how many of HemoLens's cells of that class the reference agrees
with), each with its exact 95% interval, and how many of the disagreements the
review flag catches: a disagreement on an unflagged cell is one a technician would
not have been asked to look at.

It compares the *model's* class, never a person's review: it measures the model.
A cell the model cannot judge (*not assessable*: :mod:`hemoapp.core.assessability`)
is not compared, reviewed or not: it is counted apart (:attr:`Agreement.not_assessable`,
per reference class :attr:`ClassAgreement.not_assessable`), as the differential leaves
it out, so the agreement is over the cells whose class the model reports.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from hemoapp.core.binomial import proportion_interval
from hemoapp.core.contract import CLASS_NAMES
from hemoapp.core.flags import below_threshold


@dataclass(frozen=True)
class ClassAgreement:
    """One class's row of the comparison.

    Attributes:
        name: the class.
        reference: cells the reference puts in this class.
        predicted: cells HemoLens puts in this class (among cells with a reference).
        agreed: cells both put in this class.
        not_assessable: cells the reference puts in this class that the model cannot judge
            (not compared, so in none of the other counts).
    """

    name: str
    reference: int
    predicted: int
    agreed: int
    not_assessable: int = 0

    @property
    def sensitivity(self) -> float | None:
        """``agreed / reference``: the share of the reference's cells HemoLens finds; ``None`` without any."""
        return self.agreed / self.reference if self.reference else None

    @property
    def sensitivity_interval(self) -> tuple[float, float] | None:
        """The exact 95% interval of :attr:`sensitivity`, as fractions."""
        return proportion_interval(self.agreed, self.reference)

    @property
    def ppv(self) -> float | None:
        """``agreed / predicted``: the share of HemoLens's cells of this class the reference agrees with."""
        return self.agreed / self.predicted if self.predicted else None

    @property
    def ppv_interval(self) -> tuple[float, float] | None:
        """The exact 95% interval of :attr:`ppv`, as fractions."""
        return proportion_interval(self.agreed, self.predicted)


@dataclass(frozen=True)
class Disagreement:
    """A cell HemoLens put in another class than the reference did."""

    relpath: str
    reference: str
    predicted: str
    confidence: float
    flagged: bool


@dataclass(frozen=True)
class Agreement:
    """The comparison of a batch with its reference classes.

    Attributes:
        matrix: ``matrix[i][j]`` cells the reference puts in class ``i`` and HemoLens in
            class ``j`` (contract order, :data:`~hemoapp.core.contract.CLASS_NAMES`).
        classes: one :class:`ClassAgreement` per class, in contract order.
        disagreements: every cell the two put in different classes, in batch order.
        without_reference: cells HemoLens classified whose folders name no class.
        unreadable: files with a reference class that could not be classified.
        flagged: compared cells below the review threshold.
        review_threshold: the threshold the flags were computed with.
        not_assessable: classified cells with a reference class that the model cannot judge
            (:mod:`hemoapp.core.assessability`): not compared, counted apart.
    """

    matrix: tuple[tuple[int, ...], ...]
    classes: tuple[ClassAgreement, ...]
    disagreements: tuple[Disagreement, ...]
    without_reference: int
    unreadable: int
    flagged: int
    review_threshold: float
    not_assessable: int = 0

    @property
    def compared(self) -> int:
        """Assessable cells with both a reference class and a prediction (the agreement's denominator)."""
        return sum(map(sum, self.matrix))

    @property
    def with_reference(self) -> int:
        """Classified cells with a reference class: the compared ones and the not-assessable ones."""
        return self.compared + self.not_assessable

    @property
    def agreed(self) -> int:
        """Cells both put in the same class."""
        return sum(self.matrix[i][i] for i in range(len(self.matrix)))

    @property
    def overall(self) -> float | None:
        """The overall agreement, ``agreed / compared``; ``None`` when nothing was compared."""
        return self.agreed / self.compared if self.compared else None

    @property
    def overall_interval(self) -> tuple[float, float] | None:
        """The exact 95% interval of :attr:`overall`, as fractions."""
        return proportion_interval(self.agreed, self.compared)

    @property
    def kappa(self) -> float | None:
        """Cohen's kappa: the agreement beyond what the two class mixes would give by chance.

        ``None`` when nothing was compared, or when chance alone already agrees on every
        cell (both put every cell in one and the same class), where kappa is undefined.
        """
        n = self.compared
        if n == 0:
            return None
        chance = sum(row.reference * row.predicted for row in self.classes) / (n * n)
        if chance >= 1.0:
            return None
        return (self.agreed / n - chance) / (1.0 - chance)

    @property
    def unflagged(self) -> int:
        """Compared cells at or above the review threshold: the ones nobody is asked to check."""
        return self.compared - self.flagged

    @property
    def unflagged_disagreements(self) -> int:
        """Disagreements on unflagged cells: the ones the review flag would let through."""
        return sum(1 for cell in self.disagreements if not cell.flagged)

    @property
    def flagged_disagreements(self) -> int:
        """Disagreements on flagged cells: the ones the review flag sends to a person."""
        return len(self.disagreements) - self.unflagged_disagreements

    @property
    def unflagged_agreed(self) -> int:
        """Unflagged cells both put in the same class."""
        return self.unflagged - self.unflagged_disagreements

    @property
    def unflagged_agreement(self) -> float | None:
        """The agreement on unflagged cells: how far a result nobody is asked to check can be trusted."""
        return self.unflagged_agreed / self.unflagged if self.unflagged else None

    @property
    def unflagged_interval(self) -> tuple[float, float] | None:
        """The exact 95% interval of the agreement on unflagged cells, as fractions (``None`` without any)."""
        return proportion_interval(self.unflagged_agreed, self.unflagged)


def is_not_assessable(prediction: Any) -> bool:
    """Whether a classified cell is one the model cannot judge (and so is not compared)."""
    return getattr(prediction, "assessable", None) is False


def disagrees(prediction: Any, reference_of: Callable[[str], str | None]) -> bool:
    """Whether HemoLens put a classified cell in another class than its reference, as :func:`compare` counts it.

    False for a file that was not classified, has no reference class or is not assessable.
    """
    if not prediction.ok or is_not_assessable(prediction):
        return False
    reference = reference_of(prediction.record.relpath)
    return reference is not None and prediction.predicted != reference


def compare(
    predictions: Iterable,
    review_threshold: float,
    reference_of: Callable[[str], str | None],
) -> Agreement:
    """Compare the model's classes in ``predictions`` with the reference classes.

    Args:
        predictions: :class:`~hemoapp.core.pipeline.Prediction` objects (a batch, in order).
        review_threshold: confidence below which a cell is flagged for review.
        reference_of: the reference class of a file from its ``relpath`` (e.g.
            :func:`~hemoapp.core.reference_labels.reference_class`), or ``None``.
    """
    index = {name: i for i, name in enumerate(CLASS_NAMES)}
    matrix = [[0] * len(CLASS_NAMES) for _ in CLASS_NAMES]
    disagreements: list[Disagreement] = []
    not_assessable = [0] * len(CLASS_NAMES)
    without_reference = unreadable = flagged = 0
    for prediction in predictions:
        reference = reference_of(prediction.record.relpath)
        if reference is None:
            without_reference += prediction.ok
            continue
        if not prediction.ok:
            unreadable += 1
            continue
        if is_not_assessable(prediction):
            not_assessable[index[reference]] += 1
            continue
        matrix[index[reference]][index[prediction.predicted]] += 1
        is_flagged = below_threshold(prediction, review_threshold)
        flagged += is_flagged
        if prediction.predicted != reference:
            disagreements.append(Disagreement(
                prediction.record.relpath, reference, prediction.predicted, prediction.confidence, is_flagged
            ))
    classes = tuple(
        ClassAgreement(
            name,
            reference=sum(matrix[i]),
            predicted=sum(row[i] for row in matrix),
            agreed=matrix[i][i],
            not_assessable=not_assessable[i],
        )
        for i, name in enumerate(CLASS_NAMES)
    )
    return Agreement(
        matrix=tuple(tuple(row) for row in matrix),
        classes=classes,
        disagreements=tuple(disagreements),
        without_reference=without_reference,
        unreadable=unreadable,
        flagged=flagged,
        review_threshold=review_threshold,
        not_assessable=sum(not_assessable),
    )
