"""The heatmap switch in the detail panel and the enlarged cell: computed only when switched on, at the picture's size."""

from __future__ import annotations

from PIL import Image

from hemotest.qt import run_folder
from hemotest.shipped_models import copy_shipped_models


def shipped_classifier(models):
    from hemoapp.core.classifier import Classifier

    return Classifier(models / "hemolens-lite0.tflite", num_threads=1)


def test_the_heatmap_is_drawn_over_the_picture_when_switched_on(qtbot, make_window, cell_folder, repo_root):
    window = make_window(classifier=shipped_classifier(repo_root / "models"))
    run_folder(qtbot, window, cell_folder)
    prediction = window.results_model.prediction_at(0)
    panel = window.results_view.detail
    assert panel.heatmap.isVisibleTo(window)
    panel.set_prediction(prediction)
    qtbot.waitUntil(lambda: panel.image_view.pixmap() is not None, timeout=10_000)
    assert panel.heatmap.source()._sidecar is None  # nothing loaded or computed while it is off
    panel.heatmap.toggle.setChecked(True)
    size = Image.open(prediction.record.path).size
    assert (panel.image_view.pixmap().width(), panel.image_view.pixmap().height()) == size
    assert panel.heatmap.note.text().startswith("Where the model looked")
    panel.heatmap.opacity.setValue(90)
    panel.heatmap.toggle.setChecked(False)
    assert not panel.heatmap.note.isVisibleTo(window)


def test_a_sidecar_for_another_model_gives_no_heatmap_and_says_why(qtbot, make_window, cell_folder, repo_root,
                                                                   tmp_path):
    model = copy_shipped_models(repo_root, tmp_path / "models", sidecar="another model")
    window = make_window(classifier=shipped_classifier(model.parent))
    run_folder(qtbot, window, cell_folder)
    panel = window.results_view.detail
    panel.set_prediction(window.results_model.prediction_at(0))
    panel.heatmap.toggle.setChecked(True)
    assert "another model" in panel.heatmap.note.text()
    # The enlarged cell says so too, and keeps the picture.
    window.results_view.select_proxy_row(0)
    window.actions.enlarge_cell.trigger()
    viewer = window.cell_viewer
    qtbot.waitUntil(lambda: viewer.image_view.pixmap() is not None, timeout=10_000)
    viewer.heatmap.toggle.setChecked(True)
    assert "another model" in viewer.heatmap.note.text()
    assert viewer.image_view.pixmap() is not None

def _pixels(pixmap):
    image = pixmap.toImage().convertToFormat(pixmap.toImage().Format.Format_RGB888)
    return bytes(image.constBits())


def test_the_enlarged_cell_has_the_heatmap_switch_and_follows_the_selection(qtbot, make_window, cell_folder,
                                                                           repo_root):
    window = make_window(classifier=shipped_classifier(repo_root / "models"))
    run_folder(qtbot, window, cell_folder)
    window.results_view.select_proxy_row(0)
    window.actions.enlarge_cell.trigger()
    viewer = window.cell_viewer
    qtbot.waitUntil(lambda: viewer.image_view.pixmap() is not None, timeout=10_000)
    assert viewer.heatmap.isVisibleTo(viewer) and not viewer.heatmap.opacity.isEnabled()
    # One source for both views, and nothing loaded or computed while the switch is off.
    assert viewer.heatmap.source() is window.results_view.detail.heatmap.source()
    assert viewer.heatmap.source()._sidecar is None
    plain = _pixels(viewer.image_view.pixmap())

    viewer.heatmap.toggle.setChecked(True)
    cell = viewer.prediction()
    shown = viewer.image_view.pixmap()
    assert (shown.width(), shown.height()) == Image.open(cell.record.path).size
    assert _pixels(shown) != plain
    assert viewer.heatmap.note.text().startswith("Where the model looked")
    faint = _pixels(shown)
    viewer.heatmap.opacity.setValue(100)
    assert _pixels(viewer.image_view.pixmap()) != faint

    # The next cell gets its own heatmap while the switch stays on.
    window.results_view.select_proxy_row(1)
    following = viewer.prediction()
    assert following is not cell
    qtbot.waitUntil(lambda: viewer.image_view.pixmap() is not None, timeout=10_000)
    assert viewer.heatmap.on and viewer.heatmap.note.text().startswith("Where the model looked")
    assert viewer.heatmap.source()._sidecar is not None

    viewer.heatmap.toggle.setChecked(False)
    assert not viewer.heatmap.note.isVisibleTo(viewer)
    again = _pixels(viewer.image_view.pixmap())
    viewer.heatmap.toggle.setChecked(True)
    assert _pixels(viewer.image_view.pixmap()) != again

