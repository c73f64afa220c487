"""The review controls under the selected cell: confirm the model's class, or give another."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QGridLayout, QGroupBox, QLabel, QPushButton, QWidget

from hemoapp.core.contract import CLASS_NAMES, SHORT_NAMES, display_name
from hemoapp.core.review import Review, is_changed
from hemoapp.gui.style import class_swatch

#: The keys that review the selected cell as each class, in contract order ("1" = basophil).
CLASS_KEYS = tuple(str(number) for number in range(1, len(CLASS_NAMES) + 1))


class ReviewBox(QGroupBox):
    """Buttons that record a person's review of the selected cell.

    The buttons only ask: the window records the review (and the keyboard
    shortcuts, which the buttons' tooltips name, ask the same way).

    Signals:
        review_requested(object): a class name, or ``None`` to remove the review.
    """

    review_requested = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Review", parent)
        self.setToolTip("Your decision on this cell: it replaces the model's class in the counts and exports, "
                        "beside the model's prediction, which is kept")
        self._prediction: Any = None
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        self.confirm_button = QPushButton("Confirm")
        self.confirm_button.setToolTip("The model's class is right (Enter)")
        self.confirm_button.clicked.connect(self._on_confirm_button_clicked)
        self.clear_button = QPushButton("Undo review")
        self.clear_button.setToolTip("Forget the review: the cell counts with the model's class again (Backspace)")
        self.clear_button.clicked.connect(self._on_clear_button_clicked)
        self.class_buttons: dict[str, QPushButton] = {}
        grid = QGridLayout(self)
        grid.setSpacing(4)
        grid.addWidget(self.status_label, 0, 0, 1, 4)
        grid.addWidget(self.confirm_button, 1, 0, 1, 2)
        grid.addWidget(self.clear_button, 1, 2, 1, 2)
        for number, name in enumerate(CLASS_NAMES):
            button = QPushButton(class_swatch(name, self.palette()), f"{CLASS_KEYS[number]} {SHORT_NAMES[name]}")
            spoken = display_name(name).lower()
            article = "an" if spoken[0] in "aeiou" else "a"  # every class name is said as it is spelt
            button.setToolTip(f"This cell is {article} {spoken} (key {CLASS_KEYS[number]})")
            button.setCheckable(True)
            button.clicked.connect(lambda _checked=False, name=name: self.review_requested.emit(name))
            self.class_buttons[name] = button
            grid.addWidget(button, 2 + number // 4, number % 4)
        self.set_state(None, None)

    def set_reviewer(self, name: str) -> None:
        """Show the name new reviews are recorded under, in the box's title (a long one shortened)."""
        shown = name if len(name) <= 24 else name[:23] + "…"  # a title does not wrap in the narrow panel
        self.setTitle(f"Review · recorded as {shown}")

    def set_state(self, prediction: Any, review: Review | None) -> None:
        """Show the review of ``prediction`` (``None``: no cell selected, all buttons off)."""
        self._prediction = prediction
        reviewable = prediction is not None and prediction.ok
        for widget in (self.confirm_button, *self.class_buttons.values()):
            widget.setEnabled(reviewable)
        self.clear_button.setEnabled(reviewable and review is not None)
        for name, button in self.class_buttons.items():
            button.setChecked(review is not None and review.class_name == name)
        if prediction is None:
            self.status_label.setText("")
        elif not prediction.ok:
            self.status_label.setText("An unreadable file has nothing to review.")
        elif review is None and getattr(prediction, "assessable", None) is False:
            # The summary leaves such a cell out until a person classifies it (core.summary).
            self.status_label.setText("Not reviewed: not assessable, so left out of the counts until reviewed.")
        elif review is None:
            name = display_name(prediction.predicted)
            self.status_label.setText(f"Not reviewed: counted as {name} (the model's class).")
        else:
            verb = "Changed to" if is_changed(prediction, review) else "Confirmed as"
            when = f"{review.at.astimezone():%Y-%m-%d %H:%M}"
            self.status_label.setText(f"{verb} {display_name(review.class_name)} ({when}, {review.by}).")

    @Slot()
    def _on_confirm_button_clicked(self) -> None:
        if self._prediction is not None and self._prediction.ok:
            self.review_requested.emit(self._prediction.predicted)

    @Slot()
    def _on_clear_button_clicked(self) -> None:
        self.review_requested.emit(None)
