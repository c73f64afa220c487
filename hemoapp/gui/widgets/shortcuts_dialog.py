"""Help > Keyboard Shortcuts: every key of the menus, read from the menus themselves.

A review runs from the keyboard (Enter, 1–8, Backspace, F3, Space). The list is built
from the window's menu bar each time it opens, so it names exactly the keys the actions
have, and a new action appears in it without anyone editing this file.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QMenu,
    QMenuBar,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

#: Marks a key that only acts where the cells are (table, gallery, enlarged cell).
CELL_KEY_MARK = "*"


@dataclass(frozen=True)
class Shortcut:
    """One menu entry with keys: its name as the menu shows it, without the mnemonic's "&"."""

    name: str
    keys: str
    cells_only: bool


def action_name(action: QAction) -> str:
    """The menu text of ``action`` as read aloud: no mnemonic "&" (a literal "&&" stays "&"), no "…"."""
    return action.text().replace("&&", "\0").replace("&", "").replace("\0", "&").removesuffix("…")


def menu_shortcuts(menu_bar: QMenuBar) -> list[tuple[str, list[Shortcut]]]:
    """Per menu of ``menu_bar`` (in menu order), its entries that have keys, sub-menus included.

    Keys are in the platform's own words (e.g. "Ctrl+E"); an action with several keys
    lists them all. Menus without any keys are left out.
    """
    groups = []
    for top in menu_bar.actions():
        menu = top.menu()
        if menu is None:
            continue
        entries = _shortcuts_in(menu)
        if entries:
            groups.append((action_name(top), entries))
    return groups


def _shortcuts_in(menu: QMenu) -> list[Shortcut]:
    entries = []
    for action in menu.actions():
        if action.menu() is not None:
            entries.extend(_shortcuts_in(action.menu()))
            continue
        keys = [key.toString(QKeySequence.SequenceFormat.NativeText) for key in action.shortcuts() if not key.isEmpty()]
        if not keys:
            continue  # separators too: they have no keys
        cells_only = action.shortcutContext() == Qt.ShortcutContext.WidgetWithChildrenShortcut
        entries.append(Shortcut(action_name(action), " or ".join(keys), cells_only))
    return entries


class ShortcutsDialog(QDialog):
    """A read-only list of :func:`menu_shortcuts`, grouped by menu.

    Attributes:
        tree: one top-level item per menu, one child per entry (columns: action, keys).
    """

    def __init__(self, menu_bar: QMenuBar, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard Shortcuts – HemoLens")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.tree = QTreeWidget(self)
        self.tree.setObjectName("shortcutsTree")
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels(["Action", "Keys"])
        self.tree.setRootIsDecorated(False)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.tree.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        has_cell_keys = False
        for menu_name, entries in menu_shortcuts(menu_bar):
            group = QTreeWidgetItem(self.tree, [menu_name])
            font = group.font(0)
            font.setBold(True)
            group.setFont(0, font)
            group.setFirstColumnSpanned(True)
            for entry in entries:
                keys = f"{entry.keys} {CELL_KEY_MARK}" if entry.cells_only else entry.keys
                QTreeWidgetItem(group, [entry.name, keys])
                has_cell_keys = has_cell_keys or entry.cells_only
        self.tree.expandAll()
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tree)
        self.note = QLabel(
            f"{CELL_KEY_MARK} Only where the cells are: in the table, the gallery, the cell's details and the enlarged "
            "cell, so that typing in a filter or the threshold box reviews nothing."
        )
        self.note.setWordWrap(True)
        self.note.setVisible(has_cell_keys)
        layout.addWidget(self.note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(520, 640)
