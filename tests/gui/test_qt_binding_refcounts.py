"""The pinned Qt binding keeps Python's reference counts right.

PySide6-Essentials 6.12.0 on CPython 3.11 dropped one reference to ``None`` on
every binding call that returns nothing, and one to ``True`` on every
``Signal.emit()``. Python 3.11 does not protect those objects, so after a few
thousand calls (about 50 repaints of a full results table) the process aborted
with "Fatal Python error: none_dealloc", losing every unexported result. These
tests pin the fix (PySide6 6.11.3): they fail on a binding with that bug.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QApplication, QLabel

CALLS = 1000


class _Emitter(QObject):
    happened = Signal()
    valued = Signal(bool)


def _drift(obj: object, action, calls: int = CALLS) -> int:
    """How much ``obj``'s reference count changes over ``calls`` calls of ``action``."""
    before = sys.getrefcount(obj)
    for _ in range(calls):
        action()
    return sys.getrefcount(obj) - before


def test_calls_returning_nothing_keep_none_alive(qtbot):
    label = QLabel()
    qtbot.addWidget(label)
    # A few references may come and go with caches; a lost one per call is the bug.
    assert abs(_drift(None, lambda: label.setText("x"))) < CALLS // 10


def test_processing_events_keeps_none_alive(qtbot):
    app = QApplication.instance()
    assert abs(_drift(None, app.processEvents)) < CALLS // 10


def test_emitting_signals_keeps_true_alive(qtbot):
    emitter = _Emitter()
    received = [0]

    def count(value: bool) -> None:  # keeps no reference to the value it gets
        received[0] += value

    emitter.happened.connect(lambda: None)
    emitter.valued.connect(count)
    assert abs(_drift(True, emitter.happened.emit)) < CALLS // 10
    assert abs(_drift(True, lambda: emitter.valued.emit(True))) < CALLS // 10
    assert received[0] == CALLS
