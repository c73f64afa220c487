"""Shows one image scaled to fit, keeping its aspect ratio, or a placeholder text.

Optionally it outlines the central region the model analyses (the contract's
crop), so a reviewer sees which part of the field the prediction is based on.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent, QPalette, QPen, QPixmap
from PySide6.QtWidgets import QSizePolicy, QWidget

from hemoapp.core.contract import CENTER_CROP
from hemoapp.core.scan import display_text
from hemoapp.gui.thumbnails import LoadedImage, ThumbnailCache


def central_region(image_rect: QRectF, fraction: float) -> QRectF:
    """The central ``fraction`` of each side of ``image_rect`` (the part the model analyses)."""
    margin_x = image_rect.width() * (1 - fraction) / 2
    margin_y = image_rect.height() * (1 - fraction) / 2
    return image_rect.adjusted(margin_x, margin_y, -margin_x, -margin_y)


def draw_region_outline(painter: QPainter, image_rect: QRectF, fraction: float, width: float = 1.5) -> None:
    """Outline the central ``fraction`` of ``image_rect`` as the views do (dashed, green).

    Shared by the views and the report's pictures, so a reviewer sees the same box everywhere.
    """
    # A green that stands out on Giemsa pink and purple alike.
    painter.setPen(QPen(QColor(0, 200, 120), width, Qt.PenStyle.DashLine))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawRect(central_region(image_rect, fraction))


class ImageView(QWidget):
    """A pixmap scaled to the widget (never up by more than 2x), centred.

    Signals:
        double_clicked(): the user double-clicked the view.
    """

    double_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._pixmap: QPixmap | None = None
        self._placeholder = ""
        self._region_fraction: float | None = None
        self.setMinimumSize(160, 160)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

    def set_pixmap(self, pixmap: QPixmap | None) -> None:
        """Show ``pixmap`` (``None`` shows the placeholder)."""
        self._pixmap = pixmap
        self.update()

    def pixmap(self) -> QPixmap | None:
        """The pixmap shown, if any."""
        return self._pixmap

    def set_region_fraction(self, fraction: float | None) -> None:
        """Outline the central ``fraction`` of each side of the image (``None``: no outline)."""
        self._region_fraction = fraction if fraction is not None and 0.0 < fraction < 1.0 else None
        self.update()

    def region_rect(self) -> QRectF | None:
        """Where the outline is drawn, in widget coordinates (``None`` if not drawn)."""
        if self._region_fraction is None or self._pixmap is None or self._pixmap.isNull():
            return None
        return central_region(QRectF(self._target_rect()), self._region_fraction)

    def show_cell(self, images: ThumbnailCache, prediction: Any) -> LoadedImage | None:
        """Show ``prediction``'s image from ``images`` if it is decoded; return its cache entry (``None``: not yet).

        A file that cannot be shown gets a placeholder saying why. The region the model
        analysed is outlined only where it did analyse it (not for files it could not classify).
        """
        entry = images.entry(prediction.record.path)
        if entry is None:
            return None
        if entry.image is None:
            self.set_placeholder(f"Cannot show this image: {entry.error}")
            return entry
        self.set_pixmap(images.pixmap(prediction.record.path))
        self.set_region_fraction(CENTER_CROP if prediction.ok else None)
        self.setAccessibleName(f"Picture of {display_text(prediction.record.relpath)}")
        return entry

    def set_placeholder(self, text: str) -> None:
        """Text shown when there is no pixmap (and what a screen reader is told)."""
        self._placeholder = text
        self.setAccessibleName(text)
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

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        """Report a double-click with the left button."""
        if event.button() == Qt.MouseButton.LeftButton:
            self.double_clicked.emit()
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

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
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawPixmap(self._target_rect(), self._pixmap)
        if self._region_fraction is not None:
            draw_region_outline(painter, QRectF(self._target_rect()), self._region_fraction)

    def _target_rect(self) -> QRect:
        """Where the pixmap is drawn: fitted, at most 2x its size, centred."""
        area = self.rect().adjusted(2, 2, -2, -2)
        size = self._pixmap.size()
        limit = QSize(min(area.width(), size.width() * 2), min(area.height(), size.height() * 2))
        scaled = size.scaled(limit, Qt.AspectRatioMode.KeepAspectRatio)
        target = QRect(0, 0, scaled.width(), scaled.height())
        target.moveCenter(area.center())
        return target
