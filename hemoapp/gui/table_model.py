"""The results table: one row per classified file, its roles, flags and sort keys.

:class:`ResultsModel` keeps the core's ``Prediction`` objects and grows one batch at
a time (one ``rowsInserted`` per batch while unsorted, as in Qt's ``fetchmore``
example), with the user's reviews beside them (the predictions themselves never
change). It orders its own rows when the view sorts (:mod:`hemoapp.gui.row_order`).
The filter proxy the table and the gallery share is in :mod:`hemoapp.gui.filter_proxy`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import IntEnum
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
    Slot,
)
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from hemoapp.core.contract import display_name
from hemoapp.core.review import Review, is_changed, reported_class, review_key, review_of
from hemoapp.core.scan import display_text, relpath_key
from hemoapp.core.flags import FLAG_ERROR, FLAG_REVIEW, flag_for
from hemoapp.core.pipeline import Prediction
from hemoapp.core.summary import confidence_percent
from hemoapp.gui.review_threshold import ReviewThreshold
from hemoapp.gui.row_order import insertion_row, sorted_positions
from hemoapp.gui.style import class_swatch, error_swatch
from hemoapp.gui.thumbnails import ThumbnailCache

_Index = QModelIndex | QPersistentModelIndex


class Column(IntEnum):
    """Columns of the results table."""

    THUMBNAIL = 0
    FILE = 1
    PREDICTED = 2
    CONFIDENCE = 3
    FLAG = 4
    REVIEWED = 5
    ERROR = 6


_HEADERS = {
    Column.THUMBNAIL: "",
    Column.FILE: "File",
    Column.PREDICTED: "Predicted class",
    Column.CONFIDENCE: "Confidence",
    Column.FLAG: "Flag",
    Column.REVIEWED: "Reviewed as",
    Column.ERROR: "Error",
}

_HEADER_TIPS = {
    Column.FILE: "Path of the image, relative to the opened folder",
    Column.PREDICTED: "The class the model gives the highest probability",
    Column.CONFIDENCE: "The model's probability for the predicted class",
    Column.FLAG: "'Review' when the confidence is below the review threshold",
    Column.REVIEWED: "The class a person gave the cell (keys 1–8, Enter to confirm); the counts use it",
    Column.ERROR: "Why a file could not be classified",
}


class Role(IntEnum):
    """Custom data roles (same value on every column of a row)."""

    PREDICTION = Qt.ItemDataRole.UserRole + 1
    CLASS_NAME = Qt.ItemDataRole.UserRole + 2
    CONFIDENCE = Qt.ItemDataRole.UserRole + 3
    FLAG = Qt.ItemDataRole.UserRole + 4
    THUMBNAIL = Qt.ItemDataRole.UserRole + 5
    SORT = Qt.ItemDataRole.UserRole + 6
    REVIEW = Qt.ItemDataRole.UserRole + 7


class Flag:
    """Row states used by the flag column and the flag filter (the CSV's words)."""

    NONE = ""
    REVIEW = FLAG_REVIEW
    ERROR = FLAG_ERROR


_FLAG_TEXT = {Flag.NONE: "", Flag.REVIEW: "Review", Flag.ERROR: "Error"}
_FLAG_ORDER = {Flag.NONE: 0, Flag.REVIEW: 1, Flag.ERROR: 2}


class ResultsModel(QAbstractTableModel):
    """Table model over a list of core ``Prediction`` objects and the user's reviews of them.

    :attr:`Role.CLASS_NAME` is the class a row counts as (the reviewed one where
    there is a review): the class filter and the gallery's colours follow it, while
    the "Predicted class" column always shows the model's.

    The rows are in arrival order until :meth:`sort` orders them by a column; new
    rows, reviews and a new threshold then keep that order. :meth:`predictions`
    is always in arrival order (the exports use it).

    Args:
        thumbnails: where row thumbnails come from; the model asks it to load
            each batch's files and repaints their cells when they arrive.
        review_threshold: the window's :class:`ReviewThreshold`, whose changes the model
            follows, or a value for one of its own (default: the model card's default).

    Signals:
        reviews_changed(): a review was set or removed.
    """

    reviews_changed = Signal()

    def __init__(
        self,
        thumbnails: ThumbnailCache | None = None,
        review_threshold: ReviewThreshold | float | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._rows: list[Any] = []  # in the order shown
        self._arrived: list[Any] = []  # the same predictions in arrival order
        self._arrival_of_row: list[int] = []  # _rows[row] is _arrived[_arrival_of_row[row]]
        self._prediction_of_key: dict[str, Any] = {}
        self._row_of_key: dict[str, int] | None = {}  # None: to be rebuilt after the rows moved
        self._sort_column = -1  # -1: arrival order
        self._sort_descending = False
        self._file_keys: dict[str, tuple] = {}  # relpath_key of each row's file
        if not isinstance(review_threshold, ReviewThreshold):
            review_threshold = ReviewThreshold(review_threshold, self)
        self.threshold = review_threshold
        review_threshold.changed.connect(self._on_threshold_changed)
        self._flag_counts = {Flag.NONE: 0, Flag.REVIEW: 0, Flag.ERROR: 0}
        self._reviews: dict[str, Review] = {}
        self._thumbnails = thumbnails
        if thumbnails is not None:
            thumbnails.loaded.connect(self._on_thumbnails_loaded)

    # ----- Qt overrides -------------------------------------------------
    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt signature
        """Number of rows (zero under any valid parent: this is a flat table)."""
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        """Number of columns."""
        return 0 if parent.isValid() else len(Column)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Column titles and their tooltips."""
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(Column):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return _HEADERS[Column(section)]
        if role == Qt.ItemDataRole.ToolTipRole:
            return _HEADER_TIPS.get(Column(section))
        if role == Qt.ItemDataRole.AccessibleTextRole and section == Column.THUMBNAIL:
            return "Picture"  # the column has no title on screen, but a screen reader names each column
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Cell contents; the custom :class:`Role` values work on every column."""
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        pred = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(pred, column)
        if role == Role.PREDICTION:
            return pred
        if role == Role.CLASS_NAME:
            return reported_class(pred, self.review_of(pred))
        if role == Role.REVIEW:
            return self.review_of(pred)
        if role == Role.CONFIDENCE:
            return pred.confidence if pred.ok else None
        if role == Role.FLAG:
            return self.flag_of(pred)
        if role == Role.THUMBNAIL:
            return self._thumbnails.pixmap(str(pred.record.path)) if self._thumbnails else None
        if role == Qt.ItemDataRole.DecorationRole and column == Column.THUMBNAIL:
            # An icon (not a pixmap) so the view scales it to its iconSize.
            pixmap = self._thumbnails.pixmap(str(pred.record.path)) if self._thumbnails else None
            return QIcon(pixmap) if pixmap is not None else None
        if role == Qt.ItemDataRole.DecorationRole and column == Column.PREDICTED:
            return class_swatch(pred.predicted, QApplication.palette()) if pred.ok else error_swatch()
        if role == Qt.ItemDataRole.DecorationRole and column == Column.REVIEWED:
            review = self.review_of(pred)
            return class_swatch(review.class_name, QApplication.palette()) if review else None
        if role == Role.SORT:
            return self._sort_key(pred, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(pred)
        if role == Qt.ItemDataRole.AccessibleTextRole and column == Column.THUMBNAIL:
            return self._spoken(pred)  # a gallery tile, or the table's picture, is only painted
        if role == Qt.ItemDataRole.TextAlignmentRole and column == Column.CONFIDENCE:
            return Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        return None

    # ----- public API ---------------------------------------------------
    @property
    def review_threshold(self) -> float:
        """Confidence below which a classified row is flagged for review (:attr:`threshold`'s value)."""
        return self.threshold.value

    def set_review_threshold(self, threshold: float) -> None:
        """Change the review threshold (of :attr:`threshold`, which every view follows)."""
        self.threshold.set_value(threshold)

    @Slot(float)
    def _on_threshold_changed(self, _threshold: float) -> None:
        """Recount the flags and repaint the affected columns (one signal)."""
        self._recount_flags()
        if self._rows:
            # No role list: the flag text, the bar colour and the sort key all change.
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, len(Column) - 1))
            self._keep_sorted(Column.FLAG)

    def flag_of(self, pred: Any) -> str:
        """The :class:`Flag` of a prediction under the current threshold."""
        return flag_for(pred, self.threshold.value)

    def flag_count(self, flag: str) -> int:
        """How many rows carry ``flag``."""
        return self._flag_counts[flag]

    def predictions(self) -> list[Any]:
        """All predictions, in arrival order whatever the sort (a copy)."""
        return list(self._arrived)

    def reviews(self) -> dict[str, Review]:
        """The user's reviews by :func:`~hemoapp.core.review.review_key` (a copy)."""
        return dict(self._reviews)

    def restore_reviews(self, reviews: dict[str, Review]) -> None:
        """Put back reviews saved earlier (by :func:`~hemoapp.core.review.review_key`), times kept.

        Keys of no row here are ignored. One ``reviews_changed`` for all of them.
        """
        keys = [key for key in reviews if key in self._prediction_of_key]
        if not keys:
            return
        self._reviews.update((key, reviews[key]) for key in keys)
        row_of_key = self._rows_by_key()
        rows = [row_of_key[key] for key in keys]
        self.dataChanged.emit(self.index(min(rows), 0), self.index(max(rows), len(Column) - 1))
        self._keep_sorted(Column.REVIEWED)
        self.reviews_changed.emit()

    def review_of(self, pred: Any) -> Review | None:
        """The user's review of a prediction, or ``None``."""
        return review_of(pred, self._reviews)

    def needs_review(self, pred: Any) -> bool:
        """True for a row flagged for review that nobody has reviewed yet."""
        return self.flag_of(pred) == Flag.REVIEW and self.review_of(pred) is None

    def unreviewed_flagged_count(self) -> int:
        """Flagged rows that nobody has reviewed yet."""
        # From the flag count and the (few) reviews: the window asks after every batch.
        # A review key is its file's path, as are the keys of _prediction_of_key.
        reviewed = sum(self.flag_of(self._prediction_of_key[key]) == Flag.REVIEW for key in self._reviews)
        return self._flag_counts[Flag.REVIEW] - reviewed

    def set_review(self, row: int, class_name: str | None, by: str | None = None) -> bool:
        """Record that a person put source row ``row`` in ``class_name`` (``None`` removes the review).

        ``by`` names the reviewer (default: the login name, see core ``Review``).

        Returns False, changing nothing, for a row whose file could not be classified.

        Raises:
            ValueError: ``class_name`` is not one of the model's classes.
        """
        pred = self._rows[row]
        if not pred.ok:
            return False
        key = review_key(pred)
        if class_name is None:
            if self._reviews.pop(key, None) is None:
                return True
        else:
            self._reviews[key] = Review(class_name, by=by) if by else Review(class_name)
        # Every column: the class swatch, the flag filter and the sort keys may all change.
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(Column) - 1))
        self._keep_sorted(Column.REVIEWED)
        self.reviews_changed.emit()
        return True

    def prediction_at(self, row: int) -> Any:
        """The prediction of source row ``row``."""
        return self._rows[row]

    def row_of(self, pred: Any) -> int:
        """The source row of ``pred``, one of this model's predictions (rows move when sorted).

        Raises:
            KeyError: ``pred``'s file is not in the model.
        """
        return self._rows_by_key()[str(pred.record.path)]

    def clear(self) -> None:
        """Remove every row (the sort stays, for the next folder's rows)."""
        self.beginResetModel()
        self._rows.clear()
        self._arrived.clear()
        self._arrival_of_row.clear()
        self._prediction_of_key.clear()
        self._row_of_key = {}
        self._file_keys.clear()
        self._reviews.clear()
        self._recount_flags()
        self.endResetModel()

    def append_predictions(self, predictions: Sequence[Prediction], reviews: Mapping[str, Review] | None = None) -> None:
        """Add one batch of predictions, with their saved ``reviews`` (by review key), and load their thumbnails.

        Unsorted, the batch goes at the end (a single ``rowsInserted``); sorted, each
        row goes to its place, after the rows whose key equals its own. The rows arrive
        with their reviews, so no ``reviews_changed`` follows. Reviews of other files are ignored.
        """
        if not predictions:
            return
        if reviews:
            keys = {review_key(pred) for pred in predictions}
            self._reviews.update((key, review) for key, review in reviews.items() if key in keys)
        if self._sort_column < 0:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(predictions) - 1)
            for pred in predictions:
                if self._row_of_key is not None:
                    self._row_of_key[str(pred.record.path)] = len(self._rows)
                self._add(pred, len(self._rows))
            self.endInsertRows()
        else:
            for pred in predictions:
                row = insertion_row(
                    len(self._rows),
                    lambda other: self._sort_key(self._rows[other], self._sort_column),
                    self._sort_key(pred, self._sort_column),
                    self._sort_descending,
                )
                self.beginInsertRows(QModelIndex(), row, row)
                self._row_of_key = None  # the rows below moved down
                self._add(pred, row)
                self.endInsertRows()
        if self._thumbnails is not None:
            self._thumbnails.request_predictions(p for p in predictions if p.ok)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Order the rows by ``column``'s key (-1: arrival order), and keep that order as rows arrive and change.

        Rows with equal keys stay in arrival order, in either direction. Selections and other persistent
        indexes follow their rows.
        """
        self._sort_column = int(column)
        self._sort_descending = order == Qt.SortOrder.DescendingOrder
        self._reorder()

    # ----- internals ----------------------------------------------------
    def _add(self, pred: Any, row: int) -> None:
        """Put a new prediction at ``row`` (inside a begin/endInsertRows pair)."""
        self._rows.insert(row, pred)
        self._arrival_of_row.insert(row, len(self._arrived))
        self._arrived.append(pred)
        self._prediction_of_key[str(pred.record.path)] = pred
        self._flag_counts[self.flag_of(pred)] += 1

    def _rows_by_key(self) -> dict[str, int]:
        """The row of each file path, rebuilt when the rows have moved since last asked."""
        if self._row_of_key is None:
            self._row_of_key = {str(pred.record.path): row for row, pred in enumerate(self._rows)}
        return self._row_of_key

    def _keep_sorted(self, changed_column: Column) -> None:
        """Sort again after the keys of ``changed_column`` changed, if the rows are sorted by it."""
        if self._sort_column == changed_column:
            self._reorder()

    def _reorder(self) -> None:
        """Move the rows into the current sort order, in one layout change."""
        if self._sort_column < 0:
            order = list(range(len(self._arrived)))
        else:
            keys = [self._sort_key(pred, self._sort_column) for pred in self._arrived]
            order = sorted_positions(keys, self._sort_descending)
        if order == self._arrival_of_row:
            return
        self.layoutAboutToBeChanged.emit()
        new_row_of_arrival = [0] * len(order)
        for row, arrival in enumerate(order):
            new_row_of_arrival[arrival] = row
        moved = self.persistentIndexList()
        self.changePersistentIndexList(
            moved,
            [self.index(new_row_of_arrival[self._arrival_of_row[index.row()]], index.column()) for index in moved],
        )
        self._arrival_of_row = order
        self._rows = [self._arrived[arrival] for arrival in order]
        self._row_of_key = None
        self.layoutChanged.emit()

    @Slot(object)
    def _on_thumbnails_loaded(self, keys: list) -> None:
        row_of_key = self._rows_by_key()
        rows = [row_of_key[key] for key in keys if key in row_of_key]
        if rows:
            self.dataChanged.emit(
                self.index(min(rows), Column.THUMBNAIL),
                self.index(max(rows), Column.THUMBNAIL),
                [Qt.ItemDataRole.DecorationRole, Role.THUMBNAIL],
            )

    def _recount_flags(self) -> None:
        self._flag_counts = {Flag.NONE: 0, Flag.REVIEW: 0, Flag.ERROR: 0}
        for pred in self._rows:
            self._flag_counts[self.flag_of(pred)] += 1

    def _display(self, pred: Any, column: int) -> Any:
        if column == Column.FILE:
            return pred.record.relpath
        if column == Column.PREDICTED:
            return display_name(pred.predicted) if pred.ok else "—"
        if column == Column.CONFIDENCE:
            return confidence_percent(pred.confidence) if pred.ok else ""
        if column == Column.FLAG:
            return _FLAG_TEXT[self.flag_of(pred)]
        if column == Column.REVIEWED:
            return self._review_text(pred)
        if column == Column.ERROR:
            return "" if pred.ok else (pred.error or pred.error_kind or "error")
        return None

    def _sort_key(self, pred: Any, column: int) -> Any:
        if column == Column.PREDICTED:
            return display_name(pred.predicted) if pred.ok else "\uffff"
        if column == Column.CONFIDENCE:
            return pred.confidence if pred.ok else -1.0
        if column == Column.FLAG:
            return _FLAG_ORDER[self.flag_of(pred)]
        if column == Column.REVIEWED:
            return self._review_text(pred) or "\uffff"  # unreviewed rows last
        if column == Column.ERROR:
            return pred.error or ""
        # cell_2 before cell_10, as the folder was read; kept, as a sorted insertion asks ~log2(rows) times per cell
        relpath = pred.record.relpath
        key = self._file_keys.get(relpath)
        if key is None:
            key = self._file_keys[relpath] = relpath_key(relpath)
        return key

    def _review_text(self, pred: Any) -> str:
        review = self.review_of(pred)
        if review is None:
            return ""
        name = display_name(review.class_name)
        return f"{name} (changed)" if is_changed(pred, review) else f"{name} (confirmed)"

    def _spoken(self, pred: Any) -> str:
        """One line for a screen reader: the file, the class and confidence, the flag and the review."""
        name = display_text(pred.record.relpath)
        if not pred.ok:
            return f"{name}: could not be read ({pred.error or pred.error_kind or 'error'})"
        text = f"{name}: {display_name(pred.predicted)} {confidence_percent(pred.confidence)}"
        if self.flag_of(pred) == Flag.REVIEW:
            text += ", flagged for review"
        review = self.review_of(pred)
        if review is not None:
            text += f", reviewed as {display_name(review.class_name)}"
        return text

    def _tooltip(self, pred: Any) -> str:
        if not pred.ok:
            return f"{pred.record.path}\nCould not classify: {pred.error}"
        text = f"{pred.record.path}\n{display_name(pred.predicted)} ({confidence_percent(pred.confidence)})"
        if self.flag_of(pred) == Flag.REVIEW:
            text += f"\nBelow the review threshold of {self.threshold.value:.0%}: check by eye"
        review = self.review_of(pred)
        if review is not None:
            when = f"{review.at.astimezone():%Y-%m-%d %H:%M}"
            text += f"\nReviewed as {display_name(review.class_name)} ({when}, {review.by})"
        return text
