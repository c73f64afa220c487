"""File > Recent Folders: numbered entries (missing folders greyed out) and "Clear Menu"."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QMenu, QWidget


class RecentFoldersMenu(QMenu):
    """A menu of recently opened folders.

    Signals:
        folder_requested(str): an entry was chosen.
        clear_requested(): "Clear Menu" was chosen.
    """

    folder_requested = Signal(str)
    clear_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("&Recent Folders", parent)
        self.setToolTipsVisible(True)

    def set_folders(self, folders: list[str]) -> None:
        """Replace the entries, newest first."""
        self.clear()
        for number, folder in enumerate(folders, start=1):
            action = self.addAction(f"&{number} {folder}")
            action.setData(folder)
            action.setToolTip(folder if Path(folder).is_dir() else f"{folder} (not found)")
            action.setEnabled(Path(folder).is_dir())
            action.triggered.connect(self._on_folder_action_triggered)
        if folders:
            self.addSeparator()
            self.addAction("Clear Menu").triggered.connect(self._on_clear_action_triggered)

    def folders(self) -> list[str]:
        """The folders listed."""
        return [a.data() for a in self.actions() if a.data()]

    @Slot()
    def _on_folder_action_triggered(self) -> None:
        action = self.sender()
        if action is not None:
            self.folder_requested.emit(action.data())

    @Slot()
    def _on_clear_action_triggered(self) -> None:
        self.clear_requested.emit()
