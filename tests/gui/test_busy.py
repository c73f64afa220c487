"""A slow call runs off the GUI thread behind a modal note; the window keeps painting and gets its result."""

from __future__ import annotations

import threading
import time

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QWidget

from hemoapp.gui.controllers import export as export_module
from hemoapp.gui.busy import BusyDialog, run_while_busy
from hemotest.qt import run_folder


def visible_busy_dialogs() -> list[BusyDialog]:
    return [w for w in QApplication.topLevelWidgets() if isinstance(w, BusyDialog) and w.isVisible()]


def test_the_call_runs_on_another_thread_while_the_gui_thread_goes_on(qtbot):
    parent = QWidget()
    qtbot.addWidget(parent)
    seen_during_work: list[tuple[int, bool]] = []
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start(20)

    def look() -> None:
        dialogs = visible_busy_dialogs()
        seen_during_work.append((len(dialogs), bool(dialogs) and dialogs[0].isModal()))

    QTimer.singleShot(100, look)

    def work() -> int:
        time.sleep(0.5)
        return threading.get_ident()

    worker_thread = run_while_busy(parent, "Working…", work)
    timer.stop()
    assert worker_thread != threading.get_ident()
    assert len(ticks) >= 10  # the GUI thread's timers ran while the work went on
    assert seen_during_work == [(1, True)]  # one modal note, while working
    assert visible_busy_dialogs() == []  # and gone after


def test_an_exception_in_the_call_is_raised_on_the_gui_thread(qtbot):
    def work():
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        run_while_busy(None, "Working…", work)
    assert visible_busy_dialogs() == []


def test_the_note_cannot_be_closed_while_the_work_goes_on(qtbot):
    states = []

    def try_to_close() -> None:
        dialog = visible_busy_dialogs()[0]
        qtbot.keyClick(dialog, Qt.Key.Key_Escape)
        dialog.close()
        states.append(dialog.isVisible())

    QTimer.singleShot(100, try_to_close)
    assert run_while_busy(None, "Working…", lambda: time.sleep(0.4) or "done") == "done"
    assert states == [True]


def test_the_report_is_written_off_the_gui_thread(qtbot, make_window, fake_classifier, cell_folder, tmp_path,
                                                   monkeypatch):
    window = make_window(fake_classifier())
    run_folder(qtbot, window, cell_folder)
    real_writer = export_module.write_summary_report
    threads = []

    def recording_writer(*args, **kwargs):
        threads.append(threading.get_ident())
        return real_writer(*args, **kwargs)

    monkeypatch.setattr(export_module, "write_summary_report", recording_writer)
    written = window.export_report(tmp_path / "report.pdf")
    assert written.read_bytes().startswith(b"%PDF-")
    assert threads and threads[0] != threading.get_ident()
    # The CSVs are quick: they are written on the GUI thread.
    real_csv_writer = export_module.write_predictions_csv

    def recording_csv_writer(*args, **kwargs):
        threads.append(threading.get_ident())
        return real_csv_writer(*args, **kwargs)

    monkeypatch.setattr(export_module, "write_predictions_csv", recording_csv_writer)
    assert window.export_results(tmp_path / "results.csv") is not None
    assert threads[1] == threading.get_ident()
