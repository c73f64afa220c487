"""Background classification: cancel, supersede, close while running, responsiveness."""

from __future__ import annotations

import csv
import threading
import time

from PySide6.QtCore import QThreadPool, QTimer
from PySide6.QtWidgets import QFileDialog

from hemoapp.gui.controller import JobState
from hemoapp.gui.workers import GeneratorWorker, WorkerError

N_FILES = 17  # cell_folder: 16 cells + one broken file

#: Bounds for the GUI event loop while a job runs. The goal is no pause over 50 ms.
#: MAX_BUSY_MS bounds the GUI thread's own work between two 10 ms ticks (CPU time,
#: independent of machine load): that is "the GUI never blocks". MAX_GAP_MS bounds
#: the wall-clock gap, which also counts time the thread waits for a core or for
#: a lock; on the 2 shared cores of the test machine it measured up to ~120 ms, so
#: it keeps a margin.
MAX_BUSY_MS = 50
MAX_GAP_MS = 250


def test_cancel_keeps_classified_rows(qtbot, make_window, fake_classifier, cell_folder, tmp_path):
    window = make_window(fake_classifier(delay_s=0.2), batch_size=2)
    window.open_folder(cell_folder)
    assert window.actions.cancel.isEnabled()
    qtbot.waitUntil(lambda: window.results_model.rowCount() >= 2, timeout=10_000)
    with qtbot.waitSignal(window.controller.job_finished, timeout=1000) as blocker:
        window.actions.cancel.trigger()
    assert blocker.args[0] == JobState.CANCELLED
    kept = window.results_model.rowCount()
    qtbot.waitUntil(lambda: window.controller.active_workers() == 0, timeout=5000)
    qtbot.wait(300)
    assert window.results_model.rowCount() == kept  # the batch in flight was dropped
    assert 2 <= kept < N_FILES
    assert window.results_view.progress.label.text() == f"Cancelled: {kept} of {N_FILES} images processed and kept"
    assert not window.actions.cancel.isEnabled()
    assert window.export_results(tmp_path / "partial.csv") is not None
    # the summary of a cancelled batch says so, and how much of the folder it covers
    with open(window.export_summary(tmp_path / "partial-summary.csv"), newline="", encoding="utf-8-sig") as handle:
        by_label = {r["label"]: r for r in csv.DictReader(handle)}
    assert by_label["Batch status"]["value"] == JobState.CANCELLED
    assert by_label["Image files found"]["count"] == str(N_FILES)
    assert by_label["Images"]["count"] == str(kept)


class _SaveDialog:
    """A fake ``QFileDialog.getSaveFileName``: records the suggested path, saves under ``folder``."""

    def __init__(self, folder):
        self.folder = folder
        self.suggested: list[str] = []

    def __call__(self, _parent, _title, start, *_args, **_kwargs):
        self.suggested.append(start)
        return str(self.folder / f"{len(self.suggested)}.csv"), "CSV files (*.csv)"


def _export_via_dialog(window, monkeypatch, folder):
    """Run File > Export results and Export summary; return the suggested file names."""
    dialog = _SaveDialog(folder)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(dialog))
    window.actions.export_results.trigger()
    results_message = window.statusBar().currentMessage()
    window.actions.export_summary.trigger()
    return [start.rsplit("/", 1)[-1] for start in dialog.suggested], results_message


def test_export_of_a_cancelled_batch_says_so(qtbot, make_window, fake_classifier, cell_folder, tmp_path, monkeypatch):
    window = make_window(fake_classifier(delay_s=0.2), batch_size=2)
    window.open_folder(cell_folder)
    qtbot.waitUntil(lambda: window.results_model.rowCount() >= 2, timeout=10_000)
    window.actions.cancel.trigger()
    kept = window.results_model.rowCount()
    names, message = _export_via_dialog(window, monkeypatch, tmp_path)
    # the results CSV has no status row, so its suggested name carries the status
    assert names == ["cells-results-cancelled.csv", "cells-summary.csv"]
    assert f"Incomplete batch (cancelled): {kept} of {N_FILES} images" in message
    assert message.startswith(f"Saved {tmp_path / '1.csv'}")


def test_export_of_a_failed_batch_says_so(qtbot, make_window, fake_classifier, cell_folder, tmp_path, monkeypatch):
    window = make_window(_FailsOnSecondBatch(fake_classifier()), batch_size=4)
    with qtbot.waitSignal(window.controller.job_finished, timeout=10_000) as blocker:
        window.open_folder(cell_folder)
    assert blocker.args[0] == JobState.FAILED
    window._dialog.close()
    assert window.results_model.rowCount() == 4
    names, message = _export_via_dialog(window, monkeypatch, tmp_path)
    assert names == ["cells-results-failed.csv", "cells-summary.csv"]
    assert f"Incomplete batch (failed): 4 of {N_FILES} images" in message


def test_export_of_a_completed_batch_has_the_plain_name(
    qtbot, make_window, fake_classifier, cell_folder, tmp_path, monkeypatch
):
    window = make_window(fake_classifier())
    with qtbot.waitSignal(window.controller.job_finished, timeout=20_000):
        window.open_folder(cell_folder)
    names, message = _export_via_dialog(window, monkeypatch, tmp_path)
    assert names == ["cells-results.csv", "cells-summary.csv"]
    assert message == f"Saved {tmp_path / '1.csv'}"


class _FailsOnSecondBatch:
    """A classifier that answers its first batch and fails on the next."""

    def __init__(self, fake):
        self.fake = fake
        self.info = fake.info

    def predict_arrays(self, batch):
        if self.fake.calls:
            raise RuntimeError("model exploded")
        return self.fake.predict_arrays(batch)


def test_opening_another_folder_replaces_the_running_job(
    qtbot, make_window, fake_classifier, cell_folder, other_folder
):
    classifier = fake_classifier(delay_s=0.2)
    window = make_window(classifier, batch_size=2)
    window.open_folder(cell_folder)
    qtbot.waitUntil(lambda: window.results_model.rowCount() >= 2, timeout=10_000)
    with qtbot.waitSignal(
        window.controller.job_finished, timeout=20_000, check_params_cb=lambda state, _e: state == JobState.COMPLETED
    ):
        window.open_folder(other_folder)
    qtbot.wait(400)  # give a late batch of the old job every chance to arrive
    rows = window.results_model.predictions()
    assert len(rows) == 8
    assert all(p.record.path.parent == other_folder for p in rows)
    assert classifier.calls < N_FILES // 2 + 4  # the old job stopped early
    assert window.windowTitle().startswith(str(other_folder))


def test_close_while_running_does_not_hang_or_warn(qtbot, make_window, fake_classifier, cell_folder, capfd, qtlog):
    window = make_window(fake_classifier(delay_s=0.3), batch_size=2)
    window.open_folder(cell_folder)
    qtbot.waitUntil(lambda: window.results_model.rowCount() >= 2, timeout=10_000)
    started = time.perf_counter()
    assert window.close()
    closing_s = time.perf_counter() - started
    assert closing_s < 3.0, f"closing took {closing_s:.2f} s"
    assert window.controller.active_workers() == 0
    assert not [t for t in threading.enumerate() if t.name.startswith("hemolens-decode")]
    window.deleteLater()
    qtbot.wait(50)
    messages = [record.message for record in qtlog.records]
    assert not [m for m in messages if "QThread" in m or "Destroyed while" in m], messages
    assert "QThread" not in capfd.readouterr().err


def test_gui_stays_responsive_during_a_job(qtbot, make_window, fake_classifier, cell_folder):
    window = make_window(fake_classifier(delay_s=0.2), batch_size=4)
    ticks: list[float] = []
    cpu: list[float] = []
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(_Recorder(ticks, cpu))
    timer.start()
    with qtbot.waitSignal(window.controller.job_finished, timeout=30_000):
        window.open_folder(cell_folder)
    timer.stop()
    assert window.results_model.rowCount() == N_FILES
    gaps_ms = [(b - a) * 1000 for a, b in zip(ticks, ticks[1:])]
    busy_ms = [(b - a) * 1000 for a, b in zip(cpu, cpu[1:])]
    max_gap = max(gaps_ms)
    print(f"\nevent loop during a job: {len(ticks)} ticks, max gap {max_gap:.1f} ms "
          f"(GUI thread busy {busy_ms[gaps_ms.index(max_gap)]:.1f} ms of it), "
          f"median {sorted(gaps_ms)[len(gaps_ms) // 2]:.1f} ms, longest busy stretch {max(busy_ms):.1f} ms")
    assert len(ticks) > 20
    assert max(busy_ms) < MAX_BUSY_MS
    assert max_gap < MAX_GAP_MS


class _Recorder:
    """A timer slot that records when it ran (a named callable, not a lambda).

    It also records the GUI thread's CPU time: a long gap with little CPU time
    means the thread was waiting for a core (a loaded machine), not busy.
    """

    def __init__(self, ticks: list[float], cpu: list[float] | None = None) -> None:
        self.ticks = ticks
        self.cpu = cpu if cpu is not None else []

    def __call__(self) -> None:
        self.ticks.append(time.perf_counter())
        self.cpu.append(time.thread_time())


def test_classifier_failure_reports_error(qtbot, make_window, cell_folder):
    class Broken:
        def predict_arrays(self, batch):
            raise RuntimeError("model exploded")

    window = make_window(Broken())
    with qtbot.waitSignal(window.controller.job_finished, timeout=10_000) as blocker:
        window.open_folder(cell_folder)
    state, error = blocker.args
    assert state == JobState.FAILED and isinstance(error, WorkerError)
    assert "model exploded" in error.message and "Traceback" in error.details
    assert "model exploded" in window.results_view.progress.label.text()
    assert window._dialog is not None and window._dialog.isVisible()
    assert "model exploded" in window._dialog.detailedText()
    window._dialog.close()


def test_missing_folder_is_reported_not_raised(qtbot, make_window, fake_classifier, tmp_path):
    window = make_window(fake_classifier())
    assert not window.open_folder(tmp_path / "nope")
    assert "Not a folder" in window.statusBar().currentMessage()


def _numbers(count, fail_at=None):
    for value in range(count):
        if value == fail_at:
            raise ValueError("bad number")
        yield value


def test_generator_worker_signals(qtbot):
    pool = QThreadPool()
    pool.setMaxThreadCount(1)
    worker = GeneratorWorker(_numbers, 3, job_id=7)
    values = []
    worker.signals.yielded.connect(_Collect(values))
    with qtbot.waitSignal(worker.signals.finished, timeout=5000) as blocker:
        pool.start(worker)
    assert blocker.args == [7, False]
    qtbot.waitUntil(lambda: len(values) == 3)
    assert values == [(7, 0), (7, 1), (7, 2)]

    failing = GeneratorWorker(_numbers, 3, 1, job_id=8)
    with qtbot.waitSignal(failing.signals.errored, timeout=5000) as blocker:
        pool.start(failing)
    assert blocker.args[0] == 8 and blocker.args[1].type_name == "ValueError"

    cancelled = GeneratorWorker(_numbers, 3, job_id=9)
    cancelled.cancel()
    with qtbot.waitSignal(cancelled.signals.finished, timeout=5000) as blocker:
        pool.start(cancelled)
    assert blocker.args == [9, True]
    pool.waitForDone()


class _Collect:
    def __init__(self, values):
        self.values = values

    def __call__(self, *args):
        self.values.append(args)
