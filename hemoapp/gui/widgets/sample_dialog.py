"""File > Sample ID and Comment: what identifies the opened folder's specimen."""

from __future__ import annotations

from PySide6.QtCore import Slot
from PySide6.QtGui import QKeySequence, QPalette, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from hemoapp.core.sample import MAX_COMMENT, MAX_SAMPLE_ID, SampleDetails

#: What the dialog says the details are for.
EXPLANATION = (
    "The sample ID ties these results to the specimen: it is printed at the top of the report and "
    "written into the summary CSV and every row of the results CSV. Both are saved with this folder's "
    "reviews and come back when it is opened again."
)


class SampleDetailsDialog(QDialog):
    """Edits a :class:`~hemoapp.core.sample.SampleDetails`; :meth:`details` is what was typed, cleaned."""

    def __init__(self, current: SampleDetails, folder: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Sample ID and comment")
        explanation = QLabel(EXPLANATION)
        explanation.setWordWrap(True)
        self.sample_id_edit = QLineEdit(current.sample_id)
        self.sample_id_edit.setMaxLength(MAX_SAMPLE_ID)
        self.sample_id_edit.setPlaceholderText("e.g. the accession number on the tube")
        self.sample_id_edit.setClearButtonEnabled(True)
        self.comment_edit = QPlainTextEdit(current.comment)
        self.comment_edit.setPlaceholderText("Optional, e.g. on the smear's quality")
        self.comment_edit.setTabChangesFocus(True)  # Tab moves on to the buttons, as in the line above
        self.comment_edit.setMaximumHeight(self.fontMetrics().lineSpacing() * 6)
        # A line edit stops at its maximum length; a text edit cannot, so a longer comment is
        # refused with a count rather than cut short without a word.
        self.comment_count = QLabel()
        self.comment_count.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        form = QFormLayout()
        if folder:
            folder_label = QLabel(folder)
            folder_label.setWordWrap(True)
            form.addRow("Folder:", folder_label)
        form.addRow("&Sample ID:", self.sample_id_edit)
        form.addRow("&Comment:", self.comment_edit)
        form.addRow("", self.comment_count)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.comment_edit.textChanged.connect(self._on_comment_edit_text_changed)
        self._on_comment_edit_text_changed()
        # Enter starts a new line in the comment, as in any text box; Ctrl+Enter saves from anywhere.
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            QShortcut(QKeySequence(keys), self, self._accept_if_allowed)
        layout = QVBoxLayout(self)
        layout.addWidget(explanation)
        layout.addLayout(form)
        layout.addWidget(buttons)
        self.resize(480, self.sizeHint().height())
        self.sample_id_edit.setFocus()

    @Slot()
    def _on_comment_edit_text_changed(self) -> None:
        length = len(self.comment_edit.toPlainText())
        too_long = length > MAX_COMMENT
        self.comment_count.setText(
            f"{length} of {MAX_COMMENT} characters"
            + (": shorten the comment to save it" if too_long else " · Ctrl+Enter saves")
        )
        self.ok_button.setEnabled(not too_long)

    @Slot()
    def _accept_if_allowed(self) -> None:
        if self.ok_button.isEnabled():
            self.accept()

    def details(self) -> SampleDetails:
        """The sample details as typed, cleaned (one-line ID, bounded comment)."""
        return SampleDetails(self.sample_id_edit.text(), self.comment_edit.toPlainText())


def ask_sample_details(parent: QWidget | None, current: SampleDetails, folder: str = "") -> SampleDetails | None:
    """Ask for the sample ID and comment of ``folder``'s specimen; ``None`` if cancelled."""
    dialog = SampleDetailsDialog(current, folder, parent)
    try:
        return dialog.details() if dialog.exec() == QDialog.DialogCode.Accepted else None
    finally:
        dialog.deleteLater()  # the window owns it otherwise, one more each time it is asked
