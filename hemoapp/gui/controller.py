"""Runs classification jobs in the background and reports them to the window.

The controller owns a private ``QThreadPool`` with one thread, so jobs (and
the one LiteRT interpreter) never run concurrently. Each job has an id; only
the current job's results are passed on. Cancelling, or starting another job,
makes the old job stop at its next batch and its late results are dropped
(Orange3's rule: a cancelled task's result never reaches the widget).

Results reach the window a few times a second, not once per batch: each
delivery costs the window's thread a repaint of the table and the progress bar,
and on two cores that time is taken from decoding and inference
(``benchmarks/bench_window.py`` measures it).
A batch is delivered at once when the last delivery is ``delivery_interval_ms``
old; otherwise it waits, and the batches that waited go out together. Whatever
waits is delivered before the job's end is announced, however it ends.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, QThreadPool, QTimer, Signal, Slot

from hemoapp.core.pipeline import BatchResult, iter_predictions
from hemoapp.core.scan import ScanResult, records_from_paths, scan_folder
from hemoapp.gui.workers import GeneratorWorker, WorkerError


@dataclass(frozen=True)
class JobSource:
    """What a job classifies: a folder (scanned recursively) or a list of files."""

    folder: Path | None = None
    files: tuple[Path, ...] = ()

    @property
    def label(self) -> str:
        """A short description for titles and status messages."""
        if self.folder is not None:
            return str(self.folder)
        if len(self.files) == 1:
            return str(self.files[0])
        return f"{len(self.files)} files"


class JobState:
    """How a job ended."""

    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"


def scan_source(source: JobSource) -> ScanResult:
    """List the image files of ``source``: its folder, scanned recursively, or its files.

    Raises:
        FolderError: the folder is missing, not a folder, or cannot be listed.
    """
    if source.folder is not None:
        return scan_folder(source.folder)
    return records_from_paths(list(source.files))


def classification_job(
    source: JobSource, classifier: Any, batch_size: int, cancel: threading.Event
) -> Iterator[ScanResult | BatchResult]:
    """Scan the source, then classify it batch by batch (runs on the pool thread).

    Yields the ``ScanResult`` first, then one ``BatchResult`` per batch.
    """
    scan = scan_source(source)
    yield scan
    if cancel.is_set():
        return
    yield from iter_predictions(scan.records, classifier, batch_size=batch_size, cancel=cancel)


def merge_batches(batches: Sequence[BatchResult]) -> BatchResult:
    """One ``BatchResult`` with the predictions of ``batches`` (in order) and the last one's progress."""
    last = batches[-1]
    predictions = [prediction for batch in batches for prediction in batch.predictions]
    return BatchResult(predictions, last.done, last.total, last.elapsed_s)


class ClassificationController(QObject):
    """Starts, cancels and supersedes classification jobs.

    Signals (current job only):
        job_started(int, object): job id and :class:`JobSource`.
        scanned(object): the core ``ScanResult`` (records and skipped files).
        batch_ready(object): a core ``BatchResult``: one or more batches that arrived since the
            last delivery, merged (see :func:`merge_batches`), at most once per ``delivery_interval_ms``.
        job_finished(str, object): a :class:`JobState` and a ``WorkerError`` or ``None``; every
            result of the job has been delivered by then.
    """

    job_started = Signal(int, object)
    scanned = Signal(object)
    batch_ready = Signal(object)
    job_finished = Signal(str, object)

    def __init__(
        self,
        classifier: Any = None,
        batch_size: int = 32,
        delivery_interval_ms: int = 250,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._classifier = classifier
        self.batch_size = batch_size
        self.delivery_interval_ms = delivery_interval_ms
        self._pending: list[BatchResult] = []  # the current job's batches not yet delivered
        self._last_delivery = float("-inf")  # time.monotonic() of the last batch_ready
        self._delivery_timer = QTimer(self)
        self._delivery_timer.setSingleShot(True)
        # A coarse timer may fire up to 5% early; "at most once per interval" should hold.
        self._delivery_timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._delivery_timer.timeout.connect(self._deliver)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._next_job_id = 1
        self._current: GeneratorWorker | None = None
        self._workers: dict[int, GeneratorWorker] = {}  # alive until their ``finished`` arrives

    @property
    def classifier(self) -> Any:
        """The classifier jobs use (anything with ``predict_arrays``), or ``None``."""
        return self._classifier

    def set_classifier(self, classifier: Any) -> None:
        """Use another classifier for the next job (the running one keeps its own)."""
        self._classifier = classifier

    @property
    def current_job_id(self) -> int | None:
        """Id of the running job, or ``None`` when idle."""
        return self._current.job_id if self._current is not None else None

    def active_workers(self) -> int:
        """Jobs not yet finished on the pool thread (a cancelled job counts until it stops)."""
        return len(self._workers)

    def is_running(self) -> bool:
        """True while a job is running (and not cancelled)."""
        return self._current is not None

    def start(self, source: JobSource) -> int:
        """Cancel any running job and start classifying ``source``; return the new job id.

        Raises:
            RuntimeError: no classifier is loaded.
        """
        if self._classifier is None:
            raise RuntimeError("no model is loaded")
        self.cancel()
        job_id = self._next_job_id
        self._next_job_id += 1
        cancel = threading.Event()
        worker = GeneratorWorker(
            classification_job, source, self._classifier, self.batch_size, cancel,
            job_id=job_id, cancel_event=cancel,
        )
        signals = worker.signals
        signals.yielded.connect(self._on_worker_yielded)
        signals.errored.connect(self._on_worker_errored)
        signals.finished.connect(self._on_worker_finished)
        self._workers[job_id] = worker
        self._current = worker
        self._last_delivery = float("-inf")  # the new job's first batch is shown at once
        self._pool.start(worker)
        self.job_started.emit(job_id, source)
        return job_id

    def start_folder(self, folder: str | Path) -> int:
        """Classify every image under ``folder`` (see :meth:`start`)."""
        return self.start(JobSource(folder=Path(folder)))

    def start_files(self, files: Sequence[str | Path]) -> int:
        """Classify a list of image files (see :meth:`start`)."""
        return self.start(JobSource(files=tuple(Path(f) for f in files)))

    def cancel(self) -> bool:
        """Stop the running job after its current batch; return True if one was running.

        What has been classified so far stays; the job's later results are dropped.
        """
        worker = self._current
        if worker is None:
            return False
        worker.cancel()
        self._current = None
        self._deliver()  # what was classified is kept: it reaches the window before the end does
        self.job_finished.emit(JobState.CANCELLED, None)
        return True

    def shutdown(self) -> None:
        """Cancel everything and wait for the pool thread (call before the window closes)."""
        self._current = None
        self._delivery_timer.stop()
        self._pending.clear()
        for worker in list(self._workers.values()):
            worker.cancel()
        self._pool.waitForDone()
        self._workers.clear()

    def _is_current(self, job_id: int) -> bool:
        return self._current is not None and self._current.job_id == job_id

    @Slot(int, object)
    def _on_worker_yielded(self, job_id: int, value: ScanResult | BatchResult) -> None:
        if not self._is_current(job_id):
            return  # a superseded or cancelled job: its late results are ignored
        if isinstance(value, ScanResult):
            self.scanned.emit(value)
            return
        if not isinstance(value, BatchResult):
            raise TypeError(f"a classification job yields a ScanResult or a BatchResult, not {type(value).__name__}")
        self._pending.append(value)
        if self._delivery_timer.isActive():
            return  # it will deliver this batch with the others
        wait_ms = self.delivery_interval_ms - (time.monotonic() - self._last_delivery) * 1000
        if wait_ms <= 0:
            self._deliver()
        else:
            self._delivery_timer.start(int(wait_ms) + 1)

    @Slot()
    def _deliver(self) -> None:
        """Emit the batches that wait, merged into one ``batch_ready``."""
        self._delivery_timer.stop()
        if not self._pending:
            return
        batch = merge_batches(self._pending)
        self._pending = []
        self._last_delivery = time.monotonic()
        self.batch_ready.emit(batch)

    @Slot(int, object)
    def _on_worker_errored(self, job_id: int, error: WorkerError) -> None:
        if not self._is_current(job_id):
            return
        self._current = None
        self._deliver()  # the batches before the failure are kept
        self.job_finished.emit(JobState.FAILED, error)

    @Slot(int, bool)
    def _on_worker_finished(self, job_id: int, cancelled: bool) -> None:
        self._workers.pop(job_id, None)
        if not self._is_current(job_id):
            return
        self._current = None
        self._deliver()
        self.job_finished.emit(JobState.CANCELLED if cancelled else JobState.COMPLETED, None)
