"""Dialogs: About / model card, error details, choosing where to export, discarding results.

Every dialog here is opened with ``open()`` (window-modal, non-blocking) except
the questions that must be answered before an export or an open can go on
(save path, overwrite, discard unexported results).
"""

from __future__ import annotations

import html
import platform
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import PySide6
from PySide6.QtCore import Qt, Slot, qVersion
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QInputDialog,
    QMessageBox,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

import hemoapp
from hemoapp.core.contract import display_name
from hemoapp.core.output_guard import OutputIsInputError, check_not_input
from hemoapp.gui.busy import run_while_busy

#: Filter string of the CSV save dialogs.
CSV_FILTER = "CSV files (*.csv);;All files (*)"
#: File-type filter of the "Export report" dialog.
PDF_FILTER = "PDF files (*.pdf);;All files (*)"


def _esc(value: Any) -> str:
    return html.escape(str(value))


#: Words of a card's keys that are names or abbreviations, as a reader writes them.
_KEY_WORDS = {"f1": "F1", "auc": "AUC", "ovr": "(one-vs-rest)", "ece": "ECE", "lr": "LR"}


def _key_label(key: Any) -> str:
    """A card key as a label: ``macro_auc_ovr`` → "Macro AUC (one-vs-rest)", ``ig`` → "Immature granulocyte"."""
    words = [_KEY_WORDS.get(word, word) for word in display_name(str(key)).split("_")]
    label = " ".join(words)
    return label[:1].upper() + label[1:]


def performance_html(metrics: Any) -> str:
    """The card's test figures in words, for a reader who wants to know how far to trust it ("" without them)."""
    test = metrics.get("test") if isinstance(metrics, dict) else None
    if not isinstance(test, dict) or not {"n", "accuracy"} <= test.keys():
        return ""
    wrong = round(test["n"] * (1 - test["accuracy"]))
    lines = [f"On the {test['n']:,} test images, which the model never saw in training, it classified "
             f"<b>{test['accuracy']:.2%} right</b> ({wrong:,} wrong)."]
    review = test.get("review")
    if isinstance(review, dict) and {"threshold", "flagged_fraction", "errors", "errors_flagged"} <= review.keys():
        caught, errors = review["errors_flagged"], review["errors"]
        missed = errors - caught
        if not missed:
            among = f"all {errors:,} wrong ones were among them."
        else:
            among = (f"{caught:,} of the {errors:,} wrong ones were among them: "
                     f"{missed:,} wrong {'cell was' if missed == 1 else 'cells were'} not flagged.")
        lines.append(f"At the default review threshold of {review['threshold']:.0%}, "
                     f"{review['flagged_fraction']:.1%} of the cells were flagged for review, and {among}")
    figures = [f"{label} {template.format(test[key])}" for label, key, template in (
        ("Macro F1", "macro_f1", "{:.3f}"),
        ("macro AUC (one-vs-rest)", "macro_auc_ovr", "{:.4f}"),
        ("calibration error (ECE)", "ece", "{:.2%}"),
    ) if isinstance(test.get(key), (int, float))]
    if figures:
        lines.append(", ".join(figures) + ".")
    # The figures hold for images like the training data; another lab's may differ a lot (bccd-wbc: README).
    lines.append("The test images are like those it was trained on (see Training data). Before relying on HemoLens, "
                 "check it on cells your lab has already classified, with the command "
                 "<i>hemolens validate FOLDER</i> (<i>hemolens-cli</i> on Windows; <i>--help</i> says how).")
    return "<h3>How well it does</h3><p>" + " ".join(lines) + "</p>"


def _dict_rows(data: Any, depth: int = 0) -> str:
    """Render nested dicts/lists from a card as indented HTML rows."""
    if not isinstance(data, dict):
        return f"<tr><td colspan='2'>{_esc(data)}</td></tr>"
    rows = []
    indent = "&nbsp;" * 4 * depth
    for key, value in data.items():
        label = _key_label(key)
        if isinstance(value, dict) and value:
            rows.append(f"<tr><td colspan='2'>{indent}<b>{_esc(label)}</b></td></tr>")
            rows.append(_dict_rows(value, depth + 1))
        elif isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
            # e.g. the training sessions: one numbered sub-table each, not a run-on of dict reprs
            for number, item in enumerate(value, start=1):
                rows.append(f"<tr><td colspan='2'>{indent}<b>{_esc(label)} {number}</b></td></tr>")
                rows.append(_dict_rows(item, depth + 1))
        else:
            if isinstance(value, (dict, list, tuple)) and not value:
                text = "—"  # e.g. no recorded sessions: say so rather than show an empty heading
            elif isinstance(value, float):
                text = f"{value:.4g}"
            elif isinstance(value, (list, tuple)):
                text = ", ".join(str(v) for v in value)
            else:
                text = str(value)
            rows.append(f"<tr><td>{indent}{_esc(label)}</td><td>{_esc(text)}</td></tr>")
    return "".join(rows)


def model_card_html(model_info: Any, settings_file: str = "") -> str:
    """The About text and the model card (training data, metrics, citation, licence) as HTML."""
    parts = [
        f"<h2>HemoLens {_esc(hemoapp.__version__)}</h2>",
        "<p>Offline classification of microscope images of single blood cells into eight classes. "
        "For use by trained staff: every result flagged for review must be checked by eye.</p>",
        f"<p>Qt {_esc(qVersion())}, PySide6 {_esc(PySide6.__version__)}, Python {_esc(platform.python_version())}"
        + (f"<br>Settings: {_esc(settings_file)}" if settings_file else "")
        + "</p>",
    ]
    if model_info is None:
        parts.append("<h3>Model</h3><p><b>No model is loaded.</b></p>")
        return "".join(parts)
    card = model_info.card
    parts.append(f"<h3>Model: {_esc(model_info.name)} {_esc(model_info.version)}</h3>")
    parts.append("<table cellspacing='2' cellpadding='2'>")
    for label, value in (
        ("File", model_info.path),
        ("SHA-256", model_info.sha256),
        ("Architecture", card.architecture or "—"),
        ("Created", card.created),
        ("Input", f"{card.input_size} × {card.input_size} RGB"),
        ("Classes", ", ".join(display_name(c) for c in card.classes)),
        ("Calibration temperature", f"{card.calibration_temperature:.3g}"),
        ("Default review threshold", f"{card.review_threshold:.0%}"),
    ):
        parts.append(f"<tr><td><b>{_esc(label)}</b></td><td>{_esc(value)}</td></tr>")
    parts.append("</table>")
    parts.append(performance_html(card.metrics))
    # Metrics before the (long) training record: they are what a reader of the card looks for first.
    for title, data in (("Training data", card.training_data), ("Metrics", card.metrics), ("Training", card.training)):
        parts.append(f"<h3>{title}</h3>")
        parts.append(f"<table cellspacing='2' cellpadding='2'>{_dict_rows(data)}</table>" if data else "<p>—</p>")
    parts.append(f"<h3>Citation</h3><p>{_esc(card.citation or '—')}</p>")
    parts.append(f"<h3>Licence</h3><p>{_esc(card.licence or '—')}</p>")
    return "".join(parts)


class ModelCardDialog(QDialog):
    """Help > About / Model card: app versions and the loaded model's card."""

    def __init__(self, model_info: Any, settings_file: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About HemoLens / Model card")
        self.resize(640, 600)
        self.browser = QTextBrowser()
        self.browser.setOpenExternalLinks(False)
        self.browser.setHtml(model_card_html(model_info, settings_file))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        copy_button = QPushButton("Copy")
        copy_button.setToolTip("Copy this text to the clipboard")
        buttons.addButton(copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        copy_button.clicked.connect(self._on_copy_button_clicked)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser)
        layout.addWidget(buttons)

    @Slot()
    def _on_copy_button_clicked(self) -> None:
        QGuiApplication.clipboard().setText(self.browser.toPlainText())


def error_box(parent: QWidget | None, title: str, text: str, details: str = "") -> QMessageBox:
    """A critical message box whose "Show Details…" text can be selected and copied.

    The box is not shown; call ``open()`` (or ``exec()``) on it.
    """
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Critical)
    box.setWindowTitle(title)
    box.setText(text)
    if details:
        box.setDetailedText(details)
        box.setInformativeText("Use “Show Details…” to see, select and copy the technical details for a bug report.")
    box.setStandardButtons(QMessageBox.StandardButton.Close)
    copy_button = box.addButton("Copy details", QMessageBox.ButtonRole.ActionRole)
    copy_button.clicked.connect(_CopyText(f"{title}\n{text}\n\n{details}".strip()))
    return box


class _CopyText:
    """A callable that puts fixed text on the clipboard (GUI thread only)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __call__(self, *_args: Any) -> None:
        QGuiApplication.clipboard().setText(self.text)


#: Filter string of the "Open Images" dialog.
IMAGE_FILTER = "Images (*.jpg *.jpeg *.jpe *.png *.bmp *.dib *.tif *.tiff);;All files (*)"


def choose_folder(parent: QWidget | None, directory: str) -> Path | None:
    """Ask for a folder of cell images; ``None`` if cancelled."""
    folder = QFileDialog.getExistingDirectory(parent, "Open folder of cell images", directory)
    return Path(folder) if folder else None


def choose_images(parent: QWidget | None, directory: str) -> list[Path]:
    """Ask for image files; an empty list if cancelled."""
    names, _ = QFileDialog.getOpenFileNames(parent, "Open cell images", directory, IMAGE_FILTER)
    return [Path(name) for name in names]


def ask_reviewer_name(parent: QWidget | None, current: str, login_name: str) -> str | None:
    """Ask for the name reviews are recorded under; ``None`` if cancelled, ``""`` for the login name."""
    text, accepted = QInputDialog.getText(
        parent,
        "Reviewer name",
        "Record reviews under this name (initials or staff number).\n"
        f"Leave it empty to use the computer's login name ({login_name}).",
        text=current,
    )
    return text if accepted else None


def confirm_overwrite(parent: QWidget | None, path: Path) -> bool:
    """Ask before replacing an existing file; True means go ahead."""
    answer = QMessageBox.question(
        parent,
        "Replace file?",
        f"{path.name} already exists in {path.parent}.\nDo you want to replace it?",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        QMessageBox.StandardButton.No,
    )
    return answer == QMessageBox.StandardButton.Yes


def confirm_discard(parent: QWidget | None, count: int, running: bool) -> bool:
    """Ask before opening something new, or closing, throws away ``count`` unexported results; True: discard.

    Results live only in memory until exported, so replacing them is the one
    way the app can lose work. Cancel is the default button: Enter keeps them.
    """
    noun = "result" if count == 1 else "results"
    lines = [f"Discard {count} unexported {noun}?"]
    if running:
        lines.append("The classification still running will be cancelled.")
    lines.append("To keep them, choose Cancel and use File > Export results first.")
    answer = QMessageBox.question(
        parent,
        "Discard results?",
        "\n".join(lines),
        QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
        QMessageBox.StandardButton.Cancel,
    )
    return answer == QMessageBox.StandardButton.Discard


def ask_save_path(
    parent: QWidget | None, title: str, directory: str, suggested_name: str, file_filter: str = CSV_FILTER,
    inputs: Sequence[str | os.PathLike[str]] = (),
) -> Path | None:
    """Ask where to save an export; ``None`` if the user cancels or declines to overwrite.

    A name typed without an extension gets the suggested name's (``.csv``, ``.pdf``).
    A file among ``inputs`` (the opened images) is refused before any overwrite question
    (:func:`refused_as_input`).

    The dialog's own overwrite question is switched off so that every platform
    (native dialog or Qt's) gets exactly one, explicit question from
    :func:`confirm_overwrite`.
    """
    start = str(Path(directory) / suggested_name) if directory else suggested_name
    name, _ = QFileDialog.getSaveFileName(
        parent, title, start, file_filter, options=QFileDialog.Option.DontConfirmOverwrite
    )
    if not name:
        return None
    path = Path(name)
    if not path.suffix:
        path = path.with_suffix(Path(suggested_name).suffix or ".csv")
    if refused_as_input(parent, title, path, inputs):
        return None
    if path.exists() and not confirm_overwrite(parent, path):
        return None
    return path


def refused_as_input(parent: QWidget | None, title: str, path: Path,
                     inputs: Sequence[str | os.PathLike[str]]) -> bool:
    """True, after saying so in a dialog, when ``path`` is one of ``inputs``: an export never replaces an image."""
    try:
        check_not_input(path, inputs, "The file")
    except OutputIsInputError as exc:
        error_box(parent, f"{title} refused", str(exc)).open()
        return True
    return False


@dataclass
class ExportWrite:
    """A pending call of an export writer (a CSV or the PDF report): ``writer(path, data, model_info, **extra)``."""

    writer: Callable[..., Any]
    data: Any
    model_info: Any
    extra: dict[str, Any] = field(default_factory=dict)

    def __call__(self, path: Path) -> Path:
        """Write to ``path`` and return the path written."""
        return Path(self.writer(path, self.data, self.model_info, **self.extra))


def export_file(
    parent: QWidget | None,
    title: str,
    path: str | Path | None,
    directory: str,
    suggested_name: str,
    write: ExportWrite,
    file_filter: str = CSV_FILTER,
    busy_text: str = "",
    inputs: Sequence[str | os.PathLike[str]] = (),
) -> Path | None:
    """Export flow: ask for a path (when ``path`` is ``None``), write, report failures in a dialog.

    A path that is one of ``inputs`` (the opened images) is refused with a dialog, whoever chose it.

    A ``path`` given by the caller is written as is (the caller decided); a path
    from the dialog is only overwritten after :func:`confirm_overwrite`. With a
    ``busy_text`` the write runs on a worker thread behind a modal note saying so
    (:func:`~hemoapp.gui.busy.run_while_busy`): for writes that take seconds, such as
    a report of a large batch, so that the window keeps painting.

    Returns:
        The path written, or ``None`` if cancelled or failed.
    """
    if path is None:
        path = ask_save_path(parent, title, directory, suggested_name, file_filter, inputs)
        if path is None:
            return None
    elif refused_as_input(parent, title, Path(path), inputs):  # the dialog's answer is checked in ask_save_path
        return None
    path = Path(path)
    QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)  # busy, not hung
    try:
        if busy_text:
            return run_while_busy(parent, busy_text, lambda: write(path))
        return write(path)
    except OSError as exc:
        failure = exc
    finally:
        QGuiApplication.restoreOverrideCursor()
    error_box(parent, f"{title} failed", f"Could not write {path}: {failure.strerror or failure}").open()
    return None
