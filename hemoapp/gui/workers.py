"""Run a generator function on a thread pool, one signal per ``yield``.

Pattern from superqt's ``_qthreading``: long work is a generator, every
``yield`` is a progress point and a safe place to stop. The worker is a
``QRunnable``; its signals live on a separate ``QObject`` created on the GUI
thread, so connected slots of GUI objects run there (queued connections).
Every signal carries the worker's ``job_id`` so receivers can drop results of a
job they no longer care about.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QRunnable, Signal


@dataclass(frozen=True)
class WorkerError:
    """An exception raised inside a worker, made safe to hand across threads.

    Attributes:
        type_name: the exception class name.
        message: ``str(exception)``.
        details: the formatted traceback (for a "Details" box).
    """

    type_name: str
    message: str
    details: str

    @classmethod
    def from_exception(cls, exc: BaseException) -> "WorkerError":
        """Capture an exception with its traceback."""
        details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        return cls(type(exc).__name__, str(exc), details)


class WorkerSignals(QObject):
    """Signals of a :class:`GeneratorWorker`, named as past-tense events.

    ``progress`` is emitted after ``yielded`` when the yielded value has integer
    ``done`` and ``total`` attributes.
    """

    started = Signal(int)
    yielded = Signal(int, object)
    progress = Signal(int, int, int)
    errored = Signal(int, object)
    finished = Signal(int, bool)


class GeneratorWorker(QRunnable):
    """A ``QRunnable`` that iterates a generator and emits its values.

    Args:
        func: called on the pool thread as ``func(*args, **kwargs)``; must
            return an iterator (usually it is a generator function).
        job_id: an id attached to every signal.
        cancel_event: set it to stop at the next ``yield``; the worker then
            closes the generator (running its ``finally`` blocks).

    The ``finished`` signal is always emitted last, with ``True`` when the run
    was cancelled.
    """

    def __init__(
        self,
        func: Callable[..., Iterator[Any]],
        *args: Any,
        job_id: int = 0,
        cancel_event: threading.Event | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        self._func = func
        self._args = args
        self._kwargs = kwargs
        self.job_id = job_id
        self.cancel_event = cancel_event if cancel_event is not None else threading.Event()
        self.signals = WorkerSignals()

    def cancel(self) -> None:
        """Ask the worker to stop at its next ``yield`` (thread-safe)."""
        self.cancel_event.set()

    def run(self) -> None:  # noqa: D401 - Qt override
        """Iterate the generator on the pool thread."""
        signals = self.signals
        job_id = self.job_id
        cancelled = False
        signals.started.emit(job_id)
        try:
            if self.cancel_event.is_set():
                cancelled = True
                return
            iterator = self._func(*self._args, **self._kwargs)
            try:
                for value in iterator:
                    if self.cancel_event.is_set():
                        cancelled = True
                        break
                    signals.yielded.emit(job_id, value)
                    done = getattr(value, "done", None)
                    total = getattr(value, "total", None)
                    if isinstance(done, int) and isinstance(total, int):
                        signals.progress.emit(job_id, done, total)
            finally:
                close = getattr(iterator, "close", None)
                if close is not None:
                    close()
        except Exception as exc:  # noqa: BLE001 - every failure goes to the GUI as a signal
            signals.errored.emit(job_id, WorkerError.from_exception(exc))
        finally:
            signals.finished.emit(job_id, cancelled or self.cancel_event.is_set())
