"""A horizontal bar chart painted with QPainter: one bar per class.

Used for a cell's eight probabilities (detail panel) and for the class counts
(summary panel). Bars are filled in the class colour and outlined; labels and
values use palette text colours.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QFont, QFontMetrics, QPainter, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from hemoapp.gui.style import class_color, outline_color


@dataclass(frozen=True)
class Bar:
    """One row of the chart.

    Attributes:
        class_name: picks the fill colour.
        label: text left of the bar.
        fraction: bar length, 0..1 of the full width.
        value_text: text right of the bar.
        emphasized: drawn in bold (e.g. the predicted class).
    """

    class_name: str
    label: str
    fraction: float
    value_text: str
    emphasized: bool = False


class ClassBarChart(QWidget):
    """Paints a list of :class:`Bar` rows."""

    ROW_HEIGHT = 22

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._bars: list[Bar] = []
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_bars(self, bars: list[Bar]) -> None:
        """Replace the rows and repaint; a screen reader is told the same rows in words."""
        self._bars = list(bars)
        self.setAccessibleDescription("; ".join(f"{bar.label} {bar.value_text}" for bar in self._bars))
        self.updateGeometry()
        self.update()

    def bars(self) -> list[Bar]:
        """The rows shown."""
        return list(self._bars)

    def sizeHint(self) -> QSize:
        """Width for labels and values; one row per bar."""
        return QSize(320, max(1, len(self._bars)) * self.ROW_HEIGHT + 4)

    def minimumSizeHint(self) -> QSize:
        """At least the row height times the number of rows."""
        return QSize(200, max(1, len(self._bars)) * self.ROW_HEIGHT + 4)

    def paintEvent(self, event: QPaintEvent) -> None:
        """Draw the labels, bars and values."""
        if not self._bars:
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        metrics = self.fontMetrics()
        bold = QFont(self.font())
        bold.setBold(True)
        bold_metrics = QFontMetrics(bold)
        label_width = min(
            max((bold_metrics if b.emphasized else metrics).horizontalAdvance(b.label) for b in self._bars) + 12,
            self.width() // 2,
        )
        value_width = max(metrics.horizontalAdvance(b.value_text) for b in self._bars) + 10
        bar_left = label_width
        bar_width = max(10.0, self.width() - label_width - value_width - 4)
        text_color = palette.color(QPalette.ColorRole.WindowText)
        for row, bar in enumerate(self._bars):
            top = 2 + row * self.ROW_HEIGHT
            painter.setFont(bold if bar.emphasized else self.font())
            painter.setPen(text_color)
            label_rect = QRectF(0, top, label_width - 8, self.ROW_HEIGHT)
            label = (bold_metrics if bar.emphasized else metrics).elidedText(bar.label, Qt.TextElideMode.ElideRight, int(label_rect.width()))
            painter.drawText(label_rect, int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter), label)
            track = QRectF(bar_left, top + 4, bar_width, self.ROW_HEIGHT - 8)
            painter.setPen(QPen(outline_color(palette), 1))
            painter.setBrush(palette.color(QPalette.ColorRole.Base))
            painter.drawRoundedRect(track, 3, 3)
            fraction = max(0.0, min(1.0, bar.fraction))
            if fraction > 0:
                fill = QRectF(track)
                fill.setWidth(max(2.0, track.width() * fraction))
                painter.setBrush(class_color(bar.class_name))
                painter.drawRoundedRect(fill, 3, 3)
            painter.setPen(text_color)
            value_rect = QRectF(bar_left + bar_width + 6, top, value_width, self.ROW_HEIGHT)
            painter.drawText(value_rect, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), bar.value_text)
        painter.end()
