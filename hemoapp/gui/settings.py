"""Remembered preferences: window geometry and state, recent folders, thresholds.

A thin wrapper over ``QSettings`` in INI format under the user scope, so the
file is plain text on every platform. Tests redirect it with
``QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, tmp)``.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

from hemoapp.core.contract import ModelCard

ORGANIZATION = "HemoLens"
APPLICATION = "HemoLens"

#: How many folders File > Recent Folders lists.
MAX_RECENT = 8


class AppSettings:
    """Typed access to the app's ``QSettings``.

    Args:
        settings: a ``QSettings`` to use; by default the user-scope INI file of
            :data:`ORGANIZATION` / :data:`APPLICATION`.
    """

    def __init__(self, settings: QSettings | None = None) -> None:
        self._settings = settings or QSettings(
            QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION, APPLICATION
        )

    @property
    def qsettings(self) -> QSettings:
        """The underlying ``QSettings``."""
        return self._settings

    def file_name(self) -> str:
        """Path of the settings file (for the About dialog and support)."""
        return self._settings.fileName()

    def reviews_dir(self) -> Path:
        """Where the reviews of opened folders are saved as they are made (beside the settings file)."""
        return Path(self._settings.fileName()).parent / "reviews"

    # ----- window -------------------------------------------------------
    def window_geometry(self) -> QByteArray | None:
        """Saved ``QMainWindow.saveGeometry()`` bytes, if any."""
        value = self._settings.value("window/geometry")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def window_state(self) -> QByteArray | None:
        """Saved ``QMainWindow.saveState()`` bytes (toolbars, docks), if any."""
        value = self._settings.value("window/state")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def splitter_state(self) -> QByteArray | None:
        """Saved results splitter sizes, if any."""
        value = self._settings.value("window/splitter")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def save_window(self, geometry: QByteArray, state: QByteArray, splitter: QByteArray | None = None) -> None:
        """Store window geometry, state and splitter sizes."""
        self._settings.setValue("window/geometry", geometry)
        self._settings.setValue("window/state", state)
        if splitter is not None:
            self._settings.setValue("window/splitter", splitter)

    def viewer_geometry(self) -> QByteArray | None:
        """Saved ``saveGeometry()`` bytes of the enlarged cell window, if any."""
        value = self._settings.value("viewer/geometry")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def set_viewer_geometry(self, geometry: QByteArray) -> None:
        """Remember where the enlarged cell window was and how large (e.g. on a second screen)."""
        self._settings.setValue("viewer/geometry", geometry)

    def results_tab(self) -> int:
        """Index of the results tab shown last (table, gallery, summary)."""
        return self._int("window/results_tab", 0)

    def set_results_tab(self, index: int) -> None:
        """Remember the results tab."""
        self._settings.setValue("window/results_tab", int(index))

    # ----- folders ------------------------------------------------------
    def recent_folders(self) -> list[str]:
        """Recently opened folders, newest first (missing ones included: the menu greys them)."""
        value = self._settings.value("recent/folders", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or []) if v][:MAX_RECENT]

    def add_recent_folder(self, folder: str | Path) -> None:
        """Put ``folder`` at the top of the recent list."""
        folder = str(Path(folder))
        folders = [f for f in self.recent_folders() if f != folder]
        self._settings.setValue("recent/folders", [folder, *folders][:MAX_RECENT])

    def clear_recent_folders(self) -> None:
        """Forget the recent folders."""
        self._settings.remove("recent/folders")

    def last_dir(self, kind: str) -> str:
        """Last directory used by a file dialog of ``kind`` ("open", "export")."""
        return str(self._settings.value(f"dirs/{kind}", "") or "")

    def set_last_dir(self, kind: str, directory: str | Path) -> None:
        """Remember the directory a file dialog of ``kind`` ended in."""
        self._settings.setValue(f"dirs/{kind}", str(directory))

    # ----- reviewer -----------------------------------------------------
    def reviewer_name(self) -> str:
        """The name reviews are recorded under, as the user set it (``""``: none set)."""
        return str(self._settings.value("review/reviewer_name", "") or "")

    def set_reviewer_name(self, name: str) -> None:
        """Remember the name reviews are recorded under (``""`` forgets it)."""
        if name:
            self._settings.setValue("review/reviewer_name", name)
        else:
            self._settings.remove("review/reviewer_name")

    # ----- thresholds ---------------------------------------------------
    def review_threshold(self, model_sha256: str | None, card_default: float | None) -> float:
        """The review threshold for a model: the user's last choice, else the card's value (or default)."""
        default = float(ModelCard.review_threshold if card_default is None else card_default)
        if not model_sha256:
            return default
        value = self._settings.value(f"review_threshold/{model_sha256[:16]}")
        try:
            threshold = float(value) if value is not None else default
        except (TypeError, ValueError):
            return default
        return threshold if 0.0 <= threshold <= 1.0 else default

    def set_review_threshold(self, model_sha256: str | None, threshold: float) -> None:
        """Remember the user's review threshold for one model (keyed by its hash)."""
        if model_sha256:
            self._settings.setValue(f"review_threshold/{model_sha256[:16]}", float(threshold))

    def sync(self) -> None:
        """Write pending changes to disk."""
        self._settings.sync()

    def _int(self, key: str, default: int) -> int:
        try:
            return int(self._settings.value(key, default))
        except (TypeError, ValueError):
            return default
