"""The status bar's words: passing messages from every controller, and the counts and model that stay."""

from __future__ import annotations

from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import QLabel, QStatusBar

from hemoapp.gui.table_model import Flag, ResultsModel

#: How long status bar messages stay, in milliseconds.
MESSAGE_MS = 8000


class StatusMessages(QObject):
    """Shows the controllers' messages and keeps the flag counts and the model's name in the status bar.

    Args:
        status_bar: the window's status bar.
        model: the results, whose flags are counted.
    """

    def __init__(self, status_bar: QStatusBar, model: ResultsModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._bar = status_bar
        self._model = model
        self.flagged_label = QLabel()
        self.flagged_label.setToolTip("Cells below the review threshold, and files that could not be read")
        self.model_label = QLabel()
        for label in (self.flagged_label, self.model_label):
            label.setContentsMargins(8, 0, 8, 0)
        status_bar.addPermanentWidget(self.flagged_label)
        status_bar.addPermanentWidget(self.model_label)
        model.reviews_changed.connect(self.update_flag_counts)
        model.threshold.changed.connect(self.update_flag_counts)
        self.update_flag_counts()

    @Slot(str, int)
    def say(self, text: str, timeout_ms: int = MESSAGE_MS) -> None:
        """Show ``text`` for ``timeout_ms`` (0: until the next message)."""
        self._bar.showMessage(text, timeout_ms)

    @Slot(str)
    def warn_reviews(self, text: str) -> None:
        """Say that reviews are not safe (not saved, not restored), for longer than a passing message."""
        # A status message, not a dialog: the reviews in the window are intact and the work goes on.
        self._bar.showMessage(text, 4 * MESSAGE_MS)

    def show_model(self, name: str | None, sha256: str | None = None) -> None:
        """Name the loaded model (``None``: there is none) in the status bar's corner."""
        self.model_label.setText(f"Model: {name}" if name else "No model")
        self.model_label.setToolTip(f"SHA-256 {sha256}" if sha256 else "")

    @Slot()
    def update_flag_counts(self) -> None:
        """Count the flagged, unreviewed and unreadable rows again."""
        model = self._model
        review, errors = model.flag_count(Flag.REVIEW), model.flag_count(Flag.ERROR)
        unreviewed = model.unreviewed_flagged_count()
        self.flagged_label.setText(
            f"Flagged for review: {review} ({unreviewed} not reviewed)  ·  Unreadable: {errors}"
        )
