"""Filters over the results (class, confidence range, flag) and the review threshold."""

from __future__ import annotations

from PySide6.QtCore import QSize, Signal, Slot
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel, QToolButton, QWidget

from hemoapp.core.contract import CLASS_NAMES, display_name
from hemoapp.gui.review_threshold import ReviewThreshold
from hemoapp.gui.style import class_swatch
from hemoapp.gui.filter_proxy import FlagFilter


def _percent_spin(value: float, tooltip: str, name: str) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setAccessibleName(name)  # the label beside it ("to") would not say what it sets
    spin.setRange(0.0, 100.0)
    spin.setDecimals(0)
    spin.setSingleStep(5.0)
    spin.setSuffix(" %")
    spin.setValue(value)
    spin.setToolTip(tooltip)
    spin.setKeyboardTracking(False)
    return spin


class FittingComboBox(QComboBox):
    """A combo box that asks for room for its longest item but can shrink to ``min_chars`` characters.

    Qt's size-adjust policies make the two hints equal: fitting the contents (a long item such as
    "Immature granulocyte" widens the window's minimum width) or a fixed character count (the selected
    item is cut, "Flagged, not r"). The layout gives this one its full width when the window has room.
    """

    def __init__(self, min_chars: int = 8, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._min_chars = min_chars
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        """The contents' hint less the longest item's excess over ``min_chars`` characters."""
        hint = super().minimumSizeHint()
        metrics = self.fontMetrics()
        longest = max((metrics.horizontalAdvance(self.itemText(i)) for i in range(self.count())), default=0)
        # The same character width Qt uses for setMinimumContentsLength.
        excess = max(0, longest - metrics.horizontalAdvance("x") * self._min_chars)
        return QSize(hint.width() - excess, hint.height())


class FilterBar(QWidget):
    """Class, confidence and flag filters, the review threshold and a row counter.

    Args:
        threshold: the review threshold the spin box shows and sets.

    Signals:
        filters_changed(): any filter changed (read the properties).
    """

    filters_changed = Signal()

    def __init__(self, threshold: ReviewThreshold, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._threshold = threshold
        self.class_combo = FittingComboBox()
        self.class_combo.setToolTip(
            "Show one class only: the reviewed class where a person gave one, else the predicted (Ctrl+F)"
        )
        self.class_combo.setAccessibleName("Class shown")
        self.class_combo.addItem("All classes", None)
        for name in CLASS_NAMES:
            self.class_combo.addItem(class_swatch(name, self.palette()), display_name(name), name)
        self.class_combo.currentIndexChanged.connect(self._on_filter_changed)

        self.flag_combo = FittingComboBox()
        self.flag_combo.setToolTip(
            "Show all cells, the cells flagged for review (all, or those nobody has reviewed yet), "
            "only confident cells, unreadable files, or the cells whose class differs from their folder's"
        )
        self.flag_combo.setAccessibleName("Cells shown")
        self.flag_combo.addItem("All cells", FlagFilter.ALL)
        self.flag_combo.addItem("Flagged for review", FlagFilter.REVIEW)
        self.flag_combo.addItem("Flagged, not reviewed", FlagFilter.UNREVIEWED)
        self.flag_combo.addItem("Confident only", FlagFilter.CONFIDENT)
        self.flag_combo.addItem("Errors only", FlagFilter.ERRORS)
        self.flag_combo.addItem("Disagreeing with folder", FlagFilter.DISAGREES)
        self.set_disagreements_available(False)
        self.flag_combo.currentIndexChanged.connect(self._on_filter_changed)

        self.min_spin = _percent_spin(0.0, "Hide cells whose confidence is below this", "Lowest confidence shown")
        self.max_spin = _percent_spin(100.0, "Hide cells whose confidence is above this", "Highest confidence shown")
        self.min_spin.valueChanged.connect(self._on_filter_changed)
        self.max_spin.valueChanged.connect(self._on_filter_changed)

        self.threshold_spin = _percent_spin(
            round(threshold.value * 100.0), "Cells below this confidence are flagged 'Review' (Ctrl+T)",
            "Review threshold",
        )
        self.threshold_spin.setSingleStep(1.0)
        self.threshold_spin.valueChanged.connect(self._on_threshold_spin_value_changed)
        threshold.changed.connect(self._on_threshold_changed)

        self.reset_button = QToolButton()
        self.reset_button.setText("Reset")
        self.reset_button.setToolTip("Show every row again (Ctrl+Shift+F)")
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

    def active_filters(self) -> list[str]:
        """The filters that hide cells now, as shown (e.g. ``["Class: Basophil", "Confidence: 0–50 %"]``)."""
        filters = []
        if self.class_name is not None:
            filters.append(f"Class: {self.class_combo.currentText()}")
        if self.flag_filter != FlagFilter.ALL:
            filters.append(f"Show: {self.flag_combo.currentText()}")
        low, high = self.min_spin.value(), self.max_spin.value()
        if (low, high) != (0.0, 100.0):
            filters.append(f"Confidence: {low:.0f}–{high:.0f} %")
        return filters

    def set_review_threshold(self, threshold: float) -> None:
        """Set the review threshold (0..1) as the spin box does, to its whole percent."""
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
        """Offer "Disagreeing with folder" only when the cells sit in class folders, else show all."""
        item = self.flag_combo.model().item(self.flag_combo.findData(FlagFilter.DISAGREES))
        item.setEnabled(available)
        if not available and self.flag_filter == FlagFilter.DISAGREES:
            self.set_flag_filter(FlagFilter.ALL)

    def show_only(self, flag_filter: str) -> None:
        """Clear the class and confidence filters and select ``flag_filter``, with one ``filters_changed``."""
        for widget in (self.class_combo, self.flag_combo, self.min_spin, self.max_spin):
            widget.blockSignals(True)
        self.class_combo.setCurrentIndex(0)
        self.flag_combo.setCurrentIndex(max(self.flag_combo.findData(flag_filter), 0))
        self.min_spin.setValue(0.0)
        self.max_spin.setValue(100.0)
        for widget in (self.class_combo, self.flag_combo, self.min_spin, self.max_spin):
            widget.blockSignals(False)
        self.filters_changed.emit()

    def set_counts(self, shown: int, total: int) -> None:
        """Update the "n of m shown" label."""
        self.count_label.setText(f"{shown} of {total} shown" if shown != total else f"{total} rows")

    @Slot()
    def _on_filter_changed(self) -> None:
        self.filters_changed.emit()

    @Slot(float)
    def _on_threshold_spin_value_changed(self, value: float) -> None:
        self._threshold.set_value(value / 100.0)

    @Slot(float)
    def _on_threshold_changed(self, threshold: float) -> None:
        self.threshold_spin.blockSignals(True)  # a value the spin box rounds stays as it is
        self.threshold_spin.setValue(round(threshold * 100.0))
        self.threshold_spin.blockSignals(False)

    @Slot()
    def _on_reset_button_clicked(self) -> None:
        self.show_only(FlagFilter.ALL)
