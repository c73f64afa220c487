"""The window's actions (menu items and toolbar buttons) with shortcuts and tooltips."""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtGui import QAction, QIcon, QKeySequence
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMainWindow, QStyle, QToolBar, QWidget

from hemoapp.core.contract import CLASS_NAMES, display_name
from hemoapp.gui.widgets.recent_menu import RecentFoldersMenu
from hemoapp.gui.widgets.review_box import CLASS_KEYS


@dataclass
class Actions:
    """Every main action of the window (one place to enable/disable them)."""

    open_folder: QAction
    open_files: QAction
    open_samples: QAction
    export_results: QAction
    export_summary: QAction
    export_report: QAction
    export_agreement: QAction
    cancel: QAction
    classify_again: QAction
    quit: QAction
    show_table: QAction
    show_gallery: QAction
    show_summary: QAction
    focus_filter: QAction
    show_every_cell: QAction
    focus_threshold: QAction
    show_disagreements: QAction
    next_flagged: QAction
    model_card: QAction
    shortcuts: QAction
    review_confirm: QAction
    review_clear: QAction
    set_reviewer: QAction
    sample_details: QAction
    enlarge_cell: QAction
    #: Review the selected cell as each class, in contract order (keys 1–8).
    review_as: list[QAction] = field(default_factory=list)

    def review_actions(self) -> list[QAction]:
        """The actions that review the selected cell (their keys work in the table, gallery and detail panel)."""
        return [self.review_confirm, self.review_clear, *self.review_as]

    def cell_actions(self) -> list[QAction]:
        """The actions on the selected cell with plain keys: the review actions and Enlarge Cell (Space)."""
        return [*self.review_actions(), self.enlarge_cell]


def _action(
    parent: QWidget,
    text: str,
    shortcut: QKeySequence | QKeySequence.StandardKey | str | None,
    tip: str,
    icon: QIcon | None = None,
) -> QAction:
    action = QAction(text, parent)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
    action.setToolTip(f"{tip} ({keys})" if keys else tip)
    action.setStatusTip(tip)
    if icon is not None:
        action.setIcon(icon)
    return action


def build_actions(window: QWidget) -> Actions:
    """Create the actions, owned by ``window`` (connect them there)."""
    style = window.style()
    icon = style.standardIcon
    pix = QStyle.StandardPixmap
    return Actions(
        open_folder=_action(window, "&Open Folder…", QKeySequence.StandardKey.Open,
                            "Classify every image in a folder and its sub-folders", icon(pix.SP_DirOpenIcon)),
        open_files=_action(window, "Open &Images…", "Ctrl+Shift+O", "Classify selected image files",
                           icon(pix.SP_FileIcon)),
        open_samples=_action(window, "Open &Sample Images", "Ctrl+Shift+S",
                             "Classify the sample images that ship with HemoLens", icon(pix.SP_DirHomeIcon)),
        export_results=_action(window, "&Export Results CSV…", "Ctrl+E",
                               "Save one row per image (class, confidence, probabilities, model)",
                               icon(pix.SP_DialogSaveButton)),
        export_summary=_action(window, "Export S&ummary CSV…", "Ctrl+Shift+E",
                               "Save counts, white-cell differential and flagged cells", icon(pix.SP_FileDialogDetailedView)),
        export_report=_action(window, "Export &Report PDF…", "Ctrl+P",
                              "Save a printable report: differential, counts, warnings, the model and who reviewed",
                              icon(pix.SP_FileDialogContentsView)),
        export_agreement=_action(window, "Export A&greement CSV…", "Ctrl+Shift+G",
                                 "Save the comparison with the classes the folders give (confusion matrix, "
                                 "sensitivity, PPV, every disagreement)"),
        cancel=_action(window, "&Cancel Classification", "Esc",
                       "Stop after the current batch and keep what is classified", icon(pix.SP_BrowserStop)),
        classify_again=_action(window, "Classify &Again", QKeySequence.StandardKey.Refresh,
                               "Scan the folder again and classify what it holds now (reviews of unchanged "
                               "files come back)", icon(pix.SP_BrowserReload)),
        quit=_action(window, "&Quit", "Ctrl+Q", "Close HemoLens"),
        show_table=_action(window, "&Table", "Ctrl+1", "Show one row per image"),
        show_gallery=_action(window, "&Gallery", "Ctrl+2", "Show thumbnails of the filtered cells"),
        show_summary=_action(window, "S&ummary", "Ctrl+3", "Show counts and the white-cell differential"),
        focus_filter=_action(window, "Filter by &Class", "Ctrl+F", "Move the keyboard focus to the class filter"),
        show_every_cell=_action(window, "Show &Every Cell", "Ctrl+Shift+F",
                                "Clear the class, confidence and Show filters, as the Reset button does"),
        focus_threshold=_action(window, "Review &Threshold", "Ctrl+T",
                                "Move the keyboard focus to the review threshold"),
        show_disagreements=_action(window, "Show &Disagreeing Cells", "Ctrl+Shift+D",
                                   "List the cells that HemoLens puts in another class than their folder gives"),
        next_flagged=_action(window, "Next &Flagged Cell", "F3",
                             "Select the next cell flagged for review that nobody has reviewed yet"),
        model_card=_action(window, "&About / Model Card", QKeySequence.StandardKey.HelpContents,
                           "The app's version and the model's card: training data, metrics, citation, licence",
                           icon(pix.SP_MessageBoxInformation)),
        shortcuts=_action(window, "&Keyboard Shortcuts", "Ctrl+/", "Every key of the menus, and where the review keys work"),
        review_confirm=_cell_action(window, "&Confirm Predicted Class", ["Return", "Enter"],
                                    "The model's class of the selected cell is right"),
        review_clear=_cell_action(window, "&Undo Review", ["Backspace", "Delete"],
                                  "Forget the review of the selected cell: it counts with the model's class again"),
        set_reviewer=_action(window, "Reviewer &Name…", "Ctrl+Shift+R",
                             "The name your reviews are recorded under, in the exports and the saved reviews"),
        sample_details=_action(window, "Sample &ID and Comment…", "Ctrl+I",
                               "The ID of the specimen these images come from, and a comment: printed on the "
                               "report and written into the CSVs"),
        enlarge_cell=_cell_action(window, "&Enlarge Cell", ["Space"],
                                  "Show the selected cell at full size or larger in its own window, which "
                                  "follows the selection (double-click the cell's image does the same)"),
        review_as=[
            _cell_action(window, f"Review as {display_name(name)}", [key],
                         f"Put the selected cell in {display_name(name)}, whatever the model said")
            for name, key in zip(CLASS_NAMES, CLASS_KEYS)
        ],
    )


def _cell_action(parent: QWidget, text: str, keys: list[str], tip: str) -> QAction:
    """An action with plain keys that only work where the cells are (see :meth:`Actions.cell_actions`).

    As window shortcuts, Enter or a digit typed into the threshold box would review a cell.
    """
    action = _action(parent, text, keys[0], tip)
    action.setShortcuts([QKeySequence(key) for key in keys])
    action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
    return action


def build_menus(window: QMainWindow, actions: Actions) -> RecentFoldersMenu:
    """Fill the window's menu bar; return the (empty) File > Recent Folders menu."""
    a = actions
    file_menu = window.menuBar().addMenu("&File")
    file_menu.addActions([a.open_folder, a.open_files, a.open_samples])
    recent_menu = RecentFoldersMenu(window)
    file_menu.addMenu(recent_menu)
    file_menu.addSeparator()
    file_menu.addAction(a.sample_details)
    file_menu.addActions([a.export_results, a.export_summary, a.export_report, a.export_agreement])
    file_menu.addSeparator()
    file_menu.addAction(a.quit)
    classify_menu = window.menuBar().addMenu("&Classification")
    classify_menu.addActions([a.cancel, a.classify_again, a.focus_filter, a.show_every_cell, a.focus_threshold])
    review_menu = window.menuBar().addMenu("&Review")
    review_menu.addActions([a.next_flagged, a.show_disagreements, a.review_confirm, a.review_clear])
    review_menu.addSeparator()
    review_menu.addActions(a.review_as)
    review_menu.addSeparator()
    review_menu.addAction(a.set_reviewer)
    view_menu = window.menuBar().addMenu("&View")
    for tab, action in enumerate((a.show_table, a.show_gallery, a.show_summary)):
        action.setData(tab)  # the results tab it shows
        view_menu.addAction(action)
    view_menu.addSeparator()
    view_menu.addAction(a.enlarge_cell)
    help_menu = window.menuBar().addMenu("&Help")
    help_menu.addActions([a.shortcuts, a.model_card])
    return recent_menu


def build_toolbar(window: QMainWindow, actions: Actions) -> QToolBar:
    """Add the main toolbar (named, so ``saveState`` remembers it)."""
    a = actions
    toolbar = QToolBar("Main toolbar", window)
    toolbar.setObjectName("mainToolbar")
    toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    toolbar.addActions([a.open_folder, a.open_samples])
    toolbar.addSeparator()
    toolbar.addAction(a.cancel)
    toolbar.addSeparator()
    toolbar.addActions([a.export_results, a.export_summary, a.export_report])
    toolbar.addSeparator()
    toolbar.addAction(a.model_card)
    window.addToolBar(toolbar)
    return toolbar
