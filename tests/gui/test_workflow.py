"""Drive the real MainWindow: open a folder of real cells, read the table, filter, export."""

from __future__ import annotations

import csv
import hashlib
import shutil

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox

from hemoapp.core.contract import CLASS_NAMES, DISPLAY_NAMES, display_name
from hemoapp.core.export import PREDICTION_COLUMNS, utc_timestamp
from hemoapp.gui.controller import JobState
from hemoapp.gui.filter_proxy import FlagFilter
from hemoapp.gui.table_model import Column, Flag, Role
from hemoapp.gui.widgets.results_view import Tab
from hemotest.qt import run_folder

N_CELLS = 16  # cell_folder: 2 per class + one broken file


def cell_text(window, row, column):
    return window.proxy.index(row, column).data(Qt.ItemDataRole.DisplayRole)


def test_open_folder_fills_table_with_predictions_and_error_row(qtbot, make_window, fake_classifier, cell_folder):
    window = make_window(fake_classifier(), batch_size=5)
    assert run_folder(qtbot, window, cell_folder) == JobState.COMPLETED
    model = window.results_model
    assert model.rowCount() == N_CELLS + 1
    assert window.stack.currentWidget() is window.results_view
    rows = {cell_text(window, r, Column.FILE): r for r in range(window.proxy.rowCount())}
    assert "basophil/BA_10387.jpg" in rows
    broken = rows["zz_broken.jpg"]
    assert cell_text(window, broken, Column.FLAG) == "Error"
    assert cell_text(window, broken, Column.ERROR)  # a human-readable reason
    assert cell_text(window, broken, Column.PREDICTED) == "—"
    for name, row in rows.items():
        if name == "zz_broken.jpg":
            continue
        pred = window.proxy.index(row, 0).data(Role.PREDICTION)
        assert pred.ok and pred.predicted in CLASS_NAMES
        assert cell_text(window, row, Column.PREDICTED) == display_name(pred.predicted)
        assert cell_text(window, row, Column.PREDICTED) in DISPLAY_NAMES.values()
        # Rounded down, as everywhere a confidence is shown (a flagged cell never reads as the threshold).
        shown = float(cell_text(window, row, Column.CONFIDENCE).rstrip("%")) / 100
        assert pred.confidence - 0.001 < shown <= pred.confidence
    # the flag counts are always visible in the status bar
    review = model.flag_count(Flag.REVIEW)
    assert f"Flagged for review: {review}" in window.flagged_label.text()
    assert "Unreadable: 1" in window.flagged_label.text()
    # 16 cells classified; the corrupt file is counted apart, never as classified
    assert window.results_view.progress.label.text().startswith("Classified 16 images in ")
    assert window.results_view.progress.label.text().endswith("; 1 could not be read")
    assert window.actions.export_results.isEnabled()


def test_filters_by_class_flag_and_confidence(qtbot, make_window, fake_classifier, cell_folder):
    window = make_window(fake_classifier())
    run_folder(qtbot, window, cell_folder)
    bar, proxy = window.results_view.filter_bar, window.proxy
    first_class = proxy.index(0, 0).data(Role.CLASS_NAME)
    bar.set_class_filter(first_class)
    assert 0 < proxy.rowCount() < N_CELLS
    assert all(proxy.index(r, 0).data(Role.CLASS_NAME) == first_class for r in range(proxy.rowCount()))
    assert bar.count_label.text() == f"{proxy.rowCount()} of {N_CELLS + 1} shown"
    bar.set_class_filter(None)

    bar.set_flag_filter(FlagFilter.ERRORS)
    assert proxy.rowCount() == 1 and cell_text(window, 0, Column.FILE) == "zz_broken.jpg"
    bar.set_flag_filter(FlagFilter.REVIEW)
    flagged = window.results_model.flag_count(Flag.REVIEW)
    assert proxy.rowCount() == flagged > 0
    assert all(proxy.index(r, 0).data(Role.FLAG) == Flag.REVIEW for r in range(proxy.rowCount()))
    bar.set_flag_filter(FlagFilter.CONFIDENT)
    assert proxy.rowCount() == N_CELLS - flagged
    bar.set_flag_filter(FlagFilter.ALL)

    bar.min_spin.setValue(80.0)
    bar.max_spin.setValue(95.0)
    shown = [proxy.index(r, 0).data(Role.CONFIDENCE) for r in range(proxy.rowCount())]
    assert shown and all(0.8 <= c <= 0.95 for c in shown)
    bar.reset_button.click()
    assert proxy.rowCount() == N_CELLS + 1


def test_review_threshold_reflags_rows_and_updates_counts(qtbot, make_window, fake_classifier, cell_folder):
    window = make_window(fake_classifier())
    run_folder(qtbot, window, cell_folder)
    bar = window.results_view.filter_bar
    assert bar.review_threshold == pytest.approx(0.9)  # the card's default
    bar.set_review_threshold(0.0)
    assert window.results_model.flag_count(Flag.REVIEW) == 0
    assert "Flagged for review: 0" in window.flagged_label.text()
    bar.set_review_threshold(1.0)
    assert window.results_model.flag_count(Flag.REVIEW) == N_CELLS
    assert window.current_summary().flagged == N_CELLS
    # remembered per model for the next start
    info = window.classifier.info
    assert window.settings.review_threshold(info.sha256, 0.9) == pytest.approx(1.0)


def test_sorting_by_confidence(qtbot, make_window, fake_classifier, cell_folder):
    window = make_window(fake_classifier())
    run_folder(qtbot, window, cell_folder)
    window.results_view.table.sortByColumn(Column.CONFIDENCE, Qt.SortOrder.DescendingOrder)
    confidences = [window.proxy.index(r, Column.CONFIDENCE).data(Role.SORT) for r in range(window.proxy.rowCount())]
    assert confidences == sorted(confidences, reverse=True)
    assert confidences[-1] == -1.0  # the unreadable file sorts last


def test_export_results_and_summary_csv(qtbot, make_window, fake_classifier, cell_folder, tmp_path):
    window = make_window(fake_classifier())
    started = utc_timestamp()
    run_folder(qtbot, window, cell_folder)
    finished = utc_timestamp()
    qtbot.wait(1100)  # the export comes later: its time must not pass for the classification time
    out = window.export_results(tmp_path / "results.csv")
    with open(out, newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0].keys()) == list(PREDICTION_COLUMNS)
    assert len(rows) == N_CELLS + 1
    assert {r["model_name"] for r in rows} == {"fake-model"}
    assert {r["model_sha256"] for r in rows} == {"ab" * 32}
    assert {(r["calibration_temperature"], r["review_threshold"]) for r in rows} == {("1.0", "0.9")}
    by_file = {r["file"]: r for r in rows}
    assert by_file["zz_broken.jpg"]["flag"] == "error"
    table = {cell_text(window, r, Column.FILE): window.proxy.index(r, 0).data(Role.PREDICTION) for r in range(N_CELLS + 1)}
    for name, pred in table.items():
        if pred.ok:
            assert by_file[name]["predicted_class"] == pred.predicted
            # each row names the bytes it classified
            assert by_file[name]["file_sha256"] == hashlib.sha256(pred.record.path.read_bytes()).hexdigest()
    # classified_at is when the batch ran (ISO 8601 UTC strings sort by time), not when it was exported
    assert {r["classified_at"] for r in rows} == {rows[0]["classified_at"]}
    assert started <= rows[0]["classified_at"] <= finished
    summary = window.export_summary(tmp_path / "summary.csv")
    text = summary.read_text(encoding="utf-8-sig")
    assert "differential" in text and "fake-model" in text
    with open(summary, newline="", encoding="utf-8-sig") as handle:
        by_label = {r["label"]: r for r in csv.DictReader(handle)}
    assert by_label["Batch status"]["value"] == "completed"
    assert by_label["Image files found"]["count"] == str(N_CELLS + 1)
    assert by_label["Entries skipped"]["count"] == "0"
    assert by_label["Calibration temperature"]["value"] == "1.00"
    assert by_label["Images"]["count"] == str(N_CELLS + 1)


def test_results_csv_records_the_threshold_in_use(qtbot, make_window, fake_classifier, cell_folder, tmp_path):
    window = make_window(fake_classifier())
    run_folder(qtbot, window, cell_folder)
    window.results_view.filter_bar.set_review_threshold(0.75)
    with open(window.export_results(tmp_path / "r.csv"), newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert {r["review_threshold"] for r in rows} == {"0.75"}
    flagged = {r["file"] for r in rows if r["flag"] == "review"}
    assert flagged == {p.record.relpath for p in window.results_model.predictions() if p.ok and p.confidence < 0.75}


def test_skipped_entries_stay_visible_and_reach_the_summary(
    qtbot, make_window, fake_classifier, cell_folder, tmp_path
):
    (cell_folder / "basophil" / "loop").symlink_to(cell_folder, target_is_directory=True)  # a link back into the tree
    window = make_window(fake_classifier())
    assert run_folder(qtbot, window, cell_folder) == JobState.COMPLETED
    assert [relpath for relpath, _reason in window.session.scan.skipped] == ["basophil/loop"]
    text = window.results_view.progress.label.text()
    assert text.endswith("; 1 could not be read; 1 entry skipped")
    assert window.statusBar().currentMessage() == text
    with open(window.export_summary(tmp_path / "s.csv"), newline="", encoding="utf-8-sig") as handle:
        by_label = {r["label"]: r for r in csv.DictReader(handle)}
    assert by_label["Entries skipped"]["count"] == "1"
    assert by_label["Entries skipped that could not be read"]["count"] == "0"  # the loop was left out on purpose


def test_export_dialog_asks_before_overwriting(qtbot, make_window, fake_classifier, cell_folder, tmp_path, monkeypatch):
    window = make_window(fake_classifier())
    run_folder(qtbot, window, cell_folder)
    target = tmp_path / "existing.csv"
    target.write_text("keep me")
    options_seen = []

    def fake_save(*args, **kwargs):
        options_seen.append(kwargs.get("options"))
        return str(target), "CSV files (*.csv)"

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(fake_save))
    questions = []
    answer = [QMessageBox.StandardButton.No]

    def fake_question(*args, **kwargs):
        questions.append(args[2])
        return answer[0]

    monkeypatch.setattr(QMessageBox, "question", staticmethod(fake_question))
    window.actions.export_results.trigger()
    assert target.read_text() == "keep me"  # declined: untouched
    assert len(questions) == 1 and "existing.csv" in questions[0]
    assert options_seen[0] & QFileDialog.Option.DontConfirmOverwrite  # exactly one question, ours
    answer[0] = QMessageBox.StandardButton.Yes
    window.actions.export_results.trigger()
    assert target.read_text(encoding="utf-8-sig").startswith("file,")


def test_selection_shows_detail_and_gallery_follows(qtbot, make_window, fake_classifier, cell_folder):
    window = make_window(fake_classifier())
    run_folder(qtbot, window, cell_folder)
    view = window.results_view
    view.select_proxy_row(2)
    pred = window.proxy.index(2, 0).data(Role.PREDICTION)
    assert view.detail.title_label.text() == pred.record.path.name
    assert len(view.detail.chart.bars()) == len(CLASS_NAMES)
    assert [b.class_name for b in view.detail.chart.bars() if b.emphasized] == [pred.predicted]
    digest = hashlib.sha256(pred.record.path.read_bytes()).hexdigest()
    assert view.detail.digest_value.text().replace(" ", "") == digest
    assert view.gallery.selectionModel().selectedIndexes()[0].row() == 2
    qtbot.waitUntil(lambda: view.detail.image_view.pixmap() is not None, timeout=5000)
    assert "px" in view.detail.dimensions_value.text()
    # gallery → table
    view.gallery.selectionModel().select(
        window.proxy.index(4, 0), view.gallery.selectionModel().SelectionFlag.ClearAndSelect
    )
    assert view.table.selectionModel().selectedRows()[0].row() == 4
    window.actions.show_gallery.trigger()
    assert view.tabs.currentIndex() == Tab.GALLERY
    window.actions.show_summary.trigger()
    assert view.summary.summary() is not None and view.summary.summary().total == N_CELLS + 1
    # thumbnails arrive off the GUI thread
    qtbot.waitUntil(lambda: window.proxy.index(0, 0).data(Role.THUMBNAIL) is not None, timeout=5000)


def test_next_flagged_selects_a_review_row(qtbot, make_window, fake_classifier, cell_folder):
    window = make_window(fake_classifier())
    run_folder(qtbot, window, cell_folder)
    window.actions.next_flagged.trigger()
    assert window.results_view.current_prediction() is not None
    assert window.results_model.flag_of(window.results_view.current_prediction()) == Flag.REVIEW


def test_real_tiny_model_end_to_end(qtbot, make_window, cell_folder, tiny_classifier, tmp_path):
    """The real LiteRT path: a tiny exported model, real decoding, real export."""
    window = make_window(tiny_classifier)
    assert run_folder(qtbot, window, cell_folder) == JobState.COMPLETED
    assert window.results_model.rowCount() == N_CELLS + 1
    assert window.model_label.text() == f"Model: {tiny_classifier.info.name} {tiny_classifier.info.version}"
    out = window.export_results(tmp_path / "tiny.csv")
    rows = list(csv.DictReader(open(out, newline="", encoding="utf-8-sig")))
    assert {r["model_sha256"] for r in rows} == {tiny_classifier.info.sha256}


def test_open_images_list(qtbot, make_window, fake_classifier, cell_folder):
    window = make_window(fake_classifier())
    files = sorted(cell_folder.glob("*/*.jpg"))[:3]
    with qtbot.waitSignal(window.controller.job_finished, timeout=20_000):
        assert window.open_files(files)
    assert window.results_model.rowCount() == 3


def test_folder_without_images(qtbot, make_window, fake_classifier, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    shutil.copyfile(__file__, empty / "notes.txt")
    window = make_window(fake_classifier())
    assert run_folder(qtbot, window, empty) == JobState.COMPLETED
    assert window.results_model.rowCount() == 0
    assert "No images found" in window.results_view.progress.label.text()


def test_detail_outlines_the_analysed_region_for_classified_cells_only(qtbot, make_window, fake_classifier, cell_folder):
    window = make_window(fake_classifier())
    run_folder(qtbot, window, cell_folder)
    view = window.results_view
    ok_row = next(r for r in range(window.proxy.rowCount()) if window.proxy.index(r, 0).data(Role.PREDICTION).ok)
    view.select_proxy_row(ok_row)
    qtbot.waitUntil(lambda: view.detail.image_view.pixmap() is not None, timeout=5000)
    assert view.detail.image_view.region_rect() is not None
