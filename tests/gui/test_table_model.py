"""The results model, its filter proxy and the small formatting helpers (no window)."""

from __future__ import annotations

import hashlib

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QListView, QTableView

from hemoapp.core.contract import CLASS_NAMES
from hemoapp.gui.delegates import ConfidenceBarDelegate, GalleryDelegate
from hemoapp.gui.filter_proxy import FlagFilter, ResultsFilterProxy
from hemoapp.gui.table_model import Column, Flag, ResultsModel, Role
from hemoapp.gui.widgets.detail_panel import format_bytes, format_digest
from hemoapp.gui.widgets.progress_bar import finished_text, format_duration, progress_text
from hemotest.predictions import cell, unreadable






@pytest.fixture()
def model(qapp):
    model = ResultsModel(review_threshold=0.9)
    model.append_predictions([cell("a.jpg", 0, 0.95), cell("b.jpg", 6, 0.6), unreadable("c.jpg")])
    model.append_predictions([cell("d.jpg", 7, 0.99), cell("e.jpg", 6, 0.85)])
    return model


def test_one_rows_inserted_per_batch(qtbot, qapp):
    model = ResultsModel()
    with qtbot.waitSignals([model.rowsInserted], timeout=100):
        model.append_predictions([cell(f"{i}.jpg", i % 8, 0.9) for i in range(32)])
    inserted = []
    model.rowsInserted.connect(lambda *args: inserted.append(args[1:]))
    model.append_predictions([cell(f"n{i}.jpg", 1, 0.9) for i in range(5)])
    assert inserted == [(32, 36)]


def test_display_roles_and_flags(model):
    assert model.rowCount() == 5 and model.columnCount() == len(Column)
    assert model.index(1, Column.PREDICTED).data() == "Neutrophil"
    assert model.index(1, Column.CONFIDENCE).data() == "60.0%"
    assert model.index(1, Column.FLAG).data() == "Review"
    assert model.index(2, Column.FLAG).data() == "Error"
    assert model.index(2, Column.ERROR).data() == "the image data is damaged"
    assert model.index(3, Column.PREDICTED).data() == "Platelet"
    assert model.index(0, 0).data(Role.CLASS_NAME) == CLASS_NAMES[0]
    assert model.flag_count(Flag.REVIEW) == 2 and model.flag_count(Flag.ERROR) == 1
    assert model.headerData(Column.CONFIDENCE, Qt.Orientation.Horizontal) == "Confidence"


def test_threshold_change_is_one_data_changed(qtbot, model):
    changes = []
    model.dataChanged.connect(lambda top, bottom, roles: changes.append((top.row(), bottom.row())))
    model.set_review_threshold(0.5)
    assert changes == [(0, 4)]
    assert model.flag_count(Flag.REVIEW) == 0
    model.set_review_threshold(0.5)  # unchanged: no signal
    assert len(changes) == 1


def test_proxy_filters(model):
    proxy = ResultsFilterProxy()
    proxy.setSourceModel(model)
    proxy.set_class_filter("neutrophil")
    assert [proxy.index(r, Column.FILE).data() for r in range(proxy.rowCount())] == ["b.jpg", "e.jpg"]
    proxy.set_class_filter(None)
    proxy.set_flag_filter(FlagFilter.REVIEW)
    assert proxy.rowCount() == 2
    proxy.set_flag_filter(FlagFilter.ERRORS)
    assert proxy.rowCount() == 1
    proxy.set_flag_filter(FlagFilter.CONFIDENT)
    assert proxy.rowCount() == 2
    proxy.set_flag_filter(FlagFilter.ALL)
    proxy.set_confidence_range(0.9, 1.0)
    assert sorted(proxy.index(r, Column.FILE).data() for r in range(proxy.rowCount())) == ["a.jpg", "d.jpg"]
    proxy.set_confidence_range(0.0, 1.0)
    model.set_review_threshold(0.0)
    proxy.set_flag_filter(FlagFilter.REVIEW)
    proxy.refresh()
    assert proxy.rowCount() == 0
    proxy.sort(Column.CONFIDENCE, Qt.SortOrder.AscendingOrder)
    proxy.set_flag_filter(FlagFilter.ALL)
    assert [proxy.index(r, Column.FILE).data() for r in range(proxy.rowCount())] == [
        "c.jpg", "b.jpg", "e.jpg", "a.jpg", "d.jpg"
    ]


def test_delegates_paint_without_errors(qtbot, model):
    proxy = ResultsFilterProxy()
    proxy.setSourceModel(model)
    table = QTableView()
    table.setModel(proxy)
    table.setItemDelegateForColumn(Column.CONFIDENCE, ConfidenceBarDelegate(table))
    gallery = QListView()
    gallery.setModel(proxy)
    gallery.setViewMode(QListView.ViewMode.IconMode)
    gallery.setItemDelegate(GalleryDelegate(96, gallery))
    for view in (table, gallery):
        qtbot.addWidget(view)
        view.resize(600, 400)
        assert not view.grab().isNull()


def test_formatting_helpers():
    assert format_duration(4.26) == "4.3 s"
    assert format_duration(42) == "42 s"
    assert format_duration(185) == "3 min 05 s"
    assert format_duration(3725) == "1 h 02 min"
    assert progress_text(0, 10, 0.0) == "0 / 10 images · starting…"
    assert progress_text(32, 64, 2.0) == "32 / 64 images · 16.0 images/s · about 2.0 s left"
    assert progress_text(64, 64, 4.0) == "64 / 64 images · 16.0 images/s"
    assert finished_text("cancelled", 3, 9, 1.0) == "Cancelled: 3 of 9 images processed and kept"
    assert finished_text("cancelled", 3, 9, 1.0, unreadable=1) == (
        "Cancelled: 3 of 9 images processed and kept; 1 could not be read"
    )
    assert finished_text("completed", 10, 10, 2.0, unreadable=3) == "Classified 7 images in 2.0 s; 3 could not be read"
    assert finished_text("completed", 0, 0, 0.0) == "No images found"
    assert finished_text("failed", 0, 9, 1.0, "boom") == "Stopped: boom"
    # entries the scan skipped stay in the finished line (the status bar message is transient)
    assert finished_text("completed", 10, 10, 2.0, unreadable=3, skipped=2) == (
        "Classified 7 images in 2.0 s; 3 could not be read; 2 entries skipped"
    )
    assert finished_text("completed", 0, 0, 0.0, skipped=1) == "No images found; 1 entry skipped"
    assert finished_text("cancelled", 3, 9, 1.0, skipped=4) == (
        "Cancelled: 3 of 9 images processed and kept; 4 entries skipped"
    )
    assert finished_text("failed", 0, 9, 1.0, "boom", skipped=1) == "Stopped: boom; 1 entry skipped"
    assert format_bytes(812) == "812 B" and format_bytes(35_200) == "35.2 kB" and format_bytes(4_100_000) == "4.1 MB"
    digest = hashlib.sha256(b"cell").hexdigest()
    grouped = format_digest(digest)
    assert grouped.split() == [digest[0:16], digest[16:32], digest[32:48], digest[48:64]]
    assert format_digest(None) == format_digest("") == "—"  # unreadable file: no digest


def test_a_batch_arrives_with_its_saved_reviews_in_one_insert(qtbot, qapp):
    from hemoapp.core.review import Review, review_key

    model = ResultsModel()
    batch = [cell("a.jpg", 0, 0.5), cell("b.jpg", 1, 0.95)]
    other = cell("elsewhere.jpg", 2, 0.9)
    inserted, changed = [], []
    model.rowsInserted.connect(lambda *args: inserted.append(args[1:]))
    model.reviews_changed.connect(lambda: changed.append(True))
    model.append_predictions(batch, {review_key(batch[0]): Review("neutrophil"), review_key(other): Review("basophil")})
    assert inserted == [(0, 1)] and changed == []  # one insert; nothing was reviewed
    assert model.review_of(batch[0]).class_name == "neutrophil"
    assert list(model.reviews()) == [review_key(batch[0])]  # a review of no row here is not kept
    assert model.unreviewed_flagged_count() == 0


def test_the_review_threshold_has_one_owner(qtbot, qapp):
    from hemoapp.gui.review_threshold import ReviewThreshold
    from hemoapp.gui.thumbnails import ThumbnailCache
    from hemoapp.gui.widgets.results_view import ResultsView

    threshold = ReviewThreshold()
    assert threshold.value == pytest.approx(0.9)  # the model card's default
    model = ResultsModel(review_threshold=threshold)
    model.append_predictions([cell("a.jpg", 0, 0.7)])
    view = ResultsView(model, ResultsFilterProxy(), ThumbnailCache(max_side=96))
    with qtbot.waitSignal(threshold.changed, timeout=100):
        view.filter_bar.set_review_threshold(0.5)
    assert model.review_threshold == pytest.approx(0.5) and model.flag_count(Flag.REVIEW) == 0
    threshold.set_value(0.8)
    assert view.filter_bar.threshold_spin.value() == 80 and model.flag_count(Flag.REVIEW) == 1
