"""What is open: opening folders and files (asking before results go), the batch as it runs, the folder watch.

Every open replaces the shown rows only once the new job starts: an invalid source, a
missing model or a declined question keeps them. With ``confirm`` (opens the user asked
for in the window) unexported results are only discarded after a yes; the command line
and tests open without asking.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal, Slot
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QWidget

from hemoapp.core.folder_changes import FolderChanges
from hemoapp.core.imageio import IMAGE_EXTENSIONS
from hemoapp.core.pipeline import BatchResult
from hemoapp.core.scan import ScanResult, absolute_path
from hemoapp.gui.controller import ClassificationController, JobSource, JobState
from hemoapp.gui.controllers.review import ReviewController
from hemoapp.gui.controllers.status import MESSAGE_MS
from hemoapp.gui.controllers.summary import SummaryController
from hemoapp.gui.dialogs import choose_folder, choose_images, confirm_discard
from hemoapp.gui.export_naming import RUNNING
from hemoapp.gui.folder_watch import FolderWatch
from hemoapp.gui.locations import find_sample_images, sample_images_candidates
from hemoapp.gui.review_keeper import moved_text
from hemoapp.gui.settings import AppSettings
from hemoapp.gui.filter_proxy import ResultsFilterProxy
from hemoapp.gui.table_model import Flag, ResultsModel
from hemoapp.gui.widgets.progress_bar import finished_text
from hemoapp.gui.widgets.results_view import ResultsView
from hemoapp.gui.widgets.start_screen import StartScreen
from hemoapp.gui.workers import WorkerError


def may_hold_images(path: Path) -> bool:
    """True for a folder or an image file that exists (a broken link counts: it gets an error row)."""
    if not (path.exists() or path.is_symlink()):
        return False
    return path.is_dir() or path.suffix.lower() in IMAGE_EXTENSIONS


class SessionController(QObject):
    """Opens what the user asks for and follows its batch to the end.

    Attributes:
        source: what the shown rows were classified from, ``None`` before the first open.
        scan: the shown batch's scan, ``None`` until it is scanned.
        started_at: when the shown rows' batch started (UTC); the CSVs record it.
        job_state: how the shown rows' batch ended (:class:`JobState`), ``None`` while it runs.
        results_exported: True once every shown row is in a results CSV, so opening
            something new may replace them without asking (results live only in memory).

    Signals:
        message(str, int): a status bar message and how long it stays (0: until the next).
        replacing(): the shown rows are about to be replaced by a new job's.
        state_changed(): a job started, was scanned or ended (what may be done changes).
        recent_folders_changed(): the recent folders list changed.
        failed(str, str, str): a job stopped on an error: a title, the text and the details.
    """

    message = Signal(str, int)
    replacing = Signal()
    state_changed = Signal()
    recent_folders_changed = Signal()
    failed = Signal(str, str, str)

    def __init__(self, controller: ClassificationController, model: ResultsModel, proxy: ResultsFilterProxy,
                 view: ResultsView, start_screen: StartScreen, reviews: ReviewController, summary: SummaryController,
                 settings: AppSettings, classify_again_keys: str,
                 parent: QWidget) -> None:
        super().__init__(parent)
        self._classify_again_keys = classify_again_keys  # named in the folder's warning
        self._controller = controller
        self._model = model
        self._proxy = proxy
        self._view = view
        self._start_screen = start_screen
        self._reviews = reviews
        self._summary = summary
        self._settings = settings
        self.folder_watch = FolderWatch(parent=self)
        self.source: JobSource | None = None
        self.scan: ScanResult | None = None
        self.started_at: _dt.datetime | None = None
        self.job_state: str | None = None
        self.results_exported = False
        self._last_elapsed = 0.0
        # Dropped paths wait here for the drop timer: see open_dropped.
        self._dropped_paths: list[Path] = []
        self.drop_timer = QTimer(self)
        self.drop_timer.setSingleShot(True)
        self.drop_timer.setInterval(0)
        self.drop_timer.timeout.connect(self._on_drop_timer_timeout)
        controller.job_started.connect(self._on_controller_job_started)
        controller.scanned.connect(self._on_controller_scanned)
        controller.batch_ready.connect(self._on_controller_batch_ready)
        controller.job_finished.connect(self._on_controller_job_finished)
        self.folder_watch.changed.connect(self._on_folder_watch_changed)
        reviews.reviews_edited.connect(self._on_reviews_edited)

    # ----- opening ------------------------------------------------------
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
            self.message.emit(f"Not a folder: {folder}", MESSAGE_MS)
            return False
        if not self._start(JobSource(folder=folder), confirm):
            return False
        self._settings.add_recent_folder(folder)
        self.recent_folders_changed.emit()
        self._settings.set_last_dir("open", folder)
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
            self.message.emit(f"No image files or folders to open: {shown or 'none given'}", MESSAGE_MS)
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
            self._start_screen.show_samples_message(text)
            self.message.emit(text, MESSAGE_MS)
            return False
        self._start_screen.show_samples_message("")
        return self._start(JobSource(folder=folder), confirm)

    @Slot()
    def ask_samples(self) -> None:
        """Classify the sample images, asking before unexported results go (the menu and start screen)."""
        self.open_samples(confirm=True)

    @Slot()
    def ask_folder(self) -> None:
        """Ask for a folder and classify it (File > Open Folder…)."""
        folder = choose_folder(self.parent(), self._settings.last_dir("open"))
        if folder is not None:
            self.open_folder(folder, confirm=True)

    @Slot()
    def ask_files(self) -> None:
        """Ask for image files and classify them (File > Open Images…)."""
        files = choose_images(self.parent(), self._settings.last_dir("open"))
        if files:
            self._settings.set_last_dir("open", files[0].parent)
            self.open_files(files, confirm=True)

    @Slot(str)
    def open_recent(self, folder: str) -> None:
        """Classify a folder of the recent list, asking before unexported results go."""
        self.open_folder(folder, confirm=True)

    @Slot()
    def clear_recent(self) -> None:
        """Forget the recent folders."""
        self._settings.clear_recent_folders()
        self.recent_folders_changed.emit()

    def open_dropped(self, paths: list[Path]) -> None:
        """Classify dropped paths once the drop has returned.

        Opening may ask about unexported results; a modal question inside the drop would
        keep the file manager's drag blocked (Windows, macOS) until answered, so open from
        the event loop instead.
        """
        self._dropped_paths = list(paths)
        self.drop_timer.start()

    @Slot()
    def _on_drop_timer_timeout(self) -> None:
        paths, self._dropped_paths = self._dropped_paths, []
        if paths:
            self.open_files(paths, confirm=True)

    @Slot()
    def cancel_job(self) -> bool:
        """Stop the running job, keeping what is classified."""
        return self._controller.cancel()

    @Slot()
    def classify_again(self) -> bool:
        """Scan the shown batch's folder (or files) again and classify what it holds now.

        Nothing is asked: the reviews are saved, and come back to every file whose bytes
        are unchanged, and an unchanged file gets the same prediction again. False when
        there is nothing to classify again or a batch is running.
        """
        if self.source is None or self._controller.is_running():
            return False
        return self._start(self.source)

    def _start(self, source: JobSource, confirm: bool = False) -> bool:
        """Replace the shown rows with a job on ``source``; False (rows kept) if it cannot start."""
        if self._controller.classifier is None:
            self.message.emit("No model is loaded: classification is not available.", MESSAGE_MS)
            return False
        if confirm and not self.may_discard_results():
            self.message.emit("Nothing opened: the current results are kept.", MESSAGE_MS)
            return False
        self._controller.cancel()  # old job's late results are dropped from here on
        self.replacing.emit()
        self._model.clear()
        self._view.clear()
        self.results_exported = False
        self.source = source
        self.scan = None
        self._reviews.clear()
        self._controller.start(source)
        return True

    # ----- unexported results -------------------------------------------
    def unexported_count(self) -> int:
        """Classified rows that are in no results CSV (0 after an export of all rows)."""
        if self.results_exported:
            return 0
        return self._model.rowCount() - self._model.flag_count(Flag.ERROR)

    def may_discard_results(self) -> bool:
        """True if the shown rows may be replaced: nothing unexported, or the user said Discard."""
        count = self.unexported_count()
        return count == 0 or confirm_discard(self.parent(), count, self._controller.is_running())

    def batch_status(self) -> str | None:
        """How the shown rows' batch ended, ``"running"`` while it runs, ``None`` if unknown."""
        return RUNNING if self._controller.is_running() else self.job_state

    def folder_name(self) -> str | None:
        """Name of the opened folder (or of the files' folder), ``None`` before a scan."""
        return self.scan.root.name if self.scan is not None and self.scan.root.name else None

    @Slot()
    def _on_reviews_edited(self) -> None:
        self.results_exported = False

    # ----- the batch as it runs -----------------------------------------
    @Slot(int, object)
    def _on_controller_job_started(self, job_id: int, source: JobSource) -> None:
        self.folder_watch.stop()
        self.started_at = _dt.datetime.now(_dt.timezone.utc)
        self.job_state = None
        self._view.progress.start("Scanning for images…")
        self.message.emit(f"Scanning {source.label}…", 0)
        self.state_changed.emit()

    @Slot(object)
    def _on_controller_scanned(self, scan: ScanResult) -> None:
        self.scan = scan
        total = len(scan.records)
        self._view.progress.set_progress(0, total, 0.0)
        skipped = f" ({len(scan.skipped)} entries skipped)" if scan.skipped else ""
        if total == 0:
            self.message.emit(f"No images found in {self.source.label}{skipped}.", MESSAGE_MS)
        else:
            self.message.emit(f"Classifying {total} images{skipped}…", 0)
        self._reviews.open_scan(scan)
        self.state_changed.emit()

    @Slot(object)
    def _on_controller_batch_ready(self, batch: BatchResult) -> None:
        self._reviews.add_predictions(batch.predictions)
        self.results_exported = False  # rows that arrived after an export are in no CSV
        self._view.progress.set_progress(batch.done, batch.total, batch.elapsed_s)
        self._last_elapsed = batch.elapsed_s
        self._summary.refresh_after_cells()
        if not self._view.table.selectionModel().hasSelection() and self._proxy.rowCount():
            self._view.select_proxy_row(0)

    @Slot(str, object)
    def _on_controller_job_finished(self, state: str, error: WorkerError | None) -> None:
        self.job_state = state
        done = self._model.rowCount()
        total = len(self.scan.records) if self.scan is not None else done
        text = finished_text(
            state, done, total, self._last_elapsed, error.message if error else "",
            unreadable=self._model.flag_count(Flag.ERROR),
            skipped=len(self.scan.skipped) if self.scan is not None else 0,
        )
        keeper = self._reviews.keeper
        restored, problem = keeper.restored, keeper.load_problem
        if restored:
            text += f"; {restored} saved review{'s' if restored != 1 else ''} restored"
            text += moved_text(keeper.moved_from)
        if problem:
            text += f". {problem}"  # said again here, where the user looks when the batch ends
        self._view.progress.finish(text)
        self.message.emit(text, MESSAGE_MS)
        if self.scan is not None and self.source is not None:
            # From here on the folder may change under the results (an analyser still exporting).
            self.folder_watch.watch(self.source, self.scan)
        self.state_changed.emit()
        self._summary.refresh()
        if state == JobState.FAILED and error is not None and error.type_name != "FolderError":
            self.failed.emit("Classification stopped", f"Classification stopped: {error.message}", error.details)
        self._last_elapsed = 0.0

    @Slot(object)
    def _on_folder_watch_changed(self, changes: FolderChanges) -> None:
        warning = changes.warning()
        if warning:
            warning += (f" Classify Again ({self._classify_again_keys}) scans it again; "
                        "reviews of unchanged files come back.")
            self.message.emit(f"The folder has changed since it was classified: {changes.counts_text()}.", MESSAGE_MS)
        self._view.folder_warning.set_text(warning)

    def shutdown(self) -> None:
        """Stop the timers and the folder watch (the window is closing)."""
        self.drop_timer.stop()
        self.folder_watch.shutdown()
