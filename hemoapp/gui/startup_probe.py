"""``hemoapp --startup-probe`` (hidden, for ``benchmarks/bench_startup.py``): the real app to a shown window.

It starts the desktop app through :func:`hemoapp.gui.app.run_gui`, prints
``HEMOLENS_READY <epoch s>`` (:data:`hemoapp.selftest.READY_MARKER`) once the main
window is shown and exits. Apart from :mod:`hemoapp.selftest`, which never imports Qt.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from hemoapp.selftest import EXIT_FAILED, EXIT_PASSED, READY_MARKER, output_stream


def binding_refcount_problem(calls: int = 2000) -> str | None:
    """Why the Qt binding would crash this Python, or ``None`` when it keeps its references.

    PySide6 6.12.0 on CPython 3.11 loses a reference to ``None`` on every call
    that returns nothing; the app then aborts after a few thousand calls. The
    probe checks the binding the bundle really contains.
    """
    from PySide6.QtWidgets import QLabel

    label = QLabel()
    before = sys.getrefcount(None)
    for _ in range(calls):
        label.setText("probe")
    drift = sys.getrefcount(None) - before
    if drift < -calls // 2:
        return f"the Qt binding loses a reference to None on each call ({drift} over {calls} calls): it would crash"
    return None


class _ReadyProbe:
    """Zero-timer callback: report the shown main window, then quit the event loop."""

    def __init__(self, application, stream: TextIO) -> None:
        self.application = application
        self.stream = stream
        self.ready = False

    def __call__(self) -> None:
        from PySide6.QtWidgets import QApplication, QMainWindow

        shown = [w for w in QApplication.topLevelWidgets() if isinstance(w, QMainWindow) and w.isVisible()]
        if not shown:
            self.stream.write("HEMOLENS_NOT_READY no main window is visible\n")
            self.stream.flush()
            self.application.exit(EXIT_FAILED)
            return
        QApplication.processEvents()  # let the first paint through before calling it ready
        ready_at = time.time()
        problem = binding_refcount_problem()
        if problem is not None:
            self.stream.write(f"HEMOLENS_NOT_READY {problem}\n")
            self.stream.flush()
            self.application.exit(EXIT_FAILED)
            return
        self.ready = True
        self.stream.write(f"{READY_MARKER} {ready_at:.6f} {type(shown[0]).__name__}\n")
        self.stream.flush()
        self.application.exit(EXIT_PASSED)


def run_startup_probe(stream: TextIO | None = None) -> int:
    """Start the real app (no paths), print :data:`READY_MARKER` once the window shows, exit.

    The application object is made first with the app's own settings, so the
    zero-timer can be queued; :func:`~hemoapp.gui.app.run_gui` then reuses it and
    builds, shows and runs the window exactly as a user's start does.
    """
    from PySide6.QtCore import QTimer

    from hemoapp.gui import app as gui_app

    out = output_stream(stream if stream is not None else sys.stdout)
    application = gui_app.create_application(sys.argv[:1])
    probe = _ReadyProbe(application, out)
    QTimer.singleShot(0, probe)
    status = gui_app.run_gui([])
    return EXIT_PASSED if probe.ready and status == 0 else EXIT_FAILED
