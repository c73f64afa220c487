"""The main window: menus, toolbar, status bar and a stack of start screen / results.

The window wires the pieces together and holds no classification logic: the
controller runs jobs, the model holds rows, the widgets show them.
"""

from __future__ import annotations

import datetime as _dt
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QTimer, Slot
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QIcon, QKeySequence
from PySide6.QtWidgets import QLabel, QMainWindow, QStackedWidget, QWidget

from hemoapp.core.agreement import Agreement, compare
from hemoapp.core.agreement_export import write_agreement_csv
from hemoapp.core.contract import CLASS_NAMES, display_name
from hemoapp.core.export import write_predictions_csv, write_summary_csv
from hemoapp.core.folder_changes import FolderChanges
from hemoapp.core.imageio import IMAGE_EXTENSIONS
from hemoapp.core.reference_labels import reference_class
from hemoapp.core.report import ReportContext, batch_context
from hemoapp.core.review import clean_reviewer_name, current_user
from hemoapp.core.review_store import ReviewStore
from hemoapp.core.sample import SampleDetails
from hemoapp.core.scan import absolute_path
from hemoapp.core.summary import summarize
from hemoapp.core.unsure_share import UnsureShare, unsure_share
from hemoapp.gui.actions import build_actions, build_menus, build_toolbar
from hemoapp.gui.controller import ClassificationController, JobSource, JobState
from hemoapp.gui.dialogs import (
    CSV_FILTER,
    PDF_FILTER,
    ExportWrite,
    ModelCardDialog,
    ask_reviewer_name,
    choose_folder,
    choose_images,
    confirm_discard,
    error_box,
    export_file,
)
from hemoapp.gui.export_naming import RUNNING, saved_message, suggested_export_name
from hemoapp.gui.folder_watch import FolderWatch
from hemoapp.gui.locations import droppable_paths, find_sample_images, sample_images_candidates
from hemoapp.gui.report_pdf import write_summary_report
from hemoapp.gui.review_keeper import ReviewKeeper, moved_text
from hemoapp.gui.review_threshold import ReviewThreshold
from hemoapp.gui.settings import AppSettings
from hemoapp.gui.table_model import Flag, ResultsFilterProxy, ResultsModel
from hemoapp.gui.thumbnails import ThumbnailCache
from hemoapp.gui.widgets.cell_viewer import VIEWER_MAX_SIDE, CellViewer
from hemoapp.gui.widgets.progress_bar import finished_text
from hemoapp.gui.widgets.results_view import ResultsView, Tab
from hemoapp.gui.widgets.sample_dialog import ask_sample_details
from hemoapp.gui.widgets.shortcuts_dialog import ShortcutsDialog
from hemoapp.gui.widgets.start_screen import StartScreen

#: How long status bar messages stay, in milliseconds.
MESSAGE_MS = 8000
#: Pause before the summary follows a change (cells, a review, a threshold), so a burst costs one refresh.
SUMMARY_DELAY_MS = 250
#: While cells arrive, the pause is also at least this many times the last refresh's duration. A refresh
#: reads every row (0.02–0.06 s for 12,000 cells in class folders, on two cores), so it then takes at most
#: a ninth of the window's thread, which would otherwise slow the classification as the batch grows.
SUMMARY_COST_RATIO = 8


def summary_pause_ms(last_refresh_s: float) -> int:
    """Milliseconds the summary waits after new cells, given its last refresh took ``last_refresh_s``."""
    return max(SUMMARY_DELAY_MS, round(last_refresh_s * SUMMARY_COST_RATIO * 1000))


def may_hold_images(path: Path) -> bool:
    """True for a folder or an image file that exists (a broken link counts: it gets an error row)."""
    if not (path.exists() or path.is_symlink()):
        return False
    return path.is_dir() or path.suffix.lower() in IMAGE_EXTENSIONS


def model_info_of(classifier: Any) -> Any:
    """The classifier's ``ModelInfo``, or ``None`` (fakes in tests may have none)."""
    return getattr(classifier, "info", None)


class MainWindow(QMainWindow):
    """The HemoLens window.

    Args:
        classifier: a loaded classifier (anything with ``predict_arrays``), or ``None``.
        model_error: why no classifier could be loaded, shown to the user.
        settings: preferences store (default: the user's settings file).
        confirm_close: ask before closing with unexported results (the app's window
            does; windows made by tests and tools close without asking).
        review_store: where reviews are saved as they are made (default: beside the settings file).
    """

    def __init__(
        self,
        classifier: Any = None,
        model_error: str | None = None,
        settings: AppSettings | None = None,
        icon: QIcon | None = None,
        parent: QWidget | None = None,
        confirm_close: bool = False,
        review_store: ReviewStore | None = None,
    ) -> None:
        super().__init__(parent)
        self.confirm_close = confirm_close
        self.setWindowTitle("HemoLens")
        self.setAcceptDrops(True)
        self.settings = settings or AppSettings()
        self.controller = ClassificationController(classifier, parent=self)
        self.folder_watch = FolderWatch(parent=self)
        self.thumbnails = ThumbnailCache(max_side=96, parent=self)
        self.large_images = ThumbnailCache(max_side=480, capacity=24, chunk=1, parent=self)
        self.full_images = ThumbnailCache(max_side=VIEWER_MAX_SIDE, capacity=8, chunk=1, parent=self)
        info = model_info_of(classifier)
        self.review_threshold = ReviewThreshold(
            self.settings.review_threshold(info.sha256 if info else None, info.card.review_threshold if info else None),
            self,
        )
        self.results_model = ResultsModel(self.thumbnails, self.review_threshold, self)
        self.review_keeper = ReviewKeeper(review_store or ReviewStore(self.settings.reviews_dir()), self.results_model)
        self.proxy = ResultsFilterProxy(self)
        self.proxy.setSourceModel(self.results_model)
        self.start_screen = StartScreen(icon)
        self.results_view = ResultsView(self.results_model, self.proxy, self.large_images)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.start_screen)
        self.stack.addWidget(self.results_view)
        self.setCentralWidget(self.stack)
        self.cell_viewer = CellViewer(self.full_images, self)
        viewer_geometry = self.settings.viewer_geometry()
        if viewer_geometry is not None:
            # Where the reviewer left it, e.g. on a second screen; a screen that is gone
            # is handled by Qt (the window is moved onto one that exists) and by its showEvent.
            self.cell_viewer.restoreGeometry(viewer_geometry)
        self.cell_viewer.finished.connect(self._on_cell_viewer_closed)
        self.actions = build_actions(self)
        self._source: JobSource | None = None
        self._scan: Any = None
        self._dialog: QWidget | None = None
        self._last_elapsed = 0.0
        # When the shown rows' batch started and how it ended: the CSVs record both,
        # so an export made hours later still says when the cells were classified
        # and whether the batch covered the whole folder.
        self._job_started_at: _dt.datetime | None = None
        self._job_state: str | None = None
        # Results live only in memory: True once every shown row is in a results CSV,
        # so opening something new may replace them without asking.
        self._results_exported = False
        # Dropped paths wait here for _drop_timer: see dropEvent.
        self._dropped_paths: list[Path] = []
        self._drop_timer = QTimer(self)
        self._drop_timer.setSingleShot(True)
        self._drop_timer.setInterval(0)
        self._summary_timer = QTimer(self)
        self._summary_timer.setSingleShot(True)
        self._summary_refresh_s = 0.0  # how long the last summary refresh took
        self.recent_menu = build_menus(self, self.actions)
        self.toolbar = build_toolbar(self, self.actions)
        self._rebuild_recent_menu()
        self._build_status_bar()
        self._connect()
        self._restore_state()
        self._show_model_status(model_error)
        self._update_actions()

    # ----- construction -------------------------------------------------
    def _build_status_bar(self) -> None:
        self.flagged_label = QLabel()
        self.flagged_label.setToolTip("Cells below the review threshold, and files that could not be read")
        self.model_label = QLabel()
        for label in (self.flagged_label, self.model_label):
            label.setContentsMargins(8, 0, 8, 0)
        self.statusBar().addPermanentWidget(self.flagged_label)
        self.statusBar().addPermanentWidget(self.model_label)
        self._update_flag_counts()

    def _connect(self) -> None:
        a = self.actions
        a.open_folder.triggered.connect(self._on_open_folder_triggered)
        a.open_files.triggered.connect(self._on_open_files_triggered)
        a.open_samples.triggered.connect(self._on_open_samples_triggered)
        a.export_results.triggered.connect(self._on_export_results_triggered)
        a.export_summary.triggered.connect(self._on_export_summary_triggered)
        a.export_report.triggered.connect(self._on_export_report_triggered)
        a.export_agreement.triggered.connect(self._on_export_agreement_triggered)
        self.results_view.summary.agreement_box.add_action(a.export_agreement)
        a.show_disagreements.triggered.connect(self.results_view.show_disagreeing_cells)
        self.results_view.summary.agreement_box.add_action(a.show_disagreements)
        a.cancel.triggered.connect(self._on_cancel_triggered)
        a.classify_again.triggered.connect(self.classify_again)
        self.results_view.folder_warning.add_action(a.classify_again)
        self.folder_watch.changed.connect(self._on_folder_watch_changed)
        a.quit.triggered.connect(self.close)
        for action in (a.show_table, a.show_gallery, a.show_summary):
            action.triggered.connect(self._on_view_action_triggered)
        a.focus_filter.triggered.connect(self.results_view.focus_class_filter)
        a.show_every_cell.triggered.connect(self.results_view.show_every_cell)
        a.focus_threshold.triggered.connect(self.results_view.focus_review_threshold)
        a.next_flagged.triggered.connect(self._on_next_flagged_triggered)
        a.model_card.triggered.connect(self._on_model_card_triggered)
        a.shortcuts.triggered.connect(self._on_shortcuts_triggered)
        a.review_confirm.triggered.connect(self.confirm_selected)
        a.review_clear.triggered.connect(self._on_review_clear_triggered)
        a.set_reviewer.triggered.connect(self._on_set_reviewer_triggered)
        a.sample_details.triggered.connect(self._on_sample_details_triggered)
        self.results_view.summary.sample_details_requested.connect(a.sample_details.trigger)
        for name, action in zip(CLASS_NAMES, a.review_as):
            action.setData(name)  # the class it reviews the cell as
            action.triggered.connect(self._on_review_as_triggered)
        # Plain keys (digits, Enter, Space) act only where the cells are: see actions._cell_action.
        for widget in (self.results_view.table, self.results_view.gallery, self.results_view.detail):
            widget.addActions(a.cell_actions())
        # In the enlarged cell's window too, with F3, so a review can run there alone.
        self.cell_viewer.addActions([*a.cell_actions(), a.next_flagged])
        a.enlarge_cell.triggered.connect(self.toggle_cell_viewer)
        self.results_view.detail.image_view.double_clicked.connect(self._on_detail_image_double_clicked)
        self.start_screen.open_folder_requested.connect(self._on_open_folder_triggered)
        self.start_screen.open_samples_requested.connect(self._on_open_samples_triggered)
        self.start_screen.recent_folder_requested.connect(self._on_recent_folder_requested)
        self.recent_menu.folder_requested.connect(self._on_recent_folder_requested)
        self.recent_menu.clear_requested.connect(self._on_recent_menu_clear_requested)
        view = self.results_view
        view.progress.cancel_requested.connect(self._on_cancel_triggered)
        self.review_threshold.changed.connect(self._on_review_threshold_changed)
        view.review_requested.connect(self.review_selected)
        view.current_changed.connect(self._on_results_view_current_changed)
        self.results_model.reviews_changed.connect(self._on_results_model_reviews_changed)
        view.tabs.currentChanged.connect(self._on_tabs_current_changed)
        self.controller.job_started.connect(self._on_controller_job_started)
        self.controller.scanned.connect(self._on_controller_scanned)
        self.controller.batch_ready.connect(self._on_controller_batch_ready)
        self.controller.job_finished.connect(self._on_controller_job_finished)
        self._summary_timer.timeout.connect(self._on_summary_timer_timeout)
        self._drop_timer.timeout.connect(self._on_drop_timer_timeout)

    def _restore_state(self) -> None:
        geometry = self.settings.window_geometry()
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1280, 800)
        state = self.settings.window_state()
        if state is not None:
            self.restoreState(state)
        splitter = self.settings.splitter_state()
        if splitter is not None:
            self.results_view.splitter.restoreState(splitter)
        self.results_view.tabs.setCurrentIndex(self.settings.results_tab())
        self.results_view.detail.review_box.set_reviewer(self.reviewer())

    # ----- public API (menus, drops, command line and tests use these) --
    @property
    def classifier(self) -> Any:
        """The loaded classifier, or ``None``."""
        return self.controller.classifier

    # Every open below replaces the shown rows only once the new job starts: an
    # invalid source, a missing model or a declined question keeps them. With
    # ``confirm`` (opens the user asked for in the window) unexported results are
    # only discarded after a yes; the command line and tests open without asking.

    def open_folder(self, folder: str | Path, confirm: bool = False) -> bool:
        """Classify every image under ``folder``; False if nothing was started.

        Args:
            folder: the folder to scan recursively.
            confirm: ask before discarding unexported results.
        """
        # Absolute, so a folder given on the command line relative to where HemoLens started
        # is still found when the recent list is opened from anywhere else.
        folder = absolute_path(folder)
        if not folder.is_dir():
            self.statusBar().showMessage(f"Not a folder: {folder}", MESSAGE_MS)
            return False
        if not self._start(JobSource(folder=folder), confirm):
            return False
        self.settings.add_recent_folder(folder)
        self._rebuild_recent_menu()
        self.settings.set_last_dir("open", folder)
        return True

    def open_files(self, paths: list[str | Path], confirm: bool = False) -> bool:
        """Classify a list of files and folders (drag and drop, command line); False if nothing was started.

        Args:
            paths: image files and folders.
            confirm: ask before discarding unexported results.
        """
        paths = [absolute_path(p) for p in paths]
        if len(paths) == 1 and paths[0].is_dir():
            return self.open_folder(paths[0], confirm)
        if not any(may_hold_images(p) for p in paths):
            shown = ", ".join(str(p) for p in paths[:3]) + (" …" if len(paths) > 3 else "")
            self.statusBar().showMessage(f"No image files or folders to open: {shown or 'none given'}", MESSAGE_MS)
            return False
        return self._start(JobSource(files=tuple(paths)), confirm)

    def open_samples(self, confirm: bool = False) -> bool:
        """Classify the bundled sample images, or say clearly that there are none.

        Args:
            confirm: ask before discarding unexported results.
        """
        folder = find_sample_images()
        if folder is None:
            looked = ", ".join(str(p) for p in sample_images_candidates())
            text = f"No sample images are installed (looked in {looked})."
            self.start_screen.show_samples_message(text)
            self.statusBar().showMessage(text, MESSAGE_MS)
            return False
        self.start_screen.show_samples_message("")
        return self._start(JobSource(folder=folder), confirm)

    def cancel_job(self) -> bool:
        """Stop the running job, keeping what is classified."""
        return self.controller.cancel()

    @Slot()
    def classify_again(self) -> bool:
        """Scan the shown batch's folder (or files) again and classify what it holds now.

        Nothing is asked: the reviews are saved, and come back to every file whose bytes
        are unchanged, and an unchanged file gets the same prediction again. False when
        there is nothing to classify again or a batch is running.
        """
        if self._source is None or self.controller.is_running():
            return False
        return self._start(self._source)

    def export_results(self, path: str | Path | None = None) -> Path | None:
        """Write the per-image CSV (asks where when ``path`` is ``None``); return the path written."""
        return self._export(path, "results", "Export results", write_predictions_csv)

    def export_summary(self, path: str | Path | None = None) -> Path | None:
        """Write the summary CSV (asks where when ``path`` is ``None``); return the path written."""
        return self._export(path, "summary", "Export summary", write_summary_csv)

    def export_report(self, path: str | Path | None = None) -> Path | None:
        """Write the batch report PDF (asks where when ``path`` is ``None``); return the path written.

        When cells sit in class folders, the report has the summary tab's agreement with them.
        """
        return self._export(path, "report", "Export report", write_summary_report)

    def export_agreement(self, path: str | Path | None = None) -> Path | None:
        """Write the agreement CSV (asks where when ``path`` is ``None``); return the path written."""
        if self.results_model.rowCount() and not self.current_agreement().compared:
            self.statusBar().showMessage("Nothing to compare: no classified cell is in a folder named by class.",
                                         MESSAGE_MS)
            return None
        return self._export(path, "agreement", "Export agreement", write_agreement_csv)

    def current_summary(self) -> Any:
        """A core ``Summary`` of all rows under the current review threshold, reviewed classes counted."""
        model = self.results_model
        return summarize(model.predictions(), model.review_threshold, model.reviews())

    def current_agreement(self) -> Agreement:
        """The model's classes against the classes the rows' folders give them, under the window's threshold."""
        model = self.results_model
        return compare(model.predictions(), model.review_threshold, reference_class)

    def current_unsure_share(self) -> UnsureShare | None:
        """The rows' cells below the model card's review threshold, against its validation images.

        ``None`` without a model card that records its validation share. The card's threshold,
        not the one set in the window: the validation share was measured at the card's.
        """
        info = model_info_of(self.controller.classifier)
        return unsure_share(self.results_model.predictions(), info.card) if info is not None else None

    @Slot(object)
    def review_selected(self, class_name: str | None) -> bool:
        """Record that the user put the selected cell in ``class_name`` (``None``: forget its review).

        After a flagged cell is reviewed, the next flagged cell nobody has reviewed is
        selected, so a run of reviews needs no mouse. Returns False, and says why in the
        status bar, if no cell that can be reviewed is selected or there is no review to undo.
        """
        return self._review_selected(lambda _pred: class_name)

    @Slot()
    def confirm_selected(self) -> bool:
        """Record that the model's class of the selected cell is right (see :meth:`review_selected`)."""
        return self._review_selected(lambda pred: pred.predicted)

    # ----- internals ----------------------------------------------------
    def _start(self, source: JobSource, confirm: bool = False) -> bool:
        """Replace the shown rows with a job on ``source``; False (rows kept) if it cannot start."""
        if self.controller.classifier is None:
            self.statusBar().showMessage("No model is loaded: classification is not available.", MESSAGE_MS)
            return False
        if confirm and not self._may_discard_results():
            self.statusBar().showMessage("Nothing opened: the current results are kept.", MESSAGE_MS)
            return False
        self.controller.cancel()  # old job's late results are dropped from here on
        self.thumbnails.clear()
        self.large_images.clear()
        self.full_images.clear()
        self.cell_viewer.show_prediction(None, None)
        self.results_model.clear()
        self.results_view.clear()
        self._results_exported = False
        self._source = source
        self._scan = None
        self.review_keeper.clear()
        self.stack.setCurrentWidget(self.results_view)
        self.results_view.focus_cells()
        self.controller.start(source)
        return True

    def toggle_cell_viewer(self) -> None:
        """Open the enlarged view of the selected cell, or close it if it is open."""
        if self.cell_viewer.isVisible():
            self.cell_viewer.close()
            return
        self._show_in_cell_viewer(self.results_view.current_prediction())
        self.cell_viewer.show()
        self.cell_viewer.raise_()
        self.cell_viewer.activateWindow()

    @Slot()
    def _on_cell_viewer_closed(self) -> None:
        self.settings.set_viewer_geometry(self.cell_viewer.saveGeometry())

    def _show_in_cell_viewer(self, prediction: Any) -> None:
        review = self.results_model.review_of(prediction) if prediction is not None else None
        self.cell_viewer.show_prediction(prediction, review)

    def reviewer(self) -> str:
        """The name new reviews are recorded under: the one set in Review > Reviewer Name, else the login name.

        Technicians who share one computer account set their own, so ``reviewed_by`` tells them apart.
        """
        # Cleaned again on the way out: the settings file is plain text anyone can edit.
        return clean_reviewer_name(self.settings.reviewer_name()) or current_user()

    def set_reviewer(self, text: str) -> str:
        """Record later reviews under ``text`` (cleaned; empty: the login name); return the name now in use.

        Reviews already made keep the name they were made under.
        """
        self.settings.set_reviewer_name(clean_reviewer_name(text))
        name = self.reviewer()
        self.results_view.detail.review_box.set_reviewer(name)
        return name

    def sample_details(self) -> SampleDetails:
        """The sample ID and comment of the opened folder's specimen (empty until entered)."""
        return self.review_keeper.sample

    def set_sample_details(self, sample: SampleDetails) -> bool:
        """Make ``sample`` the opened folder's sample details; False (status bar says why) if they were not saved.

        They are saved with the folder's reviews, so they come back when it is opened again,
        and go into every export from now on. Without an opened folder nothing changes.
        """
        if self._scan is None:
            self.statusBar().showMessage("Open a folder first: the sample details belong to it.", MESSAGE_MS)
            return False
        if sample != self.review_keeper.sample:
            self._results_exported = False  # the exported CSV has the old sample ID
        saved = self.review_keeper.set_sample(sample)
        self._show_sample()
        if not saved:
            self._warn_reviews(self.review_keeper.save_problem)
        elif sample.sample_id:
            self.statusBar().showMessage(f"Sample ID {sample.sample_id} goes into the report and the CSVs.", MESSAGE_MS)
        else:
            self.statusBar().showMessage("No sample ID: the report will say so.", MESSAGE_MS)
        return saved

    def _show_sample(self) -> None:
        """Put the sample ID in the window's title and the summary tab."""
        sample = self.review_keeper.sample
        label = self._source.label if self._source is not None else ""
        title = " · ".join(part for part in (sample.sample_id, label) if part)
        self.setWindowTitle(f"{title} – HemoLens" if title else "HemoLens")
        self.results_view.summary.set_sample(sample if self._scan is not None else None)

    def _review_selected(self, choose_class: Callable[[Any], str | None]) -> bool:
        """Review the selected cell as ``choose_class(its prediction)``; see :meth:`review_selected`."""
        model = self.results_model
        row = self.results_view.selected_source_row()
        if row is None:
            self.statusBar().showMessage("Select a cell to review first.", MESSAGE_MS)
            return False
        pred = model.prediction_at(row)
        if not pred.ok:
            self.statusBar().showMessage("An unreadable file has nothing to review.", MESSAGE_MS)
            return False
        class_name = choose_class(pred)
        if class_name is None and model.review_of(pred) is None:
            self.statusBar().showMessage(f"{pred.record.relpath} has no review to undo.", MESSAGE_MS)
            return False
        view_row = self.proxy.mapFromSource(model.index(row, 0)).row()
        model.set_review(row, class_name, by=self.reviewer())  # saved at once, see _on_results_model_reviews_changed
        # Said with every review until saving works again: the user must not count on it meanwhile.
        problem = self.review_keeper.save_problem
        warning = f"{problem} " if problem else ""
        if class_name is None:
            self.statusBar().showMessage(
                f"{warning}{pred.record.relpath}: review undone; it counts as {display_name(pred.predicted)} again.",
                MESSAGE_MS,
            )
            return True
        left = model.unreviewed_flagged_count()
        verb = "confirmed as" if class_name == pred.predicted else "changed to"
        message = (
            f"{warning}{pred.record.relpath}: {verb} {display_name(class_name)}. Flagged cells left to review: {left}."
        )
        if model.flag_of(pred) == Flag.REVIEW and left:
            # The row may have left the view (the "not reviewed" filter, a class filter): go on from its place.
            # Sorted by the reviewed class, the review has moved the cell: look it up again.
            shown = self.proxy.mapFromSource(model.index(model.row_of(pred), 0))
            if not self.results_view.select_next_flagged(shown.row() + 1 if shown.isValid() else view_row):
                message += " None of them is shown with the current filters."
        self.statusBar().showMessage(message, MESSAGE_MS)
        return True

    def _warn_reviews(self, text: str) -> None:
        # A status message, not a dialog: the reviews in the window are intact and the work goes on.
        self.statusBar().showMessage(text, 4 * MESSAGE_MS)

    def _unexported_count(self) -> int:
        """Classified rows that are in no results CSV (0 after an export of all rows)."""
        if self._results_exported:
            return 0
        return self.results_model.rowCount() - self.results_model.flag_count(Flag.ERROR)

    def _may_discard_results(self) -> bool:
        """True if the shown rows may be replaced: nothing unexported, or the user said Discard."""
        count = self._unexported_count()
        return count == 0 or confirm_discard(self, count, self.controller.is_running())

    def _batch_status(self) -> str | None:
        """How the shown rows' batch ended, ``"running"`` while it runs, ``None`` if unknown."""
        return RUNNING if self.controller.is_running() else self._job_state

    def _export(self, path: str | Path | None, kind: str, title: str, writer: Any) -> Path | None:
        info = model_info_of(self.controller.classifier)
        if info is None or self.results_model.rowCount() == 0:
            self.statusBar().showMessage("Nothing to export yet.", MESSAGE_MS)
            return None
        status = self._batch_status()
        if kind == "results":
            data = self.results_model.predictions()
            extra = {
                "review_threshold": self.results_model.review_threshold,
                "created": self._job_started_at,
                "reviews": self.results_model.reviews(),
                "sample": self.review_keeper.sample,
            }
        elif kind == "agreement":
            data = self.current_agreement()
            extra = {"created": self._job_started_at}
        else:
            data = self.current_summary()
            extra = {
                "batch_status": status,
                "files_found": len(self._scan.records) if self._scan is not None else None,
                "entries_skipped": len(self._scan.skipped) if self._scan is not None else None,
                "unsure_share": self.current_unsure_share(),
                "sample": self.review_keeper.sample,
                # What the last look at the folder found (None before the first, seconds after the batch).
                "folder_changes": self.folder_watch.changes,
            }
            if kind == "report":
                extra = {
                    "context": self._report_context(**extra),
                    "predictions": self.results_model.predictions(),
                    "reviews": self.results_model.reviews(),
                    # As the summary tab shows it: the report files what the window showed.
                    "agreement": self.current_agreement(),
                }
        suggested = suggested_export_name(self._folder_name(), kind, status)
        written = export_file(
            self, title, path, self.settings.last_dir("export"), suggested, ExportWrite(writer, data, info, extra),
            PDF_FILTER if kind == "report" else CSV_FILTER,
            # A report decodes and lays out a picture per listed cell: seconds for a thousand.
            busy_text="Writing the report…" if kind == "report" else "",
        )
        if written is not None:
            self.settings.set_last_dir("export", written.parent)
            if kind == "results":
                self._results_exported = True
            files_found = len(self._scan.records) if self._scan is not None else None
            message = saved_message(written, status, self.results_model.rowCount(), files_found)
            self.statusBar().showMessage(message, MESSAGE_MS)
        return written

    def _report_context(self, batch_status: str | None, files_found: int | None, entries_skipped: int | None,
                        unsure_share: UnsureShare | None, sample: SampleDetails,
                        folder_changes: FolderChanges | None) -> ReportContext:
        """Which specimen the shown rows are, where they came from and who reviewed them, for the report."""
        source = self._source or JobSource()
        return batch_context(
            # The folder in full (the command line may have given it relative to somewhere).
            str(source.folder.resolve()) if source.folder else source.label,
            self._scan, batch_status, self._job_started_at, unsure_share, sample,
            self.results_model.reviews(), folder_changes,
        )

    def _folder_name(self) -> str | None:
        """Name of the opened folder (or of the files' folder), ``None`` before a scan."""
        return self._scan.root.name if self._scan is not None and self._scan.root.name else None

    def _show_model_status(self, model_error: str | None) -> None:
        info = model_info_of(self.controller.classifier)
        if self.controller.classifier is None:
            text = model_error or "No model is loaded."
            self.start_screen.set_model_status(f"{text} Classification is disabled.", ok=False)
            self.model_label.setText("No model")
            self.statusBar().showMessage("No model is loaded: classification is disabled.")
            self.results_view.detail.set_model_text("—")
            return
        name = f"{info.name} {info.version}" if info else type(self.controller.classifier).__name__
        self.start_screen.set_model_status(name, ok=True)
        self.model_label.setText(f"Model: {name}")
        self.model_label.setToolTip(f"SHA-256 {info.sha256}" if info else "")
        self.results_view.detail.set_model_text(name)

    def _update_actions(self) -> None:
        a = self.actions
        has_model = self.controller.classifier is not None
        running = self.controller.is_running()
        has_rows = self.results_model.rowCount() > 0
        can_export = has_rows and not running and model_info_of(self.controller.classifier) is not None
        for action in (a.open_folder, a.open_files, a.open_samples):
            action.setEnabled(has_model)
        self.recent_menu.setEnabled(has_model and not self.recent_menu.isEmpty())
        a.cancel.setEnabled(running)
        a.classify_again.setEnabled(has_model and self._source is not None and not running)
        a.export_results.setEnabled(can_export)
        a.export_summary.setEnabled(can_export)
        a.export_report.setEnabled(can_export)
        agreement = self.results_view.summary.agreement_box.agreement()
        a.export_agreement.setEnabled(can_export and agreement is not None)
        a.show_disagreements.setEnabled(agreement is not None and bool(agreement.disagreements))
        a.next_flagged.setEnabled(has_rows)
        a.sample_details.setEnabled(self._scan is not None)  # they are saved with the scanned folder
        for action in a.cell_actions():
            action.setEnabled(has_rows)

    def _rebuild_recent_menu(self) -> None:
        folders = self.settings.recent_folders()
        self.recent_menu.set_folders(folders)
        self.recent_menu.setEnabled(bool(folders) and self.controller.classifier is not None)
        self.start_screen.set_recent_folders(folders)

    def _update_flag_counts(self) -> None:
        model = self.results_model
        review, errors = model.flag_count(Flag.REVIEW), model.flag_count(Flag.ERROR)
        unreviewed = model.unreviewed_flagged_count()
        self.flagged_label.setText(
            f"Flagged for review: {review} ({unreviewed} not reviewed)  ·  Unreadable: {errors}"
        )

    # ----- slots ----------------------------------------------------------
    @Slot()
    def _on_open_folder_triggered(self) -> None:
        folder = choose_folder(self, self.settings.last_dir("open"))
        if folder is not None:
            self.open_folder(folder, confirm=True)

    @Slot()
    def _on_open_files_triggered(self) -> None:
        files = choose_images(self, self.settings.last_dir("open"))
        if files:
            self.settings.set_last_dir("open", files[0].parent)
            self.open_files(files, confirm=True)

    @Slot()
    def _on_open_samples_triggered(self) -> None:
        self.open_samples(confirm=True)

    @Slot(str)
    def _on_recent_folder_requested(self, folder: str) -> None:
        self.open_folder(folder, confirm=True)

    @Slot()
    def _on_drop_timer_timeout(self) -> None:
        paths, self._dropped_paths = self._dropped_paths, []
        if paths:
            self.open_files(paths, confirm=True)

    @Slot()
    def _on_recent_menu_clear_requested(self) -> None:
        self.settings.clear_recent_folders()
        self._rebuild_recent_menu()

    @Slot()
    def _on_cancel_triggered(self) -> None:
        self.cancel_job()

    @Slot()
    def _on_export_results_triggered(self) -> None:
        self.export_results()

    @Slot()
    def _on_export_summary_triggered(self) -> None:
        self.export_summary()

    @Slot()
    def _on_export_report_triggered(self) -> None:
        self.export_report()

    @Slot()
    def _on_export_agreement_triggered(self) -> None:
        self.export_agreement()

    @Slot()
    def _on_view_action_triggered(self) -> None:
        tab = self.sender().data()
        if self.results_model.rowCount() or self.controller.is_running():
            self.stack.setCurrentWidget(self.results_view)
        self.results_view.tabs.setCurrentIndex(tab)

    @Slot()
    def _on_next_flagged_triggered(self) -> None:
        if not self.results_view.select_next_flagged():
            self.statusBar().showMessage("No cell shown is flagged for review.", MESSAGE_MS)
            return
        self.results_view.focus_cells()  # so Enter or a digit reviews it next

    @Slot()
    def _on_shortcuts_triggered(self) -> None:
        self._dialog = ShortcutsDialog(self.menuBar(), self)
        self._dialog.open()

    @Slot()
    def _on_model_card_triggered(self) -> None:
        self._dialog = ModelCardDialog(model_info_of(self.controller.classifier), self.settings.file_name(), self)
        self._dialog.open()

    @Slot()
    def _on_detail_image_double_clicked(self) -> None:
        if self.results_view.current_prediction() is not None and not self.cell_viewer.isVisible():
            self.toggle_cell_viewer()

    @Slot(object)
    def _on_results_view_current_changed(self, prediction: Any) -> None:
        if self.cell_viewer.isVisible():
            self._show_in_cell_viewer(prediction)

    @Slot()
    def _on_set_reviewer_triggered(self) -> None:
        text = ask_reviewer_name(self, self.settings.reviewer_name(), current_user())
        if text is None:
            return
        name = self.set_reviewer(text)
        self.statusBar().showMessage(f"Reviews from now on are recorded as {name}.", MESSAGE_MS)

    @Slot()
    def _on_sample_details_triggered(self) -> None:
        folder = str(self._scan.root) if self._scan is not None else ""
        sample = ask_sample_details(self, self.review_keeper.sample, folder)
        if sample is not None:
            self.set_sample_details(sample)

    @Slot()
    def _on_review_clear_triggered(self) -> None:
        self.review_selected(None)

    @Slot()
    def _on_review_as_triggered(self) -> None:
        self.review_selected(self.sender().data())

    @Slot()
    def _on_results_model_reviews_changed(self) -> None:
        self._update_flag_counts()
        self._summary_timer.start(SUMMARY_DELAY_MS)
        if self.cell_viewer.isVisible() and self.cell_viewer.prediction() is not None:
            self._show_in_cell_viewer(self.cell_viewer.prediction())  # its caption names the review
        self._results_exported = False  # the exported CSV no longer has every review
        if not self.review_keeper.save():
            self._warn_reviews(self.review_keeper.save_problem)

    @Slot(float)
    def _on_review_threshold_changed(self, threshold: float) -> None:
        info = model_info_of(self.controller.classifier)
        self.settings.set_review_threshold(info.sha256 if info else None, threshold)
        self._update_flag_counts()
        self._summary_timer.start(SUMMARY_DELAY_MS)

    @Slot(int)
    def _on_tabs_current_changed(self, index: int) -> None:
        self.settings.set_results_tab(index)
        if index == Tab.SUMMARY:
            self._on_summary_timer_timeout()

    @Slot(int, object)
    def _on_controller_job_started(self, job_id: int, source: JobSource) -> None:
        self.folder_watch.stop()
        self._job_started_at = _dt.datetime.now(_dt.timezone.utc)
        self._job_state = None
        self._show_sample()
        self.results_view.progress.start("Scanning for images…")
        self.statusBar().showMessage(f"Scanning {source.label}…")
        self._update_actions()

    @Slot(object)
    def _on_controller_scanned(self, scan: Any) -> None:
        self._scan = scan
        total = len(scan.records)
        self.results_view.progress.set_progress(0, total, 0.0)
        skipped = f" ({len(scan.skipped)} entries skipped)" if scan.skipped else ""
        if total == 0:
            self.statusBar().showMessage(f"No images found in {self._source.label}{skipped}.", MESSAGE_MS)
        else:
            self.statusBar().showMessage(f"Classifying {total} images{skipped}…")
        self.review_keeper.open(scan.root, [record.relpath for record in scan.records])
        self._show_sample()
        self._update_actions()
        if self.review_keeper.load_problem:
            self._warn_reviews(self.review_keeper.load_problem)

    @Slot(object)
    def _on_controller_batch_ready(self, batch: Any) -> None:
        sample = self.review_keeper.sample
        if self.review_keeper.add_predictions(batch.predictions) and self.review_keeper.moved_from:
            if self.review_keeper.sample != sample:
                self._show_sample()  # the details came with reviews saved where the folder was before
            if self.review_keeper.save_problem:
                self._warn_reviews(self.review_keeper.save_problem)
        self._results_exported = False  # rows that arrived after an export are in no CSV
        self.results_view.progress.set_progress(batch.done, batch.total, batch.elapsed_s)
        self._update_flag_counts()
        self._last_elapsed = batch.elapsed_s
        if not self._summary_timer.isActive():
            self._summary_timer.start(summary_pause_ms(self._summary_refresh_s))
        if not self.results_view.table.selectionModel().hasSelection() and self.proxy.rowCount():
            self.results_view.select_proxy_row(0)

    @Slot(str, object)
    def _on_controller_job_finished(self, state: str, error: Any) -> None:
        self._job_state = state
        done = self.results_model.rowCount()
        total = len(self._scan.records) if self._scan is not None else done
        text = finished_text(
            state, done, total, self._last_elapsed, error.message if error else "",
            unreadable=self.results_model.flag_count(Flag.ERROR),
            skipped=len(self._scan.skipped) if self._scan is not None else 0,
        )
        restored, problem = self.review_keeper.restored, self.review_keeper.load_problem
        if restored:
            text += f"; {restored} saved review{'s' if restored != 1 else ''} restored"
            text += moved_text(self.review_keeper.moved_from)
        if problem:
            text += f". {problem}"  # said again here, where the user looks when the batch ends
        self.results_view.progress.finish(text)
        self.statusBar().showMessage(text, MESSAGE_MS)
        if self._scan is not None and self._source is not None:
            # From here on the folder may change under the results (an analyser still exporting).
            self.folder_watch.watch(self._source, self._scan)
        self._update_actions()
        self._on_summary_timer_timeout()
        if state == JobState.FAILED and error is not None and error.type_name != "FolderError":
            self._dialog = error_box(self, "Classification stopped", f"Classification stopped: {error.message}", error.details)
            self._dialog.open()
        self._last_elapsed = 0.0

    @Slot(object)
    def _on_folder_watch_changed(self, changes: FolderChanges) -> None:
        warning = changes.warning()
        if warning:
            keys = self.actions.classify_again.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            warning += f" Classify Again ({keys}) scans it again; reviews of unchanged files come back."
            self.statusBar().showMessage(f"The folder has changed since it was classified: {changes.counts_text()}.",
                                         MESSAGE_MS)
        self.results_view.folder_warning.set_text(warning)

    @Slot()
    def _on_summary_timer_timeout(self) -> None:
        self._summary_timer.stop()
        started = time.perf_counter()
        has_rows = self.results_model.rowCount() > 0
        self.results_view.summary.set_summary(self.current_summary() if has_rows else None)
        agreement = self.current_agreement() if has_rows else None
        if agreement is not None:
            self.results_view.summary.set_agreement(agreement)
        self.results_view.filter_bar.set_disagreements_available(agreement is not None and agreement.compared > 0)
        share = self.current_unsure_share() if has_rows else None
        self.results_view.batch_warning.set_text(share.warning() if share is not None else None)
        self._update_flag_counts()
        self._update_actions()
        self._summary_refresh_s = time.perf_counter() - started

    # ----- Qt overrides ---------------------------------------------------
    def changeEvent(self, event: QEvent) -> None:
        """Look at the folder again as soon as the window is back in front (the user may have changed it)."""
        if event.type() == QEvent.Type.ActivationChange and self.isActiveWindow():
            self.folder_watch.check_now()
        super().changeEvent(event)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        """Accept folders and image files from the file manager."""
        if self.controller.classifier is not None and droppable_paths(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        """Classify the dropped folder or images (after the drop has returned)."""
        paths = droppable_paths(event.mimeData())
        if paths:
            event.acceptProposedAction()
            # Opening may ask about unexported results; a modal question inside the
            # drop would keep the file manager's drag blocked (Windows, macOS)
            # until answered, so open from the event loop instead.
            self._dropped_paths = list(paths)
            self._drop_timer.start()

    def closeEvent(self, event: QCloseEvent) -> None:
        """Ask before unexported results are lost, then stop background work and remember the layout."""
        if self.confirm_close and not self._may_discard_results():
            event.ignore()
            return
        self._summary_timer.stop()
        self._drop_timer.stop()
        self.folder_watch.shutdown()
        self.controller.shutdown()
        self.thumbnails.shutdown()
        self.large_images.shutdown()
        self.full_images.shutdown()
        self.settings.save_window(self.saveGeometry(), self.saveState(), self.results_view.splitter.saveState())
        if self.cell_viewer.isVisible():
            self.settings.set_viewer_geometry(self.cell_viewer.saveGeometry())
        self.settings.sync()
        super().closeEvent(event)
