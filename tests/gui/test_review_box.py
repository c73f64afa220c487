"""The review box says how an unreviewed cell is counted, as the summary counts it."""

from __future__ import annotations

from dataclasses import replace

from hemoapp.gui.widgets.review_box import ReviewBox
from hemotest.predictions import predicted


def test_an_unreviewed_cell_is_counted_as_the_models_class(qtbot):
    box = ReviewBox()
    qtbot.addWidget(box)
    box.set_state(predicted("neutrophil"), None)
    assert box.status_label.text() == "Not reviewed: counted as Neutrophil (the model's class)."


def test_an_unreviewed_not_assessable_cell_is_not_said_to_be_counted(qtbot):
    """The summary leaves it out until reviewed: the box must not claim it is counted."""
    box = ReviewBox()
    qtbot.addWidget(box)
    cell = replace(predicted("neutrophil"), assessable=False, assessable_reason="blurred")
    box.set_state(cell, None)
    assert "counted as" not in box.status_label.text()
    assert "left out of the counts" in box.status_label.text()
