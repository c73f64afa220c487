"""Help > Keyboard Shortcuts lists every key of the menus, read from the menus themselves."""

from __future__ import annotations

import dataclasses

from PySide6.QtGui import QAction, QKeySequence

from hemoapp.gui.widgets.shortcuts_dialog import CELL_KEY_MARK, ShortcutsDialog, action_name, menu_shortcuts


def listed(dialog: ShortcutsDialog) -> dict[str, dict[str, str]]:
    """Menu → {action: keys} as the dialog shows them."""
    tree = dialog.tree
    return {
        tree.topLevelItem(i).text(0): {
            tree.topLevelItem(i).child(j).text(0): tree.topLevelItem(i).child(j).text(1)
            for j in range(tree.topLevelItem(i).childCount())
        }
        for i in range(tree.topLevelItemCount())
    }


def test_action_names_lose_the_mnemonic_and_the_ellipsis(qapp):
    assert action_name(QAction("&Open Folder…")) == "Open Folder"
    assert action_name(QAction("Sample &ID and Comment…")) == "Sample ID and Comment"
    assert action_name(QAction("R&&D &Notes")) == "R&D Notes"


def test_the_menu_item_opens_a_list_of_every_key_by_menu(qtbot, make_window):
    window = make_window()
    assert window.actions.shortcuts.shortcut() == QKeySequence("Ctrl+/")
    window.actions.shortcuts.trigger()
    dialog = window.findChild(ShortcutsDialog)
    assert dialog is not None and dialog.isVisible()
    shown = listed(dialog)
    assert list(shown) == ["File", "Classification", "Review", "View", "Help"]
    assert shown["File"]["Export Results CSV"] == "Ctrl+E"
    assert shown["File"]["Sample ID and Comment"] == "Ctrl+I"
    assert shown["Review"]["Next Flagged Cell"] == "F3"
    # Plain keys act only on the cells; the dialog marks them and says why.
    assert shown["Review"]["Confirm Predicted Class"] == f"Return or Enter {CELL_KEY_MARK}"
    assert shown["Review"]["Review as Immature granulocyte"] == f"4 {CELL_KEY_MARK}"
    assert shown["View"]["Enlarge Cell"] == f"Space {CELL_KEY_MARK}"
    assert dialog.note.isVisibleTo(dialog) and "typing in a filter" in dialog.note.text()
    # Every action of the window that has keys is listed once, with all of its keys.
    fields = [getattr(window.actions, field.name) for field in dataclasses.fields(window.actions)]
    every = [a for item in fields for a in (item if isinstance(item, list) else [item]) if not a.shortcut().isEmpty()]
    rows = [(name, keys) for group in shown.values() for name, keys in group.items()]
    assert len(rows) == len(every) == sum(len(group) for _menu, group in menu_shortcuts(window.menuBar()))
    for action in every:
        keys = " or ".join(key.toString(QKeySequence.SequenceFormat.NativeText) for key in action.shortcuts())
        assert (action_name(action), keys) in [(name, shown_keys.removesuffix(f" {CELL_KEY_MARK}")) for name, shown_keys in rows]
    dialog.reject()
    qtbot.waitUntil(lambda: window.findChild(ShortcutsDialog) is None)  # deleted once closed


def test_the_list_follows_the_actions(qtbot, make_window):
    window = make_window()
    window.actions.next_flagged.setShortcut(QKeySequence("F4"))
    dialog = ShortcutsDialog(window.menuBar(), window)
    qtbot.addWidget(dialog)
    assert listed(dialog)["Review"]["Next Flagged Cell"] == "F4"
