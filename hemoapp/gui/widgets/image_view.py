"""Shows one image scaled to fit, keeping its aspect ratio, or a placeholder text."""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QPainter, QPaintEvent, QPalette, QPixmap
from PySide6.QtWidgets import QSizePolicy, QWidget


class ImageView(QWidget):
    """A pixmap scaled to the widget (never up by more than 2x), centred."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._pixmap: QPixmap | None = None
        self._placeholder = ""
        self.setMinimumSize(160, 160)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

    def set_pixmap(self, pixmap: QPixmap | None) -> None:
        """Show ``pixmap`` (``None`` shows the placeholder)."""
        self._pixmap = pixmap
        self.update()

    def pixmap(self) -> QPixmap | None:
        """The pixmap shown, if any."""
        return self._pixmap

    def set_placeholder(self, text: str) -> None:
        """Text shown when there is no pixmap."""
        self._placeholder = text
        self.update()

    def sizeHint(self) -> QSize:
        """Square, a comfortable size for a 360 px analyser image."""
        return QSize(300, 300)

    def hasHeightForWidth(self) -> bool:
        """Keep the view square-ish."""
        return True

    def heightForWidth(self, width: int) -> int:
        """As tall as wide, capped so the panel's text stays visible."""
        return max(160, min(width, 300))

    def paintEvent(self, event: QPaintEvent) -> None:
        """Draw the scaled pixmap or the placeholder."""
        painter = QPainter(self)
        palette = self.palette()
        area = self.rect().adjusted(2, 2, -2, -2)
        if self._pixmap is None or self._pixmap.isNull():
            painter.fillRect(area, palette.color(QPalette.ColorRole.AlternateBase))
            painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(area, int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap), self._placeholder)
            return
        size = self._pixmap.size()
        limit = QSize(min(area.width(), size.width() * 2), min(area.height(), size.height() * 2))
        scaled = size.scaled(limit, Qt.AspectRatioMode.KeepAspectRatio)
        target = QRect(0, 0, scaled.width(), scaled.height())
        target.moveCenter(area.center())
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawPixmap(target, self._pixmap)
