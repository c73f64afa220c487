"""What a technician needs stays in view in an ordinary laptop window (1280 × 800)."""

from __future__ import annotations

from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QComboBox, QStyle, QStyleOptionComboBox, QStyleOptionViewItem

from hemoapp.gui.table_model import Column, Flag
from hemotest.qt import run_folder


def _bottom_in_viewport(panel, widget) -> int:
    """Where ``widget``'s bottom edge is, in the detail panel's visible area."""
    return widget.mapTo(panel.viewport(), QPoint(0, widget.height())).y()


def _detail_of_flagged_cell(qtbot, make_window, fake_classifier, cell_folder, height: int):
    """A window ``height`` px tall showing a flagged cell (its verdict has the extra line), and its detail panel."""
    window = make_window(fake_classifier())
    window.resize(1280, height)
    run_folder(qtbot, window, cell_folder)
    window.actions.next_flagged.trigger()
    assert window.results_model.flag_of(window.results_view.current_prediction()) == Flag.REVIEW
    qtbot.wait(200)  # the layouts settle
    return window, window.results_view.detail  # the caller holds the window, or Python deletes it


def test_review_buttons_are_in_view_in_a_short_window(qtbot, make_window, fake_classifier, cell_folder):
    _window, panel = _detail_of_flagged_cell(qtbot, make_window, fake_classifier, cell_folder, 800)
    assert _bottom_in_viewport(panel, panel.review_box) <= panel.viewport().height()
    assert panel.verticalScrollBar().value() == 0  # in view without scrolling
    last_button = panel.review_box.class_buttons["platelet"]
    assert last_button.isVisible() and _bottom_in_viewport(panel, last_button) <= panel.viewport().height()
    # The image gave way for them, but not below its minimum.
    assert panel.image_view.minimumHeight() <= panel.image_view.height() < 300


def test_image_keeps_its_full_size_when_there_is_room(qtbot, make_window, fake_classifier, cell_folder):
    _window, panel = _detail_of_flagged_cell(qtbot, make_window, fake_classifier, cell_folder, 1100)
    assert panel.image_view.height() == 300
    assert _bottom_in_viewport(panel, panel.review_box) <= panel.viewport().height()


def test_every_table_column_fits_without_scrolling_sideways(qtbot, make_window, fake_classifier, cell_folder):
    window = make_window(fake_classifier())
    window.resize(1280, 800)
    run_folder(qtbot, window, cell_folder)
    qtbot.wait(200)
    table = window.results_view.table
    assert table.horizontalScrollBar().maximum() == 0
    header = table.horizontalHeader()
    error_right_edge = header.sectionViewportPosition(Column.ERROR) + header.sectionSize(Column.ERROR)
    assert error_right_edge <= table.viewport().width()
    assert header.sectionSize(Column.ERROR) >= 80  # room for the start of an error message


def test_the_differential_shows_every_column_without_scrolling_sideways(
    qtbot, make_window, fake_classifier, cell_folder
):
    window = make_window(fake_classifier())
    window.resize(1280, 800)
    run_folder(qtbot, window, cell_folder)
    window.actions.show_summary.trigger()
    qtbot.wait(300)  # the summary refreshes and the layouts settle
    table = window.results_view.summary.differential_table
    assert table.horizontalScrollBar().maximum() == 0
    header = table.horizontalHeader()
    last = header.count() - 1
    assert header.sectionViewportPosition(last) + header.sectionSize(last) <= table.viewport().width()
    assert table.item(0, last).text().endswith("%")  # the interval, not a placeholder
    # Every interval's text fits its column, with room for the cell's margins.
    widest = max(table.fontMetrics().horizontalAdvance(table.item(row, last).text()) for row in range(table.rowCount()))
    assert widest + 6 <= header.sectionSize(last)


def _text_room(combo: QComboBox) -> int:
    """How wide the closed combo box's text field is, as the style draws it."""
    option = QStyleOptionComboBox()
    combo.initStyleOption(option)
    field = combo.style().subControlRect(QStyle.ComplexControl.CC_ComboBox, option,
                                         QStyle.SubControl.SC_ComboBoxEditField, combo)
    return field.width() - (combo.iconSize().width() + 4 if not option.currentIcon.isNull() else 0)


def test_the_filters_show_every_choice_in_full(qtbot, make_window, fake_classifier, cell_folder):
    window = make_window(fake_classifier())
    window.resize(1280, 800)
    run_folder(qtbot, window, cell_folder)  # class folders: "Disagreeing with folder" is on offer too
    bar = window.results_view.filter_bar
    qtbot.wait(200)
    for combo in (bar.class_combo, bar.flag_combo):
        for index in range(combo.count()):  # "Immature granulocyte", "Disagreeing with folder", ...
            combo.setCurrentIndex(index)
            assert combo.fontMetrics().horizontalAdvance(combo.currentText()) <= _text_room(combo), combo.currentText()
        # The window may still shrink as far as before: the combo box gives way to 8 characters' width.
        eight_characters = QComboBox()
        eight_characters.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        eight_characters.setMinimumContentsLength(8)
        eight_characters.addItem(combo.itemText(combo.count() - 1))
        assert combo.minimumSizeHint().width() <= eight_characters.minimumSizeHint().width() < combo.width()


def test_a_long_file_path_keeps_its_file_name_in_view(qtbot, make_window, fake_classifier, cell_folder, tmp_path):
    deep = tmp_path / "deep"
    nested = deep / "run-2026-11-24" / "slide-02" / "field-017"
    nested.mkdir(parents=True)
    nested.joinpath("cell_00412.jpg").write_bytes(next(cell_folder.rglob("*.jpg")).read_bytes())
    window = make_window(fake_classifier())
    window.resize(1280, 800)
    run_folder(qtbot, window, deep)
    table = window.results_view.table
    index = window.proxy.index(0, Column.FILE)
    option = QStyleOptionViewItem()
    option.initFrom(table)
    option.textElideMode = table.textElideMode()  # as the view hands it to the delegate
    table.itemDelegateForColumn(Column.FILE).initStyleOption(option, index)
    width = table.columnWidth(Column.FILE) - 8
    assert option.fontMetrics.horizontalAdvance(option.text) > width  # too long for the column
    shown = option.fontMetrics.elidedText(option.text, option.textElideMode, width)
    assert shown.startswith("run-") and shown.endswith("00412.jpg") and "…" in shown  # the number is in view
