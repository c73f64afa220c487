"""The summary tab, the agreement with the folders' classes and the batch warning, kept up with the rows.

A refresh reads every row, so changes (cells, a review, a threshold) are gathered for a
short pause and cost one refresh; while cells arrive the pause grows with the refresh's cost.
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from hemoapp.core.agreement import Agreement, compare
from hemoapp.core.reference_labels import reference_class
from hemoapp.core.summary import Summary, summarize
from hemoapp.core.unsure_share import UnsureShare, unsure_share
from hemoapp.gui.controller import ClassificationController
from hemoapp.gui.table_model import ResultsModel
from hemoapp.gui.widgets.results_view import ResultsView

#: Pause before the summary follows a change (cells, a review, a threshold), so a burst costs one refresh.
SUMMARY_DELAY_MS = 250
#: While cells arrive, the pause is also at least this many times the last refresh's duration. A refresh
#: reads every row (0.02–0.06 s for 12,000 cells in class folders, on two cores), so it then takes at most
#: a ninth of the window's thread, which would otherwise slow the classification as the batch grows.
SUMMARY_COST_RATIO = 8


def summary_pause_ms(last_refresh_s: float) -> int:
    """Milliseconds the summary waits after new cells, given its last refresh took ``last_refresh_s``."""
    return max(SUMMARY_DELAY_MS, round(last_refresh_s * SUMMARY_COST_RATIO * 1000))


def model_info_of(classifier: Any) -> Any:
    """The classifier's ``ModelInfo``, or ``None`` (fakes in tests may have none)."""
    return getattr(classifier, "info", None)


class SummaryController(QObject):
    """Computes the summary, the agreement and the unsure share of the rows, and shows them.

    Signals:
        refreshed(): the summary tab shows the rows as they are now.
    """

    refreshed = Signal()

    def __init__(self, model: ResultsModel, view: ResultsView, controller: ClassificationController,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self._view = view
        self._controller = controller
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self.refresh)
        self._refresh_s = 0.0  # how long the last refresh took
        model.reviews_changed.connect(self.refresh_soon)
        model.threshold.changed.connect(self.refresh_soon)

    def current_summary(self) -> Summary:
        """A core ``Summary`` of all rows under the current review threshold, reviewed classes counted."""
        model = self._model
        return summarize(model.predictions(), model.review_threshold, model.reviews())

    def current_agreement(self) -> Agreement:
        """The model's classes against the classes the rows' folders give them, under the window's threshold."""
        model = self._model
        return compare(model.predictions(), model.review_threshold, reference_class)

    def current_unsure_share(self) -> UnsureShare | None:
        """The rows' cells below the model card's review threshold, against its validation images.

        ``None`` without a model card that records its validation share. The card's threshold,
        not the one set in the window: the validation share was measured at the card's.
        """
        info = model_info_of(self._controller.classifier)
        return unsure_share(self._model.predictions(), info.card) if info is not None else None

    @Slot()
    def refresh_soon(self) -> None:
        """Refresh after a short pause (a review, a new threshold)."""
        self.timer.start(SUMMARY_DELAY_MS)

    def refresh_after_cells(self) -> None:
        """Refresh after the pause new cells wait for, unless a refresh is already due."""
        if not self.timer.isActive():
            self.timer.start(summary_pause_ms(self._refresh_s))

    @Slot()
    def refresh(self) -> None:
        """Show the rows' summary, agreement and batch warning now."""
        self.timer.stop()
        started = time.perf_counter()
        view = self._view
        has_rows = self._model.rowCount() > 0
        view.summary.set_summary(self.current_summary() if has_rows else None)
        agreement = self.current_agreement() if has_rows else None
        if agreement is not None:
            view.summary.set_agreement(agreement)
        view.filter_bar.set_disagreements_available(agreement is not None and agreement.compared > 0)
        share = self.current_unsure_share() if has_rows else None
        view.batch_warning.set_text(share.warning() if share is not None else None)
        self.refreshed.emit()
        self._refresh_s = time.perf_counter() - started
