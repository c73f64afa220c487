"""What an export is called, and what the status bar says once it is written.

A results CSV has no row to say that its batch stopped early (the summary CSV has
"Batch status"), so for an incomplete batch the file name and the message say it.
"""

from __future__ import annotations

from pathlib import Path

from hemoapp.gui.controller import JobState

#: Batch status of rows whose job has not ended yet (besides the ``JobState`` values).
RUNNING = "running"

#: Batch states after which the rows cover only part of what was opened.
INCOMPLETE_STATES = (JobState.CANCELLED, JobState.FAILED, RUNNING)


def suggested_export_name(folder_name: str | None, kind: str, status: str | None) -> str:
    """File name the export dialog offers, e.g. ``cells-results.csv``.

    Args:
        folder_name: name of the opened folder; ``hemolens`` stands in when there is none.
        kind: ``results``, ``summary`` or ``agreement`` (CSV files), or ``report`` (the PDF).
        status: how the batch ended (a ``JobState`` value, ``running``, or ``None``).
            A results file, report or agreement of an incomplete batch is named for it:
            ``cells-results-cancelled.csv``.
    """
    stem = folder_name or "hemolens"
    suffix = f"-{status}" if kind in ("results", "report", "agreement") and status in INCOMPLETE_STATES else ""
    extension = ".pdf" if kind == "report" else ".csv"
    return f"{stem}-{kind}{suffix}{extension}"


def saved_message(written: Path, status: str | None, rows: int, files_found: int | None) -> str:
    """Status bar line after an export; it warns when the batch did not cover everything.

    Args:
        written: the file written.
        status: how the batch ended, as for :func:`suggested_export_name`.
        rows: result rows in the file.
        files_found: files the scan found, or ``None`` when unknown.
    """
    if status not in INCOMPLETE_STATES:
        return f"Saved {written}"
    of_total = f" of {files_found}" if files_found is not None else ""
    return f"Saved {written}. Incomplete batch ({status}): {rows}{of_total} images in the file."
