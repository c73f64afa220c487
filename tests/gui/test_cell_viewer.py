"""The enlarged cell window: opens on the selected cell, follows the selection, reviews there too."""

from __future__ import annotations

import os
import sys

import pytest
from PySide6.QtCore import QPoint, QSize, Qt

from hemoapp.core.contract import CLASS_NAMES, display_name
from hemoapp.core.review import current_user
from hemoapp.gui.filter_proxy import FlagFilter
from hemoapp.gui.table_model import Flag
from hemotest.qt import run_folder


def _open_on_first_flagged(qtbot, window):
    window.results_view.select_next_flagged(0)
    window.actions.enlarge_cell.trigger()
    viewer = window.cell_viewer
    assert viewer.isVisible()
    qtbot.waitUntil(lambda: viewer.image_view.pixmap() is not None, timeout=5000)
    return viewer


def test_enlarged_cell_is_shown_at_full_size_and_follows_the_selection(qtbot, make_window, fake_classifier,
                                                                         cell_folder):
    window = make_window(fake_classifier())
    run_folder(qtbot, window, cell_folder)
    viewer = _open_on_first_flagged(qtbot, window)
    cell = window.results_view.current_prediction()
    assert viewer.prediction() is cell
    assert viewer.caption.text().startswith(f"{cell.record.relpath} · {display_name(cell.predicted)}")
    # The analyser's 360 px image is decoded whole (the detail panel's is smaller) and drawn larger than the file.
    pixmap = viewer.image_view.pixmap()
    assert max(pixmap.width(), pixmap.height()) >= 360
    assert viewer.image_view._target_rect().width() > pixmap.width()
    assert viewer.image_view.region_rect() is not None  # the analysed region outlined

    window.results_view.select_next_flagged()
    following = window.results_view.current_prediction()
    assert following is not cell and viewer.prediction() is following
    qtbot.waitUntil(lambda: viewer.image_view.pixmap() is not None, timeout=5000)

    window.actions.enlarge_cell.trigger()  # the same key closes it
    assert not viewer.isVisible()
    window.results_view.select_proxy_row(0)
    assert viewer.prediction() is None  # a closed viewer does not decode what is selected


def test_review_keys_work_in_the_enlarged_cell_window(qtbot, make_window, fake_classifier, cell_folder):
    window = make_window(fake_classifier())
    run_folder(qtbot, window, cell_folder)
    viewer = _open_on_first_flagged(qtbot, window)
    cell = viewer.prediction()
    other = next(name for name in CLASS_NAMES if name != cell.predicted)
    # It takes the focus when it opens: nothing in it is focusable, and without the focus the keys do nothing.
    qtbot.waitUntil(lambda: viewer.hasFocus(), timeout=2000)
    qtbot.keyClicks(viewer, str(CLASS_NAMES.index(other) + 1))
    assert window.results_model.review_of(cell).class_name == other
    # The window moved on to the next flagged cell, and the viewer with it; going back shows the review.
    assert viewer.prediction() is not cell and window.results_model.needs_review(viewer.prediction())
    qtbot.keyClick(viewer, Qt.Key.Key_Return)
    confirmed = [p for p in window.results_model.predictions() if window.results_model.review_of(p)]
    assert len(confirmed) == 2
    model = window.results_model
    window.results_view.select_proxy_row(window.proxy.mapFromSource(model.index(model.row_of(cell), 0)).row())
    assert viewer.prediction() is cell
    assert viewer.caption.text().endswith(f"changed to {display_name(other)} by {current_user()}")


def test_double_click_on_the_detail_image_opens_it_and_unreadable_files_say_why(qtbot, make_window, fake_classifier,
                                                                                 cell_folder):
    window = make_window(fake_classifier())
    run_folder(qtbot, window, cell_folder)
    window.results_view.filter_bar.set_flag_filter(FlagFilter.ERRORS)
    window.results_view.select_proxy_row(0)
    broken = window.results_view.current_prediction()
    assert window.results_model.flag_of(broken) == Flag.ERROR
    image = window.results_view.detail.image_view
    qtbot.mouseDClick(image, Qt.MouseButton.LeftButton, pos=QPoint(image.width() // 2, image.height() // 2))
    viewer = window.cell_viewer
    assert viewer.isVisible() and viewer.prediction() is broken
    assert "could not be classified" in viewer.caption.text()
    qtbot.waitUntil(lambda: image_placeholder(viewer).startswith("Cannot show this image"), timeout=5000)
    assert viewer.image_view.pixmap() is None


def image_placeholder(viewer) -> str:
    return viewer.image_view._placeholder


def test_a_file_replaced_since_it_was_classified_is_not_shown_beside_its_prediction(
        qtbot, make_window, fake_classifier, cell_folder):
    window = make_window(fake_classifier())
    run_folder(qtbot, window, cell_folder)
    view = window.results_view
    view.select_proxy_row(0)
    qtbot.waitUntil(lambda: view.detail.image_view.pixmap() is not None, timeout=5000)  # no decode running now
    proxy = view._proxy
    target = window.results_model.prediction_at(proxy.mapToSource(proxy.index(1, 0)).row())
    other = window.results_model.prediction_at(proxy.mapToSource(proxy.index(2, 0)).row())
    target.record.path.write_bytes(other.record.path.read_bytes())  # same name, another cell's bytes
    view.select_proxy_row(1)
    assert view.current_prediction() is target
    window.actions.enlarge_cell.trigger()
    changed = "Cannot show this image: the file has changed since it was classified"
    for image_view in (view.detail.image_view, window.cell_viewer.image_view):
        qtbot.waitUntil(lambda image_view=image_view: image_view._placeholder == changed, timeout=5000)
        assert image_view.pixmap() is None


def test_the_enlarged_cell_window_opens_the_size_it_was_left(qtbot, make_window, fake_classifier, cell_folder,
                                                             isolated_settings):
    window = make_window(fake_classifier())
    run_folder(qtbot, window, cell_folder)
    viewer = _open_on_first_flagged(qtbot, window)
    default_size = viewer.size()
    left = QSize(default_size.width() - 100, default_size.height() - 80)
    viewer.resize(left)
    qtbot.waitUntil(lambda: viewer.size() == left, timeout=2000)
    qtbot.keyClick(viewer, Qt.Key.Key_Escape)  # closed by the key a reviewer uses
    assert not viewer.isVisible() and isolated_settings.viewer_geometry() is not None

    later = make_window(fake_classifier(), settings=isolated_settings)  # e.g. the next day
    run_folder(qtbot, later, cell_folder)
    reopened = _open_on_first_flagged(qtbot, later)
    assert reopened.size() == left != default_size


@pytest.mark.skipif(sys.platform != "linux", reason="only Linux file systems take names that are not UTF-8")
def test_a_file_whose_name_is_not_utf8_is_shown_and_named_as_in_the_table(qtbot, make_window, fake_classifier,
                                                                          cell_folder):
    """Its name reaches Python with a lone surrogate, which a Qt string cannot hold: "Loading…" stayed for ever."""
    source = next(cell_folder.glob("*/*.jpg"))
    odd = os.fsdecode(os.fsencode(source.parent) + b"/odd\xffname.jpg")
    os.rename(source, odd)
    window = make_window(fake_classifier())
    run_folder(qtbot, window, cell_folder)
    view = window.results_view
    model = window.results_model
    cell = next(p for p in model.predictions() if str(p.record.path) == odd)
    view.select_proxy_row(window.proxy.mapFromSource(model.index(model.row_of(cell), 0)).row())
    assert view.current_prediction() is cell
    window.actions.enlarge_cell.trigger()
    for image_view in (view.detail.image_view, window.cell_viewer.image_view):
        qtbot.waitUntil(lambda image_view=image_view: image_view.pixmap() is not None, timeout=5000)
    # Named as the table and the CSV name it, not with a replacement character.
    assert view.detail.title_label.text() == "odd\\xffname.jpg"
    assert view.detail.path_value.text().endswith("/odd\\xffname.jpg")
