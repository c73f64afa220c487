"""The specimen's sample ID, counts per class, the white-cell differential, erythroblasts/100 WBC and platelets,
and the agreement with the folders' classes where the folders name them."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from hemoapp.core.contract import CLASS_NAMES, WHITE_CELL_CLASSES, display_name
from hemoapp.core.sample import SampleDetails
from hemoapp.core.summary import (
    INTERVAL_NOTE,
    SHARE_BASE,
    SHARE_BASE_NOTE,
    interval_percent,
    interval_text,
    not_assessable_text,
    percent_text,
)
from hemoapp.gui.style import class_swatch
from hemoapp.gui.widgets.agreement_box import AgreementBox
from hemoapp.gui.widgets.class_bars import Bar, ClassBarChart


def _fmt_interval(interval: tuple[float, float] | None) -> str:
    return interval_percent(interval) or "—"


def headline(summary: Any) -> str:
    """One line: files, classified, errors, flagged (with the threshold), not assessable and counted."""
    parts = [f"{summary.total} files", f"{summary.classified} classified"]
    parts.append(f"{summary.errors} unreadable" if summary.errors else "no unreadable files")
    parts.append(f"{summary.flagged} flagged for review (confidence below {summary.review_threshold:.0%})")
    if summary.reviewed:
        parts.append(f"{summary.reviewed} reviewed, {summary.changed} changed")
    if summary.not_assessable:
        parts.append(f"{summary.not_assessable} not assessable")
    if summary.counted != summary.classified:
        parts.append(f"{summary.counted} counted")  # the base of the class shares
    return " · ".join(parts)


def sample_text(sample: SampleDetails | None) -> str:
    """The summary tab's first line: the sample ID and comment, or that there is none yet."""
    if sample is None:
        return ""
    if not sample.sample_id:
        text = "Sample ID: not entered (File > Sample ID and Comment…, Ctrl+I); the report will say so."
    else:
        text = f"Sample ID: {sample.sample_id}"
    return f"{text}\nComment: {sample.comment}" if sample.comment else text


class SummaryPanel(QScrollArea):
    """Shows a core ``Summary`` (:meth:`set_summary`) and the specimen's sample details (:meth:`set_sample`).

    Signals:
        sample_details_requested: the user asked to edit the sample ID and comment.
    """

    sample_details_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self._summary: Any = None

        self.sample_label = QLabel()
        self.sample_label.setWordWrap(True)
        self.sample_label.setTextFormat(Qt.TextFormat.PlainText)  # typed by a person: never markup
        self.sample_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.sample_button = QPushButton("Sample ID and Comment…")
        self.sample_button.setToolTip("The specimen these images come from: printed on the report, written into the CSVs")
        self.sample_button.clicked.connect(self.sample_details_requested)
        sample_row = QHBoxLayout()
        sample_row.addWidget(self.sample_label, 1)
        sample_row.addWidget(self.sample_button, 0, Qt.AlignmentFlag.AlignTop)

        self.headline_label = QLabel("No results yet.")
        self.headline_label.setWordWrap(True)
        font = self.headline_label.font()
        font.setBold(True)
        self.headline_label.setFont(font)

        self.chart = ClassBarChart()
        self.chart.setToolTip(f"Cells per class (the reviewed class where a person gave one). {SHARE_BASE_NOTE}")
        counts_box = QGroupBox(f"All classes (share of {SHARE_BASE})")
        counts_layout = QVBoxLayout(counts_box)
        counts_layout.addWidget(self.chart)
        counts_layout.addStretch(1)

        self.differential_table = QTableWidget(len(WHITE_CELL_CLASSES) + 1, 3)
        self.differential_table.setHorizontalHeaderLabels(["Cells", "% of white cells", "95% interval"])
        self.differential_table.horizontalHeaderItem(2).setToolTip(INTERVAL_NOTE)
        self.differential_table.setVerticalHeaderLabels(
            [display_name(name) for name in WHITE_CELL_CLASSES] + ["White cells"]
        )
        self.differential_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.differential_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.differential_table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.differential_table.setToolTip("White-cell differential: each white-cell class as a percentage of all white cells")
        self.differential_table.setSizeAdjustPolicy(QAbstractItemView.SizeAdjustPolicy.AdjustToContents)
        self.differential_table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.differential_table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        for row, name in enumerate(WHITE_CELL_CLASSES):
            self.differential_table.verticalHeaderItem(row).setIcon(class_swatch(name, self.palette()))
        differential_box = QGroupBox("White-cell differential")
        differential_layout = QVBoxLayout(differential_box)
        differential_layout.addWidget(self.differential_table)
        # Said on the panel, not only in a tooltip: a 100-cell count is far less precise than it reads.
        self.interval_caption = QLabel(
            "The 95% interval covers only the error of counting this many white cells, not the model's "
            "errors; counting more cells narrows it."
        )
        self.interval_caption.setWordWrap(True)
        self.interval_caption.setToolTip(INTERVAL_NOTE)
        self.interval_caption.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        differential_layout.addWidget(self.interval_caption)

        self.erythroblast_label = QLabel()
        self.erythroblast_label.setToolTip("Nucleated red cells are reported per 100 white cells, not in the differential")
        self.platelet_label = QLabel()
        self.platelet_label.setToolTip("Platelets are counted apart from the white cells")
        self.flagged_label = QLabel()
        self.reviewed_label = QLabel()
        self.reviewed_label.setToolTip("Cells a person confirmed or changed; they count with the class the person gave")
        self.errors_label = QLabel()
        self.not_assessable_label = QLabel()
        self.not_assessable_label.setWordWrap(True)
        self.not_assessable_label.setToolTip(
            "Cells the model cannot judge (image quality, or unlike the training cells): in no count and not in "
            "the differential until a person reviews them"
        )
        other_box = QGroupBox("Reported apart")
        other_layout = QGridLayout(other_box)
        for row, (title, label) in enumerate(
            (
                ("Erythroblasts per 100 white cells:", self.erythroblast_label),
                ("Platelets:", self.platelet_label),
                ("Flagged for review:", self.flagged_label),
                ("Reviewed:", self.reviewed_label),
                ("Unreadable files:", self.errors_label),
                ("Not assessable:", self.not_assessable_label),
            )
        ):
            other_layout.addWidget(QLabel(title), row, 0)
            other_layout.addWidget(label, row, 1)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        other_layout.setColumnStretch(1, 1)

        self.agreement_box = AgreementBox()

        content = QWidget()
        grid = QGridLayout(content)
        grid.addLayout(sample_row, 0, 0, 1, 2)
        grid.addWidget(self.headline_label, 1, 0, 1, 2)
        grid.addWidget(counts_box, 2, 0, 2, 1)
        grid.addWidget(differential_box, 2, 1)
        grid.addWidget(other_box, 3, 1)
        grid.addWidget(self.agreement_box, 4, 0, 1, 2)
        grid.setColumnStretch(0, 3)
        grid.setColumnStretch(1, 2)
        grid.setRowStretch(5, 1)
        self.setWidget(content)
        self.set_summary(None)
        self.set_sample(None)

    def set_sample(self, sample: SampleDetails | None) -> None:
        """Show the opened folder's sample details (``None``: no folder is open, the line is hidden)."""
        self.sample_label.setText(sample_text(sample))
        self.sample_label.setVisible(sample is not None)
        self.sample_button.setVisible(sample is not None)

    def set_agreement(self, agreement: Any) -> None:
        """Show the comparison with the folders' classes (a core ``Agreement``; ``None`` or none compared: hidden)."""
        self.agreement_box.set_agreement(agreement)

    def summary(self) -> Any:
        """The summary shown, or ``None``."""
        return self._summary

    def set_summary(self, summary: Any) -> None:
        """Show a core ``Summary`` (``None`` clears the panel, the agreement too)."""
        self._summary = summary
        if summary is None:
            self.set_agreement(None)
            self.headline_label.setText("No results yet: open a folder to classify.")
            self.chart.set_bars(
                [Bar(name, display_name(name), 0.0, "0") for name in CLASS_NAMES]
            )
            for row in range(self.differential_table.rowCount()):
                for column in range(self.differential_table.columnCount()):
                    self.differential_table.setItem(row, column, QTableWidgetItem("—"))
            for label in (
                self.erythroblast_label, self.platelet_label, self.flagged_label, self.reviewed_label, self.errors_label,
                self.not_assessable_label,
            ):
                label.setText("—")
            return
        self.headline_label.setText(headline(summary))
        self.chart.set_bars(
            [
                Bar(
                    name,
                    display_name(name),
                    summary.percentages.get(name, 0.0) / 100.0,
                    f"{summary.counts.get(name, 0)}  ({percent_text(summary.percentages.get(name, 0.0))})",
                )
                for name in CLASS_NAMES
            ]
        )
        for row, name in enumerate(WHITE_CELL_CLASSES):
            self._set_cell(row, 0, str(summary.counts.get(name, 0)))
            self._set_cell(row, 1, percent_text(summary.differential.get(name)))
            self._set_cell(row, 2, _fmt_interval(summary.differential_interval(name)))
        total_row = len(WHITE_CELL_CLASSES)
        self._set_cell(total_row, 0, str(summary.white_cells))
        self._set_cell(total_row, 1, percent_text(100.0) if summary.white_cells else "—")
        self._set_cell(total_row, 2, "")
        per_100 = summary.erythroblasts_per_100_wbc
        erythroblasts = summary.counts.get("erythroblast", 0)
        if per_100 is None:
            self.erythroblast_label.setText(f"—  ({erythroblasts} erythroblasts, no white cells)")
        else:
            interval = interval_text(summary.erythroblast_interval())
            self.erythroblast_label.setText(f"{per_100:.1f}  ({erythroblasts} erythroblasts)\n95% interval {interval}")
        self.platelet_label.setText(str(summary.platelets))
        self.flagged_label.setText(
            f"{summary.flagged}  (below {summary.review_threshold:.0%}; {summary.flagged_unreviewed} not reviewed)"
        )
        self.reviewed_label.setText(f"{summary.reviewed}  ({summary.changed} changed)")
        self.errors_label.setText(str(summary.errors))
        self.not_assessable_label.setText(not_assessable_text(summary) or "0")
        self._fit_differential_width()

    def _fit_differential_width(self) -> None:
        """Ask for the differential's whole width, so the layout never cuts off its interval column."""
        table = self.differential_table
        table.resizeColumnsToContents()
        needed = table.verticalHeader().sizeHint().width() + table.horizontalHeader().length()
        table.setMinimumWidth(needed + 2 * table.frameWidth())

    def _set_cell(self, row: int, column: int, text: str) -> None:
        item = QTableWidgetItem(text)
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.differential_table.setItem(row, column, item)
