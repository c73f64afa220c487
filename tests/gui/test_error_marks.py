"""An unreadable file is never marked in a way that could be read as a class.

Class colours stand for classes: a swatch beside the class name, a frame round a gallery tile. An unreadable
file used to get a red swatch and a red frame, almost the erythroblast's red (the two colours were 6 apart in
CIE L*a*b*, where about 2 is the smallest difference an eye sees), so an error could be counted by eye as an
erythroblast. The tests paint the real marks and compare their pixels.
"""

from __future__ import annotations


import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QImage, QPainter

from hemoapp.core.contract import CLASS_NAMES
from hemoapp.gui.style import CLASS_COLORS, FLAG_COLOR
from hemoapp.gui.table_model import Column, ResultsModel
from hemotest.predictions import cell, unreadable
from hemotest.qt import paint_gallery_tile






@pytest.fixture()
def model(qapp):
    """One confident cell of each class, then an unreadable file in the last row."""
    model = ResultsModel(review_threshold=0.5)
    model.append_predictions([cell(f"{name}.jpg", i, 0.99) for i, name in enumerate(CLASS_NAMES)] + [unreadable("bad.jpg")])
    return model


def _distance(a: QColor, b: QColor) -> int:
    return abs(a.red() - b.red()) + abs(a.green() - b.green()) + abs(a.blue() - b.blue())


def _icon_image(model: ResultsModel, row: int, size: int = 14) -> QImage:
    icon = model.index(row, Column.PREDICTED).data(Qt.ItemDataRole.DecorationRole)
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    icon.paint(painter, QRect(0, 0, size, size))
    painter.end()
    return image


def _mean_difference(a: QImage, b: QImage) -> float:
    pixels = [(x, y) for x in range(a.width()) for y in range(a.height())]
    return sum(_distance(a.pixelColor(x, y), b.pixelColor(x, y)) for x, y in pixels) / len(pixels)


def test_an_unreadable_files_mark_in_the_class_column_looks_like_no_class_swatch(model):
    error_row = len(CLASS_NAMES)
    error_mark = _icon_image(model, error_row)
    for row, name in enumerate(CLASS_NAMES):
        # The old mark, a red dot, differed from the erythroblast swatch by 7 per pixel (summed over R, G, B).
        assert _mean_difference(error_mark, _icon_image(model, row)) > 60, name


def _paint_tile(model: ResultsModel, row: int) -> QImage:
    return paint_gallery_tile(model, row)[0]


def test_an_unreadable_files_gallery_tile_has_no_class_colour_round_it(model):
    error_tile = _paint_tile(model, len(CLASS_NAMES))
    # The frame's left edge, halfway down the picture: the tile is centred, 96 px wide, framed 3 px out.
    x = error_tile.width() // 2 - 96 // 2 - 2
    y = 6 + 3 + 96 // 2
    frame = error_tile.pixelColor(x, y)
    erythroblast_tile = _paint_tile(model, CLASS_NAMES.index("erythroblast"))
    assert _distance(erythroblast_tile.pixelColor(x, y), QColor(CLASS_COLORS["erythroblast"])) < 20  # the right spot
    for name, color in CLASS_COLORS.items():
        assert _distance(frame, QColor(color)) > 90, (name, frame.name())


def test_an_unreadable_files_gallery_tile_says_so_with_a_badge_unlike_the_review_badge(model):
    error_tile = _paint_tile(model, len(CLASS_NAMES))
    # The badge is a disc of 22 px on the frame's top right corner, as the review badge is; look at its middle.
    centre_x, centre_y = error_tile.width() // 2 + 96 // 2 + 3 - 9, 6 - 2 + 11
    badge = [error_tile.pixelColor(x, y) for x in range(centre_x - 5, centre_x + 5) for y in range(centre_y - 5, centre_y + 5)]
    assert sum(_distance(p, QColor(FLAG_COLOR)) < 40 for p in badge) == 0  # not the amber "to review" badge
    light = sum(p.lightness() > 200 for p in badge)
    red = sum(p.red() > 150 and p.green() < 90 and p.blue() < 90 for p in badge)
    assert red > 20 and light > 10, (red, light)  # a red disc with a light cross on it
