"""The confidence bar stays visible in a selected row, where the selection is the bar's own colour."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QItemSelectionModel
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QTableView

from hemoapp.core.pipeline import Prediction
from hemoapp.core.scan import ImageRecord
from hemoapp.gui.delegates import ConfidenceBarDelegate
from hemoapp.gui.style import FLAG_COLOR
from hemoapp.gui.filter_proxy import ResultsFilterProxy
from hemoapp.gui.table_model import Column, ResultsModel


def _pred(name: str, confidence: float) -> Prediction:
    probs = [(1 - confidence) / 7] * 8
    probs[6] = confidence
    return Prediction.from_probabilities(ImageRecord(Path(f"/x/{name}"), name, 1234), probs)


def _distance(a: QColor, b: QColor) -> int:
    return abs(a.red() - b.red()) + abs(a.green() - b.green()) + abs(a.blue() - b.blue())


@pytest.fixture()
def table(qtbot):
    # row 0 above the review threshold (a blue bar), row 1 below it (amber)
    model = ResultsModel(review_threshold=0.5)
    model.append_predictions([_pred("sure.jpg", 0.6), _pred("flagged.jpg", 0.4)])
    proxy = ResultsFilterProxy()
    proxy.setSourceModel(model)
    view = QTableView()
    view.setModel(proxy)
    view.setItemDelegateForColumn(Column.CONFIDENCE, ConfidenceBarDelegate(view))
    view.setColumnWidth(Column.CONFIDENCE, 220)
    qtbot.addWidget(view)
    view.resize(900, 300)
    view.show()
    qtbot.waitExposed(view)
    return view


def _bar_pixels(view: QTableView, row: int) -> tuple[QColor, QColor, QColor]:
    """Colours inside the bar's filled part, inside its empty part, and of the cell's background."""
    rect = view.visualRect(view.model().index(row, Column.CONFIDENCE))
    image: QImage = view.viewport().grab().toImage()
    y = rect.center().y() + 1
    left = rect.left() + 6
    track_width = rect.width() - 12 - ConfidenceBarDelegate.TEXT_WIDTH - 6
    filled = image.pixelColor(left + int(track_width * 0.1), y)
    empty = image.pixelColor(left + int(track_width * 0.85), y)
    background = image.pixelColor(rect.left() + 3, rect.top() + 3)
    return filled, empty, background


def _select(view: QTableView, row: int) -> None:
    view.selectionModel().select(
        view.model().index(row, Column.FILE),
        QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
    )


@pytest.mark.parametrize("selected", [False, True])
def test_the_bar_stands_out_from_its_row_selected_or_not(table, selected):
    flagged_row = 1
    for row in (0, flagged_row):
        if selected:
            _select(table, row)
        filled, empty, background = _bar_pixels(table, row)
        assert _distance(filled, background) > 150, (row, filled.name(), background.name())
        assert _distance(filled, empty) > 150, (row, filled.name(), empty.name())
    filled, _, _ = _bar_pixels(table, flagged_row)
    assert _distance(filled, QColor(FLAG_COLOR)) < 30  # a flagged cell's bar stays amber when selected
