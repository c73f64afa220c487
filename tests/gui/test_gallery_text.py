"""A gallery tile shows a cell's confidence as the table does (one decimal, rounded down).

The tile once printed "99%" for a cell the table showed at 99.9%: the tests paint the real tile and
read back what it wrote.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QPainter

from hemoapp.gui.table_model import Column, ResultsModel
from hemotest.predictions import cell
from hemotest.qt import paint_gallery_tile


class _RecordingPainter(QPainter):
    """A painter that keeps every text it is asked to draw (the delegate paints from Python)."""

    def __init__(self, device) -> None:
        super().__init__(device)
        self.texts: list[str] = []

    def drawText(self, *args) -> None:  # noqa: N802 - Qt's name
        self.texts.append(next(arg for arg in args if isinstance(arg, str)))
        super().drawText(*args)


def _tile_texts(model: ResultsModel, row: int) -> list[str]:
    return paint_gallery_tile(model, row, _RecordingPainter)[1].texts


@pytest.mark.parametrize(("confidence", "shown"), [(0.999, "99.9%"), (0.9896, "98.9%"), (0.5, "50.0%")])
def test_a_tile_shows_the_confidence_the_table_shows(qapp, confidence, shown):
    model = ResultsModel(review_threshold=0.95)
    model.append_predictions([cell("basophil/BA_1.jpg", 0, confidence)])
    assert model.index(0, Column.CONFIDENCE).data(Qt.ItemDataRole.DisplayRole) == shown
    texts = _tile_texts(model, 0)
    assert any(text.startswith(shown) for text in texts), texts
