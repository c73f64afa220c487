"""Qt helpers shared by the GUI tests."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, QPointF, QRect, Qt, QUrl
from PySide6.QtGui import QDropEvent, QImage, QPainter
from PySide6.QtWidgets import QApplication, QListView, QStyleOptionViewItem


def drop_paths(window, paths: list[Path]) -> QDropEvent:
    """Drop ``paths`` on ``window`` as a file manager would; return the event (to check acceptance)."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    return event


def run_folder(qtbot, window, folder, timeout: int = 20_000) -> str:
    """Open ``folder`` in ``window`` and wait for the job's ``job_finished`` signal; return its state."""
    with qtbot.waitSignal(window.controller.job_finished, timeout=timeout) as blocker:
        assert window.open_folder(folder)
    return blocker.args[0]


def paint_gallery_tile(model, row: int, painter_class=QPainter, thumb_size: int = 96):
    """Paint the gallery tile of ``model``'s ``row`` as the window does; return ``(image, painter)``.

    ``painter_class`` may be a :class:`QPainter` subclass that records what the delegate draws.
    """
    from hemoapp.gui.delegates import GalleryDelegate

    view = QListView()  # the delegate reads fonts and palette from the option, as in the window
    delegate = GalleryDelegate(thumb_size, view)
    option = QStyleOptionViewItem()
    option.initFrom(view)
    option.palette = QApplication.palette()
    index = model.index(row, 0)
    size = delegate.sizeHint(option, index)
    option.rect = QRect(0, 0, size.width(), size.height())
    image = QImage(size, QImage.Format.Format_ARGB32)
    image.fill(QApplication.palette().base().color())
    painter = painter_class(image)
    delegate.paint(painter, option, index)
    painter.end()
    view.deleteLater()
    return image, painter
