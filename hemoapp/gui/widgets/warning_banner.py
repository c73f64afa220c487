"""A warning about the whole batch, above the results, hidden while there is none.

Used where a status bar message would be gone in seconds and a dialog would stop the
work: e.g. a batch whose cells are far less sure than the model's validation images
(:mod:`hemoapp.core.unsure_share`), which stays true for as long as it is shown.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QColor
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QStyle, QToolButton, QWidget

from hemoapp.gui.style import FLAG_COLOR


class WarningBanner(QFrame):
    """The platform's warning icon and a wrapped line of text, framed in the review colour."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("warningBanner")
        # A tint of the amber "review" colour: readable with the palette's text in light and dark themes.
        amber = QColor(FLAG_COLOR)
        self.setStyleSheet(
            f"QFrame#warningBanner {{ border: 1px solid {FLAG_COLOR}; border-radius: 4px;"
            f" background-color: rgba({amber.red()}, {amber.green()}, {amber.blue()}, 40); }}"
        )
        self.icon_label = QLabel()
        size = self.style().pixelMetric(QStyle.PixelMetric.PM_SmallIconSize)
        icon = self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
        self.icon_label.setPixmap(icon.pixmap(size, size))
        self.icon_label.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.text_label = QLabel()
        self.text_label.setWordWrap(True)
        self.text_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(8, 4, 8, 4)
        self._layout.addWidget(self.icon_label)
        self._layout.addWidget(self.text_label, 1)
        self.set_text(None)

    def add_action(self, action: QAction) -> QToolButton:
        """Put a button for ``action`` at the banner's right: what to do about the warning."""
        button = QToolButton()
        button.setDefaultAction(action)
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self._layout.addWidget(button, 0, Qt.AlignmentFlag.AlignVCenter)
        return button

    def text(self) -> str:
        """The warning shown ("" when hidden)."""
        return self.text_label.text() if not self.isHidden() else ""

    def set_text(self, text: str | None) -> None:
        """Show ``text``; ``None`` or "" hides the banner."""
        self.text_label.setText(text or "")
        self.setHidden(not text)
