"""Painted cells: the confidence bar and file names of the table, and the tiles of the gallery.

Both follow Qt's ``stardelegate`` example: ``paint`` draws from the model's
roles, the style draws the selection background, text uses palette colours.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPalette, QPen, QTextLayout, QTextOption
from PySide6.QtWidgets import QApplication, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from hemoapp.core.contract import SHORT_NAMES, display_name
from hemoapp.core.review import is_changed
from hemoapp.core.summary import confidence_percent
from hemoapp.gui.style import FLAG_COLOR, class_color, draw_error_mark, outline_color
from hemoapp.gui.table_model import Flag, Role

_Index = QModelIndex | QPersistentModelIndex


def _text_role(option: QStyleOptionViewItem) -> QPalette.ColorRole:
    selected = bool(option.state & QStyle.StateFlag.State_Selected)
    return QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text


def _draw_background(painter: QPainter, option: QStyleOptionViewItem, index: _Index, delegate) -> None:
    """Let the style paint the item's background and selection, without text or icon."""
    opt = QStyleOptionViewItem(option)
    delegate.initStyleOption(opt, index)
    opt.text = ""
    opt.icon = opt.icon.__class__()
    opt.features &= ~QStyleOptionViewItem.ViewItemFeature.HasDecoration
    style = opt.widget.style() if opt.widget is not None else QApplication.style()
    style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)


class FileNameDelegate(QStyledItemDelegate):
    """Shortens a file path too long for its column in the middle, as the gallery does.

    The end of a path is what tells cells apart ("…/slide2/cell_00412.jpg"); cut at the
    right, as Qt's views do by default, many rows of a deep folder would read the same.
    """

    def initStyleOption(self, option: QStyleOptionViewItem, index: _Index) -> None:
        super().initStyleOption(option, index)
        option.textElideMode = Qt.TextElideMode.ElideMiddle


def wrapped_lines(text: str, font, width: int, max_lines: int) -> list[str]:
    """``text`` broken into at most ``max_lines`` lines of ``width`` pixels; the last one ends in "…" if text is left.

    Words wrap; a word longer than the width (a path) breaks anywhere.
    """
    if max_lines < 1 or width <= 0 or not text:
        return []
    layout = QTextLayout(text, font)
    option = QTextOption()
    option.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
    layout.setTextOption(option)
    spans = []
    layout.beginLayout()
    while len(spans) <= max_lines:
        line = layout.createLine()
        if not line.isValid():
            break
        line.setLineWidth(width)
        spans.append((line.textStart(), line.textLength()))
    layout.endLayout()
    lines = [text[start:start + length].rstrip() for start, length in spans[:max_lines]]
    if len(spans) > max_lines:
        rest = text[spans[max_lines - 1][0]:]
        lines[-1] = QFontMetrics(font).elidedText(rest, Qt.TextElideMode.ElideRight, width)
    return lines


class WrappedTextDelegate(QStyledItemDelegate):
    """Draws a long text (the Error column's reason) over as many lines as the row has, not one cut line.

    On one line every reason read "the image is al…"; a row of the table has room for three.
    The whole text is in the tooltip and in the detail panel.
    """

    MARGIN = 4

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _Index) -> None:
        """Paint the text wrapped to the cell, the last line that fits elided."""
        _draw_background(painter, option, index, self)
        text = index.data(Qt.ItemDataRole.DisplayRole) or ""
        rect = option.rect.adjusted(self.MARGIN, 2, -self.MARGIN, -2)
        metrics = option.fontMetrics
        lines = wrapped_lines(str(text), option.font, rect.width(), max(1, rect.height() // metrics.lineSpacing()))
        painter.save()
        painter.setPen(option.palette.color(_text_role(option)))
        painter.setFont(option.font)
        top = rect.top() + (rect.height() - len(lines) * metrics.lineSpacing()) // 2
        for number, line in enumerate(lines):
            line_rect = QRect(rect.left(), top + number * metrics.lineSpacing(), rect.width(), metrics.lineSpacing())
            painter.drawText(line_rect, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), line)
        painter.restore()


def tile_confidence_text(pred, review, flag) -> str:
    """A gallery tile's second line: the confidence as the table shows it (one decimal, rounded down:
    "99.9%", never "100%" for a cell the table shows at 99.9%), and whether it was flagged or reviewed."""
    if not pred.ok:
        return "error"
    if is_changed(pred, review):
        # The confidence is the model's, for its own class: say which, not to read it as the reviewed one's.
        model_class = SHORT_NAMES.get(pred.predicted, pred.predicted)
        return f"model: {model_class} {confidence_percent(pred.confidence)}"
    note = "  · reviewed" if review is not None else "  · review" if flag == Flag.REVIEW else ""
    return f"{confidence_percent(pred.confidence)}{note}"


class ConfidenceBarDelegate(QStyledItemDelegate):
    """Draws the confidence as a horizontal bar with the percentage beside it.

    The bar is the palette's highlight colour (the selected text's colour in a
    selected row), or amber when the row is flagged for review, so low-confidence
    cells stand out in either theme.
    """

    TEXT_WIDTH = 52

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _Index) -> None:
        """Paint one confidence cell."""
        _draw_background(painter, option, index, self)
        value = index.data(Role.CONFIDENCE)
        if value is None:
            return
        flagged = index.data(Role.FLAG) == Flag.REVIEW
        palette = option.palette
        rect = option.rect.adjusted(6, 0, -6, 0)
        bar_height = min(12, max(6, rect.height() - 10))
        text_rect = QRect(rect.right() - self.TEXT_WIDTH + 1, rect.top(), self.TEXT_WIDTH, rect.height())
        track = QRectF(rect.left(), rect.center().y() - bar_height / 2 + 1, rect.width() - self.TEXT_WIDTH - 6, bar_height)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if track.width() > 4:
            track_pen, track_brush, fill_color = self._bar_colors(option, flagged)
            painter.setPen(track_pen)
            painter.setBrush(track_brush)
            painter.drawRoundedRect(track, 3, 3)
            fill = QRectF(track)
            fill.setWidth(max(0.0, track.width() * max(0.0, min(1.0, float(value)))))
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(fill_color)
            painter.drawRoundedRect(fill, 3, 3)
        painter.setPen(palette.color(_text_role(option)))
        painter.drawText(
            text_rect, int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter), confidence_percent(float(value))
        )
        painter.restore()

    @staticmethod
    def _bar_colors(option: QStyleOptionViewItem, flagged: bool) -> tuple[QPen, QColor, QColor]:
        """The track's outline and fill, and the bar's colour, for a selected row or not.

        A selected row's background is the highlight colour, the bar's own colour, so
        there the bar is drawn in the selected text's colour on an open track: otherwise
        the selected cell's bar, the one a technician is looking at, would vanish.
        """
        palette = option.palette
        if not option.state & QStyle.StateFlag.State_Selected:
            bar = QColor(FLAG_COLOR) if flagged else palette.color(QPalette.ColorRole.Highlight)
            return QPen(outline_color(palette), 1), palette.color(QPalette.ColorRole.Base), bar
        on_selection = palette.color(QPalette.ColorRole.HighlightedText)
        bar = QColor(FLAG_COLOR) if flagged else on_selection
        return QPen(on_selection, 1), QColor(Qt.GlobalColor.transparent), bar

    def sizeHint(self, option: QStyleOptionViewItem, index: _Index) -> QSize:
        """Room for a readable bar and the percentage."""
        hint = super().sizeHint(option, index)
        return QSize(max(hint.width(), 150), hint.height())


class GalleryDelegate(QStyledItemDelegate):
    """A gallery tile: the thumbnail framed in its class colour, name and confidence below.

    Flagged cells get an amber corner badge. An unreadable file has no class, so its frame is the palette's
    neutral grey, and its badge is the error mark (a red disc with a light cross).
    """

    def __init__(self, thumb_size: int = 96, parent=None) -> None:
        super().__init__(parent)
        self.thumb_size = thumb_size

    def sizeHint(self, option: QStyleOptionViewItem, index: _Index) -> QSize:
        """Tile size: thumbnail plus two text lines."""
        line = option.fontMetrics.height()
        return QSize(self.thumb_size + 56, self.thumb_size + 2 * line + 22)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _Index) -> None:
        """Paint one tile."""
        _draw_background(painter, option, index, self)
        pred = index.data(Role.PREDICTION)
        if pred is None:
            return
        flag = index.data(Role.FLAG)
        palette = option.palette
        rect = option.rect
        size = self.thumb_size
        frame = QRectF(rect.center().x() - size / 2 - 3, rect.top() + 6, size + 6, size + 6)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if flag == Flag.ERROR:
            frame_color = palette.color(QPalette.ColorRole.Mid)
        else:
            frame_color = class_color(index.data(Role.CLASS_NAME))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(frame_color)
        painter.drawRoundedRect(frame, 4, 4)
        inner = frame.adjusted(3, 3, -3, -3)
        pixmap = index.data(Role.THUMBNAIL)
        if pixmap is not None and not pixmap.isNull():
            scaled = pixmap.size().scaled(inner.size().toSize(), Qt.AspectRatioMode.KeepAspectRatio)
            target = QRectF(0, 0, scaled.width(), scaled.height())
            target.moveCenter(inner.center())
            painter.fillRect(inner, palette.color(QPalette.ColorRole.Base))
            painter.drawPixmap(target.toRect(), pixmap)
        else:
            painter.fillRect(inner, palette.color(QPalette.ColorRole.AlternateBase))
            painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
            label = "unreadable" if flag == Flag.ERROR else "loading…"
            painter.drawText(inner, int(Qt.AlignmentFlag.AlignCenter), label)
        review = index.data(Role.REVIEW)
        if flag == Flag.REVIEW:
            # "!" still to check, "✓" checked by a person
            self._draw_badge(painter, frame, "✓" if review is not None else "!")
        elif flag == Flag.ERROR:
            draw_error_mark(painter, self._badge_rect(frame))
        line = option.fontMetrics.height()
        text_top = int(frame.bottom()) + 4
        name_rect = QRect(rect.left() + 2, text_top, rect.width() - 4, line)
        conf_rect = QRect(rect.left() + 2, text_top + line, rect.width() - 4, line)
        painter.setPen(palette.color(_text_role(option)))
        if pred.ok:
            # The class the cell counts as: a person's review overrides the model's.
            shown = display_name(index.data(Role.CLASS_NAME)) + (" ✓" if review is not None else "")
            name = option.fontMetrics.elidedText(shown, Qt.TextElideMode.ElideRight, name_rect.width())
        else:
            name = option.fontMetrics.elidedText(pred.record.relpath, Qt.TextElideMode.ElideMiddle, name_rect.width())
        conf = option.fontMetrics.elidedText(tile_confidence_text(pred, review, flag), Qt.TextElideMode.ElideRight,
                                             conf_rect.width())
        painter.drawText(name_rect, int(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignVCenter), name)
        painter.drawText(conf_rect, int(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignVCenter), conf)
        painter.restore()

    @staticmethod
    def _badge_rect(frame: QRectF) -> QRectF:
        """Where a tile's badge sits: a 22 px disc on the frame's top right corner."""
        return QRectF(frame.right() - 20, frame.top() - 2, 22, 22)

    @classmethod
    def _draw_badge(cls, painter: QPainter, frame: QRectF, mark: str) -> None:
        badge = cls._badge_rect(frame)
        painter.save()
        painter.setPen(QPen(QColor("#5d4300"), 1))
        painter.setBrush(QColor(FLAG_COLOR))
        painter.drawEllipse(badge)
        font = painter.font()
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(QColor("#000000"))  # dark text on the amber badge in every theme
        painter.drawText(badge, int(Qt.AlignmentFlag.AlignCenter), mark)
        painter.restore()
