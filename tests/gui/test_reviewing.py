"""Reviewing cells in the window: confirm or change a class, keys, counts, exports, what is left."""

from __future__ import annotations

import json
import shutil

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QInputDialog, QMessageBox

from hemoapp.core.contract import CLASS_NAMES, display_name
from hemoapp.core.review import current_user
from hemoapp.core.sample import SampleDetails
from hemoapp.gui.filter_proxy import FlagFilter
from hemoapp.gui.table_model import Column, Flag, Role
from hemoapp.gui.widgets.results_view import Tab
from hemotest.predictions import rows_of
from hemotest.qt import run_folder


@pytest.fixture()
def reviewing(qtbot, make_window, fake_classifier, cell_folder):
    """A window showing ``cell_folder`` with its first flagged cell selected."""
    window = make_window(fake_classifier())
    run_folder(qtbot, window, cell_folder)
    assert window.results_model.flag_count(Flag.REVIEW) >= 3, "the fake model flags too few cells for these tests"
    window.results_view.select_proxy_row(0)
    assert window.results_view.select_next_flagged(0)
    return window


def selected(window):
    return window.results_view.current_prediction()


def other_class(pred) -> str:
    return next(name for name in CLASS_NAMES if name != pred.predicted)


def proxy_row_of(window, pred) -> int:
    model = window.results_model
    return window.proxy.mapFromSource(model.index(model.row_of(pred), 0)).row()


def test_changing_a_flagged_cell_counts_the_new_class_and_moves_on(reviewing):
    window, model = reviewing, reviewing.results_model
    cell = selected(window)
    new_class = other_class(cell)
    before = window.current_summary()
    flagged = model.flag_count(Flag.REVIEW)
    window.actions.review_as[CLASS_NAMES.index(new_class)].trigger()

    row = proxy_row_of(window, cell)
    assert window.proxy.index(row, Column.PREDICTED).data() == display_name(cell.predicted)  # the model's, kept
    assert window.proxy.index(row, Column.REVIEWED).data() == f"{display_name(new_class)} (changed)"
    assert window.proxy.index(row, 0).data(Role.CLASS_NAME) == new_class
    after = window.current_summary()
    assert after.counts[new_class] == before.counts[new_class] + 1
    assert after.counts[cell.predicted] == before.counts[cell.predicted] - 1
    assert (after.reviewed, after.changed, after.flagged_unreviewed) == (1, 1, flagged - 1)
    # On to the next cell that still needs a look; the status bar counts what is left.
    assert selected(window) is not cell and model.needs_review(selected(window))
    assert f"({flagged - 1} not reviewed)" in window.flagged_label.text()
    assert f"left to review: {flagged - 1}" in window.statusBar().currentMessage()
    # The class filter follows the class the cell counts as.
    bar = window.results_view.filter_bar
    bar.set_class_filter(new_class)
    assert cell in [window.proxy.index(r, 0).data(Role.PREDICTION) for r in range(window.proxy.rowCount())]
    bar.set_class_filter(cell.predicted)
    assert cell not in [window.proxy.index(r, 0).data(Role.PREDICTION) for r in range(window.proxy.rowCount())]


def test_sorted_by_reviewed_class_a_review_goes_on_to_the_first_flagged_cell_left(reviewing):
    # Sorted by "Reviewed as", a review moves its cell to the top (reviewed cells sort first), so the next cell to
    # review is the first flagged one shown below it, not one after the row where the cell used to be.
    window, model = reviewing, reviewing.results_model
    window.results_view.table.sortByColumn(Column.REVIEWED, Qt.SortOrder.AscendingOrder)
    shown = [window.proxy.index(r, 0).data(Role.PREDICTION) for r in range(window.proxy.rowCount())]
    flagged = [pred for pred in shown if model.needs_review(pred)]
    window.results_view.select_proxy_row(shown.index(flagged[1]))
    window.actions.review_as[CLASS_NAMES.index(other_class(flagged[1]))].trigger()
    assert window.proxy.index(0, 0).data(Role.PREDICTION) is flagged[1]
    assert selected(window) is flagged[0]


def test_confirm_and_undo_from_the_review_box(qtbot, reviewing):
    window, model = reviewing, reviewing.results_model
    box = window.results_view.detail.review_box
    cell = selected(window)
    assert box.confirm_button.isEnabled() and not box.clear_button.isEnabled()
    qtbot.mouseClick(box.confirm_button, Qt.MouseButton.LeftButton)
    assert model.review_of(cell).class_name == cell.predicted
    assert window.proxy.index(proxy_row_of(window, cell), Column.REVIEWED).data().endswith("(confirmed)")
    assert window.current_summary().changed == 0 and window.current_summary().reviewed == 1

    window.results_view.select_proxy_row(proxy_row_of(window, cell))
    assert box.clear_button.isEnabled() and box.class_buttons[cell.predicted].isChecked()
    assert box.status_label.text().startswith(f"Confirmed as {display_name(cell.predicted)}")
    qtbot.mouseClick(box.clear_button, Qt.MouseButton.LeftButton)
    assert model.review_of(cell) is None and window.current_summary().reviewed == 0
    assert box.status_label.text().startswith("Not reviewed")
    assert not window.review_selected(None)  # nothing left to undo, and it says so
    assert window.statusBar().currentMessage().endswith("has no review to undo.")
    assert not any(box.class_buttons[name].isChecked() for name in CLASS_NAMES)


def test_the_not_reviewed_filter_empties_as_cells_are_reviewed(reviewing):
    window, model = reviewing, reviewing.results_model
    window.results_view.filter_bar.set_flag_filter(FlagFilter.UNREVIEWED)
    flagged = model.flag_count(Flag.REVIEW)
    assert window.proxy.rowCount() == flagged
    window.results_view.select_proxy_row(0)
    for left in range(flagged - 1, -1, -1):
        assert selected(window) is not None and model.needs_review(selected(window))
        window.actions.review_confirm.trigger()  # the row leaves the view; the next one is selected
        assert window.proxy.rowCount() == left
    assert model.unreviewed_flagged_count() == 0 and selected(window) is None
    assert "left to review: 0" in window.statusBar().currentMessage()
    assert not window.results_view.select_next_flagged()  # F3 finds nothing more to check


def test_review_keys_work_in_the_table_but_not_while_typing_in_a_filter(qtbot, reviewing):
    window = reviewing
    window.activateWindow()
    table = window.results_view.table
    table.setFocus()
    qtbot.waitUntil(lambda: table.hasFocus(), timeout=2000)
    cell = selected(window)
    key_of_other = str(CLASS_NAMES.index(other_class(cell)) + 1)
    qtbot.keyClicks(table, key_of_other)
    assert window.results_model.review_of(cell).class_name == other_class(cell)

    spin = window.results_view.filter_bar.min_spin
    spin.setFocus()
    qtbot.waitUntil(lambda: spin.hasFocus(), timeout=2000)
    target = selected(window)
    qtbot.keyClick(spin, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(spin, "3")
    qtbot.keyClick(spin, Qt.Key.Key_Return)
    assert window.results_model.review_of(target) is None  # neither "3" nor Enter reviewed the cell
    assert window.results_model.reviews().keys() == {str(cell.record.path)}


@pytest.mark.parametrize("tab", [Tab.TABLE, Tab.GALLERY, Tab.SUMMARY])
def test_next_flagged_moves_the_focus_so_a_key_reviews_the_cell(qtbot, reviewing, tab):
    """F3 then a digit reviews the cell F3 chose, even with the focus in a filter box before."""
    window = reviewing
    window.activateWindow()
    window.results_view.tabs.setCurrentIndex(tab)
    window.actions.focus_threshold.trigger()
    qtbot.waitUntil(lambda: window.results_view.filter_bar.threshold_spin.hasFocus(), timeout=2000)
    window.actions.next_flagged.trigger()
    cell = selected(window)
    views = {Tab.TABLE: window.results_view.table, Tab.GALLERY: window.results_view.gallery}
    expected = views.get(tab, window.results_view.detail)
    qtbot.waitUntil(lambda: window.focusWidget() is expected, timeout=2000)
    qtbot.keyClicks(window.focusWidget(), str(CLASS_NAMES.index(other_class(cell)) + 1))
    assert window.results_model.review_of(cell).class_name == other_class(cell)


def test_unreadable_rows_cannot_be_reviewed(reviewing):
    window = reviewing
    window.results_view.filter_bar.set_flag_filter(FlagFilter.ERRORS)
    window.results_view.select_proxy_row(0)
    assert not selected(window).ok
    assert not window.results_view.detail.review_box.confirm_button.isEnabled()
    assert not window.review_selected(CLASS_NAMES[0]) and not window.results_model.reviews()
    assert window.statusBar().currentMessage() == "An unreadable file has nothing to review."


def test_exports_carry_the_reviews_and_a_review_after_export_counts_as_unexported(reviewing, tmp_path):
    window, model = reviewing, reviewing.results_model
    cell = selected(window)
    new_class = other_class(cell)
    window.review_selected(new_class)
    rows = {r["file"]: r for r in rows_of(window.export_results(tmp_path / "results.csv"))}
    row = rows[cell.record.relpath]
    assert (row["predicted_class"], row["reviewed_class"], row["reported_class"]) == (
        cell.predicted, new_class, new_class
    )
    assert row["reviewed_at"].endswith("Z")
    assert sum(1 for r in rows.values() if r["reviewed_class"]) == 1
    summary = {r["label"]: r["count"] for r in rows_of(window.export_summary(tmp_path / "summary.csv"))
               if r["section"] == "totals"}
    assert summary["Reviewed by a person"] == "1" and summary["Class changed by review (counted as reviewed)"] == "1"
    assert window.session.unexported_count() == 0
    window.confirm_selected()  # a review the results CSV does not have yet
    assert window.session.unexported_count() == model.rowCount() - model.flag_count(Flag.ERROR)


def test_a_reviewer_name_set_in_the_app_signs_the_reviews(
    reviewing, make_window, fake_classifier, cell_folder, monkeypatch, tmp_path
):
    """Technicians sharing one computer account tell their reviews apart by the name they set."""
    window, model = reviewing, reviewing.results_model
    box = window.results_view.detail.review_box
    login = current_user()
    assert box.title().endswith(login)
    answers = iter([("  Jane\tDoe\n", True), ("Someone else", False), ("", True)])
    monkeypatch.setattr(QInputDialog, "getText", lambda *_args, **_kwargs: next(answers))

    window.actions.set_reviewer.trigger()
    assert window.reviewer() == "Jane Doe" and box.title().endswith("Jane Doe")
    assert "recorded as Jane Doe" in window.statusBar().currentMessage()
    first = selected(window)
    window.confirm_selected()
    assert model.review_of(first).by == "Jane Doe"
    row = {r["file"]: r for r in rows_of(window.export_results(tmp_path / "results.csv"))}[first.record.relpath]
    assert row["reviewed_by"] == "Jane Doe"
    stored = json.loads(window.review_keeper.store.path_for(cell_folder).read_text(encoding="utf-8"))
    assert "Jane Doe" in json.dumps(stored)
    # The name is kept for the next session.
    assert make_window(fake_classifier(), settings=window.settings).reviewer() == "Jane Doe"

    window.actions.set_reviewer.trigger()  # cancelled: nothing changes
    assert window.reviewer() == "Jane Doe"
    window.actions.set_reviewer.trigger()  # emptied: back to the login name, for later reviews only
    assert window.reviewer() == login and box.title().endswith(login)
    second = selected(window)
    window.confirm_selected()
    assert model.review_of(second).by == login and model.review_of(first).by == "Jane Doe"
    # A name edited into the settings file by hand is cleaned on the way out as well.
    window.settings.qsettings.setValue("review/reviewer_name", "Jane\r\nDoe")
    assert window.reviewer() == "Jane Doe"


def test_opening_another_folder_forgets_the_reviews(qtbot, reviewing, other_folder, answer_questions):
    window = reviewing
    window.confirm_selected()
    answer_questions(QMessageBox.StandardButton.Discard)
    with qtbot.waitSignal(window.controller.job_finished, timeout=20_000):
        assert window.open_folder(other_folder, confirm=True)
    assert window.results_model.reviews() == {} and window.current_summary().reviewed == 0


def test_reviews_are_saved_as_made_and_come_back_with_the_folder(qtbot, make_window, fake_classifier, cell_folder):
    first = make_window(fake_classifier())
    run_folder(qtbot, first, cell_folder)
    first.results_view.select_next_flagged(0)
    changed = selected(first)
    first.review_selected(other_class(changed))
    confirmed = selected(first)
    first.confirm_selected()
    saved = {str(cell.record.path): first.results_model.review_of(cell) for cell in (changed, confirmed)}
    # The window is closed without an export (as a crash would end it); the reviews are on disk already.
    first.close()
    # The confirmed cell's file is replaced by other bytes: its review must not come back.
    replaced = confirmed.record.path
    replaced.write_bytes(replaced.read_bytes() + b"\0")

    second = make_window(fake_classifier())
    run_folder(qtbot, second, cell_folder)
    model = second.results_model
    assert {key: review.class_name for key, review in model.reviews().items()} == {
        str(changed.record.path): other_class(changed)
    }
    restored = model.reviews()[str(changed.record.path)]
    assert restored.at == saved[str(changed.record.path)].at.replace(microsecond=0)  # its time, not now
    assert second.current_summary().reviewed == 1 and second.current_summary().changed == 1
    assert second.results_view.progress.label.text().endswith("1 saved review restored")
    # Undoing it rewrites the store: the next opening restores nothing.
    row = model.row_of(next(p for p in model.predictions() if p.record.path == changed.record.path))
    second.results_view.select_proxy_row(second.proxy.mapFromSource(model.index(row, 0)).row())
    second.review_selected(None)
    second.close()
    third = make_window(fake_classifier())
    run_folder(qtbot, third, cell_folder)
    assert third.results_model.reviews() == {}


def review_two_cells(qtbot, window, folder, sample: SampleDetails | None = None) -> list:
    """Open ``folder``, change one flagged cell and confirm the next; return both predictions."""
    run_folder(qtbot, window, folder)
    if sample is not None:
        window.set_sample_details(sample)
    window.results_view.select_next_flagged(0)
    changed = selected(window)
    window.review_selected(other_class(changed))
    confirmed = selected(window)
    window.confirm_selected()
    window.close()
    return [changed, confirmed]


MOVED_SAMPLE = SampleDetails("S-2026-0099", "moved to the archive")


def test_a_moved_folder_gets_its_reviews_and_sample_details_back(qtbot, make_window, fake_classifier, cell_folder):
    # Reviewed at one path, then moved (or reached under another drive letter).
    changed, confirmed = review_two_cells(qtbot, make_window(fake_classifier()), cell_folder, MOVED_SAMPLE)
    moved = cell_folder.parent / "archive" / "renamed"
    moved.parent.mkdir()
    shutil.move(cell_folder, moved)

    second = make_window(fake_classifier())
    run_folder(qtbot, second, moved)
    assert {key: review.class_name for key, review in second.results_model.reviews().items()} == {
        str(moved / changed.record.relpath): other_class(changed),
        str(moved / confirmed.record.relpath): confirmed.predicted,
    }
    assert second.sample_details() == MOVED_SAMPLE
    assert second.windowTitle() == f"S-2026-0099 · {moved} – HemoLens"
    assert second.results_view.progress.label.text().endswith(
        f"2 saved reviews restored (2 of them saved when these files were in {cell_folder.resolve()})"
    )
    # Saved under the new path at once: the old path's file is no longer needed.
    second.review_keeper.store.path_for(cell_folder).unlink()
    second.close()
    third = make_window(fake_classifier())
    run_folder(qtbot, third, moved)
    assert len(third.results_model.reviews()) == 2 and third.sample_details() == MOVED_SAMPLE
    assert third.results_view.progress.label.text().endswith("2 saved reviews restored")


def test_after_a_move_a_replaced_file_keeps_its_review_and_the_sample_details_behind(
    qtbot, make_window, fake_classifier, cell_folder
):
    changed, confirmed = review_two_cells(qtbot, make_window(fake_classifier()), cell_folder, MOVED_SAMPLE)
    moved = cell_folder.parent / "renamed"
    shutil.move(cell_folder, moved)
    replaced = moved / confirmed.record.relpath  # other bytes under the same name
    replaced.write_bytes(replaced.read_bytes() + b"\0")
    second = make_window(fake_classifier())
    run_folder(qtbot, second, moved)
    assert list(second.results_model.reviews()) == [str(moved / changed.record.relpath)]
    # Not every reviewed file came along: the folder may not be the same specimen's.
    assert second.sample_details() == SampleDetails()


def test_a_copy_gets_the_reviews_but_not_the_sample_and_undone_reviews_stay_undone(
    qtbot, make_window, fake_classifier, cell_folder, tmp_path
):
    review_two_cells(qtbot, make_window(fake_classifier()), cell_folder, MOVED_SAMPLE)
    copy = tmp_path / "copy"
    shutil.copytree(cell_folder, copy)  # the original stays where it was
    second = make_window(fake_classifier())
    run_folder(qtbot, second, copy)
    assert len(second.results_model.reviews()) == 2
    assert second.sample_details() == SampleDetails()  # two folders now: which specimen each holds is the user's word
    for path in list(second.results_model.reviews()):
        restored = next(pred for pred in second.results_model.predictions() if str(pred.record.path) == path)
        second.results_view.select_proxy_row(proxy_row_of(second, restored))
        assert second.review_selected(None)  # undone in the copy
    second.close()
    third = make_window(fake_classifier())
    run_folder(qtbot, third, copy)
    assert third.results_model.reviews() == {}  # not brought back from the original
    fourth = make_window(fake_classifier())
    run_folder(qtbot, fourth, cell_folder)
    assert len(fourth.results_model.reviews()) == 2 and fourth.sample_details() == MOVED_SAMPLE  # untouched


def test_an_unreadable_reviews_file_is_said_and_set_aside(qtbot, make_window, fake_classifier, cell_folder):
    window = make_window(fake_classifier())
    store_file = window.review_keeper.store.path_for(cell_folder)
    store_file.parent.mkdir(parents=True, exist_ok=True)
    store_file.write_text("not json", encoding="utf-8")
    run_folder(qtbot, window, cell_folder)
    text = window.results_view.progress.label.text()
    assert "could not be restored" in text and "unreadable.json" in text
    assert not store_file.exists() and store_file.with_suffix(".unreadable.json").exists()
    # The whole note, path and all, stays above the results to read and copy (the status bar cut it at "/root/…").
    banner = window.results_view.reviews_warning
    assert banner.isVisible() and str(store_file.with_suffix(".unreadable.json")) in banner.text()
    assert banner.text_label.wordWrap()
    window.results_view.select_next_flagged(0)
    assert window.confirm_selected() and store_file.exists()  # reviewing goes on, and is saved again
    # A second unreadable file keeps the first one's copy.
    store_file.write_text("also not json", encoding="utf-8")
    second = make_window(fake_classifier())
    run_folder(qtbot, second, cell_folder)
    kept = sorted(p.read_text(encoding="utf-8") for p in store_file.parent.glob("*.unreadable.json"))
    assert kept == ["also not json", "not json"]


def test_a_review_that_cannot_be_saved_is_said(qtbot, reviewing, monkeypatch):
    from hemoapp.core.review_store import ReviewStoreError

    def refuse(*_args):
        raise ReviewStoreError("could not save the reviews in /x: Read-only file system")

    monkeypatch.setattr(reviewing.review_keeper.store, "save", refuse)
    assert reviewing.confirm_selected()  # the review stands in the window
    assert reviewing.results_model.reviews()
    message = reviewing.statusBar().currentMessage()
    assert "Reviews are not being saved" in message and "Read-only" in message


@pytest.mark.parametrize("tab", [Tab.TABLE, Tab.GALLERY])
def test_the_arrow_keys_go_on_from_the_cell_that_f3_selected(qtbot, reviewing, tab):
    """After F3 (or the move to the next flagged cell after a review), Down or Right shows its neighbour."""
    window = reviewing
    view = window.results_view
    view.tabs.setCurrentIndex(tab)
    view.select_proxy_row(0)  # a cell clicked first, far from the flagged one F3 finds
    window.actions.next_flagged.trigger()
    window.actions.next_flagged.trigger()  # the second flagged cell, further from the clicked one
    row = proxy_row_of(window, selected(window))
    assert row > 1
    cells = view.table if tab == Tab.TABLE else view.gallery
    qtbot.keyClick(cells, Qt.Key.Key_Down if tab == Tab.TABLE else Qt.Key.Key_Right)
    assert proxy_row_of(window, selected(window)) == row + 1
