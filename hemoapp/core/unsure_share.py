"""Does a batch look like the images the model was validated on?

A model fails quietly on images unlike its training data: on another lab's cells
(another analyser, stain or magnification) HemoLens's model is right about 1 time in
30, and on a sample with cells outside its 8 classes (blasts, say) it still names one
of the 8. What it does do there is hesitate: far more cells than usual fall below
its review threshold. The model card records how many did on its validation images
(``metrics.val.review.flagged_fraction`` at ``review_threshold``), so a batch can be
held against that figure.

A batch is called *unusual* when its share of unsure cells is both more than
:data:`RATIO` times the validation share and too large to be chance
(a one-sided binomial test, p below :data:`P_VALUE`): a small batch with a few more
flags than usual is not, a batch where most cells are unsure is. This is a warning
for a person, not a verdict: the counts are still shown, next to it. Hard cells can
raise it too: on PBC's own test images 45% of immature granulocytes are unsure against
13% of all cells, so a sample made mostly of them would be called unusual, and the
warning names that possibility.

The threshold is always the card's, not the one the user set in the app, because
the validation share was measured at the card's.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from hemoapp.core.binomial import binomial_tail
from hemoapp.core.flags import below_threshold

#: How many times the validation share a batch's unsure share must exceed.
RATIO = 2.0

#: How unlikely that share must be for a batch like the validation images.
P_VALUE = 1e-3


@dataclass(frozen=True)
class UnsureShare:
    """How many of a batch's cells were below the model card's review threshold.

    Attributes:
        unsure: classified cells with a confidence below ``threshold``.
        classified: cells with a prediction (unreadable files are not cells).
        threshold: the model card's review threshold.
        validation_fraction: the share of the model's validation images below it.
    """

    unsure: int
    classified: int
    threshold: float
    validation_fraction: float

    @property
    def fraction(self) -> float:
        """The batch's share of unsure cells (0.0 for an empty batch)."""
        return self.unsure / self.classified if self.classified else 0.0

    @property
    def p_value(self) -> float:
        """Chance of at least this many unsure cells in a batch like the validation images."""
        return binomial_tail(self.unsure, self.classified, self.validation_fraction)

    @property
    def unusual(self) -> bool:
        """True when the share is over :data:`RATIO` times the validation share and not chance."""
        return self.fraction > RATIO * self.validation_fraction and self.p_value < P_VALUE

    def warning(self) -> str | None:
        """What a person must be told about an unusual batch, or ``None`` when it is not."""
        if not self.unusual:
            return None
        return (
            f"{_percent(self.fraction)} of the cells ({self.unsure} of {self.classified}) are below the model's "
            f"review threshold of {_percent(self.threshold)}, against {_percent(self.validation_fraction)} of the "
            "images it was validated on. The images may differ from those it was trained on (another analyser, "
            "stain or magnification), or the sample may hold many cells that are hard to tell apart or outside "
            "its 8 classes: check the cells before using the counts."
        )


def unsure_share(predictions: Iterable[Any], card: Any) -> UnsureShare | None:
    """Count ``predictions`` below ``card``'s review threshold.

    Args:
        predictions: ``Prediction`` objects (``ok``, ``confidence``).
        card: the :class:`~hemoapp.core.contract.ModelCard` behind them.

    Returns:
        The count, or ``None`` when the card does not say how many validation images
        were below its threshold (a model trained elsewhere): there is then nothing
        to compare with, and no warning.
    """
    validation_fraction = validation_unsure_fraction(card)
    if validation_fraction is None:
        return None
    threshold = float(card.review_threshold)
    unsure = classified = 0
    for prediction in predictions:
        if prediction.ok:
            classified += 1
            unsure += below_threshold(prediction, threshold)
    return UnsureShare(unsure, classified, threshold, validation_fraction)


def validation_unsure_fraction(card: Any) -> float | None:
    """The card's share of validation images below its review threshold, or ``None``.

    ``None`` also when the recorded share was measured at another threshold than the
    card's: the two figures would not compare.
    """
    metrics = card.metrics if isinstance(card.metrics, dict) else {}
    val = metrics.get("val")
    review = val.get("review") if isinstance(val, dict) else None
    if not isinstance(review, dict):
        return None
    fraction, threshold = review.get("flagged_fraction"), review.get("threshold")
    if not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (fraction, threshold)):
        return None
    if not (0.0 < fraction < 1.0) or not math.isclose(threshold, card.review_threshold):
        return None
    return float(fraction)


def _percent(value: float) -> str:
    """A share as a person reads it, to 3 significant digits: "62.3%", "99%", "99.5%", "0.4%"."""
    return f"{value * 100:.3g}%"
