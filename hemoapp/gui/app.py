"""Application start-up: QApplication, icon, error hook, model loading, main window."""

from __future__ import annotations

import sys
import threading
import traceback
from collections.abc import Sequence
from types import TracebackType

from PySide6.QtCore import QCoreApplication, Qt, QTimer
from PySide6.QtGui import QGuiApplication, QIcon
from PySide6.QtWidgets import QApplication, QMessageBox

import hemoapp
from hemoapp.core.classifier import ModelLoadError, load_default_classifier
from hemoapp.gui.dialogs import error_box
from hemoapp.gui.locations import resource_path
from hemoapp.gui.settings import APPLICATION, ORGANIZATION


def app_icon() -> QIcon:
    """The window icon (SVG, with a PNG fallback for platforms without the SVG plugin)."""
    icon = QIcon()
    for name in ("hemolens.svg", "hemolens-256.png"):
        path = resource_path(name)
        if path.is_file():
            icon.addFile(str(path))
    return icon


def create_application(argv: Sequence[str] | None = None) -> QApplication:
    """Create (or return) the ``QApplication`` with names, icon and high-DPI policy set."""
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    # Qt 6 always scales for high DPI; pass fractional factors through (125 %, 150 %)
    # instead of rounding, so text and thumbnails are neither blurry nor tiny.
    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
    QCoreApplication.setOrganizationName(ORGANIZATION)
    QCoreApplication.setApplicationName(APPLICATION)
    QCoreApplication.setApplicationVersion(hemoapp.__version__)
    app = QApplication(list(argv) if argv is not None else sys.argv[:1])
    app.setApplicationDisplayName("HemoLens")
    app.setDesktopFileName("hemolens")
    app.setWindowIcon(app_icon())
    return app


class ErrorHook:
    """``sys.excepthook`` / ``threading.excepthook`` that shows a readable error dialog.

    The traceback still goes to stderr. The dialog is shown on the GUI thread
    (a worker thread's exception is posted there with a zero-timer) and only one
    at a time, so a failing paint event cannot open hundreds of boxes.
    """

    def __init__(self) -> None:
        self._showing = False
        self._previous = sys.excepthook

    def install(self) -> None:
        """Become the process's exception hook."""
        sys.excepthook = self.__call__
        threading.excepthook = self._thread_hook

    def uninstall(self) -> None:
        """Restore the previous hook."""
        sys.excepthook = self._previous
        threading.excepthook = threading.__excepthook__

    def __call__(self, exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        """Print the traceback and show it in a dialog."""
        details = "".join(traceback.format_exception(exc_type, exc, tb))
        sys.stderr.write(details)
        if issubclass(exc_type, KeyboardInterrupt):
            QApplication.quit()
            return
        if threading.current_thread() is threading.main_thread():
            self._show(exc_type.__name__, str(exc), details)
        # Other threads: the traceback is on stderr; workers report their own errors as signals.

    def _thread_hook(self, args: threading.ExceptHookArgs) -> None:
        self(args.exc_type, args.exc_value, args.exc_traceback)

    def _show(self, name: str, message: str, details: str) -> None:
        if self._showing or QApplication.instance() is None:
            return
        self._showing = True
        try:
            parent = QApplication.activeWindow()
            box = error_box(
                parent,
                "HemoLens – unexpected error",
                f"Something went wrong: {name}: {message}\n\nYour results so far are still shown. "
                "If this keeps happening, copy the details and send them to support.",
                details,
            )
            box.setIcon(QMessageBox.Icon.Critical)
            box.exec()
        finally:
            self._showing = False


def load_classifier() -> tuple[object | None, str | None]:
    """Load the installed model; on failure return ``(None, reason)`` instead of raising."""
    try:
        return load_default_classifier(), None
    except ModelLoadError as exc:
        return None, str(exc)


def run_gui(paths: list[str]) -> int:
    """Start the desktop app; open ``paths`` (a folder, or image files) once shown.

    Returns:
        The Qt event loop's exit code.
    """
    from hemoapp.gui.main_window import MainWindow  # after QApplication settings are in place

    app = create_application(sys.argv[:1])
    hook = ErrorHook()
    hook.install()
    classifier, model_error = load_classifier()
    window = MainWindow(classifier=classifier, model_error=model_error, icon=app.windowIcon(), confirm_close=True)
    window.show()
    if paths:
        # Start after the window is on screen, so the user sees progress from the first batch.
        QTimer.singleShot(0, window, _OpenPaths(window, list(paths)))
    try:
        return app.exec()
    finally:
        hook.uninstall()


class _OpenPaths:
    """Deferred "open these paths" for :func:`run_gui` (a named callable, not a lambda)."""

    def __init__(self, window, paths: list[str]) -> None:
        self.window = window
        self.paths = paths

    def __call__(self) -> None:
        self.window.open_files(self.paths)
