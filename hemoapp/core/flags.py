"""The review rule: a classified cell whose confidence is below the review threshold is flagged.

Written once here; the summary, the agreement, the batch's unsure share, the export,
the results table and the detail panel all ask :func:`below_threshold`.
"""

from __future__ import annotations

from typing import Any

#: Flag values (the CSV's ``flag`` column and the GUI's flag filter use the same words).
FLAG_REVIEW = "review"
FLAG_ERROR = "error"


def below_threshold(prediction: Any, review_threshold: float) -> bool:
    """True for a classified ``prediction`` (a core ``Prediction``) whose confidence is below ``review_threshold``."""
    return prediction.ok and prediction.confidence < review_threshold


def flag_for(prediction: Any, review_threshold: float) -> str:
    """``"error"`` for an error row, ``"review"`` below the threshold, else ``""``."""
    if not prediction.ok:
        return FLAG_ERROR
    return FLAG_REVIEW if below_threshold(prediction, review_threshold) else ""
