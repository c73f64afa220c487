"""The controller hands results to the window a few times a second, not once per batch.

Every delivery costs the window's thread a repaint of the table and the progress bar; on two cores that
time is taken from decoding and inference. So batches that arrive within ``delivery_interval_ms`` of the
last delivery wait and go out together, in order, and whatever waits is delivered before the job's end
is announced, however it ends (completed, cancelled or failed).
"""

from __future__ import annotations

import time

import pytest

from hemoapp.gui.controller import ClassificationController, JobState

N_FILES = 17  # cell_folder: 16 cells + one broken file
NEVER_MS = 600_000  # a delivery interval no test outlasts: only the first batch and the end deliver


class _Deliveries:
    """Records each ``batch_ready`` (with its time) and the job's end, in the order they came."""

    def __init__(self, controller: ClassificationController) -> None:
        self.batches: list = []
        self.times: list[float] = []
        self.events: list[str] = []
        controller.batch_ready.connect(self._on_batch_ready)
        controller.job_finished.connect(self._on_job_finished)

    def _on_batch_ready(self, batch) -> None:
        self.batches.append(batch)
        self.times.append(time.perf_counter())
        self.events.append("batch")

    def _on_job_finished(self, state, _error) -> None:
        self.events.append(state)

    def relpaths(self) -> list[str]:
        return [p.record.relpath for batch in self.batches for p in batch.predictions]


@pytest.fixture()
def make_controller():
    """Factory: ``make_controller(classifier, batch_size, interval_ms)``; each is shut down after the test."""
    made: list[ClassificationController] = []

    def make(classifier, batch_size: int, interval_ms: int) -> ClassificationController:
        controller = ClassificationController(classifier, batch_size=batch_size, delivery_interval_ms=interval_ms)
        made.append(controller)
        return controller

    yield make
    for controller in made:
        controller.shutdown()


def test_batches_within_the_interval_are_delivered_together_in_order(
    qtbot, make_controller, fake_classifier, cell_folder
):
    controller = make_controller(fake_classifier(), batch_size=1, interval_ms=NEVER_MS)
    seen = _Deliveries(controller)
    with qtbot.waitSignal(controller.job_finished, timeout=20_000) as blocker:
        controller.start_folder(cell_folder)
    assert blocker.args[0] == JobState.COMPLETED
    # the first batch at once (the user sees a cell straight away), the other 16 together at the end
    assert [len(batch.predictions) for batch in seen.batches] == [1, N_FILES - 1]
    assert seen.events == ["batch", "batch", JobState.COMPLETED]
    expected = [record.relpath for record in controller_scan(cell_folder)]
    assert seen.relpaths() == expected
    last = seen.batches[-1]
    assert (last.done, last.total) == (N_FILES, N_FILES)


def controller_scan(folder):
    from hemoapp.core.scan import scan_folder

    return scan_folder(folder).records


def test_a_cancelled_job_delivers_what_waited_before_it_ends(qtbot, make_controller, fake_classifier, cell_folder):
    classifier = fake_classifier(delay_s=0.05)
    controller = make_controller(classifier, batch_size=1, interval_ms=NEVER_MS)
    seen = _Deliveries(controller)
    controller.start_folder(cell_folder)
    qtbot.waitUntil(lambda: classifier.calls >= 6, timeout=20_000)
    qtbot.wait(100)  # the finished batches' results reach the controller
    assert len(seen.batches) == 1  # only the first was delivered so far
    with qtbot.waitSignal(controller.job_finished, timeout=1000) as blocker:
        controller.cancel()
    assert blocker.args[0] == JobState.CANCELLED
    assert seen.events[-1] == JobState.CANCELLED and seen.events[:-1] == ["batch"] * len(seen.batches)
    delivered = seen.relpaths()
    assert len(delivered) >= 5
    assert delivered == [record.relpath for record in controller_scan(cell_folder)][: len(delivered)]
    assert seen.batches[-1].done == len(delivered)


class _FailsOnBatch:
    """Answers like the fake classifier until its ``fail_at``-th call, which raises."""

    def __init__(self, classifier, fail_at: int) -> None:
        self.classifier = classifier
        self.fail_at = fail_at
        self.calls = 0

    def predict_arrays(self, batch):
        self.calls += 1
        if self.calls == self.fail_at:
            raise RuntimeError("model exploded")
        return self.classifier.predict_arrays(batch)


def test_a_failed_job_delivers_what_waited_before_it_ends(qtbot, make_controller, fake_classifier, cell_folder):
    controller = make_controller(_FailsOnBatch(fake_classifier(), fail_at=5), batch_size=1, interval_ms=NEVER_MS)
    seen = _Deliveries(controller)
    with qtbot.waitSignal(controller.job_finished, timeout=20_000) as blocker:
        controller.start_folder(cell_folder)
    assert blocker.args[0] == JobState.FAILED
    assert seen.events == ["batch", "batch", JobState.FAILED]
    assert len(seen.relpaths()) == 4  # batches 1-4 were classified before the 5th failed


def test_deliveries_are_at_least_the_interval_apart(qtbot, make_controller, fake_classifier, cell_folder):
    # Slow enough that the job spans several intervals; each delivery but the last (the end's) waits its turn.
    controller = make_controller(fake_classifier(delay_s=0.03), batch_size=1, interval_ms=200)
    seen = _Deliveries(controller)
    with qtbot.waitSignal(controller.job_finished, timeout=20_000):
        controller.start_folder(cell_folder)
    assert seen.relpaths() == [record.relpath for record in controller_scan(cell_folder)]
    gaps = [later - earlier for earlier, later in zip(seen.times, seen.times[1:-1])]
    assert len(seen.batches) < N_FILES
    assert gaps and min(gaps) >= 0.19, gaps


def test_the_window_delivers_a_few_times_a_second_by_default(qtbot, make_window):
    window = make_window()
    assert 100 <= window.controller.delivery_interval_ms <= 500
