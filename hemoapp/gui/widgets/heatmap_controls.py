"""The heatmap's switch and opacity slider, under a cell's picture (the detail panel's and the enlarged cell's).

The controls hold where heatmaps come from (a :class:`hemoapp.core.heatmap.HeatmapSource`)
and draw one over a picture only when switched on: :meth:`HeatmapControls.show_on` is
the one place a view asks for a heatmap, so the detail panel and the enlarged-cell
window behave alike and nothing is computed while the switch is off.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

from hemoapp.core.contract import display_name
from hemoapp.core.heatmap import DEFAULT_OPACITY


def pil_to_qimage(image: Any) -> QImage:
    """A PIL picture as an RGB ``QImage`` (copied: the image owns its pixels)."""
    image = image.convert("RGB")
    data = image.tobytes()
    return QImage(data, image.width, image.height, 3 * image.width, QImage.Format.Format_RGB888).copy()


def pil_to_pixmap(image: Any) -> QPixmap:
    """A PIL picture as a ``QPixmap``."""
    return QPixmap.fromImage(pil_to_qimage(image))


class HeatmapControls(QWidget):
    """A "Heatmap" check box, an opacity slider (0-100%) and a line for why there is none.

    Hidden until :meth:`set_source` gives it a source (a real, carded model).

    Signals:
        changed(): the switch or the opacity changed.
    """

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._source: Any = None
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
        self.hide()

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

    def source(self) -> Any:
        """Where heatmaps come from, or ``None``."""
        return self._source

    def set_source(self, source: Any) -> None:
        """Where heatmaps come from (a :class:`~hemoapp.core.heatmap.HeatmapSource`); ``None`` hides the controls."""
        self._source = source
        self.setVisible(source is not None)

    def show_on(self, image_view: Any, images: Any, prediction: Any) -> None:
        """Draw ``prediction``'s picture in ``image_view``: with its heatmap when switched on, else plain.

        The heatmap is computed only when switched on, for this cell (the source loads its
        sidecar on the first one); switched off, the picture comes back from ``images``
        (the view's :class:`~hemoapp.gui.thumbnails.ThumbnailCache`). Without a heatmap
        (no usable sidecar, the file changed) the note says why and the picture stays.
        """
        if self._source is None:
            return
        if prediction is None or not prediction.ok:
            self.set_note("")  # nothing to explain: not a line about the cell shown before
            return
        if not self.on:
            image_view.show_cell(images, prediction)
            return
        from hemoapp.core.heatmap import SidecarError, overlay
        from hemoapp.core.imageio import ImageReadError

        try:
            image, explanation = self._source.heat_for(prediction.record.path, prediction.predicted,
                                                       prediction.file_sha256)
        except (SidecarError, ImageReadError) as exc:
            self.set_note(f"No heatmap: {getattr(exc, 'message', None) or exc}")
            return
        image_view.set_pixmap(pil_to_pixmap(overlay(image, explanation.heat, self.opacity_value())))
        self.set_note(f"Where the model looked for {display_name(explanation.class_name)}")
