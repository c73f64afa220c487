"""Run one slow call off the GUI thread while a modal "busy" dialog keeps the window alive.

For work the user waits for and that cannot be cancelled halfway without losing its
point (writing a report PDF of a thousand cells takes seconds): the window keeps
painting, says what it is doing, and takes no input meanwhile, so nothing the call
reads can change under it. The call itself must not touch widgets; Qt's text layout,
``QImage`` and ``QPdfWriter`` may run on a worker thread (Qt draws a document's images
as ``QImage`` there instead of ``QPixmap``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from PySide6.QtCore import QEventLoop, QObject, QRunnable, Qt, QThreadPool, Signal, Slot
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QDialog, QLabel, QProgressBar, QVBoxLayout, QWidget

T = TypeVar("T")


class BusyDialog(QDialog):
    """A modal note with an endless progress bar that the user cannot close (the work cannot stop halfway)."""

    def __init__(self, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("HemoLens")
        self.setWindowModality(Qt.WindowModality.ApplicationModal)
        self.setWindowFlag(Qt.WindowType.WindowCloseButtonHint, False)
        self.label = QLabel(text)
        bar = QProgressBar()
        bar.setRange(0, 0)  # busy, with no known end
        bar.setTextVisible(False)
        layout = QVBoxLayout(self)
        layout.addWidget(self.label)
        layout.addWidget(bar)

    def reject(self) -> None:
        """Esc does nothing: the work goes on, and the dialog with it."""

    def closeEvent(self, event: QCloseEvent) -> None:
        """Stay open until the work is done (:meth:`finish` closes it)."""
        event.ignore()

    def finish(self) -> None:
        """Close the dialog once the work is over."""
        self.hide()
        self.deleteLater()


class _Outcome(QObject):
    """Receives the call's result on the GUI thread (a queued signal) and ends the waiting loop."""

    arrived = Signal(object)

    def __init__(self, loop: QEventLoop) -> None:
        super().__init__()
        self.loop = loop
        self.value: tuple[bool, Any] | None = None
        self.arrived.connect(self._on_arrived)

    @Slot(object)
    def _on_arrived(self, value: tuple[bool, Any]) -> None:
        self.value = value
        self.loop.quit()


class _Call(QRunnable):
    """Runs ``work`` on a pool thread and hands (ok, result or exception) to ``outcome``."""

    def __init__(self, work: Callable[[], Any], outcome: _Outcome) -> None:
        super().__init__()
        self.work = work
        self.outcome = outcome

    def run(self) -> None:
        """Call the work; never let an exception escape into Qt's thread pool."""
        try:
            value = (True, self.work())
        except BaseException as exc:  # handed to the GUI thread, which raises it again
            value = (False, exc)
        self.outcome.arrived.emit(value)


_POOL: QThreadPool | None = None


def _pool() -> QThreadPool:
    """One thread for slow calls, apart from the classification and thumbnail pools."""
    global _POOL
    if _POOL is None:
        _POOL = QThreadPool()
        _POOL.setMaxThreadCount(1)
    return _POOL


def run_while_busy(parent: QWidget | None, text: str, work: Callable[[], T]) -> T:
    """Run ``work()`` on a worker thread, showing ``text`` in a :class:`BusyDialog`; return its result.

    The GUI thread keeps painting meanwhile (a local event loop), while the modal dialog
    keeps the user's input away from the window. An exception raised by ``work`` is
    raised here again, on the GUI thread.
    """
    loop = QEventLoop()
    outcome = _Outcome(loop)
    dialog = BusyDialog(text, parent)
    dialog.show()
    _pool().start(_Call(work, outcome))
    loop.exec()
    dialog.finish()
    ok, value = outcome.value
    if not ok:
        raise value
    return value
