"""The results page: progress, filters, table / gallery / summary tabs and the detail panel."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QItemSelection, QItemSelectionModel, QModelIndex, QSize, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QListView,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from hemoapp.gui.delegates import ConfidenceBarDelegate, FileNameDelegate, GalleryDelegate, WrappedTextDelegate
from hemoapp.gui.filter_proxy import FlagFilter, ResultsFilterProxy
from hemoapp.gui.table_model import Column, Flag, ResultsModel, Role
from hemoapp.gui.thumbnails import ThumbnailCache
from hemoapp.gui.widgets.detail_panel import DetailPanel
from hemoapp.gui.widgets.filter_bar import FilterBar
from hemoapp.gui.widgets.filtered_out_note import FilteredOutNote
from hemoapp.gui.widgets.progress_bar import JobProgressBar
from hemoapp.gui.widgets.summary_panel import SummaryPanel
from hemoapp.gui.widgets.warning_banner import WarningBanner


class Tab:
    """Indexes of the result tabs."""

    TABLE = 0
    GALLERY = 1
    SUMMARY = 2


def _make_table(proxy: ResultsFilterProxy) -> QTableView:
    table = QTableView()
    table.setObjectName("resultsTable")
    table.setAccessibleName("Results table")
    table.setModel(proxy)
    table.setSortingEnabled(True)
    table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)  # arrival (natural file) order until a header is clicked
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setAlternatingRowColors(True)
    table.setWordWrap(False)
    table.setIconSize(QSize(44, 44))
    table.verticalHeader().setVisible(False)
    table.verticalHeader().setDefaultSectionSize(50)
    table.setItemDelegateForColumn(Column.FILE, FileNameDelegate(table))
    table.setItemDelegateForColumn(Column.CONFIDENCE, ConfidenceBarDelegate(table))
    table.setItemDelegateForColumn(Column.ERROR, WrappedTextDelegate(table))
    header = table.horizontalHeader()
    header.setHighlightSections(False)
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setStretchLastSection(True)
    # Sized so that every column, the Error column last, fits the table's share of a 1280 px window.
    for column, width in (
        (Column.THUMBNAIL, 56), (Column.FILE, 170), (Column.PREDICTED, 165), (Column.CONFIDENCE, 115), (Column.FLAG, 56),
        (Column.REVIEWED, 180),
    ):
        table.setColumnWidth(column, width)
    table.setToolTip("Click a column header to sort; select a row to see the cell on the right")
    return table


def _make_gallery(proxy: ResultsFilterProxy) -> QListView:
    gallery = QListView()
    gallery.setObjectName("resultsGallery")
    gallery.setAccessibleName("Results gallery")
    gallery.setModel(proxy)
    gallery.setModelColumn(Column.THUMBNAIL)
    gallery.setViewMode(QListView.ViewMode.IconMode)
    gallery.setResizeMode(QListView.ResizeMode.Adjust)
    gallery.setMovement(QListView.Movement.Static)
    gallery.setUniformItemSizes(True)
    gallery.setSpacing(6)
    gallery.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    gallery.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    gallery.setItemDelegate(GalleryDelegate(96, gallery))
    gallery.setToolTip("Thumbnails framed in their class colour; choose a class above for a per-class gallery")
    return gallery


class ResultsView(QWidget):
    """Everything shown once a folder is opened.

    The view applies its filter bar to the proxy; the filter bar, the detail panel and
    the model share the model's :class:`~hemoapp.gui.review_threshold.ReviewThreshold`.

    Signals:
        current_changed(object): the selected prediction, or ``None``.
        review_requested(object): the review box asked to review the selected cell as
            a class (its name), or to remove its review (``None``).
    """

    current_changed = Signal(object)
    review_requested = Signal(object)

    def __init__(
        self, model: ResultsModel, proxy: ResultsFilterProxy, images: ThumbnailCache, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._model = model
        self._proxy = proxy
        self._syncing = False
        self.progress = JobProgressBar()
        self.batch_warning = WarningBanner()
        #: Shown when the folder has changed since its batch was scanned (see ``FolderWatch``).
        self.folder_warning = WarningBanner()
        #: Reviews not saved or not restored: the whole message, paths included, wrapped and selectable
        #: (a status bar message cut it short at "/root/…").
        self.reviews_warning = WarningBanner()
        self.filter_bar = FilterBar(model.threshold)
        self.table = _make_table(proxy)
        self.gallery = _make_gallery(proxy)
        self.filtered_out_notes = [FilteredOutNote(self.table), FilteredOutNote(self.gallery)]
        self.summary = SummaryPanel()
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.table, "Table")
        self.tabs.addTab(self.gallery, "Gallery")
        self.tabs.addTab(self.summary, "Summary")
        self.tabs.setCornerWidget(self.filter_bar.count_label, Qt.Corner.TopRightCorner)
        self.tabs.setTabToolTip(Tab.TABLE, "One row per image (Ctrl+1)")
        self.tabs.setTabToolTip(Tab.GALLERY, "Thumbnails of the filtered cells (Ctrl+2)")
        self.tabs.setTabToolTip(Tab.SUMMARY, "Counts, differential and flagged cells (Ctrl+3)")
        self.detail = DetailPanel(images, model.threshold)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("resultsSplitter")
        self.splitter.addWidget(self.tabs)
        self.splitter.addWidget(self.detail)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setCollapsible(0, False)
        self.splitter.setSizes([760, 340])

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 4)
        layout.addWidget(self.progress)
        layout.addWidget(self.reviews_warning)
        layout.addWidget(self.folder_warning)
        layout.addWidget(self.batch_warning)
        layout.addWidget(self.filter_bar)
        layout.addWidget(self.splitter, 1)

        self.filter_bar.filters_changed.connect(self._on_filter_bar_filters_changed)
        model.threshold.changed.connect(self._proxy.refresh)  # after the model: it recounts the flags first
        for note in self.filtered_out_notes:
            note.show_all_requested.connect(self.show_every_cell)
        self.table.selectionModel().selectionChanged.connect(self._on_table_selection_changed)
        self.gallery.selectionModel().selectionChanged.connect(self._on_gallery_selection_changed)
        self.detail.review_box.review_requested.connect(self.review_requested)
        model.reviews_changed.connect(self._on_model_reviews_changed)
        for signal in (proxy.rowsInserted, proxy.rowsRemoved, proxy.modelReset, proxy.layoutChanged):
            signal.connect(self._on_proxy_rows_changed)
        self._on_proxy_rows_changed()

    def current_prediction(self) -> Any:
        """The selected prediction, or ``None``."""
        return self.detail.prediction()

    def select_proxy_row(self, row: int) -> None:
        """Select a row of the (filtered, sorted) view in both the table and the gallery."""
        index = self._proxy.index(row, 0)
        if index.isValid():
            # The current index moves too: the arrow keys go on from the row selected here
            # (the next flagged cell, say), not from the last one clicked.
            self.table.selectionModel().setCurrentIndex(
                index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
            )
            self.table.scrollTo(index)

    @Slot()
    def focus_cells(self) -> None:
        """Give the keyboard focus to the cells: the table or gallery shown, else the detail panel.

        The review keys (Enter, 1–8, Backspace) act only there, so a keyboard review
        must not depend on a click first.
        """
        views = {Tab.TABLE: self.table, Tab.GALLERY: self.gallery}
        views.get(self.tabs.currentIndex(), self.detail).setFocus()

    @Slot()
    def show_disagreeing_cells(self) -> None:
        """List only the cells whose class differs from their folder's, in the table, the first one selected.

        The class and confidence filters are cleared, so every disagreement is in the list.
        """
        self.filter_bar.show_only(FlagFilter.DISAGREES)
        self.tabs.setCurrentIndex(Tab.TABLE)
        self.select_proxy_row(0)
        self.focus_cells()

    @Slot()
    def show_every_cell(self) -> None:
        """Clear the class, confidence and Show filters (the Reset button, the empty list's link)."""
        self.filter_bar.show_only(FlagFilter.ALL)

    @Slot()
    def focus_class_filter(self) -> None:
        """Move the keyboard focus to the class filter."""
        self.filter_bar.class_combo.setFocus()

    @Slot()
    def focus_review_threshold(self) -> None:
        """Move the keyboard focus to the review threshold and select its text."""
        self.filter_bar.threshold_spin.setFocus()
        self.filter_bar.threshold_spin.selectAll()

    def selected_source_row(self) -> int | None:
        """The selected row of the model (not of the sorted, filtered view), or ``None``."""
        rows = self.table.selectionModel().selectedRows()
        return self._proxy.mapToSource(rows[0]).row() if rows else None

    def select_next_flagged(self, start: int | None = None) -> bool:
        """Select the next shown row that is flagged and not yet reviewed (wrapping); False if there is none.

        Args:
            start: the view row to look from (default: the one after the selection).
        """
        if start is None:
            rows = self.table.selectionModel().selectedRows()
            start = rows[0].row() + 1 if rows else 0
        count = self._proxy.rowCount()
        for offset in range(count):
            row = (start + offset) % count
            if self._model.needs_review(self._proxy.index(row, 0).data(Role.PREDICTION)):
                self.select_proxy_row(row)
                return True
        return False

    def clear(self) -> None:
        """Forget the selection, the summary and the warnings (a new folder is opening)."""
        self.detail.set_prediction(None)
        self.summary.set_summary(None)
        self.batch_warning.set_text(None)
        self.folder_warning.set_text(None)
        self.reviews_warning.set_text(None)

    @Slot()
    def _on_filter_bar_filters_changed(self) -> None:
        bar = self.filter_bar
        self._proxy.set_class_filter(bar.class_name)
        self._proxy.set_flag_filter(bar.flag_filter)
        self._proxy.set_confidence_range(*bar.confidence_range)
        self._show_counts()  # the filters named in the notes changed, even where the rows did not

    def _show_counts(self) -> None:
        shown, total = self._proxy.rowCount(), self._model.rowCount()
        self.filter_bar.set_counts(shown, total)
        # This runs for every batch of rows that arrives; the notes' words matter only when nothing is shown.
        filters, reason = ([], None) if shown else (self.filter_bar.active_filters(), self._empty_review_reason())
        for note in self.filtered_out_notes:
            note.update_counts(shown, total, filters, reason)

    def _empty_review_reason(self) -> str | None:
        """Why *Show: Flagged…* lists nothing, when that is the batch's state and not the other filters'.

        At the end of a review the empty list means "done", which the generic "the filters do
        not match any cell" would hide.
        """
        if self.filter_bar.flag_filter not in (FlagFilter.REVIEW, FlagFilter.UNREVIEWED):
            return None
        flagged = self._model.flag_count(Flag.REVIEW)
        if not flagged:
            return f"No cell is flagged for review: none has a confidence below {self._model.review_threshold:.0%}."
        if self.filter_bar.flag_filter == FlagFilter.UNREVIEWED and not self._model.unreviewed_flagged_count():
            cells = "The one cell" if flagged == 1 else f"All {flagged} cells"
            return f"{cells} flagged for review {'has' if flagged == 1 else 'have'} been reviewed."
        return None

    @Slot()
    def _on_proxy_rows_changed(self, *_args: Any) -> None:
        self._show_counts()
        if self.detail.prediction() is not None and not self.table.selectionModel().hasSelection():
            self.detail.set_prediction(None)
            self.current_changed.emit(None)

    @Slot()
    def _on_model_reviews_changed(self) -> None:
        prediction = self.detail.prediction()
        if prediction is not None:
            self.detail.set_review(self._model.review_of(prediction))

    @Slot(QItemSelection, QItemSelection)
    def _on_table_selection_changed(self, selected: QItemSelection, deselected: QItemSelection) -> None:
        self._selection_changed(self.table.selectionModel().selectedRows(), self.gallery)

    @Slot(QItemSelection, QItemSelection)
    def _on_gallery_selection_changed(self, selected: QItemSelection, deselected: QItemSelection) -> None:
        self._selection_changed(self.gallery.selectionModel().selectedIndexes(), self.table)

    def _selection_changed(self, indexes: list[QModelIndex], other: QAbstractItemView) -> None:
        if self._syncing:
            return
        prediction = None
        self._syncing = True
        try:
            if indexes:
                index = indexes[0]
                prediction = self._model.prediction_at(self._proxy.mapToSource(index).row())
                other.selectionModel().select(
                    index.siblingAtColumn(0),
                    QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
                )
                other.selectionModel().setCurrentIndex(index.siblingAtColumn(0), QItemSelectionModel.SelectionFlag.NoUpdate)
            else:
                other.selectionModel().clearSelection()
        finally:
            self._syncing = False
        self.detail.set_prediction(prediction, self._model.review_of(prediction) if prediction is not None else None)
        self.current_changed.emit(prediction)
