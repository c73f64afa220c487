"""The first page: what the app does, how to start, which model is loaded."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)


class StartScreen(QWidget):
    """Open-folder and sample-images buttons, model status and recent folders.

    Signals:
        open_folder_requested(): the user wants to pick a folder.
        open_samples_requested(): the user wants the bundled sample images.
        recent_folder_requested(str): a recent folder was activated.
    """

    open_folder_requested = Signal()
    open_samples_requested = Signal()
    recent_folder_requested = Signal(str)

    def __init__(self, icon: QIcon | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("startScreen")
        self.setAcceptDrops(False)  # the main window handles drops

        logo = QLabel()
        if icon is not None and not icon.isNull():
            logo.setPixmap(icon.pixmap(96, 96))
        logo.setAlignment(Qt.AlignmentFlag.AlignCenter)

        title = QLabel("HemoLens")
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 2.0)
        font.setBold(True)
        title.setFont(font)
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)

        subtitle = QLabel(
            "Sorts microscope images of single blood cells into eight classes and counts them.\n"
            "Open a folder of analyser exports, or drop a folder or images onto this window."
        )
        subtitle.setAlignment(Qt.AlignmentFlag.AlignCenter)
        subtitle.setWordWrap(True)

        self.open_folder_button = QPushButton("Open folder…")
        self.open_folder_button.setToolTip("Choose a folder of cell images to classify (Ctrl+O)")
        self.open_folder_button.setDefault(True)
        self.open_folder_button.setMinimumHeight(36)
        self.open_folder_button.clicked.connect(self._on_open_folder_clicked)
        self.samples_button = QPushButton("Open sample images")
        self.samples_button.setToolTip("Classify the sample images that ship with HemoLens (Ctrl+Shift+S)")
        self.samples_button.setMinimumHeight(36)
        self.samples_button.clicked.connect(self._on_samples_clicked)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.open_folder_button)
        buttons.addWidget(self.samples_button)
        buttons.addStretch(1)

        self.model_label = QLabel()
        self.model_label.setObjectName("modelStatus")
        self.model_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.model_label.setWordWrap(True)
        self.model_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.samples_label = QLabel()
        self.samples_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.samples_label.setWordWrap(True)
        self.samples_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.samples_label.hide()

        self.recent_title = QLabel("Recent folders")
        self.recent_title.setAlignment(Qt.AlignmentFlag.AlignLeft)
        bold = self.recent_title.font()
        bold.setBold(True)
        self.recent_title.setFont(bold)
        self.recent_list = QListWidget()
        self.recent_list.setToolTip("Double-click or press Enter to classify a folder again")
        self.recent_list.setFrameShape(QFrame.Shape.StyledPanel)
        self.recent_list.itemActivated.connect(self._on_recent_list_item_activated)

        column = QVBoxLayout()
        column.addStretch(2)
        column.addWidget(logo)
        column.addWidget(title)
        column.addWidget(subtitle)
        column.addSpacing(16)
        column.addLayout(buttons)
        column.addSpacing(8)
        column.addWidget(self.samples_label)
        column.addWidget(self.model_label)
        column.addSpacing(16)
        column.addWidget(self.recent_title)
        column.addWidget(self.recent_list)
        column.addStretch(3)
        centre = QWidget()
        centre.setLayout(column)
        centre.setMaximumWidth(640)
        centre.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        outer = QHBoxLayout(self)
        outer.addStretch(1)
        outer.addWidget(centre, 4)
        outer.addStretch(1)

    def set_model_status(self, text: str, ok: bool) -> None:
        """Show which model is loaded, or why none is (and disable the open buttons)."""
        prefix = "Model: " if ok else "⚠ "
        self.model_label.setText(prefix + text)
        font = self.model_label.font()
        font.setBold(not ok)
        self.model_label.setFont(font)
        self.open_folder_button.setEnabled(ok)
        self.samples_button.setEnabled(ok)

    def show_samples_message(self, text: str) -> None:
        """Explain a problem with the sample images (e.g. none are installed)."""
        self.samples_label.setText(text)
        self.samples_label.setVisible(bool(text))

    def set_recent_folders(self, folders: list[str]) -> None:
        """List recent folders; ones that no longer exist are shown greyed out."""
        self.recent_list.clear()
        for folder in folders:
            item = QListWidgetItem(folder)
            item.setToolTip(folder)
            if not Path(folder).is_dir():
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEnabled)
                item.setToolTip(f"{folder} (not found)")
            self.recent_list.addItem(item)
        rows = max(1, min(len(folders), 6))
        frame = 2 * self.recent_list.frameWidth()
        self.recent_list.setFixedHeight(rows * self.recent_list.sizeHintForRow(0) + frame + 4 if folders else 0)
        self.recent_title.setVisible(bool(folders))
        self.recent_list.setVisible(bool(folders))

    @Slot()
    def _on_open_folder_clicked(self) -> None:
        self.open_folder_requested.emit()

    @Slot()
    def _on_samples_clicked(self) -> None:
        self.open_samples_requested.emit()

    @Slot(QListWidgetItem)
    def _on_recent_list_item_activated(self, item: QListWidgetItem) -> None:
        self.recent_folder_requested.emit(item.text())
