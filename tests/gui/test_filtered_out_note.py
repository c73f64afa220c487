"""When the filters hide every cell, the table and the gallery say so instead of staying blank."""

from __future__ import annotations

from PySide6.QtCore import Qt

from hemoapp.gui.filter_proxy import FlagFilter

from hemoapp.gui.table_model import Flag
from hemoapp.gui.widgets.results_view import Tab
from hemotest.qt import run_folder


def test_filters_that_hide_every_cell_say_so_and_can_be_undone(qtbot, make_window, fake_classifier, cell_folder):
    window = make_window(fake_classifier())
    view = window.results_view
    table_note, gallery_note = view.filtered_out_notes
    assert table_note.isHidden() and gallery_note.isHidden()  # nothing classified yet: nothing hidden
    run_folder(qtbot, window, cell_folder)  # 16 cells and one unreadable file
    bar = view.filter_bar
    assert table_note.isHidden() and gallery_note.isHidden()

    bar.set_flag_filter(FlagFilter.ERRORS)
    assert window.proxy.rowCount() == 1 and table_note.isHidden()  # the unreadable file is still listed

    bar.set_class_filter("basophil")  # an unreadable file has no class
    assert window.proxy.rowCount() == 0
    assert table_note.isVisible() and not gallery_note.isHidden()  # the gallery's shows when its tab does
    assert table_note.geometry() == view.table.viewport().geometry()
    text = table_note.text()
    assert "any of the 17 cells" in text and "(Class: Basophil; Show: Errors only)" in text
    assert text == gallery_note.text()

    # Another filter that still matches nothing: the note names the filters as they are now.
    bar.min_spin.setValue(50.0)
    assert window.proxy.rowCount() == 0
    assert "(Class: Basophil; Show: Errors only; Confidence: 50–100 %)" in table_note.text()

    view.tabs.setCurrentIndex(Tab.GALLERY)
    assert gallery_note.isVisible() and gallery_note.geometry() == view.gallery.viewport().geometry()
    gallery_note.linkActivated.emit("show-all")
    assert window.proxy.rowCount() == 17 and bar.active_filters() == []
    assert table_note.isHidden() and gallery_note.isHidden()


def test_an_empty_list_of_flagged_cells_says_the_review_is_done(qtbot, make_window, fake_classifier, cell_folder):
    """At the end of a review *Show: Flagged, not reviewed* is empty because the work is done, and says so."""
    window = make_window(fake_classifier())
    view = window.results_view
    table_note = view.filtered_out_notes[0]
    run_folder(qtbot, window, cell_folder)
    model = window.results_model
    flagged = model.flag_count(Flag.REVIEW)
    assert flagged >= 2, "the fake model flags too few cells for this test"
    view.filter_bar.set_flag_filter(FlagFilter.UNREVIEWED)
    view.select_proxy_row(0)
    for left in range(flagged, 0, -1):
        assert window.proxy.rowCount() == left and table_note.isHidden()
        window.actions.review_confirm.trigger()  # reviewed: gone from the list, the next one selected
    assert window.proxy.rowCount() == 0
    assert f"All {flagged} cells flagged for review have been reviewed." in table_note.text()
    assert "filters do not match" not in table_note.text()

    # With no cell flagged at all (threshold 1%), both flag filters say that, not that the filters match nothing.
    view.filter_bar.threshold_spin.setValue(1)
    for choice in (FlagFilter.REVIEW, FlagFilter.UNREVIEWED):
        view.filter_bar.set_flag_filter(choice)
        assert window.proxy.rowCount() == 0
        assert "No cell is flagged for review: none has a confidence below 1%." in table_note.text()

    # A filter that hides cells for another reason keeps the general wording.
    view.filter_bar.set_flag_filter(FlagFilter.ERRORS)
    view.filter_bar.set_class_filter("basophil")
    assert window.proxy.rowCount() == 0 and "The filters do not match any of the 17 cells" in table_note.text()


def test_show_every_cell_clears_every_filter_from_the_keyboard(qtbot, make_window, fake_classifier, cell_folder):
    window = make_window(fake_classifier())
    view = window.results_view
    run_folder(qtbot, window, cell_folder)  # 16 cells and one unreadable file
    bar = view.filter_bar
    bar.set_class_filter("basophil")
    bar.min_spin.setValue(50.0)
    bar.set_flag_filter(FlagFilter.REVIEW)
    assert window.proxy.rowCount() < 17 and len(bar.active_filters()) == 3
    action = window.actions.show_every_cell
    assert action.shortcut().toString() == "Ctrl+Shift+F" and action in window.menuBar().actions()[1].menu().actions()
    window.activateWindow()
    for focus in (view.table, bar.class_combo):  # from the cells, and from the filter that Ctrl+F went to
        bar.set_class_filter("basophil")
        focus.setFocus()
        qtbot.keyClick(focus, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
        assert window.proxy.rowCount() == 17 and bar.active_filters() == []
