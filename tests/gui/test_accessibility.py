"""What a screen reader is told: every control has a name, and what is only painted is also said in words.

Qt builds the accessibility tree from the widgets (QAccessible); a control without text (a spin box beside a
label, a progress bar, a painted chart, a picture, a gallery tile) reads as nothing unless it is given a name.
These tests walk that tree as an assistive technology would, offscreen.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAccessible, QAccessibleInterface

from hemoapp.core.contract import CLASS_NAMES, display_name
from hemoapp.core.summary import confidence_percent
from hemoapp.gui.table_model import Column, Role
from hemoapp.gui.widgets.class_bars import ClassBarChart
from hemoapp.gui.widgets.image_view import ImageView
from hemoapp.gui.widgets.results_view import Tab
from hemoapp.gui.widgets.review_box import ReviewBox
from tests.hemotest.qt import run_folder

A11y = QAccessible.Role
Text = QAccessible.Text

#: Roles a user operates or reads a value from: each must have a name.
CONTROL_ROLES = {
    A11y.Button, A11y.CheckBox, A11y.RadioButton, A11y.ComboBox, A11y.SpinBox, A11y.Slider, A11y.ProgressBar,
    A11y.EditableText, A11y.Table, A11y.List, A11y.ListItem, A11y.PageTab, A11y.Chart, A11y.Graphic,
    A11y.ColumnHeader,
}


def _visible_nodes(iface: QAccessibleInterface | None, depth: int = 0):
    """Every visible node under ``iface`` (the tree a screen reader walks)."""
    if iface is None or not iface.isValid() or iface.state().invisible or depth > 20:
        return
    yield iface
    for index in range(iface.childCount()):
        yield from _visible_nodes(iface.child(index), depth + 1)


def _describe(iface: QAccessibleInterface) -> str:
    widget = iface.object()
    return f"{iface.role().name} {type(widget).__name__ if widget is not None else ''}".strip()


def _needs_name(node: QAccessibleInterface) -> bool:
    # HemoLens's painted widgets are plain "Client" nodes to Qt, but they carry what the user reads.
    return node.role() in CONTROL_ROLES or isinstance(node.object(), (ClassBarChart, ImageView))


def _controls(widget) -> list[QAccessibleInterface]:
    return [node for node in _visible_nodes(QAccessible.queryAccessibleInterface(widget)) if _needs_name(node)]


def _unnamed_controls(widget) -> list[str]:
    return [_describe(node) for node in _controls(widget) if not node.text(Text.Name).strip()]


def test_the_start_screen_has_no_unnamed_control(qtbot, make_window, fake_classifier):
    window = make_window(fake_classifier())
    assert window.stack.currentWidget() is window.start_screen
    assert not _unnamed_controls(window)


def _classified_window(qtbot, make_window, fake_classifier, cell_folder):
    window = make_window(fake_classifier())
    run_folder(qtbot, window, cell_folder)
    window.results_view.select_proxy_row(0)
    return window


def test_every_control_of_each_tab_has_a_name(qtbot, make_window, fake_classifier, cell_folder):
    window = _classified_window(qtbot, make_window, fake_classifier, cell_folder)
    for tab in (Tab.TABLE, Tab.GALLERY, Tab.SUMMARY):
        window.results_view.tabs.setCurrentIndex(tab)
        qtbot.wait(50)
        assert len(_controls(window)) > 25  # the walk reaches the controls (buttons, filters, cells' views…)
        unnamed = _unnamed_controls(window)
        assert not unnamed, f"tab {tab}: {unnamed}"
    window.toggle_cell_viewer()  # the enlarged cell, a window of its own
    qtbot.waitUntil(lambda: window.cell_viewer.image_view.pixmap() is not None, timeout=5000)
    assert not _unnamed_controls(window.cell_viewer)
    assert "Picture of" in QAccessible.queryAccessibleInterface(window.cell_viewer.image_view).text(Text.Name)


def test_the_filters_and_the_threshold_say_what_they_set(qtbot, make_window, fake_classifier, cell_folder):
    window = _classified_window(qtbot, make_window, fake_classifier, cell_folder)
    bar = window.results_view.filter_bar
    names = {
        spin: QAccessible.queryAccessibleInterface(spin).text(Text.Name)
        for spin in (bar.min_spin, bar.max_spin, bar.threshold_spin)
    }
    assert "lowest confidence" in names[bar.min_spin].lower()
    assert "highest confidence" in names[bar.max_spin].lower()
    assert "review" in names[bar.threshold_spin].lower()


def test_a_gallery_tile_says_its_file_class_and_confidence(qtbot, make_window, fake_classifier, cell_folder):
    window = _classified_window(qtbot, make_window, fake_classifier, cell_folder)
    window.results_view.tabs.setCurrentIndex(Tab.GALLERY)
    qtbot.wait(50)
    gallery = QAccessible.queryAccessibleInterface(window.results_view.gallery)
    tiles = [node.text(Text.Name) for node in _visible_nodes(gallery) if node.role() == A11y.ListItem]
    shown = [window.proxy.index(row, 0).data(Role.PREDICTION) for row in range(window.proxy.rowCount())]
    assert len(tiles) == len(shown) == 17
    for name, prediction in zip(tiles, shown):
        assert prediction.record.path.name in name
        if prediction.ok:
            assert display_name(prediction.predicted) in name
            assert confidence_percent(prediction.confidence) in name
        else:
            assert "could not be read" in name


def test_a_tile_says_it_is_flagged_and_how_it_was_reviewed(qtbot, make_window, fake_classifier, cell_folder):
    window = _classified_window(qtbot, make_window, fake_classifier, cell_folder)
    model = window.results_model
    flagged = next(p for p in model.predictions() if p.ok and p.confidence < model.review_threshold)
    window.results_view.select_proxy_row(next(
        row for row in range(window.proxy.rowCount())
        if window.proxy.index(row, 0).data(Role.PREDICTION) is flagged
    ))
    assert window.review_selected("platelet")
    name = model.index(model.row_of(flagged), Column.THUMBNAIL).data(Qt.ItemDataRole.AccessibleTextRole)
    assert "flagged for review" in name and "reviewed as Platelet" in name


def test_the_probability_chart_says_each_class_and_value(qtbot, make_window, fake_classifier, cell_folder):
    window = _classified_window(qtbot, make_window, fake_classifier, cell_folder)
    panel = window.results_view.detail
    prediction = panel.prediction()
    assert prediction is not None and prediction.ok
    chart = QAccessible.queryAccessibleInterface(panel.chart)
    assert chart.text(Text.Name)
    said = chart.text(Text.Description)
    position = -1
    for name, probability in zip(CLASS_NAMES, prediction.probabilities):
        spoken = f"{display_name(name)} {confidence_percent(probability)}"
        assert spoken in said
        assert said.index(spoken) > position  # in the order the chart paints them
        position = said.index(spoken)


def test_the_picture_says_which_file_it_shows(qtbot, make_window, fake_classifier, cell_folder):
    window = _classified_window(qtbot, make_window, fake_classifier, cell_folder)
    panel = window.results_view.detail
    prediction = panel.prediction()
    qtbot.waitUntil(lambda: panel.image_view.pixmap() is not None, timeout=5000)
    view = QAccessible.queryAccessibleInterface(panel.image_view)
    assert prediction.record.path.name in view.text(Text.Name)
    panel.set_prediction(None)
    assert view.text(Text.Name) == "Select a cell to see it here."


def test_the_review_buttons_say_an_before_a_vowel(qtbot):
    box = ReviewBox()
    qtbot.addWidget(box)
    tips = {name: button.toolTip() for name, button in box.class_buttons.items()}
    assert tips["eosinophil"].startswith("This cell is an eosinophil")
    assert tips["erythroblast"].startswith("This cell is an erythroblast")
    assert tips["ig"].startswith("This cell is an immature granulocyte")
    assert tips["basophil"].startswith("This cell is a basophil")
