"""Colours and small painted icons shared by the views.

Class colours are fills (swatches, bars, gallery frames), never text colours:
text always uses the palette, so the app reads well in light and dark themes.
Each fill is outlined with a palette colour where it touches the background.
"""

from __future__ import annotations

from functools import lru_cache

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPalette, QPen, QPixmap

from hemoapp.core.contract import CLASS_NAMES

#: One distinct, mid-lightness colour per class (readable on white and on dark grey).
CLASS_COLORS: dict[str, str] = {
    "basophil": "#8e5bd0",
    "eosinophil": "#f07c1e",
    "erythroblast": "#d93838",
    "ig": "#1f9e8f",
    "lymphocyte": "#2f7fe0",
    "monocyte": "#a07855",
    "neutrophil": "#4caf50",
    "platelet": "#d6a800",
}

#: Fill for "needs review" marks (amber) and for unreadable files (red). Red is also near the erythroblast's
#: colour, so the error mark always carries a light cross: a cell of no class must not read as a class.
FLAG_COLOR = "#f2a900"
ERROR_COLOR = "#c62828"
ERROR_MARK_COLOR = "#ffffff"

#: Fallback fill for an unknown class name.
_UNKNOWN_COLOR = "#9e9e9e"


def class_color(class_name: str | None) -> QColor:
    """The fill colour of a class (grey for ``None`` or an unknown name)."""
    return QColor(CLASS_COLORS.get(class_name or "", _UNKNOWN_COLOR))


def outline_color(palette: QPalette) -> QColor:
    """A thin outline colour that separates fills from the window background."""
    color = QColor(palette.color(QPalette.ColorRole.WindowText))
    color.setAlpha(110)
    return color


@lru_cache(maxsize=None)
def _swatch_pixmap(color_name: str, size: int, outline_rgba: int) -> QPixmap:
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QPen(QColor.fromRgba(outline_rgba), 1))
    painter.setBrush(QColor(color_name))
    painter.drawEllipse(QRectF(1.5, 1.5, size - 3, size - 3))
    painter.end()
    return pixmap


def class_swatch(class_name: str | None, palette: QPalette, size: int = 14) -> QIcon:
    """A small filled circle in the class colour, outlined for contrast (GUI thread only)."""
    color = CLASS_COLORS.get(class_name or "", _UNKNOWN_COLOR)
    return QIcon(_swatch_pixmap(color, size, outline_color(palette).rgba()))


def draw_error_mark(painter: QPainter, disc: QRectF) -> None:
    """Paint the unreadable-file mark into ``disc``: a red disc with a light cross, unlike any class swatch."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QPen(QColor("#5a0f0f"), 1))
    painter.setBrush(QColor(ERROR_COLOR))
    painter.drawEllipse(disc)
    # The cross's arms reach ~60% of the way to the rim, thick enough to read at 14 px.
    arm = disc.width() * 0.21
    centre = disc.center()
    pen = QPen(QColor(ERROR_MARK_COLOR), max(1.6, disc.width() * 0.14))
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    painter.setPen(pen)
    painter.drawLine(centre.x() - arm, centre.y() - arm, centre.x() + arm, centre.y() + arm)
    painter.drawLine(centre.x() - arm, centre.y() + arm, centre.x() + arm, centre.y() - arm)
    painter.restore()


@lru_cache(maxsize=None)
def _error_pixmap(size: int) -> QPixmap:
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    draw_error_mark(painter, QRectF(1.5, 1.5, size - 3, size - 3))
    painter.end()
    return pixmap


def error_swatch(size: int = 14) -> QIcon:
    """The mark an unreadable file gets where a cell gets its class swatch (GUI thread only)."""
    return QIcon(_error_pixmap(size))


def known_classes() -> tuple[str, ...]:
    """The model's classes in output order (re-exported for the views)."""
    return CLASS_NAMES
