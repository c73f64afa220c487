"""The window's lab-profile dialogs and menus: *Model > Adapt to This Lab…*, *Model > Lab Profiles…*,
*File > Export Reviewed Cells…* (the work is :class:`~hemoapp.gui.controllers.profiles.ProfilesController`'s).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMenu,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from hemoapp.core.contract import display_name
from hemoapp.core.lab_profile import PROFILE_SUFFIX, LabProfile, ProfileError
from hemoapp.core.summary import fraction_percent, interval_percent
from hemoapp.gui.controllers.profiles import ProfilesController
from hemoapp.gui.dialogs import error_box

_STAGES = {"features": "Reading the reviewed cells", "cross-validation": "Cross-validating on held-out cells",
           "fit": "Fitting the profile"}


def model_text(controller: ProfilesController) -> str:
    """What the window says is classifying: the base model, or the profile on it."""
    base = controller.base
    profile = controller.current()
    if base is None:
        return ""
    if profile is None:
        return f"{base.info.name} {base.info.version}"
    return f"{base.info.name} {base.info.version} + lab profile {profile.name}"


class AdaptDialog(QDialog):
    """Fit a lab profile from the reviewed cells, see its cross-validated accuracy, then keep it or not."""

    def __init__(self, controller: ProfilesController, author: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Adapt to This Lab")
        self.controller, self.author = controller, author
        self.profile: LabProfile | None = None
        cells = controller.reviewed()
        counts = ", ".join(f"{display_name(c)} {n}" for c, n in cells.counts().items()) or "none yet"
        minimum = controller.fit_settings.min_cells
        self.cells_label = QLabel(
            f"Reviewed cells (confirmed or corrected, in every folder): {len(cells.cells)} ({counts}).\n"
            f"A class needs at least {minimum} to be adapted; the others keep the base model's answers.")
        self.cells_label.setWordWrap(True)
        self.name_edit = QLineEdit(f"Lab profile {_dt.date.today().isoformat()}")
        self.name_edit.setAccessibleName("Profile name")
        self.fit_button = QPushButton("&Fit")
        self.cancel_button = QPushButton("&Cancel Fit")
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar()
        self.stage_label = QLabel("")
        self.result_label = QLabel("")
        self.result_label.setWordWrap(True)
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.use_button = QPushButton("&Save and Use This Profile")
        self.use_button.setEnabled(False)
        self.close_button = QPushButton("Close")
        name_row = QHBoxLayout()
        name_row.addWidget(QLabel("Name:"))
        name_row.addWidget(self.name_edit)
        fit_row = QHBoxLayout()
        fit_row.addWidget(self.fit_button)
        fit_row.addWidget(self.cancel_button)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.use_button)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        for part in (self.cells_label, name_row, fit_row, self.progress, self.stage_label, self.result_label, buttons):
            (layout.addLayout if isinstance(part, QHBoxLayout) else layout.addWidget)(part)
        self.fit_button.clicked.connect(self.fit)
        self.cancel_button.clicked.connect(controller.cancel_fit)
        self.use_button.clicked.connect(self.save_and_use)
        self.close_button.clicked.connect(self.reject)
        controller.fit_progress.connect(self._on_progress)
        controller.fit_finished.connect(self._on_finished)
        self.fit_button.setEnabled(bool(cells.cells) and controller.base is not None)
        self.setMinimumWidth(560)  # the wrapped sentences need the room; a narrow dialog cut them off

    @Slot()
    def fit(self) -> None:
        """Start the fit (in the background)."""
        self.profile = None
        self.use_button.setEnabled(False)
        self.result_label.setText("")
        if self.controller.start_fit(self.name_edit.text().strip() or "Lab profile", self.author):
            self.fit_button.setEnabled(False)
            self.cancel_button.setEnabled(True)

    @Slot(str, int, int)
    def _on_progress(self, stage: str, done: int, total: int) -> None:
        self.stage_label.setText(f"{_STAGES.get(stage, stage)}…")
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(done)

    @Slot(object, str)
    def _on_finished(self, profile: LabProfile | None, error: str) -> None:
        self.fit_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.stage_label.setText("")
        self.profile = profile
        if profile is None:
            self.result_label.setText(error or "The fit was cancelled.")
            self.adjustSize()
            return
        cv = profile.card["cross_validation"]
        low, high = cv["interval95"]
        # Shares as everywhere else in HemoLens ("90.0%", interval "73.5–97.9%").
        self.result_label.setText(
            f"Cross-validated on {cv['n']} held-out reviewed cells ({cv['folds']} folds): this profile "
            f"{fraction_percent(cv['profile_accuracy'])} (95% interval {interval_percent((100 * low, 100 * high))}), "
            f"the base model {fraction_percent(cv['base_accuracy'])} on the same cells.\n"
            f"Adapted: {', '.join(map(display_name, profile.card['adapted_classes']))}; "
            "every other class keeps the base model's answers.")
        self.use_button.setEnabled(True)
        self.adjustSize()  # the result is new text: grow to show all of it

    @Slot()
    def save_and_use(self) -> None:
        """Install the fitted profile and classify with it from now on."""
        if self.profile is None:
            return
        try:
            self.controller.keep(self.profile, use=True)
        except OSError as exc:
            error_box(self, "Saving the profile failed", str(exc)).open()
            return
        self.accept()

    def done(self, result: int) -> None:  # noqa: D401 - Qt override
        """Closing stops a running fit."""
        self.controller.cancel_fit()
        super().done(result)


class ProfilesDialog(QDialog):
    """Choose the model in use (the base model or a profile); rename, export, install, remove profiles."""

    def __init__(self, controller: ProfilesController, settings_dir: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Lab Profiles")
        self.controller, self.settings_dir = controller, settings_dir
        self.list = QListWidget()
        self.list.setAccessibleName("Models and lab profiles")
        self.details = QLabel("")
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.use_button = QPushButton("&Use")
        self.rename_button = QPushButton("&Rename…")
        self.export_button = QPushButton("&Export…")
        self.install_button = QPushButton("&Install From File…")
        self.remove_button = QPushButton("Re&move")
        close = QPushButton("Close")
        buttons = QHBoxLayout()
        for button in (self.use_button, self.rename_button, self.export_button, self.install_button,
                       self.remove_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.list)
        layout.addWidget(self.details)
        layout.addLayout(buttons)
        self.use_button.clicked.connect(self.use_selected)
        self.rename_button.clicked.connect(lambda: self.rename_selected())
        self.export_button.clicked.connect(lambda: self.export_selected())
        self.install_button.clicked.connect(lambda: self.install_file())
        self.remove_button.clicked.connect(self.remove_selected)
        close.clicked.connect(self.accept)
        self.list.currentRowChanged.connect(self._on_row_changed)
        self.refresh()

    def refresh(self) -> None:
        """List the base model and every profile again, the one in use marked (the selection stays)."""
        selected = self.selected() if self.list.count() else None
        self.list.clear()
        base, current = self.controller.base, self.controller.current()
        if base is not None:
            mark = "  (in use)" if current is None else ""
            item = QListWidgetItem(f"Base model: {base.info.name} {base.info.version}{mark}")
            item.setData(Qt.ItemDataRole.UserRole, None)
            self.list.addItem(item)
        for profile in self.controller.profiles():
            cv = profile.card["cross_validation"]
            in_use = current is not None and current.sha256 == profile.sha256 and current.path == profile.path
            item = QListWidgetItem(f"{profile.name}: {cv['profile_accuracy']:.1%} cross-validated "
                                   f"(base {cv['base_accuracy']:.1%}), sha256 {profile.sha256[:12]}"
                                   f"{'  (in use)' if in_use else ''}")
            item.setData(Qt.ItemDataRole.UserRole, profile)
            self.list.addItem(item)
        self.list.setCurrentRow(0)
        if selected is not None:
            self.select(selected)

    def selected(self) -> LabProfile | None:
        """The selected profile (``None``: the base model)."""
        item = self.list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

    def select(self, profile: LabProfile | None) -> None:
        """Select ``profile``'s row (``None``: the base model's)."""
        for row in range(self.list.count()):
            data = self.list.item(row).data(Qt.ItemDataRole.UserRole)
            if (data is None and profile is None) or (data is not None and profile is not None
                                                      and data.path == profile.path):
                self.list.setCurrentRow(row)
                return

    @Slot(int)
    def _on_row_changed(self, _row: int) -> None:
        profile = self.selected()
        for button in (self.rename_button, self.export_button, self.remove_button):
            button.setEnabled(profile is not None)
        if profile is None:
            base = self.controller.base
            self.details.setText(f"The model as shipped, sha256 {base.info.sha256}." if base else "")
            return
        card = profile.card
        self.details.setText(
            f"{profile.summary()}.\nOn {card['base_model']['name']} {card['base_model']['version']} "
            f"(sha256 {card['base_model']['sha256'][:12]}…); fitted on {sum(card['counts'].values())} cells "
            f"({', '.join(f'{display_name(c)} {n}' for c, n in card['counts'].items())}) by {card['author']} "
            f"on {card['created']}. sha256 {profile.sha256}")

    @Slot()
    def use_selected(self) -> None:
        """Classify with the selected model or profile."""
        self.controller.use(self.selected())
        self.refresh()

    def rename_selected(self, name: str | None = None) -> None:
        """Rename the selected profile (asks for the name when ``name`` is ``None``)."""
        profile = self.selected()
        if profile is None:
            return
        if name is None:
            name, ok = QInputDialog.getText(self, "Rename Lab Profile", "Name:", text=profile.name)
            if not ok:
                return
        self.controller.rename(profile, name)
        self.refresh()

    def export_selected(self, path: str | Path | None = None) -> Path | None:
        """Copy the selected profile's file to ``path`` (asked for when ``None``)."""
        profile = self.selected()
        if profile is None:
            return None
        if path is None:
            name, _ = QFileDialog.getSaveFileName(self, "Export Lab Profile", profile.path.name,
                                                  f"Lab profiles (*{PROFILE_SUFFIX})")
            if not name:
                return None
            path = name
        try:
            return self.controller.export(profile, path)
        except OSError as exc:
            error_box(self, "Exporting the profile failed", f"Could not write {path}: {exc.strerror or exc}").open()
            return None

    def install_file(self, path: str | Path | None = None) -> LabProfile | None:
        """Install a profile exported on another workstation (asked for when ``path`` is ``None``)."""
        if path is None:
            name, _ = QFileDialog.getOpenFileName(self, "Install Lab Profile", "", f"Lab profiles (*{PROFILE_SUFFIX})")
            if not name:
                return None
            path = name
        try:
            profile = self.controller.install(path)
        except (ProfileError, OSError) as exc:
            error_box(self, "Installing the profile failed", str(exc)).open()
            return None
        self.refresh()
        return profile

    @Slot()
    def remove_selected(self) -> None:
        """Delete the selected profile (the base model classifies if it was in use)."""
        profile = self.selected()
        if profile is not None:
            self.controller.remove(profile)
            self.refresh()


@dataclass
class ProfileMenus:
    """The actions :func:`install_profile_menus` adds."""

    adapt: QAction
    profiles: QAction
    export_reviewed: QAction


def install_profile_menus(window: QMainWindow, controller: ProfilesController, author: Callable[[], str],
                          after: QAction | None = None) -> ProfileMenus:
    """Add *Model* (before *Help*) and *File > Export Reviewed Cells…* (after ``after``) to ``window``'s menus."""
    adapt = QAction("&Adapt to This Lab…", window)
    adapt.setStatusTip("Fit a lab profile from the cells reviewed here, and see how much better it does")
    profiles = QAction("Lab &Profiles…", window)
    profiles.setStatusTip("Choose the model or lab profile in use; rename, export, install or remove profiles")
    export_reviewed = QAction("Export Re&viewed Cells…", window)
    export_reviewed.setStatusTip("Copy every reviewed cell into a folder per class (what 'hemoapp adapt' reads)")
    bar = window.menuBar()
    help_action = next((a for a in bar.actions() if a.text().replace("&", "") == "Help"), None)
    menu = QMenu("&Model", window)
    menu.addActions([adapt, profiles])
    bar.insertMenu(help_action, menu) if help_action is not None else bar.addMenu(menu)
    file_menu = next((a.menu() for a in bar.actions() if a.text().replace("&", "") == "File"), None)
    if file_menu is not None:
        actions = file_menu.actions()
        following = actions[actions.index(after) + 1] if after in actions[:-1] else None
        file_menu.insertAction(following, export_reviewed)
    has_base = controller.base is not None
    adapt.setEnabled(has_base)
    profiles.setEnabled(has_base)
    state: dict[str, QDialog] = {}

    def open_adapt() -> None:
        state["dialog"] = AdaptDialog(controller, author(), window)
        state["dialog"].open()

    def open_profiles() -> None:
        state["dialog"] = ProfilesDialog(controller, parent=window)
        state["dialog"].open()

    def export_cells() -> None:
        folder = QFileDialog.getExistingDirectory(window, "Export Reviewed Cells into a Folder")
        if folder:
            try:
                controller.export_reviewed(folder)
            except OSError as exc:
                error_box(window, "Exporting the reviewed cells failed", str(exc)).open()

    adapt.triggered.connect(open_adapt)
    profiles.triggered.connect(open_profiles)
    export_reviewed.triggered.connect(export_cells)
    return ProfileMenus(adapt, profiles, export_reviewed)
