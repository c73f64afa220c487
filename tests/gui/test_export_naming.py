"""Export file names and the status line after an export, for complete and incomplete batches."""

from pathlib import Path

import pytest

from hemoapp.gui.controller import JobState
from hemoapp.gui.export_naming import RUNNING, saved_message, suggested_export_name


@pytest.mark.parametrize(
    "folder, kind, status, expected",
    [
        ("cells", "results", JobState.COMPLETED, "cells-results.csv"),
        ("cells", "results", JobState.CANCELLED, "cells-results-cancelled.csv"),
        ("cells", "results", JobState.FAILED, "cells-results-failed.csv"),
        ("cells", "results", RUNNING, "cells-results-running.csv"),
        ("cells", "results", None, "cells-results.csv"),
        # The summary CSV has its own "Batch status" row, so its name stays plain.
        ("cells", "summary", JobState.CANCELLED, "cells-summary.csv"),
        (None, "results", JobState.COMPLETED, "hemolens-results.csv"),
        ("", "summary", None, "hemolens-summary.csv"),
        # The report is a PDF; it says an incomplete batch inside, and in its name too.
        ("cells", "report", JobState.COMPLETED, "cells-report.pdf"),
        ("cells", "report", JobState.CANCELLED, "cells-report-cancelled.pdf"),
        # The agreement CSV has no batch status row: a partial comparison says so in its name.
        ("cells", "agreement", JobState.COMPLETED, "cells-agreement.csv"),
        ("cells", "agreement", JobState.CANCELLED, "cells-agreement-cancelled.csv"),
    ],
)
def test_suggested_export_name(folder, kind, status, expected):
    assert suggested_export_name(folder, kind, status) == expected


def test_saved_message_is_plain_for_a_complete_batch():
    assert saved_message(Path("/out/a.csv"), JobState.COMPLETED, 10, 10) == f"Saved {Path('/out/a.csv')}"


def test_saved_message_warns_about_an_incomplete_batch_with_counts():
    text = saved_message(Path("/out/a.csv"), JobState.CANCELLED, 12, 40)
    assert text.startswith(f"Saved {Path('/out/a.csv')}.")
    assert "Incomplete batch (cancelled): 12 of 40 images in the file." in text
    # Without a scan there is no total to give.
    assert saved_message(Path("/out/a.csv"), RUNNING, 3, None).endswith("(running): 3 images in the file.")
