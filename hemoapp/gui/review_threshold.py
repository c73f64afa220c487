"""The review threshold's one owner: the value every view flags cells with, and a ``changed`` signal.

The results model, the filter bar's spin box, the detail panel and the window (which
remembers the user's choice per model) all subscribe; none keeps a copy or states a
default. The default is the model card's (:attr:`ModelCard.review_threshold`); the rule
itself is :func:`hemoapp.core.flags.below_threshold`.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from hemoapp.core.contract import ModelCard


def card_review_threshold(card: ModelCard | None) -> float:
    """The review threshold ``card`` gives, or the card's default when there is no card."""
    return float(card.review_threshold if card is not None else ModelCard.review_threshold)


class ReviewThreshold(QObject):
    """Confidence below which a classified cell is flagged for review (a fraction 0..1).

    Args:
        value: the threshold to start with (default: the model card's default).

    Signals:
        changed(float): the new threshold, once per change.
    """

    changed = Signal(float)

    def __init__(self, value: float | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._value = card_review_threshold(None) if value is None else float(value)

    @property
    def value(self) -> float:
        """The threshold now."""
        return self._value

    def set_value(self, value: float) -> None:
        """Make ``value`` the threshold; ``changed`` is emitted if it differs."""
        value = float(value)
        if value == self._value:
            return
        self._value = value
        self.changed.emit(value)
