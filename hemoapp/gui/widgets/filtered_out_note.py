"""A note over an empty table or gallery when the filters hide every cell, with a link to show them all."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QAbstractItemView, QLabel


class FilteredOutNote(QLabel):
    """Says, in the middle of ``view``'s empty area, that the filters hide all of the batch's cells.

    Without it a filter that matches nothing (say *Show: Errors only* on a clean batch) leaves a bare
    white table, which reads as "nothing was classified" unless one spots the small "0 of N shown".

    Signals:
        show_all_requested(): the note's "Show every cell" link was clicked.
    """

    show_all_requested = Signal()

    def __init__(self, view: QAbstractItemView) -> None:
        # A child of the view over its viewport, not of the viewport: the viewport moves its children as it scrolls.
        super().__init__(view)
        self.setObjectName("filteredOutNote")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setMargin(24)
        self.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.linkActivated.connect(self.show_all_requested)
        view.viewport().installEventFilter(self)  # to cover the viewport as it moves and resizes
        self.setGeometry(view.viewport().geometry())
        self.hide()

    def update_counts(self, shown: int, total: int, filters: list[str], reason: str | None = None) -> None:
        """Show the note when ``total`` cells exist and none of them is ``shown``; ``filters`` name the active ones.

        ``reason``, when given, is said instead of the filters: why they match nothing in the
        batch's own terms (e.g. "All 8 cells flagged for review have been reviewed.").
        """
        if shown or not total:
            self.hide()
            return
        if reason is None:
            cells = "the one cell" if total == 1 else f"any of the {total} cells"
            because = f" ({'; '.join(filters)})" if filters else ""
            reason = f"The filters do not match {cells}{because}."
        self.setText(f"{escape(reason)}<br><br><a href='show-all'>Show every cell</a>")
        self.show()
        self.raise_()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        """Keep covering the viewport when it is moved or resized."""
        if event.type() in (QEvent.Type.Resize, QEvent.Type.Move):
            self.setGeometry(watched.geometry())
        return False
