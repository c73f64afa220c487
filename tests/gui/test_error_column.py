"""The Error column shows a reason over the row's lines, not one cut line ("the image is al…")."""

from __future__ import annotations

from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QApplication

from hemoapp.gui.delegates import WrappedTextDelegate, wrapped_lines
from hemoapp.gui.table_model import Column

REASON = ("the image is all one colour (a blank or failed export), so it shows no cell; check the analyser's "
          "export of this file")


def test_a_long_reason_wraps_and_only_the_last_line_is_elided(qapp):
    font = QApplication.font()
    width = QFontMetrics(font).horizontalAdvance("the image is all one colour")  # a narrow column
    three = wrapped_lines(REASON, font, width, 3)
    assert len(three) == 3
    assert " ".join(three[:2]) == REASON[: len(" ".join(three[:2]))]  # the first lines are the text itself
    assert three[-1].endswith("…")
    assert all(QFontMetrics(font).horizontalAdvance(line) <= width for line in three)
    wide = wrapped_lines(REASON, font, 10_000, 3)
    assert wide == [REASON]  # room enough: nothing cut


def test_a_word_longer_than_the_column_breaks_instead_of_vanishing(qapp):
    font = QApplication.font()
    path = "/root/.local/share/HemoLens/reviews/0123456789abcdef0123456789abcdef.unreadable.json"
    width = QFontMetrics(font).horizontalAdvance("/root/.local/share")
    lines = wrapped_lines(path, font, width, 10)
    assert "".join(lines) == path and len(lines) > 1


def test_the_results_table_draws_the_error_column_wrapped(qtbot, make_window, fake_classifier):
    window = make_window(fake_classifier())
    table = window.results_view.table
    assert isinstance(table.itemDelegateForColumn(Column.ERROR), WrappedTextDelegate)
    rows = table.verticalHeader().defaultSectionSize() // QFontMetrics(table.font()).lineSpacing()
    assert rows >= 2  # a row has room for more than one line of the reason
