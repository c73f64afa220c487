"""Lab profiles in the window: adapt to the lab from its reviewed cells, choose, rename, export, remove.

Profiles live beside the settings file (``lab-profiles/``, one ``*.hlprofile.json`` each); the
one in use is remembered in the settings. The base model is always there: choosing it, or
removing the profile in use, goes back to it. A fit runs on its own thread (its own LiteRT
interpreter, so a classification may run beside it) with progress and cancel; the profile is
kept only once the user asks for it (:meth:`ProfilesController.keep`), after seeing its
cross-validated accuracy.
"""

from __future__ import annotations

import re
import shutil
import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from hemoapp.core.classifier import Classifier
from hemoapp.core.lab_profile import (
    PROFILE_SUFFIX,
    FitCancelled,
    LabProfile,
    ProfileClassifier,
    ProfileError,
    build_profile,
    load_profile,
    save_profile,
)
from hemoapp.core.profile_fit import FitSettings
from hemoapp.core.reviewed_cells import ReviewedCells, export_reviewed_cells, reviewed_cells
from hemoapp.gui.settings import AppSettings

#: Settings key of the profile in use (its file name; empty: the base model).
CURRENT_KEY = "profiles/current"


class _FitSignals(QObject):
    progress = Signal(str, int, int)
    finished = Signal(object, str)  # a LabProfile, or None and why not ("" when cancelled)


class _FitWorker(QRunnable):
    """Reads the reviewed cells and fits a profile on the pool thread (hashing every reviewed file is
    not done on the GUI thread); its signals reach the GUI thread queued."""

    def __init__(self, reviews_dir: Path, base: Classifier, name: str, author: str,
                 settings: FitSettings, cancel: threading.Event) -> None:
        super().__init__()
        self.reviews_dir, self.base, self.name, self.author = reviews_dir, base, name, author
        self.fit_settings, self.cancel = settings, cancel
        self.signals = _FitSignals()

    def run(self) -> None:  # noqa: D401 - Qt override
        """Fit (see :func:`hemoapp.core.lab_profile.build_profile`)."""
        try:
            cells = reviewed_cells(self.reviews_dir).cells
            profile = build_profile([c.path for c in cells], [c.class_name for c in cells], self.base, self.name,
                                    self.author, self.fit_settings,
                                    progress=lambda stage, done, total: self.signals.progress.emit(stage, done, total),
                                    cancel=self.cancel)
        except FitCancelled:
            self.signals.finished.emit(None, "")
        except ProfileError as exc:
            self.signals.finished.emit(None, str(exc))
        except Exception as exc:  # noqa: BLE001 - every failure reaches the dialog
            self.signals.finished.emit(None, f"The fit failed ({type(exc).__name__}: {exc}).")
        else:
            self.signals.finished.emit(profile, "")


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")[:40] or "profile"


class ProfilesController(QObject):
    """Owns the lab profiles and which model classifies (the base model or one profile).

    Args:
        classification: the window's classification controller (its classifier is switched).
        settings: where the profiles and the reviews live.
        fit_settings: how profiles are fitted (tests pass faster ones).

    Signals:
        model_changed(): another model or profile classifies from now on.
        fit_progress(str, int, int): stage, done, total of the running fit.
        fit_finished(object, str): the fitted (not yet kept) profile, or ``None`` and why
            (``""``: cancelled).
        message(str, int): for the status bar.
    """

    model_changed = Signal()
    fit_progress = Signal(str, int, int)
    fit_finished = Signal(object, str)
    message = Signal(str, int)

    def __init__(self, classification: Any, settings: AppSettings, fit_settings: FitSettings | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._classification = classification
        self._settings = settings
        self.fit_settings = fit_settings or FitSettings()
        base = classification.classifier
        #: The base model (a checked Classifier), or ``None``: nothing can be adapted.
        self.base: Classifier | None = base if isinstance(base, Classifier) else None
        self.directory = Path(settings.file_name()).parent / "lab-profiles"
        self._current: LabProfile | None = None
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._cancel: threading.Event | None = None
        self._worker: _FitWorker | None = None
        self._restore()

    # ----- what there is ----------------------------------------------------
    def profiles(self) -> list[LabProfile]:
        """The installed profiles, by name (files that cannot be read are left out)."""
        found = []
        for path in sorted(self.directory.glob(f"*{PROFILE_SUFFIX}")) if self.directory.is_dir() else []:
            try:
                found.append(load_profile(path))
            except ProfileError:
                continue
        return sorted(found, key=lambda p: (p.name.lower(), p.sha256))

    def current(self) -> LabProfile | None:
        """The profile in use, or ``None`` (the base model)."""
        return self._current

    def reviewed(self) -> ReviewedCells:
        """Every reviewed cell of every folder (what a fit uses)."""
        return reviewed_cells(self._settings.reviews_dir())

    def is_fitting(self) -> bool:
        """Whether a fit is running."""
        return self._worker is not None

    # ----- choosing -----------------------------------------------------------
    def use(self, profile: LabProfile | None) -> bool:
        """Classify with ``profile`` (``None``: the base model); False if it cannot be used or a batch is running.

        The window classifies the shown folder again on ``model_changed``, so the rows it shows
        (and exports) are always the named model's.
        """
        if self.base is None:
            return False
        if self._classification.is_running():
            self.message.emit("Wait for the batch to finish (or cancel it) before changing the model.", 0)
            return False
        if profile is None:
            classifier: Any = self.base
        else:
            try:
                classifier = ProfileClassifier(profile, self.base)
            except ProfileError as exc:
                self.message.emit(str(exc), 0)
                return False
        self._classification.set_classifier(classifier)
        self._current = profile
        self._settings.qsettings.setValue(CURRENT_KEY, profile.path.name if profile and profile.path else "")
        self.model_changed.emit()
        shown = f"lab profile {profile.name}" if profile else f"the base model {self.base.info.name}"
        self.message.emit(f"Classifying with {shown}.", 0)
        return True

    def _restore(self) -> None:
        name = str(self._settings.qsettings.value(CURRENT_KEY, "") or "")
        if not name or self.base is None:
            return
        path = self.directory / name
        try:
            self.use(load_profile(path))
        except ProfileError as exc:
            self._settings.qsettings.setValue(CURRENT_KEY, "")
            self.message.emit(f"The lab profile in use could not be loaded, the base model classifies: {exc}", 0)

    # ----- fitting ---------------------------------------------------------------
    def start_fit(self, name: str, author: str) -> bool:
        """Fit a profile named ``name`` on every reviewed cell, in the background (see ``fit_finished``)."""
        if self.base is None or self._worker is not None:
            return False
        self._cancel = threading.Event()
        worker = _FitWorker(self._settings.reviews_dir(), self.base, name, author, self.fit_settings, self._cancel)
        worker.setAutoDelete(False)
        worker.signals.progress.connect(self.fit_progress)
        worker.signals.finished.connect(self._on_fit_finished)
        self._worker = worker
        self._pool.start(worker)
        return True

    def cancel_fit(self) -> None:
        """Stop the running fit (it ends with ``fit_finished(None, "")``)."""
        if self._cancel is not None:
            self._cancel.set()

    @Slot(object, str)
    def _on_fit_finished(self, profile: LabProfile | None, error: str) -> None:
        self._worker, self._cancel = None, None
        self.fit_finished.emit(profile, error)

    def keep(self, profile: LabProfile, use: bool = True) -> Path:
        """Install a fitted profile (and classify with it when ``use``); returns its file.

        Raises:
            OSError: it could not be written.
        """
        self.directory.mkdir(parents=True, exist_ok=True)
        path = save_profile(profile, self.directory / f"{_slug(profile.name)}-{profile.document()['sha256'][:8]}"
                                                      f"{PROFILE_SUFFIX}")
        self.message.emit(f"Lab profile {profile.name} saved ({path.name}).", 0)
        if use:
            self.use(profile)
        return path

    # ----- managing -----------------------------------------------------------------
    def rename(self, profile: LabProfile, name: str) -> None:
        """Give ``profile`` another name (its sha256 stays: the name is not part of it)."""
        name = " ".join(name.split())
        if not name or profile.path is None:
            return
        profile.name = name
        save_profile(profile, profile.path)
        if self._current is not None and self._current.path == profile.path:
            self.use(profile)

    def export(self, profile: LabProfile, target: str | Path) -> Path:
        """Copy ``profile``'s file to ``target`` (to install on another workstation)."""
        target = Path(target)
        shutil.copyfile(profile.path, target)
        return target

    def install(self, path: str | Path) -> LabProfile:
        """Install a profile exported elsewhere (checked first); returns it.

        Raises:
            ProfileError: not a usable profile for this base model.
        """
        profile = load_profile(path)
        if self.base is not None:
            ProfileClassifier(profile, self.base)  # refuses one made for another model
        self.keep(profile, use=False)
        return profile

    def remove(self, profile: LabProfile) -> bool:
        """Delete ``profile``'s file; the base model classifies if it was in use (False: not while a batch runs)."""
        if self._current is not None and self._current.path == profile.path and not self.use(None):
            return False
        if profile.path is not None:
            profile.path.unlink(missing_ok=True)
        self.message.emit(f"Lab profile {profile.name} removed.", 0)
        return True

    def export_reviewed(self, target: str | Path) -> list[Path]:
        """Copy every reviewed cell into ``target/<class>/`` (what ``hemoapp adapt`` reads)."""
        written = export_reviewed_cells(self.reviewed(), target)
        self.message.emit(f"{len(written)} reviewed cells copied to {target}.", 0)
        return written

    def shutdown(self) -> None:
        """Cancel a running fit and wait for it."""
        self.cancel_fit()
        self._pool.waitForDone(5000)
