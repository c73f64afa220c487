"""File > Export: the results, summary and agreement CSVs and the report PDF, each asked where, never overwriting.

Each export gathers its own data; :meth:`ExportController._write` asks where (unless
given a path), writes through :func:`~hemoapp.gui.dialogs.export_file` and says what was saved.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QWidget

from hemoapp.core.agreement_export import write_agreement_csv
from hemoapp.core.export import write_predictions_csv, write_summary_csv
from hemoapp.core.report import batch_context
from hemoapp.gui.controller import ClassificationController, JobSource
from hemoapp.gui.controllers.review import ReviewController
from hemoapp.gui.controllers.session import SessionController
from hemoapp.gui.controllers.status import MESSAGE_MS
from hemoapp.gui.controllers.summary import SummaryController, model_info_of
from hemoapp.gui.dialogs import CSV_FILTER, PDF_FILTER, ExportWrite, export_file
from hemoapp.gui.export_naming import saved_message, suggested_export_name
from hemoapp.gui.report_pdf import write_summary_report
from hemoapp.gui.settings import AppSettings
from hemoapp.gui.table_model import ResultsModel


class ExportController(QObject):
    """Writes what the window shows to the CSVs and the report.

    Signals:
        message(str, int): a status bar message and how long it stays.
    """

    message = Signal(str, int)

    def __init__(self, controller: ClassificationController, model: ResultsModel, session: SessionController,
                 reviews: ReviewController, summary: SummaryController, settings: AppSettings,
                 parent: QWidget) -> None:
        super().__init__(parent)
        self._controller = controller
        self._model = model
        self._session = session
        self._reviews = reviews
        self._summary = summary
        self._settings = settings

    def export_results(self, path: str | Path | None = None) -> Path | None:
        """Write the per-image CSV (asks where when ``path`` is ``None``); return the path written."""
        model = self._model
        extra = {
            "review_threshold": model.review_threshold,
            "created": self._session.started_at,
            "reviews": model.reviews(),
            "sample": self._reviews.sample_details(),
        }
        written = self._write(path, "results", "Export results", write_predictions_csv, model.predictions, extra)
        if written is not None:
            self._session.results_exported = True
        return written

    def export_summary(self, path: str | Path | None = None) -> Path | None:
        """Write the summary CSV (asks where when ``path`` is ``None``); return the path written."""
        return self._write(path, "summary", "Export summary", write_summary_csv, self._summary.current_summary,
                           self._summary_extra())

    def export_report(self, path: str | Path | None = None) -> Path | None:
        """Write the batch report PDF (asks where when ``path`` is ``None``); return the path written.

        When cells sit in class folders, the report has the summary tab's agreement with them.
        """
        extra = self._summary_extra()
        source = self._session.source or JobSource()
        context = batch_context(
            # The folder in full (the command line may have given it relative to somewhere).
            str(source.folder.resolve()) if source.folder else source.label,
            self._session.scan, extra["batch_status"], self._session.started_at, extra["unsure_share"],
            extra["sample"], self._model.reviews(), extra["folder_changes"],
        )
        extra = {
            "context": context,
            "predictions": self._model.predictions(),
            "reviews": self._model.reviews(),
            # As the summary tab shows it: the report files what the window showed.
            "agreement": self._summary.current_agreement(),
        }
        return self._write(path, "report", "Export report", write_summary_report, self._summary.current_summary,
                           extra, PDF_FILTER,
                           # A report decodes and lays out a picture per listed cell: seconds for a thousand.
                           busy_text="Writing the report…")

    def export_agreement(self, path: str | Path | None = None) -> Path | None:
        """Write the agreement CSV (asks where when ``path`` is ``None``); return the path written."""
        if self._model.rowCount() and not self._summary.current_agreement().with_reference:
            self.message.emit("Nothing to compare: no classified cell is in a folder named by class.", MESSAGE_MS)
            return None
        return self._write(path, "agreement", "Export agreement", write_agreement_csv,
                           self._summary.current_agreement, {"created": self._session.started_at})

    # The menu's entries (a triggered action would pass its checked state as the path): ask where.
    @Slot()
    def ask_results(self) -> None:
        """File > Export Results CSV…"""
        self.export_results()

    @Slot()
    def ask_summary(self) -> None:
        """File > Export Summary CSV…"""
        self.export_summary()

    @Slot()
    def ask_report(self) -> None:
        """File > Export Report PDF…"""
        self.export_report()

    @Slot()
    def ask_agreement(self) -> None:
        """File > Export Agreement CSV…"""
        self.export_agreement()

    def _summary_extra(self) -> dict[str, Any]:
        """What the summary CSV and the report say about the batch beside its counts."""
        scan = self._session.scan
        return {
            "batch_status": self._session.batch_status(),
            "files_found": len(scan.records) if scan is not None else None,
            "entries_skipped": len(scan.skipped) if scan is not None else None,
            "entries_unreadable": len(scan.unreadable) if scan is not None else None,
            "unsure_share": self._summary.current_unsure_share(),
            "sample": self._reviews.sample_details(),
            # What the last look at the folder found (None before the first, seconds after the batch).
            "folder_changes": self._session.folder_watch.changes,
        }

    def _write(self, path: str | Path | None, kind: str, title: str, writer: Callable[..., Any],
               data: Callable[[], Any], extra: dict[str, Any], file_filter: str = CSV_FILTER,
               busy_text: str = "") -> Path | None:
        """Ask where (unless ``path``), write ``writer(path, data(), info, **extra)``, say what was saved."""
        info = model_info_of(self._controller.classifier)
        if info is None or self._model.rowCount() == 0:
            self.message.emit("Nothing to export yet.", MESSAGE_MS)
            return None
        status = self._session.batch_status()
        suggested = suggested_export_name(self._session.folder_name(), kind, status)
        scan = self._session.scan
        written = export_file(
            self.parent(), title, path, self._settings.last_dir("export"), suggested,
            ExportWrite(writer, data(), info, extra), file_filter, busy_text=busy_text,
            # No export may replace one of the opened images.
            inputs=[record.path for record in scan.records] if scan is not None else (),
        )
        if written is not None:
            self._settings.set_last_dir("export", written.parent)
            files_found = len(scan.records) if scan is not None else None
            self.message.emit(saved_message(written, status, self._model.rowCount(), files_found), MESSAGE_MS)
        return written
