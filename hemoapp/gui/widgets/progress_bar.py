"""Progress of the running job: done/total, images per second, time left, Cancel."""

from __future__ import annotations

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QHBoxLayout, QProgressBar, QPushButton, QWidget

from hemoapp.gui.widgets.elided_label import ElidedLabel


def format_duration(seconds: float) -> str:
    """Render seconds as "45 s", "3 min 05 s" or "1 h 02 min"."""
    if seconds < 10:
        return f"{max(0.0, seconds):.1f} s"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def progress_text(done: int, total: int, elapsed_s: float) -> str:
    """The line under the bar, e.g. "96 / 640 images · 41.3 images/s · about 13 s left"."""
    parts = [f"{done} / {total} images"]
    if done > 0 and elapsed_s > 0:
        rate = done / elapsed_s
        parts.append(f"{rate:.1f} images/s")
        if done < total:
            parts.append(f"about {format_duration((total - done) / rate)} left")
    elif done < total:
        parts.append("starting…")
    return " · ".join(parts)


def finished_text(
    state: str, done: int, total: int, elapsed_s: float, error: str = "", unreadable: int = 0, skipped: int = 0
) -> str:
    """The line shown when a job ends ("completed", "cancelled" or "failed").

    ``done`` counts every file processed, ``unreadable`` those among them that
    could not be classified: they are reported apart so that a count of
    "classified" images never includes a file that has no prediction.
    ``skipped`` counts entries the scan could not look into (an unlistable
    folder, a link out of the tree): the line stays after the job, so images
    that were never counted do not go unnoticed.
    """
    notes = f"; {unreadable} could not be read" if unreadable else ""
    notes += f"; {skipped} {'entry' if skipped == 1 else 'entries'} skipped" if skipped else ""
    if state == "completed":
        if not total:
            return f"No images found{notes}"
        return f"Classified {done - unreadable} images in {format_duration(elapsed_s)}{notes}"
    if state == "cancelled":
        return f"Cancelled: {done} of {total} images processed and kept{notes}"
    return f"Stopped: {error or 'unknown error'}{notes}"


class JobProgressBar(QWidget):
    """A progress bar with statistics and a Cancel button.

    Signals:
        cancel_requested(): the Cancel button was pressed.
    """

    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bar = QProgressBar()
        self.bar.setTextVisible(True)
        self.bar.setAccessibleName("Classification progress")
        self.bar.setMinimumWidth(120)
        self.label = ElidedLabel()  # the final line can name a long folder path
        self.label.setMinimumWidth(180)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop after the current batch and keep what is classified (Esc)")
        self.cancel_button.clicked.connect(self._on_cancel_button_clicked)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.bar, 2)
        layout.addWidget(self.label, 3)
        layout.addWidget(self.cancel_button)

    def start(self, text: str = "Scanning folder…") -> None:
        """Show a busy bar while the folder is scanned."""
        self.bar.setRange(0, 0)
        self.label.setText(text)
        self.cancel_button.setVisible(True)
        self.cancel_button.setEnabled(True)
        self.show()

    def set_progress(self, done: int, total: int, elapsed_s: float) -> None:
        """Update the bar and the statistics line."""
        self.bar.setRange(0, max(total, 1))
        self.bar.setValue(min(done, max(total, 1)))
        self.label.setText(progress_text(done, total, elapsed_s))

    def finish(self, text: str) -> None:
        """Show the final line and hide Cancel."""
        if self.bar.maximum() == 0:
            self.bar.setRange(0, 1)
            self.bar.setValue(0)
        self.label.setText(text)
        self.cancel_button.setVisible(False)

    @Slot()
    def _on_cancel_button_clicked(self) -> None:
        self.cancel_requested.emit()
