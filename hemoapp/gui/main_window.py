"""The main window: menus, toolbar, status bar and a stack of start screen / results.

The window lays the widgets out and wires them to the controllers, which do the work
(:mod:`hemoapp.gui.controllers`): the session opens what the user asks for and follows
its batch, the review controller records reviews, the export controller writes the
files, the summary controller keeps the summary tab up, and the status messages say
what happened. They tell the window through signals; none of them imports it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, Slot
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QIcon, QKeySequence
from PySide6.QtWidgets import QMainWindow, QStackedWidget, QWidget

from hemoapp.core.contract import CLASS_NAMES
from hemoapp.core.heatmap import HeatmapSource
from hemoapp.core.pipeline import Prediction
from hemoapp.core.review_store import ReviewStore
from hemoapp.gui.actions import build_actions, build_menus, build_toolbar
from hemoapp.gui.controller import ClassificationController
from hemoapp.gui.controllers.export import ExportController
from hemoapp.gui.controllers.profiles import ProfilesController
from hemoapp.gui.controllers.review import ReviewController
from hemoapp.gui.controllers.session import SessionController
from hemoapp.gui.controllers.status import StatusMessages
from hemoapp.gui.controllers.summary import SummaryController, model_info_of
from hemoapp.gui.dialogs import ModelCardDialog, error_box
from hemoapp.gui.locations import droppable_paths
from hemoapp.gui.profile_dialogs import install_profile_menus, model_text
from hemoapp.gui.review_keeper import ReviewKeeper
from hemoapp.gui.review_threshold import ReviewThreshold
from hemoapp.gui.settings import AppSettings
from hemoapp.gui.filter_proxy import ResultsFilterProxy
from hemoapp.gui.table_model import ResultsModel
from hemoapp.gui.thumbnails import ThumbnailCache
from hemoapp.gui.widgets.cell_viewer import VIEWER_MAX_SIDE, CellViewer
from hemoapp.gui.widgets.results_view import ResultsView, Tab
from hemoapp.gui.widgets.shortcuts_dialog import ShortcutsDialog
from hemoapp.gui.widgets.start_screen import StartScreen


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
        classifier: object = None,
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
        self.thumbnails = ThumbnailCache(max_side=96, parent=self)
        self.large_images = ThumbnailCache(max_side=480, capacity=24, chunk=1, parent=self)
        self.full_images = ThumbnailCache(max_side=VIEWER_MAX_SIDE, capacity=8, chunk=1, parent=self)
        info = model_info_of(classifier)
        self.review_threshold = ReviewThreshold(
            self.settings.review_threshold(info.sha256 if info else None, info.card.review_threshold if info else None),
            self,
        )
        self.results_model = ResultsModel(self.thumbnails, self.review_threshold, self)
        self.proxy = ResultsFilterProxy(self)
        self.proxy.setSourceModel(self.results_model)
        self.start_screen = StartScreen(icon)
        self.results_view = ResultsView(self.results_model, self.proxy, self.large_images)
        # Heatmaps only for a checked model; the sidecar loads on the first one asked for (one source
        # for the detail panel and the enlarged cell, so it loads once).
        heatmaps = HeatmapSource(classifier) if model_info_of(classifier) else None
        self.results_view.detail.set_heatmap_source(heatmaps)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.start_screen)
        self.stack.addWidget(self.results_view)
        self.setCentralWidget(self.stack)
        self.cell_viewer = CellViewer(self.full_images, self)
        self.cell_viewer.set_heatmap_source(heatmaps)
        viewer_geometry = self.settings.viewer_geometry()
        if viewer_geometry is not None:
            # Where the reviewer left it, e.g. on a second screen; a screen that is gone
            # is handled by Qt (the window is moved onto one that exists) and by its showEvent.
            self.cell_viewer.restoreGeometry(viewer_geometry)
        self.actions = build_actions(self)
        self._dialog: QWidget | None = None
        self.recent_menu = build_menus(self, self.actions)
        self.toolbar = build_toolbar(self, self.actions)
        self._build_controllers(review_store)
        self._show_recent_folders()
        self._connect()
        self._restore_state()
        self._show_model_status(model_error)
        self._update_actions()

    # ----- construction -------------------------------------------------
    def _build_controllers(self, review_store: ReviewStore | None) -> None:
        model, view = self.results_model, self.results_view
        self.status = StatusMessages(self.statusBar(), model, self)
        self.flagged_label, self.model_label = self.status.flagged_label, self.status.model_label
        self.summary = SummaryController(model, view, self.controller, self)
        self.review_keeper = ReviewKeeper(review_store or ReviewStore(self.settings.reviews_dir()), model)
        self.reviews = ReviewController(self.review_keeper, model, self.proxy, view, self.settings, self)
        keys = self.actions.classify_again.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        self.session = SessionController(self.controller, model, self.proxy, view, self.start_screen, self.reviews,
                                         self.summary, self.settings, keys, self)
        self.folder_watch = self.session.folder_watch
        self.exports = ExportController(self.controller, model, self.session, self.reviews, self.summary,
                                        self.settings, self)
        self.profiles = ProfilesController(self.controller, self.settings, parent=self)  # may switch the model
        # The public API (menus, drops, the command line and tests use these).
        s, r, e, m = self.session, self.reviews, self.exports, self.summary
        self.open_folder, self.open_files, self.open_samples = s.open_folder, s.open_files, s.open_samples
        self.cancel_job, self.classify_again = s.cancel_job, s.classify_again
        self.export_results, self.export_summary = e.export_results, e.export_summary
        self.export_report, self.export_agreement = e.export_report, e.export_agreement
        self.current_summary, self.current_agreement = m.current_summary, m.current_agreement
        self.current_unsure_share = m.current_unsure_share
        self.review_selected, self.confirm_selected = r.review_selected, r.confirm_selected
        self.reviewer, self.set_reviewer = r.reviewer, r.set_reviewer
        self.sample_details, self.set_sample_details = r.sample_details, r.set_sample_details

    def _connect(self) -> None:
        a, view = self.actions, self.results_view
        session, reviews, exports = self.session, self.reviews, self.exports
        for controller in (session, reviews, exports, self.profiles):
            controller.message.connect(self.status.say)
        self.profiles.model_changed.connect(self._on_model_changed)
        self.profile_menus = install_profile_menus(self, self.profiles, reviews.reviewer, a.export_agreement)
        reviews.reviews_at_risk.connect(self.status.warn_reviews)
        reviews.reviews_at_risk.connect(view.reviews_warning.set_text)
        reviews.sample_changed.connect(self._show_sample)
        session.replacing.connect(self._on_session_replacing)
        session.state_changed.connect(self._on_session_state_changed)
        session.recent_folders_changed.connect(self._show_recent_folders)
        session.failed.connect(self._on_session_failed)
        self.summary.refreshed.connect(self.status.update_flag_counts)
        self.summary.refreshed.connect(self._update_actions)
        a.open_folder.triggered.connect(session.ask_folder)
        a.open_files.triggered.connect(session.ask_files)
        a.open_samples.triggered.connect(session.ask_samples)
        a.export_results.triggered.connect(exports.ask_results)
        a.export_summary.triggered.connect(exports.ask_summary)
        a.export_report.triggered.connect(exports.ask_report)
        a.export_agreement.triggered.connect(exports.ask_agreement)
        view.summary.agreement_box.add_action(a.export_agreement)
        a.show_disagreements.triggered.connect(view.show_disagreeing_cells)
        view.summary.agreement_box.add_action(a.show_disagreements)
        a.cancel.triggered.connect(session.cancel_job)
        a.classify_again.triggered.connect(session.classify_again)
        view.folder_warning.add_action(a.classify_again)
        a.quit.triggered.connect(self.close)
        for action in (a.show_table, a.show_gallery, a.show_summary):
            action.triggered.connect(self._on_view_action_triggered)
        a.focus_filter.triggered.connect(view.focus_class_filter)
        a.show_every_cell.triggered.connect(view.show_every_cell)
        a.focus_threshold.triggered.connect(view.focus_review_threshold)
        a.next_flagged.triggered.connect(reviews.select_next_flagged)
        a.model_card.triggered.connect(self._on_model_card_triggered)
        a.shortcuts.triggered.connect(self._on_shortcuts_triggered)
        a.review_confirm.triggered.connect(reviews.confirm_selected)
        a.review_clear.triggered.connect(reviews.undo_selected)
        a.set_reviewer.triggered.connect(reviews.ask_reviewer)
        a.sample_details.triggered.connect(reviews.ask_sample_details)
        view.summary.sample_details_requested.connect(a.sample_details.trigger)
        for name, action in zip(CLASS_NAMES, a.review_as):
            action.setData(name)  # the class it reviews the cell as
            action.triggered.connect(reviews.review_as_sender)
        # Plain keys (digits, Enter, Space) act only where the cells are: see actions._cell_action.
        for widget in (view.table, view.gallery, view.detail):
            widget.addActions(a.cell_actions())
        # In the enlarged cell's window too, with F3, so a review can run there alone.
        self.cell_viewer.addActions([*a.cell_actions(), a.next_flagged])
        a.enlarge_cell.triggered.connect(self.toggle_cell_viewer)
        self.cell_viewer.finished.connect(self._on_cell_viewer_closed)
        view.detail.image_view.double_clicked.connect(self._on_detail_image_double_clicked)
        self.start_screen.open_folder_requested.connect(session.ask_folder)
        self.start_screen.open_samples_requested.connect(session.ask_samples)
        self.start_screen.recent_folder_requested.connect(session.open_recent)
        self.recent_menu.folder_requested.connect(session.open_recent)
        self.recent_menu.clear_requested.connect(session.clear_recent)
        view.progress.cancel_requested.connect(session.cancel_job)
        view.current_changed.connect(self._on_results_view_current_changed)
        self.results_model.reviews_changed.connect(self._on_results_model_reviews_changed)
        self.review_threshold.changed.connect(self._on_review_threshold_changed)
        view.tabs.currentChanged.connect(self._on_tabs_current_changed)

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

    # ----- public API (menus, drops, command line and tests use these) --
    @property
    def classifier(self) -> object:
        """The loaded classifier, or ``None``."""
        return self.controller.classifier

    def toggle_cell_viewer(self) -> None:
        """Open the enlarged view of the selected cell, or close it if it is open."""
        if self.cell_viewer.isVisible():
            self.cell_viewer.close()
            return
        self._show_in_cell_viewer(self.results_view.current_prediction())
        self.cell_viewer.show()
        self.cell_viewer.raise_()
        self.cell_viewer.activateWindow()

    # ----- what the window shows ----------------------------------------
    def _show_in_cell_viewer(self, prediction: Prediction | None) -> None:
        review = self.results_model.review_of(prediction) if prediction is not None else None
        self.cell_viewer.show_prediction(prediction, review)

    @Slot()
    def _show_sample(self) -> None:
        """Put the sample ID in the window's title and the summary tab."""
        sample = self.reviews.sample_details()
        source = self.session.source
        title = " · ".join(part for part in (sample.sample_id, source.label if source else "") if part)
        self.setWindowTitle(f"{title} – HemoLens" if title else "HemoLens")
        self.results_view.summary.set_sample(sample if self.session.scan is not None else None)

    def _show_model_status(self, model_error: str | None) -> None:
        info = model_info_of(self.controller.classifier)
        if self.controller.classifier is None:
            text = model_error or "No model is loaded."
            self.start_screen.set_model_status(f"{text} Classification is disabled.", ok=False)
            self.status.show_model(None)
            self.status.say("No model is loaded: classification is disabled.", 0)
            self.results_view.detail.set_model_text("—")
            return
        name = model_text(self.profiles) or (f"{info.name} {info.version}" if info else
                                             type(self.controller.classifier).__name__)
        self.start_screen.set_model_status(name, ok=True)
        self.status.show_model(name, info.sha256 if info else None)
        self.results_view.detail.set_model_text(name)

    @Slot()
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
        a.classify_again.setEnabled(has_model and self.session.source is not None and not running)
        a.export_results.setEnabled(can_export)
        a.export_summary.setEnabled(can_export)
        a.export_report.setEnabled(can_export)
        agreement = self.results_view.summary.agreement_box.agreement()
        a.export_agreement.setEnabled(can_export and agreement is not None)
        a.show_disagreements.setEnabled(agreement is not None and bool(agreement.disagreements))
        a.next_flagged.setEnabled(has_rows)
        a.sample_details.setEnabled(self.reviews.has_folder())  # they are saved with the scanned folder
        for action in a.cell_actions():
            action.setEnabled(has_rows)

    @Slot()
    def _show_recent_folders(self) -> None:
        folders = self.settings.recent_folders()
        self.recent_menu.set_folders(folders)
        self.recent_menu.setEnabled(bool(folders) and self.controller.classifier is not None)
        self.start_screen.set_recent_folders(folders)

    # ----- slots ----------------------------------------------------------
    @Slot()
    def _on_session_replacing(self) -> None:
        for cache in (self.thumbnails, self.large_images, self.full_images):
            cache.clear()
        self.cell_viewer.show_prediction(None, None)
        self.stack.setCurrentWidget(self.results_view)
        self.results_view.focus_cells()

    @Slot()
    def _on_session_state_changed(self) -> None:
        self._show_sample()
        self._update_actions()

    @Slot(str, str, str)
    def _on_session_failed(self, title: str, text: str, details: str) -> None:
        self._dialog = error_box(self, title, text, details)
        self._dialog.open()

    @Slot()
    def _on_view_action_triggered(self) -> None:
        tab = self.sender().data()
        if self.results_model.rowCount() or self.controller.is_running():
            self.stack.setCurrentWidget(self.results_view)
        self.results_view.tabs.setCurrentIndex(tab)

    @Slot()
    def _on_model_changed(self) -> None:
        self._show_model_status(None)
        self.session.classify_again()  # the rows shown are always the named model's
        self._update_actions()

    @Slot()
    def _on_shortcuts_triggered(self) -> None:
        self._dialog = ShortcutsDialog(self.menuBar(), self)
        self._dialog.open()

    @Slot()
    def _on_model_card_triggered(self) -> None:
        self._dialog = ModelCardDialog(model_info_of(self.controller.classifier), self.settings.file_name(), self)
        self._dialog.open()

    @Slot()
    def _on_cell_viewer_closed(self) -> None:
        self.settings.set_viewer_geometry(self.cell_viewer.saveGeometry())

    @Slot()
    def _on_detail_image_double_clicked(self) -> None:
        if self.results_view.current_prediction() is not None and not self.cell_viewer.isVisible():
            self.toggle_cell_viewer()

    @Slot(object)
    def _on_results_view_current_changed(self, prediction: Prediction | None) -> None:
        if self.cell_viewer.isVisible():
            self._show_in_cell_viewer(prediction)

    @Slot()
    def _on_results_model_reviews_changed(self) -> None:
        if self.cell_viewer.isVisible() and self.cell_viewer.prediction() is not None:
            self._show_in_cell_viewer(self.cell_viewer.prediction())  # its caption names the review

    @Slot(float)
    def _on_review_threshold_changed(self, threshold: float) -> None:
        info = model_info_of(self.controller.classifier)
        self.settings.set_review_threshold(info.sha256 if info else None, threshold)

    @Slot(int)
    def _on_tabs_current_changed(self, index: int) -> None:
        self.settings.set_results_tab(index)
        if index == Tab.SUMMARY:
            self.summary.refresh()

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
        """Classify the dropped folder or images (after the drop has returned: see ``open_dropped``)."""
        paths = droppable_paths(event.mimeData())
        if paths:
            event.acceptProposedAction()
            self.session.open_dropped([Path(p) for p in paths])

    def closeEvent(self, event: QCloseEvent) -> None:
        """Ask before unexported results are lost, then stop background work and remember the layout."""
        if self.confirm_close and not self.session.may_discard_results():
            event.ignore()
            return
        self.summary.timer.stop()
        self.session.shutdown()
        self.profiles.shutdown()
        self.controller.shutdown()
        self.thumbnails.shutdown()
        self.large_images.shutdown()
        self.full_images.shutdown()
        self.settings.save_window(self.saveGeometry(), self.saveState(), self.results_view.splitter.saveState())
        if self.cell_viewer.isVisible():
            self.settings.set_viewer_geometry(self.cell_viewer.saveGeometry())
        self.settings.sync()
        super().closeEvent(event)
