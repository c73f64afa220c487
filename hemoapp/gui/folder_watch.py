"""Keep checking, off the window's thread, whether the shown batch's folder has changed.

After a batch, the window keeps the scan it classified and hands it to a
:class:`FolderWatch`, which scans the same source again now and then on a thread of
its own and compares (:func:`~hemoapp.core.folder_changes.folder_changes`). Polling,
not the file system's change notices: network shares, where analysers often export,
do not deliver those reliably, and a folder's listing is cheap. The pause between two
scans grows with the time one takes, so a huge folder on a slow share costs at most
a small share of one core.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from PySide6.QtCore import QObject, QThreadPool, QTimer, Signal, Slot

from hemoapp.core.folder_changes import FolderChanges, folder_changes
from hemoapp.core.scan import ScanResult
from hemoapp.gui.controller import JobSource, scan_source
from hemoapp.gui.workers import GeneratorWorker, WorkerError

#: The shortest pause between two scans.
CHECK_INTERVAL_MS = 3000

#: The pause is at least this many times the last scan's duration (1/20: at most 5% of a core).
PAUSE_PER_SCAN_TIME = 20


def timed_scan(source: JobSource) -> Iterator[tuple[ScanResult, float]]:
    """Scan ``source`` once (on the pool thread); yield the result and the seconds it took."""
    started = time.perf_counter()
    scan = scan_source(source)
    yield scan, time.perf_counter() - started


class FolderWatch(QObject):
    """Scans a batch's source again every few seconds and says when it differs from the batch's scan.

    Signals:
        changed(object): the :class:`~hemoapp.core.folder_changes.FolderChanges` found, each
            time they differ from the last ones said (empty when the folder is back as it was).
            A folder that can no longer be listed (deleted, a drive unplugged) reads as every
            file gone.
    """

    changed = Signal(object)

    def __init__(self, interval_ms: int = CHECK_INTERVAL_MS, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.interval_ms = interval_ms
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.check_now)
        self._source: JobSource | None = None
        self._scan: ScanResult | None = None
        self._changes: FolderChanges | None = None
        # Each watch() or stop() starts a new generation; a scan of an older one is dropped,
        # so a scan of the current one always has the watched source and scan to compare.
        self._generation = 0
        self._running: GeneratorWorker | None = None
        self._next_pause_ms = interval_ms

    @property
    def changes(self) -> FolderChanges | None:
        """What the last finished scan found, or ``None`` before it (or when nothing is watched)."""
        return self._changes

    def watch(self, source: JobSource, scan: ScanResult) -> None:
        """Start comparing ``source`` with ``scan``, the scan its batch classified."""
        self.stop()
        self._source, self._scan = source, scan
        self._next_pause_ms = self.interval_ms
        self._timer.start(self.interval_ms)

    def stop(self) -> None:
        """Stop watching (a scan under way finishes on its thread and is ignored)."""
        self._generation += 1
        self._timer.stop()
        self._source = self._scan = self._changes = None

    def check_now(self) -> None:
        """Scan now, unless a scan is under way or nothing is watched."""
        if self._source is None or self._running is not None:
            return
        self._timer.stop()
        worker = GeneratorWorker(timed_scan, self._source, job_id=self._generation)
        worker.signals.yielded.connect(self._on_worker_yielded)
        worker.signals.errored.connect(self._on_worker_errored)
        worker.signals.finished.connect(self._on_worker_finished)
        self._running = worker
        self._pool.start(worker)

    def shutdown(self) -> None:
        """Stop and wait for a scan under way (call before the window closes)."""
        self.stop()
        self._pool.waitForDone()

    @Slot(int, object)
    def _on_worker_yielded(self, generation: int, value: Any) -> None:
        if generation != self._generation:
            return
        scan, seconds = value
        self._next_pause_ms = max(self.interval_ms, int(seconds * 1000 * PAUSE_PER_SCAN_TIME))
        self._found(folder_changes(self._scan, scan))

    @Slot(int, object)
    def _on_worker_errored(self, generation: int, error: WorkerError) -> None:
        if generation != self._generation:
            return
        self._found(FolderChanges(removed=tuple(record.relpath for record in self._scan.records)))

    @Slot(int, bool)
    def _on_worker_finished(self, generation: int, cancelled: bool) -> None:
        self._running = None
        if self._source is not None:
            self._timer.start(self._next_pause_ms)

    def _found(self, changes: FolderChanges) -> None:
        if changes != self._changes:
            self._changes = changes
            self.changed.emit(changes)
