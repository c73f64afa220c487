"""The heatmap switch in the detail panel: computed only when switched on, at the picture's size."""

from __future__ import annotations

import json
import shutil

from PIL import Image

from hemotest.qt import run_folder


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
    assert panel._heatmap_source._sidecar is None  # nothing loaded or computed while it is off
    panel.heatmap.toggle.setChecked(True)
    size = Image.open(prediction.record.path).size
    assert (panel.image_view.pixmap().width(), panel.image_view.pixmap().height()) == size
    assert panel.heatmap.note.text().startswith("Where the model looked")
    panel.heatmap.opacity.setValue(90)
    panel.heatmap.toggle.setChecked(False)
    assert not panel.heatmap.note.isVisibleTo(window)


def test_a_sidecar_for_another_model_gives_no_heatmap_and_says_why(qtbot, make_window, cell_folder, repo_root,
                                                                   tmp_path):
    models = tmp_path / "models"
    shutil.copytree(repo_root / "models" / "heatmap", models / "heatmap")
    for name in ("hemolens-lite0.tflite", "hemolens-lite0.card.json"):
        shutil.copy(repo_root / "models" / name, models / name)
    card = models / "heatmap" / "hemolens-lite0.json"
    data = json.loads(card.read_text())
    data["base_model"]["sha256"] = "0" * 64
    card.write_text(json.dumps(data))
    window = make_window(classifier=shipped_classifier(models))
    run_folder(qtbot, window, cell_folder)
    panel = window.results_view.detail
    panel.set_prediction(window.results_model.prediction_at(0))
    panel.heatmap.toggle.setChecked(True)
    assert "another model" in panel.heatmap.note.text()
