"""A line too long for its room says so ("…", the whole line as tooltip) instead of being cut off silently."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel

from hemoapp.gui.widgets.elided_label import ElidedLabel
from hemoapp.gui.widgets.progress_bar import JobProgressBar

LONG = "Classified 48 images in 0.3 s; 6 saved reviews restored (6 of them saved when these files were in " + (
    "/mnt/archive/2026/november/haematology/" * 3
) + "S-2026-0042)"


def test_a_line_that_does_not_fit_ends_with_an_ellipsis_and_keeps_the_whole_text(qtbot):
    label = ElidedLabel()
    qtbot.addWidget(label)
    label.setText(LONG)
    label.resize(300, 30)
    label.show()
    qtbot.waitExposed(label)
    shown = label.shown_text()
    assert shown.endswith("…") and LONG.startswith(shown[:-1]) and len(shown) < len(LONG)
    assert label.fontMetrics().horizontalAdvance(shown) <= label.contentsRect().width()
    assert label.text() == LONG and label.toolTip() == LONG
    # What is painted is that shortened line, as a plain label would paint it.
    plain = QLabel(shown)
    qtbot.addWidget(plain)
    plain.resize(label.size())
    assert label.grab().toImage() == plain.grab().toImage()
    # With room for all of it, all of it is shown.
    label.resize(label.fontMetrics().horizontalAdvance(LONG) + 20, 30)
    assert label.shown_text() == LONG


def test_the_progress_line_of_a_narrow_window_is_shortened_not_cut(qtbot):
    progress = JobProgressBar()
    qtbot.addWidget(progress)
    progress.resize(700, 40)
    progress.show()
    qtbot.waitExposed(progress)
    progress.finish(LONG)
    assert progress.label.text() == LONG and progress.label.toolTip() == LONG
    assert progress.label.shown_text().endswith("…")
