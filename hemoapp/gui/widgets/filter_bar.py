"""Filters over the results (class, confidence range, flag) and the review threshold."""

from __future__ import annotations

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel, QToolButton, QWidget

from hemoapp.core.contract import CLASS_NAMES, display_name
from hemoapp.gui.style import class_swatch
from hemoapp.gui.table_model import FlagFilter


def _percent_spin(value: float, tooltip: str) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setRange(0.0, 100.0)
    spin.setDecimals(0)
    spin.setSingleStep(5.0)
    spin.setSuffix(" %")
    spin.setValue(value)
    spin.setToolTip(tooltip)
    spin.setKeyboardTracking(False)
    return spin


class FilterBar(QWidget):
    """Class, confidence and flag filters, the review threshold and a row counter.

    Signals:
        filters_changed(): any filter changed (read the properties).
        review_threshold_changed(float): the threshold, as a fraction 0..1.
    """

    filters_changed = Signal()
    review_threshold_changed = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.class_combo = QComboBox()
        self.class_combo.setToolTip(
            "Show one class only: the reviewed class where a person gave one, else the predicted (Ctrl+F)"
        )
        self.class_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.class_combo.setMinimumContentsLength(8)
        self.class_combo.addItem("All classes", None)
        for name in CLASS_NAMES:
            self.class_combo.addItem(class_swatch(name, self.palette()), display_name(name), name)
        self.class_combo.currentIndexChanged.connect(self._on_filter_changed)

        self.flag_combo = QComboBox()
        self.flag_combo.setToolTip(
            "Show all cells, the cells flagged for review (all, or those nobody has reviewed yet), "
            "only confident cells, unreadable files, or the cells whose class differs from their folder's"
        )
        self.flag_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.flag_combo.setMinimumContentsLength(8)
        self.flag_combo.addItem("All cells", FlagFilter.ALL)
        self.flag_combo.addItem("Flagged for review", FlagFilter.REVIEW)
        self.flag_combo.addItem("Flagged, not reviewed", FlagFilter.UNREVIEWED)
        self.flag_combo.addItem("Confident only", FlagFilter.CONFIDENT)
        self.flag_combo.addItem("Errors only", FlagFilter.ERRORS)
        self.flag_combo.addItem("Disagreeing", FlagFilter.DISAGREES)  # with the folder's class (the tooltip says)
        self.set_disagreements_available(False)
        self.flag_combo.currentIndexChanged.connect(self._on_filter_changed)

        self.min_spin = _percent_spin(0.0, "Hide cells whose confidence is below this")
        self.max_spin = _percent_spin(100.0, "Hide cells whose confidence is above this")
        self.min_spin.valueChanged.connect(self._on_filter_changed)
        self.max_spin.valueChanged.connect(self._on_filter_changed)

        self.threshold_spin = _percent_spin(90.0, "Cells below this confidence are flagged 'Review' (Ctrl+T)")
        self.threshold_spin.setSingleStep(1.0)
        self.threshold_spin.valueChanged.connect(self._on_threshold_spin_value_changed)

        self.reset_button = QToolButton()
        self.reset_button.setText("Reset")
        self.reset_button.setToolTip("Show every row again")
        self.reset_button.clicked.connect(self._on_reset_button_clicked)

        # Shown by the results view (in the tab bar's corner), updated here.
        self.count_label = QLabel()
        self.count_label.setToolTip("Rows shown by the current filters")
        self.count_label.setContentsMargins(6, 0, 6, 0)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Class:"))
        layout.addWidget(self.class_combo)
        layout.addWidget(QLabel("Show:"))
        layout.addWidget(self.flag_combo)
        layout.addWidget(QLabel("Confidence:"))
        layout.addWidget(self.min_spin)
        layout.addWidget(QLabel("to"))
        layout.addWidget(self.max_spin)
        layout.addWidget(self.reset_button)
        layout.addStretch(1)
        threshold_label = QLabel("Review below:")
        threshold_label.setToolTip(self.threshold_spin.toolTip())
        layout.addWidget(threshold_label)
        layout.addWidget(self.threshold_spin)

    @property
    def class_name(self) -> str | None:
        """The selected class, or ``None`` for all classes."""
        return self.class_combo.currentData()

    @property
    def flag_filter(self) -> str:
        """The selected :class:`FlagFilter` value."""
        return self.flag_combo.currentData()

    @property
    def confidence_range(self) -> tuple[float, float]:
        """The confidence range as fractions 0..1."""
        return self.min_spin.value() / 100.0, self.max_spin.value() / 100.0

    @property
    def review_threshold(self) -> float:
        """The review threshold as a fraction 0..1."""
        return self.threshold_spin.value() / 100.0

    def set_review_threshold(self, threshold: float) -> None:
        """Show ``threshold`` (0..1) in the spin box (emits ``review_threshold_changed`` if it changed)."""
        self.threshold_spin.setValue(round(threshold * 100.0))

    def set_class_filter(self, class_name: str | None) -> None:
        """Select a class in the class filter (``None``: all)."""
        index = self.class_combo.findData(class_name)
        self.class_combo.setCurrentIndex(max(index, 0))

    def set_flag_filter(self, flag_filter: str) -> None:
        """Select a :class:`FlagFilter` value."""
        index = self.flag_combo.findData(flag_filter)
        self.flag_combo.setCurrentIndex(max(index, 0))

    def set_disagreements_available(self, available: bool) -> None:
        """Offer "Disagreeing" (with the folder's class) only when the cells sit in class folders, else show all."""
        item = self.flag_combo.model().item(self.flag_combo.findData(FlagFilter.DISAGREES))
        item.setEnabled(available)
        if not available and self.flag_filter == FlagFilter.DISAGREES:
            self.set_flag_filter(FlagFilter.ALL)

    def show_only(self, flag_filter: str) -> None:
        """Clear the class and confidence filters and select ``flag_filter``, with one ``filters_changed``."""
        self._reset(flag_filter)

    def set_counts(self, shown: int, total: int) -> None:
        """Update the "n of m shown" label."""
        self.count_label.setText(f"{shown} of {total} shown" if shown != total else f"{total} rows")

    @Slot()
    def _on_filter_changed(self) -> None:
        self.filters_changed.emit()

    @Slot(float)
    def _on_threshold_spin_value_changed(self, value: float) -> None:
        self.review_threshold_changed.emit(value / 100.0)

    @Slot()
    def _on_reset_button_clicked(self) -> None:
        self._reset(FlagFilter.ALL)

    def _reset(self, flag_filter: str) -> None:
        for widget in (self.class_combo, self.flag_combo, self.min_spin, self.max_spin):
            widget.blockSignals(True)
        self.class_combo.setCurrentIndex(0)
        self.flag_combo.setCurrentIndex(max(self.flag_combo.findData(flag_filter), 0))
        self.min_spin.setValue(0.0)
        self.max_spin.setValue(100.0)
        for widget in (self.class_combo, self.flag_combo, self.min_spin, self.max_spin):
            widget.blockSignals(False)
        self.filters_changed.emit()
