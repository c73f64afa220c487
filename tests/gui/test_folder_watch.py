"""A folder that changes after its batch: the window says so, the summary CSV records it, F5 classifies again."""

from __future__ import annotations

import csv
import shutil

from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QApplication, QToolButton

from hemoapp.core.folder_changes import FolderChanges
from hemoapp.core.scan import scan_folder
from hemoapp.gui.controller import JobSource
from hemoapp.gui.folder_watch import FolderWatch
from hemotest.qt import run_folder

WAIT_MS = 10_000


def _watched_window(qtbot, make_window, fake_classifier, folder):
    window = make_window(fake_classifier())
    window.folder_watch.interval_ms = 50  # the window's 3 s would only slow the test
    run_folder(qtbot, window, folder)
    qtbot.waitUntil(lambda: window.folder_watch.changes is not None, timeout=WAIT_MS)
    return window


def _summary_rows(path) -> dict[str, str]:
    with open(path, newline="", encoding="utf-8-sig") as handle:
        return {row["label"]: row["count"] for row in csv.DictReader(handle)}


def test_a_new_file_shows_a_warning_goes_in_the_summary_and_classify_again_adds_it(
        qtbot, make_window, fake_classifier, cell_folder, tmp_path):
    window = _watched_window(qtbot, make_window, fake_classifier, cell_folder)
    banner = window.results_view.folder_warning
    assert window.folder_watch.changes == FolderChanges() and banner.isHidden()
    rows_before = window.results_model.rowCount()
    window.results_view.select_proxy_row(0)
    kept = window.results_view.current_prediction()
    window.confirm_selected()

    # The analyser writes one more cell into the folder.
    first_cell = sorted(cell_folder.glob("*/*.jpg"))[0]
    shutil.copyfile(first_cell, cell_folder / "late_cell.jpg")
    qtbot.waitUntil(lambda: not banner.isHidden(), timeout=WAIT_MS)
    assert "changed since it was classified: 1 new image file (late_cell.jpg)" in banner.text()
    assert "Classify Again (F5)" in banner.text()
    buttons = banner.findChildren(QToolButton)
    assert [button.defaultAction() for button in buttons] == [window.actions.classify_again]
    summary_csv = window.export_summary(tmp_path / "summary.csv")
    rows = _summary_rows(summary_csv)
    assert rows["Image files new in the folder since the batch started"] == "1"
    assert rows["Image files changed since the batch started"] == "0"

    with qtbot.waitSignal(window.controller.job_finished, timeout=20_000):
        assert window.actions.classify_again.isEnabled()
        window.actions.classify_again.trigger()
    assert window.results_model.rowCount() == rows_before + 1
    assert "late_cell.jpg" in {p.record.relpath for p in window.results_model.predictions()}
    assert banner.isHidden()
    again = next(p for p in window.results_model.predictions() if p.record.relpath == kept.record.relpath)
    assert window.results_model.review_of(again) is not None, "the review of an unchanged file did not come back"


def test_a_deleted_folder_reads_as_every_file_gone(qtbot, make_window, fake_classifier, cell_folder):
    window = _watched_window(qtbot, make_window, fake_classifier, cell_folder)
    count = len(window.session.scan.records)
    shutil.rmtree(cell_folder)
    banner = window.results_view.folder_warning
    qtbot.waitUntil(lambda: not banner.isHidden(), timeout=WAIT_MS)
    assert f"{count} image files no longer there" in banner.text()


def test_opening_another_folder_stops_watching_the_first(qtbot, make_window, fake_classifier, cell_folder,
                                                         other_folder):
    window = _watched_window(qtbot, make_window, fake_classifier, cell_folder)
    run_folder(qtbot, window, other_folder)
    qtbot.waitUntil(lambda: window.folder_watch.changes is not None, timeout=WAIT_MS)
    shutil.copyfile(sorted(cell_folder.glob("*/*.jpg"))[0], cell_folder / "late_cell.jpg")
    qtbot.wait(300)  # several of the 50 ms checks
    assert window.folder_watch.changes == FolderChanges()
    assert window.results_view.folder_warning.isHidden()


def test_classify_again_needs_a_batch_and_waits_for_a_running_one(qtbot, make_window, fake_classifier, cell_folder):
    window = make_window(fake_classifier(delay_s=0.3))
    action = window.actions.classify_again
    assert not action.isEnabled() and not window.classify_again()
    with qtbot.waitSignal(window.controller.job_finished, timeout=20_000):
        assert window.open_folder(cell_folder)
        assert not action.isEnabled() and not window.classify_again()
    assert action.isEnabled()


def test_the_watch_says_each_change_once_and_when_the_folder_is_back(qtbot, tmp_path):
    folder = tmp_path / "cells"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(b"a")
    watch = FolderWatch(interval_ms=20)
    said: list[FolderChanges] = []
    watch.changed.connect(said.append)
    watch.watch(JobSource(folder=folder), scan_folder(folder))
    qtbot.waitUntil(lambda: len(said) == 1, timeout=WAIT_MS)
    (folder / "b.jpg").write_bytes(b"b")
    qtbot.waitUntil(lambda: len(said) == 2, timeout=WAIT_MS)
    qtbot.wait(200)
    (folder / "b.jpg").unlink()
    qtbot.waitUntil(lambda: len(said) == 3, timeout=WAIT_MS)
    assert said == [FolderChanges(), FolderChanges(added=("b.jpg",)), FolderChanges()]
    watch.shutdown()
    (folder / "c.jpg").write_bytes(b"c")
    qtbot.wait(200)
    assert len(said) == 3 and watch.changes is None


def test_the_window_coming_back_to_the_front_looks_at_once(qtbot, make_window, fake_classifier, cell_folder):
    window = _watched_window(qtbot, make_window, fake_classifier, cell_folder)
    window.folder_watch.interval_ms = 3_600_000  # no timed look during this test
    qtbot.wait(200)  # the look under way, if any, ends and the next one waits an hour
    shutil.copyfile(sorted(cell_folder.glob("*/*.jpg"))[0], cell_folder / "late_cell.jpg")
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=WAIT_MS)
    QApplication.sendEvent(window, QEvent(QEvent.Type.ActivationChange))
    qtbot.waitUntil(lambda: not window.results_view.folder_warning.isHidden(), timeout=WAIT_MS)
