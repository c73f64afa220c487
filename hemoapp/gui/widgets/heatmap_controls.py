"""The heatmap's switch and opacity slider, under a cell's picture."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

from hemoapp.core.heatmap import DEFAULT_OPACITY


class HeatmapControls(QWidget):
    """A "Heatmap" check box, an opacity slider (0-100%) and a line for why there is none.

    Signals:
        changed(): the switch or the opacity changed.
    """

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.toggle = QCheckBox("Heatmap")
        self.toggle.setToolTip("Show where the model looked for the class it chose (class activation map)")
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(round(DEFAULT_OPACITY * 100))
        self.opacity.setAccessibleName("Heatmap opacity")
        self.opacity.setToolTip("Opacity of the heatmap")
        self.opacity.setEnabled(False)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.hide()
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.toggle)
        row.addWidget(QLabel("Opacity"))
        row.addWidget(self.opacity, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.note)
        self.toggle.toggled.connect(self._on_toggled)
        self.opacity.valueChanged.connect(lambda _value: self.changed.emit())

    def _on_toggled(self, on: bool) -> None:
        self.opacity.setEnabled(on)
        if not on:
            self.set_note("")
        self.changed.emit()

    @property
    def on(self) -> bool:
        """True when the heatmap is asked for."""
        return self.toggle.isChecked()

    def opacity_value(self) -> float:
        """The opacity, 0..1."""
        return self.opacity.value() / 100.0

    def set_note(self, text: str) -> None:
        """Say why there is no heatmap (``""`` hides the line)."""
        self.note.setText(text)
        self.note.setVisible(bool(text))
