"""The summary tab's comparison with the classes the folders give (a lab's own classification).

Shown only when the opened folder sorts its cells into class folders (``neutrophil/``,
``NRBC/``…: :mod:`hemoapp.core.reference_labels`), as a lab's validation set or an
analyser's pre-classified export does. The figures come from
:func:`hemoapp.core.agreement.compare`, as ``hemoapp validate`` prints them.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from hemoapp.core.agreement import Agreement
from hemoapp.core.contract import CLASS_NAMES, SHORT_NAMES, display_name
from hemoapp.core.report_agreement import agreement_text, interval_text, share_text
from hemoapp.gui.style import class_swatch

CAPTION = (
    "Rows: the class the cell's folder gives it; columns: HemoLens's class (the model's, not a review). "
    "Sensitivity: of a folder's cells, the share HemoLens puts in its class; PPV: of HemoLens's cells of a "
    "class, the share in its folder; each with its exact 95% interval (in the cell's tooltip). The agreement "
    "CSV has all of it, with every disagreement and its file."
)


class AgreementBox(QGroupBox):
    """The confusion matrix against the folders' classes, with sensitivity and PPV (:meth:`set_agreement`)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Agreement with the folders' classes", parent)
        self.headline_label = QLabel()
        self.headline_label.setWordWrap(True)
        self.headline_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        n = len(CLASS_NAMES)
        self.table = QTableWidget(n + 1, n + 1)
        self.table.setHorizontalHeaderLabels([SHORT_NAMES[name] for name in CLASS_NAMES] + ["Sensitivity"])
        self.table.setVerticalHeaderLabels([display_name(name) for name in CLASS_NAMES] + ["PPV"])
        for column, name in enumerate(CLASS_NAMES):
            self.table.horizontalHeaderItem(column).setToolTip(f"HemoLens: {display_name(name)}")
            self.table.verticalHeaderItem(column).setIcon(class_swatch(name, self.palette()))
            self.table.verticalHeaderItem(column).setToolTip(f"Folder: {display_name(name)}")
        self.table.horizontalHeaderItem(n).setToolTip("Of the folder's cells, the share HemoLens puts in its class")
        self.table.verticalHeaderItem(n).setToolTip(
            "Positive predictive value: of HemoLens's cells of the class, the share in its folder"
        )
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setSizeAdjustPolicy(QAbstractItemView.SizeAdjustPolicy.AdjustToContents)
        self.table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.caption = QLabel(CAPTION)
        self.caption.setWordWrap(True)
        self.caption.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self._caption_row = QHBoxLayout()
        self._caption_row.addWidget(self.caption, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.headline_label)
        layout.addWidget(self.table)
        layout.addLayout(self._caption_row)
        self._agreement: Agreement | None = None
        self.set_agreement(None)

    def add_action(self, action: QAction) -> QToolButton:
        """Put a button for ``action`` beside the caption (the export of the comparison)."""
        button = QToolButton()
        button.setDefaultAction(action)
        self._caption_row.addWidget(button, 0, Qt.AlignmentFlag.AlignTop)
        return button

    def agreement(self) -> Agreement | None:
        """The comparison shown, or ``None``."""
        return self._agreement

    def set_agreement(self, agreement: Agreement | None) -> None:
        """Show a comparison; hide the box when there is none or no classified cell is in a class folder.

        Not-assessable cells are not compared: the headline counts them apart, per folder class.
        """
        self._agreement = agreement if agreement is not None and agreement.with_reference else None
        self.setVisible(self._agreement is not None)
        if self._agreement is None:
            return
        agreement = self._agreement
        self.headline_label.setText(agreement_text(agreement))
        n = len(CLASS_NAMES)
        for row, counts in enumerate(agreement.matrix):
            for column, count in enumerate(counts):
                self._set(row, column, str(count) if count else "·", bold=row == column and count > 0,
                          tooltip=f"{count} in the {display_name(CLASS_NAMES[row])} folder, "
                                  f"HemoLens {display_name(CLASS_NAMES[column])}")
        for index, row in enumerate(agreement.classes):
            self._set(index, n, share_text(row.sensitivity), tooltip=interval_text(row.sensitivity_interval))
            self._set(n, index, share_text(row.ppv), tooltip=interval_text(row.ppv_interval))
        self._set(n, n, share_text(agreement.overall), bold=True, tooltip=interval_text(agreement.overall_interval))

    def _set(self, row: int, column: int, text: str, bold: bool = False, tooltip: str = "") -> None:
        item = QTableWidgetItem(text)
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if bold:
            font = item.font()
            font.setBold(True)
            item.setFont(font)
        if tooltip:
            item.setToolTip(tooltip)
        self.table.setItem(row, column, item)
