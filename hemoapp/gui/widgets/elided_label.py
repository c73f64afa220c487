"""A one-line label that says when its text is cut: "…" at the end, the whole text as its tooltip."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QPainter, QPaintEvent
from PySide6.QtWidgets import QLabel


class ElidedLabel(QLabel):
    """A :class:`QLabel` for one line of plain text that may be longer than its room.

    A plain QLabel cuts such a line off at its edge without a mark, so a reader cannot
    tell that something is missing (e.g. where restored reviews came from). This one
    paints the line shortened with "…" at the end and shows the whole of it as its
    tooltip; :meth:`text` is always the whole line.
    """

    def setText(self, text: str) -> None:
        """Show ``text`` (shortened if need be); its tooltip is the whole of it."""
        super().setText(text)
        self.setToolTip(text)

    def shown_text(self) -> str:
        """The line as painted now: the whole text, or its start and "…" if it does not fit."""
        return self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, self.contentsRect().width())

    def paintEvent(self, event: QPaintEvent) -> None:
        """Paint :meth:`shown_text` as the style paints a label's text."""
        painter = QPainter(self)
        self.style().drawItemText(
            painter, self.contentsRect(), int(self.alignment()), self.palette(), self.isEnabled(),
            self.shown_text(), self.foregroundRole(),
        )
