"""File > Sample ID and Comment: entered once per folder, kept with its reviews, in every export."""

from __future__ import annotations

import json

from PySide6.QtCore import Qt

from hemoapp.core.review_store import ReviewStoreError
from hemoapp.core.sample import MAX_COMMENT, MAX_SAMPLE_ID, SampleDetails
from hemoapp.gui.controllers import export as export_module
from hemoapp.gui.controllers import review as review_module
from hemoapp.gui import report_pdf
from hemoapp.gui.table_model import Flag
from hemoapp.gui.widgets.sample_dialog import SampleDetailsDialog
from hemotest.predictions import rows_of
from hemotest.qt import run_folder

SAMPLE = SampleDetails("S-2026/0042", "Smear partly haemolysed.\nRecount later.")


def answer_dialog(monkeypatch, *answers):
    """Make the sample dialog give ``answers`` in turn (``None``: cancelled); return what it was shown."""
    shown, replies = [], iter(answers)

    def fake_ask(_parent, current, folder=""):
        shown.append((current, folder))
        return next(replies)

    monkeypatch.setattr(review_module, "ask_sample_details", fake_ask)
    return shown


def test_the_dialog_cleans_what_is_typed(qtbot):
    dialog = SampleDetailsDialog(SampleDetails("old"), folder="/lab/cells")
    qtbot.addWidget(dialog)
    assert dialog.sample_id_edit.text() == "old" and dialog.sample_id_edit.maxLength() == MAX_SAMPLE_ID
    dialog.sample_id_edit.clear()
    qtbot.keyClicks(dialog.sample_id_edit, "  S-1   2 ")
    qtbot.keyClicks(dialog.comment_edit, "line one ")
    for _ in range(4):
        qtbot.keyClick(dialog.comment_edit, Qt.Key.Key_Return)
    qtbot.keyClicks(dialog.comment_edit, "line two  ")
    assert dialog.details() == SampleDetails("S-1 2", "line one\n\nline two")
    assert dialog.details().comment == "line one\n\nline two"
    qtbot.keyClicks(dialog.sample_id_edit, "x" * 100)
    assert len(dialog.sample_id_edit.text()) == MAX_SAMPLE_ID  # the field stops there
    assert dialog.comment_count.text().startswith(f"23 of {MAX_COMMENT} characters") and dialog.ok_button.isEnabled()


def test_enter_makes_a_new_line_in_the_comment_and_ctrl_enter_saves(qtbot):
    dialog = SampleDetailsDialog(SampleDetails("S-1"))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.activateWindow()  # shortcuts act in the active window
    qtbot.waitUntil(dialog.isActiveWindow, timeout=2000)
    dialog.comment_edit.setFocus()
    qtbot.keyClicks(dialog.comment_edit, "one")
    qtbot.keyClick(dialog.comment_edit, Qt.Key.Key_Return)
    qtbot.keyClicks(dialog.comment_edit, "two")
    assert dialog.isVisible() and dialog.comment_edit.toPlainText() == "one\ntwo"
    assert "Ctrl+Enter saves" in dialog.comment_count.text()
    with qtbot.waitSignal(dialog.accepted, timeout=2000):
        qtbot.keyClick(dialog.comment_edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert dialog.details() == SampleDetails("S-1", "one\ntwo")


def test_a_comment_too_long_is_refused_not_cut(qtbot):
    dialog = SampleDetailsDialog(SampleDetails())
    qtbot.addWidget(dialog)
    dialog.comment_edit.setPlainText("y" * (MAX_COMMENT + 1))
    assert not dialog.ok_button.isEnabled() and "shorten the comment" in dialog.comment_count.text()
    dialog.show()
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow, timeout=2000)
    qtbot.keyClick(dialog.comment_edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert dialog.isVisible() and dialog.result() != SampleDetailsDialog.DialogCode.Accepted  # not saved either
    qtbot.keyClick(dialog.comment_edit, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(dialog.comment_edit, Qt.Key.Key_Backspace)
    assert dialog.ok_button.isEnabled() and dialog.details().comment == "y" * MAX_COMMENT


def test_only_an_opened_folder_has_sample_details(qtbot, make_window, fake_classifier, cell_folder):
    window = make_window(fake_classifier())
    summary = window.results_view.summary
    assert not window.actions.sample_details.isEnabled()
    assert not window.set_sample_details(SAMPLE) and window.sample_details() == SampleDetails()
    assert "Open a folder first" in window.statusBar().currentMessage()
    run_folder(qtbot, window, cell_folder)
    assert window.actions.sample_details.isEnabled()
    assert window.windowTitle() == f"{cell_folder} – HemoLens"
    assert not summary.sample_label.isHidden() and summary.sample_label.text().startswith("Sample ID: not entered")


def test_entered_details_show_and_go_into_every_export(qtbot, make_window, fake_classifier, cell_folder, tmp_path,
                                                       monkeypatch):
    window = make_window(fake_classifier())
    run_folder(qtbot, window, cell_folder)
    shown = answer_dialog(monkeypatch, SAMPLE)
    qtbot.mouseClick(window.results_view.summary.sample_button, Qt.MouseButton.LeftButton)  # the summary tab's button
    assert shown == [(SampleDetails(), str(cell_folder))]
    assert window.sample_details() == SAMPLE
    assert window.windowTitle() == f"S-2026/0042 · {cell_folder} – HemoLens"
    assert window.results_view.summary.sample_label.text() == (
        "Sample ID: S-2026/0042\nComment: Smear partly haemolysed.\nRecount later."
    )
    assert "S-2026/0042 goes into the report" in window.statusBar().currentMessage()

    results = rows_of(window.export_results(tmp_path / "results.csv"))
    assert len(results) == window.results_model.rowCount() and {r["sample_id"] for r in results} == {"S-2026/0042"}
    summary = rows_of(window.export_summary(tmp_path / "summary.csv"))
    assert [(r["label"], r["value"]) for r in summary[:2]] == [
        ("Sample ID", "S-2026/0042"),
        ("Comment", SAMPLE.comment),
    ]
    contexts = []
    real_writer = report_pdf.write_summary_report
    monkeypatch.setattr(export_module, "write_summary_report",
                        lambda path, summary, info, context, *rest, **kw: contexts.append(context)
                        or real_writer(path, summary, info, context, *rest, **kw))
    report = window.export_report(tmp_path / "report.pdf")
    assert [context.sample for context in contexts] == [SAMPLE]
    # On every page's foot (the PDF's title, UTF-16 in the file): a loose page still names the specimen.
    assert f"HemoLens report: sample S-2026/0042, {cell_folder}".encode("utf-16-be") in report.read_bytes()


def test_changed_details_make_the_results_unexported_and_a_cancel_changes_nothing(
    qtbot, make_window, fake_classifier, cell_folder, tmp_path, monkeypatch
):
    window = make_window(fake_classifier())
    run_folder(qtbot, window, cell_folder)
    window.export_results(tmp_path / "results.csv")
    assert window.session.unexported_count() == 0
    answer_dialog(monkeypatch, None, SAMPLE, SAMPLE)
    window.actions.sample_details.trigger()  # cancelled
    assert window.sample_details() == SampleDetails() and window.session.unexported_count() == 0
    window.actions.sample_details.trigger()
    classified = window.results_model.rowCount() - window.results_model.flag_count(Flag.ERROR)
    assert window.session.unexported_count() == classified  # the CSV on disk has no sample ID
    window.export_results(tmp_path / "results.csv")
    window.actions.sample_details.trigger()  # the same details again: the CSV still has them
    assert window.session.unexported_count() == 0


def test_details_come_back_with_the_folder_and_not_with_another(
    qtbot, make_window, fake_classifier, cell_folder, other_folder, monkeypatch
):
    window = make_window(fake_classifier())
    run_folder(qtbot, window, cell_folder)
    window.set_sample_details(SAMPLE)
    stored = json.loads(window.review_keeper.store.path_for(cell_folder).read_text(encoding="utf-8"))
    assert stored["sample"] == {"sample_id": SAMPLE.sample_id, "comment": SAMPLE.comment}
    window.session.results_exported = True  # nothing to ask about when opening the next folder
    run_folder(qtbot, window, other_folder)
    assert window.sample_details() == SampleDetails() and window.windowTitle() == f"{other_folder} – HemoLens"
    again = make_window(fake_classifier(), settings=window.settings)  # a later session
    run_folder(qtbot, again, cell_folder)
    assert again.sample_details() == SAMPLE and again.windowTitle().startswith("S-2026/0042 · ")


def test_details_that_cannot_be_saved_are_said_and_still_exported(
    qtbot, make_window, fake_classifier, cell_folder, tmp_path, monkeypatch
):
    window = make_window(fake_classifier())
    run_folder(qtbot, window, cell_folder)

    def full_disk(*_args, **_kwargs):
        raise ReviewStoreError("could not save the reviews in x: No space left on device")

    monkeypatch.setattr(window.review_keeper.store, "save", full_disk)
    assert not window.set_sample_details(SAMPLE)
    assert "not being saved" in window.statusBar().currentMessage()
    assert {r["sample_id"] for r in rows_of(window.export_results(tmp_path / "r.csv"))} == {"S-2026/0042"}
