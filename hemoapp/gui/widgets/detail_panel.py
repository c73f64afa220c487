"""The selected cell, large: image, all eight probabilities, the review controls, model and file facts."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Slot
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QFormLayout, QFrame, QLabel, QScrollArea, QVBoxLayout, QWidget

from hemoapp.core.contract import CLASS_NAMES, display_name
from hemoapp.core.flags import below_threshold
from hemoapp.core.pipeline import Prediction
from hemoapp.core.review import Review
from hemoapp.core.scan import display_text
from hemoapp.core.summary import confidence_percent
from hemoapp.gui.review_threshold import ReviewThreshold
from hemoapp.gui.thumbnails import ThumbnailCache
from hemoapp.gui.widgets.class_bars import Bar, ClassBarChart
from hemoapp.gui.widgets.heatmap_controls import HeatmapControls
from hemoapp.gui.widgets.image_view import ImageView
from hemoapp.gui.widgets.review_box import ReviewBox


def format_bytes(size: int) -> str:
    """Render a byte count as "812 B", "35.2 kB" or "4.1 MB"."""
    if size < 1000:
        return f"{size} B"
    if size < 1_000_000:
        return f"{size / 1000:.1f} kB"
    return f"{size / 1_000_000:.1f} MB"


def format_digest(digest: str | None) -> str:
    """A sha256 hex digest in groups of 16 (it wraps in a narrow panel), or "—" for none."""
    if not digest:
        return "—"
    return " ".join(digest[i : i + 16] for i in range(0, len(digest), 16))


def _value_label() -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class DetailPanel(QScrollArea):
    """Details of one prediction.

    The image shrinks (down to its minimum) so that the verdict, the probabilities
    and the review buttons stay in view without scrolling in a short window; the
    file facts below them may scroll.

    Args:
        images: a cache that decodes the large image off the GUI thread.
        threshold: the review threshold the verdict line words its flag with.
    """

    def __init__(self, images: ThumbnailCache, threshold: ReviewThreshold, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setMinimumWidth(280)
        self._images = images
        self._images.loaded.connect(self._on_images_loaded)
        self._prediction: Prediction | None = None
        self._threshold = threshold
        threshold.changed.connect(self._update_verdict)

        self.image_view = ImageView()
        self.image_view.set_placeholder("Select a cell to see it here.")
        self.image_view.setToolTip("The dashed box is the central part of the field the model analyses.")
        self.heatmap = HeatmapControls()
        self.heatmap.changed.connect(self._refresh_heatmap)  # hidden until the window gives a source (a real model)
        self.title_label = QLabel()
        self.title_label.setWordWrap(True)
        font = self.title_label.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.15)
        self.title_label.setFont(font)
        self.title_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.verdict_label = QLabel()
        self.verdict_label.setWordWrap(True)
        self.chart = ClassBarChart()
        self.chart.setAccessibleName("Class probabilities")
        self.chart.setToolTip("The model's probability for each of the eight classes")
        self.review_box = ReviewBox()

        self.model_value = _value_label()
        self.size_value = _value_label()
        self.dimensions_value = _value_label()
        self.path_value = _value_label()
        self.digest_value = _value_label()
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Model:", self.model_value)
        form.addRow("File size:", self.size_value)
        form.addRow("Image:", self.dimensions_value)
        form.addRow("Path:", self.path_value)
        form.addRow("SHA-256:", self.digest_value)

        content = QWidget()
        layout = QVBoxLayout(content)
        layout.addWidget(self.image_view)
        layout.addWidget(self.heatmap)
        layout.addWidget(self.title_label)
        layout.addWidget(self.verdict_label)
        layout.addWidget(self.chart)
        layout.addWidget(self.review_box)
        layout.addLayout(form)
        layout.addStretch(1)
        self._layout = layout
        self.setWidget(content)
        # Text changes re-wrap labels (and the verdict gains a line when flagged): refit then,
        # once the layout has settled.
        self._fit_timer = QTimer(self)
        self._fit_timer.setSingleShot(True)
        self._fit_timer.timeout.connect(self.fit_image_to_view)
        content.installEventFilter(self)
        self.set_prediction(None)

    def fit_image_to_view(self) -> None:
        """Cap the image's height so everything down to the review buttons fits the visible height."""
        width = self.viewport().width()
        layout = self._layout
        margins = layout.contentsMargins()
        inner = max(1, width - margins.left() - margins.right())
        below_image = [self.heatmap, self.title_label, self.verdict_label, self.chart, self.review_box]
        shown = [widget for widget in below_image if not widget.isHidden()]
        needed = margins.top() + layout.spacing() * len(shown)
        for widget in shown:
            needed += widget.heightForWidth(inner) if widget.hasHeightForWidth() else widget.sizeHint().height()
        largest = self.image_view.heightForWidth(inner)
        cap = max(self.image_view.minimumHeight(), min(largest, self.viewport().height() - needed))
        if self.image_view.maximumHeight() != cap:
            self.image_view.setMaximumHeight(cap)

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Refit the image to the new visible height."""
        super().resizeEvent(event)
        self.fit_image_to_view()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Refit after the content's layout changes (new texts, the chart shown or hidden)."""
        if event.type() == QEvent.Type.LayoutRequest:
            self._fit_timer.start(0)
        return super().eventFilter(watched, event)

    def set_model_text(self, text: str) -> None:
        """Name and version of the model that made the predictions."""
        self.model_value.setText(text)

    def prediction(self) -> Prediction | None:
        """The prediction shown, or ``None``."""
        return self._prediction

    def set_review(self, review: Review | None) -> None:
        """Show the user's review of the prediction shown (a core ``Review``, or ``None``)."""
        self.review_box.set_state(self._prediction, review)

    def set_prediction(self, prediction: Prediction | None, review: Review | None = None) -> None:
        """Show ``prediction`` (a core ``Prediction``) and its ``review``, or clear the panel with ``None``."""
        self._prediction = prediction
        self.review_box.set_state(prediction, review)
        if prediction is None:
            self.image_view.set_pixmap(None)
            self.image_view.set_placeholder("Select a cell to see it here.")
            self.title_label.setText("No cell selected")
            self.verdict_label.setText("")
            self.chart.set_bars([])
            self.chart.hide()
            for label in (self.size_value, self.dimensions_value, self.path_value, self.digest_value):
                label.setText("")
            self.digest_value.setToolTip("")
            return
        record = prediction.record
        # As the table names it: a name that is not UTF-8 shows its odd bytes as \xNN.
        self.title_label.setText(display_text(record.path.name))
        self.path_value.setText(display_text(str(record.path)))
        self.size_value.setText(format_bytes(record.size_bytes))
        self.digest_value.setText(format_digest(prediction.file_sha256))
        self.digest_value.setToolTip(
            f"sha256 of the bytes that were classified: {prediction.file_sha256}"
            if prediction.file_sha256 else "The file could not be read, so it has no digest"
        )
        self.dimensions_value.setText("…")
        self._update_verdict()
        if prediction.ok and prediction.probabilities is not None:
            self.chart.set_bars(
                [
                    Bar(name, display_name(name), p, confidence_percent(p), emphasized=name == prediction.predicted)
                    for name, p in zip(CLASS_NAMES, prediction.probabilities)
                ]
            )
            self.chart.show()
        else:
            self.chart.hide()
        self.image_view.set_pixmap(None)
        self.image_view.set_placeholder("Loading…")
        self._show_image_if_loaded()
        self._images.request_predictions([prediction])

    @Slot()
    def _update_verdict(self) -> None:
        pred = self._prediction
        if pred is None:
            return
        if not pred.ok:
            self.verdict_label.setText(f"Could not classify this file: {pred.error}")
            return
        text = f"{display_name(pred.predicted)} · {confidence_percent(pred.confidence)} confidence"
        if below_threshold(pred, self._threshold.value):
            text += f"\n⚠ Flagged for review (below {self._threshold.value:.0%})"
        if getattr(pred, "assessable", None) is False:
            text += f"\n⚠ Not assessable: {pred.assessable_reason} (left out of the counts unless reviewed)"
        self.verdict_label.setText(text)

    def set_heatmap_source(self, source) -> None:
        """Where heatmaps come from (a :class:`hemoapp.core.heatmap.HeatmapSource`; ``None``: none)."""
        self.heatmap.set_source(source)

    @Slot()
    def _refresh_heatmap(self) -> None:
        """Draw the heatmap over the picture when it is switched on; computed only then, for this cell."""
        self.heatmap.show_on(self.image_view, self._images, self._prediction)

    def _show_image_if_loaded(self) -> bool:
        pred = self._prediction
        if pred is None:
            return False
        entry = self.image_view.show_cell(self._images, pred)
        if entry is None:
            return False
        if self.heatmap.on:
            self._refresh_heatmap()
        info = entry.info
        if entry.image is None:
            self.dimensions_value.setText("—")
        elif info is not None:
            frames = f", {info.frames} frames" if info.frames > 1 else ""
            self.dimensions_value.setText(f"{info.width} × {info.height} px ({info.format}, {info.mode}{frames})")
        return True

    @Slot(object)
    def _on_images_loaded(self, keys: list) -> None:
        if self._prediction is not None and str(self._prediction.record.path) in keys:
            self._show_image_if_loaded()
