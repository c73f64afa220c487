"""Qt helpers shared by the GUI tests."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent


def drop_paths(window, paths: list[Path]) -> QDropEvent:
    """Drop ``paths`` on ``window`` as a file manager would; return the event (to check acceptance)."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    return event


def run_folder(qtbot, window, folder, timeout: int = 20_000) -> str:
    """Open ``folder`` in ``window`` and wait for the job's ``job_finished`` signal; return its state."""
    with qtbot.waitSignal(window.controller.job_finished, timeout=timeout) as blocker:
        assert window.open_folder(folder)
    return blocker.args[0]
