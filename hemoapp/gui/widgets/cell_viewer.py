"""The selected cell enlarged, in a window of its own that follows the selection.

The detail panel shows an analyser's 360 px image at about 250 px in an ordinary
window: smaller than the file. Granules and chromatin, what tells an immature
granulocyte from a monocyte, need the image at full size or larger, so a reviewer
opens this window (Space, or a double-click on the detail image), may put it on a
second screen, and goes on selecting and reviewing; it shows each selected cell.
Under the picture, as in the detail panel, a Heatmap switch and an opacity slider
(:class:`~hemoapp.gui.widgets.heatmap_controls.HeatmapControls`) draw where the model
looked, computed only while switched on.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QCloseEvent, QShowEvent
from PySide6.QtWidgets import QDialog, QLabel, QVBoxLayout, QWidget

from hemoapp.core.contract import display_name
from hemoapp.core.review import is_changed
from hemoapp.core.summary import confidence_percent
from hemoapp.gui.thumbnails import ThumbnailCache
from hemoapp.gui.widgets.heatmap_controls import HeatmapControls
from hemoapp.gui.widgets.image_view import ImageView

#: Longest side the viewer decodes: full size for analyser exports, bounded for huge files.
VIEWER_MAX_SIDE = 1600


def cell_caption(prediction: Any, review: Any) -> str:
    """One line naming the file, the model's class and confidence, and the review if any."""
    relpath = prediction.record.relpath
    if not prediction.ok:
        return f"{relpath} · could not be classified: {prediction.error}"
    text = f"{relpath} · {display_name(prediction.predicted)} {confidence_percent(prediction.confidence)}"
    if review is not None:
        verb = "changed to" if is_changed(prediction, review) else "confirmed as"
        text += f" · {verb} {display_name(review.class_name)} by {review.by}"
    return text


class CellViewer(QDialog):
    """A non-modal window with one cell's image as large as the window allows (up to 2x).

    Args:
        images: a cache that decodes the image off the GUI thread (at up to
            :data:`VIEWER_MAX_SIDE` pixels).
    """

    def __init__(self, images: ThumbnailCache, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Cell — HemoLens")
        self.setModal(False)
        # It takes the focus itself (nothing in it does), so the review keys added to it work there.
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._images = images
        self._images.loaded.connect(self._on_images_loaded)
        self._prediction: Any = None
        self.image_view = ImageView()
        self.image_view.setMinimumSize(360, 360)
        self.image_view.setToolTip("The dashed box is the central part of the field the model analyses.")
        self.heatmap = HeatmapControls()  # hidden until the window gives a source (a real model)
        self.heatmap.changed.connect(self._refresh_heatmap)
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.image_view, 1)
        layout.addWidget(self.heatmap)
        layout.addWidget(self.caption)
        self.resize(760, 800)
        self.show_prediction(None, None)

    def prediction(self) -> Any:
        """The prediction shown, or ``None``."""
        return self._prediction

    def set_heatmap_source(self, source: Any) -> None:
        """Where heatmaps come from (a :class:`hemoapp.core.heatmap.HeatmapSource`; ``None``: no controls)."""
        self.heatmap.set_source(source)

    def show_prediction(self, prediction: Any, review: Any) -> None:
        """Show ``prediction``'s image and caption (``None``: a hint to select a cell)."""
        self._prediction = prediction
        self.image_view.set_pixmap(None)
        if prediction is None:
            self.image_view.set_placeholder("Select a cell to see it here.")
            self.caption.setText("")
            return
        self.caption.setText(cell_caption(prediction, review))
        self.image_view.set_placeholder("Loading…")
        if not self._show_if_loaded():
            self._images.request_predictions([prediction])

    def showEvent(self, event: QShowEvent) -> None:
        """Fit a small screen, and take the keyboard focus so the keys added to this window act at once."""
        screen = self.screen()
        if screen is not None:
            room = screen.availableGeometry().size() * 0.9
            self.resize(self.size().boundedTo(room).expandedTo(self.minimumSizeHint()))
        super().showEvent(event)
        self.setFocus()

    def closeEvent(self, event: QCloseEvent) -> None:
        """Drop the shown image when closed (the cache keeps a few)."""
        self._prediction = None
        self.image_view.set_pixmap(None)
        super().closeEvent(event)

    def _show_if_loaded(self) -> bool:
        if self.image_view.show_cell(self._images, self._prediction) is None:
            return False
        if self.heatmap.on:
            self._refresh_heatmap()
        return True

    @Slot()
    def _refresh_heatmap(self) -> None:
        """Draw the heatmap over the picture when it is switched on; computed only then, for this cell."""
        if self._prediction is not None:
            self.heatmap.show_on(self.image_view, self._images, self._prediction)

    @Slot(object)
    def _on_images_loaded(self, keys: list) -> None:
        if self._prediction is not None and str(self._prediction.record.path) in keys:
            self._show_if_loaded()
