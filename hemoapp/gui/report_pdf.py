"""Print the batch report (``hemoapp.core.report``) to a PDF file, atomically.

Qt lays the HTML out (``QTextDocument``) and writes the PDF (``QPdfWriter``), so the
report needs no extra library in the bundle. As with the CSVs, the PDF is written
to a hidden temporary file beside the target and renamed over it only when complete.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import QMarginsF
from PySide6.QtGui import QPageLayout, QPageSize, QPdfWriter, QTextDocument

import hemoapp
from hemoapp.core.export import atomic_file_path
from hemoapp.core.report import ReportContext, report_html
from hemoapp.core.summary import Summary

#: Print resolution: sharp text, small file.
RESOLUTION_DPI = 300


def write_report_pdf(path: str | os.PathLike[str], html_text: str, title: str) -> Path:
    """Lay out ``html_text`` on A4 pages and write them to ``path`` as a PDF; return the path.

    Raises:
        OSError: the folder cannot be written, or Qt wrote no PDF (e.g. the disk is full).
    """
    path = Path(path)
    with atomic_file_path(path) as temporary:
        writer = QPdfWriter(str(temporary))
        writer.setResolution(RESOLUTION_DPI)
        writer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
        writer.setPageMargins(QMarginsF(15, 15, 15, 15), QPageLayout.Unit.Millimeter)
        writer.setTitle(title)
        writer.setCreator(f"HemoLens {hemoapp.__version__}")
        document = QTextDocument()
        document.setHtml(html_text)
        # No page size of our own: print_ then paginates a copy laid out for the writer's
        # pages, with fonts scaled from screen to print resolution.
        document.print_(writer)
        del writer  # the PDF is finished when the writer goes
        with open(temporary, "rb") as handle:
            if handle.read(5) != b"%PDF-":  # Qt reports no write error: check that a PDF is there
                raise OSError(f"no PDF was written to {temporary}")
            os.fsync(handle.fileno())
    return path


def write_summary_report(path: str | os.PathLike[str], summary: Summary, model_info: Any,
                         context: ReportContext) -> Path:
    """Write the batch report of ``summary`` as a PDF (the signature of the CSV writers)."""
    return write_report_pdf(path, report_html(summary, model_info, context), f"HemoLens report: {context.source}")
