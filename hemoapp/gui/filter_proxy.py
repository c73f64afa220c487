"""The filter proxy the table and the gallery share: by class, by confidence range and by flag.

The rows' order is the model's own (:meth:`ResultsModel.sort`); the proxy only filters.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, QSortFilterProxyModel, Qt

from hemoapp.core.agreement import disagrees
from hemoapp.core.reference_labels import reference_class
from hemoapp.core.review import reported_class
from hemoapp.gui.table_model import Flag, ResultsModel, Role

_Index = QModelIndex | QPersistentModelIndex


class FlagFilter:
    """Choices of the flag filter."""

    ALL = "all"
    REVIEW = "review"
    UNREVIEWED = "unreviewed"
    CONFIDENT = "confident"
    ERRORS = "errors"
    DISAGREES = "disagrees"


class ResultsFilterProxy(QSortFilterProxyModel):
    """Sorts on :attr:`Role.SORT` and filters by class, confidence range and flag.

    Rows that failed to classify have no class or confidence: they pass the
    class and confidence filters only when those are unset.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setSortRole(Role.SORT)
        self.setDynamicSortFilter(True)  # re-filter rows whose data changed
        self._class_name: str | None = None
        self._min_confidence = 0.0
        self._max_confidence = 1.0
        self._flag = FlagFilter.ALL

    def set_class_filter(self, class_name: str | None) -> None:
        """Show only rows counted as ``class_name``, reviewed or predicted (``None``: all classes)."""
        self._change_filter("_class_name", class_name)

    def set_confidence_range(self, minimum: float, maximum: float) -> None:
        """Show only rows whose confidence lies in ``[minimum, maximum]``."""
        self.beginFilterChange()
        self._min_confidence, self._max_confidence = float(minimum), float(maximum)
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def set_flag_filter(self, flag_filter: str) -> None:
        """Show all rows, flagged rows (all or unreviewed), confident rows, error rows, or the rows whose
        class disagrees with their folder's (:class:`FlagFilter`)."""
        self._change_filter("_flag", flag_filter)

    def refresh(self) -> None:
        """Re-run the filter (after the review threshold changed)."""
        self.beginFilterChange()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def _change_filter(self, attribute: str, value: Any) -> None:
        if getattr(self, attribute) == value:
            return
        self.beginFilterChange()
        setattr(self, attribute, value)
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort by ``column`` (-1: arrival order), as a header click asks.

        A :class:`ResultsModel` orders its own rows (:meth:`ResultsModel.sort`), and the proxy keeps
        their order: sorting here would ask the model for two keys per comparison.
        """
        model = self.sourceModel()
        if isinstance(model, ResultsModel):
            model.sort(column, order)
        else:
            super().sort(column, order)

    def filterAcceptsRow(self, source_row: int, source_parent: _Index) -> bool:  # noqa: N802 - Qt override
        """Apply the class, confidence and flag filters to one source row."""
        model = self.sourceModel()
        if not isinstance(model, ResultsModel):
            return True
        pred = model.prediction_at(source_row)
        flag = model.flag_of(pred)
        if self._flag == FlagFilter.REVIEW and flag != Flag.REVIEW:
            return False
        if self._flag == FlagFilter.UNREVIEWED and not model.needs_review(pred):
            return False
        if self._flag == FlagFilter.CONFIDENT and flag != Flag.NONE:
            return False
        if self._flag == FlagFilter.ERRORS and flag != Flag.ERROR:
            return False
        if self._flag == FlagFilter.DISAGREES and not disagrees(pred, reference_class):
            return False
        if not pred.ok:
            return self._class_name is None and self._min_confidence <= 0.0 and self._max_confidence >= 1.0
        if self._class_name is not None and reported_class(pred, model.review_of(pred)) != self._class_name:
            return False
        return self._min_confidence <= pred.confidence <= self._max_confidence

    def source_rows(self) -> Iterable[int]:
        """Source rows currently shown, in view order."""
        for row in range(self.rowCount()):
            yield self.mapToSource(self.index(row, 0)).row()
