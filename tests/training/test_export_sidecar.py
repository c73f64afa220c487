"""The export writes the heatmap sidecar beside the model it ships, for that model (no training: a tiny network)."""

from __future__ import annotations

import dataclasses
import json
import shutil

import numpy as np
import pytest
from PIL import Image

from hemoapp.core.contract import CLASS_NAMES, IMAGE_SIZE
from hemoapp.core.heatmap import HeatmapSource, Sidecar, SidecarError, sidecar_paths

keras = pytest.importorskip("keras")


def _tiny_classifier():
    """The shipped model's interface and the layer names the sidecar cuts at ("avg_pool", "logits")."""
    keras.utils.set_random_seed(3)
    inputs = keras.Input(shape=(IMAGE_SIZE, IMAGE_SIZE, 3), dtype="float32", name="image")
    x = keras.layers.Rescaling(1.0 / 255.0)(inputs)
    x = keras.layers.Conv2D(8, 3, strides=4, activation="relu")(x)
    x = keras.layers.Conv2D(16, 3, strides=4, activation="relu")(x)
    pooled = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    return keras.Model(inputs, keras.layers.Dense(len(CLASS_NAMES), name="logits")(pooled), name="tiny")


@pytest.fixture(scope="module")
def exported(tiny_pbc, tmp_path_factory):
    """``python -m training export``'s code on a run folder holding an untrained tiny model."""
    from training.config import TrainConfig
    from training.export_run import export_run
    from training.train import RunPaths

    root = tmp_path_factory.mktemp("export")
    config = TrainConfig(data_dir=str(tiny_pbc), run_dir=str(root / "run"), cache_dir=str(root / "cache"),
                         models_dir=str(root / "models"), weights="none", bccd_dir=str(root / "no-bccd"),
                         release_min_test_accuracy=0.0)
    paths = RunPaths(config.run_dir)
    paths.root.mkdir(parents=True)
    paths.config.write_text(json.dumps(dataclasses.asdict(config)), encoding="utf-8")
    _tiny_classifier().save(paths.final_model)
    return export_run(config)


def test_the_export_writes_a_sidecar_for_the_model_it_ships(exported, tiny_pbc):
    from hemoapp.core.classifier import Classifier, sha256_of

    tflite, weights, card_path = sidecar_paths(exported)
    assert tflite.is_file() and weights.is_file() and card_path.is_file()
    assert tflite.parent == exported.parent / "heatmap"
    card = json.loads(card_path.read_text(encoding="utf-8"))
    classifier = Classifier(exported, num_threads=1)
    assert card["base_model"]["sha256"] == sha256_of(exported) == classifier.info.sha256
    assert card["base_model"]["version"] == classifier.info.version
    # Its pooled features through the head are the shipped model's logits (float16 both sides).
    assert card["max_logit_difference"] < 0.05
    # Nothing of the export is left in the hidden staging folder.
    assert not any(path.name.startswith(".") for path in exported.parent.iterdir())

    cell = next((tiny_pbc / "test").rglob("*.*"))
    image, explanation = HeatmapSource(classifier).heat_for(cell, None)
    assert explanation.heat.shape == (image.height, image.width) == Image.open(cell).size[::-1]
    assert np.isfinite(explanation.heat).all() and explanation.class_name in CLASS_NAMES


def test_the_exported_sidecar_is_refused_for_another_model(exported, tmp_path):
    other = tmp_path / "models"
    shutil.copytree(exported.parent / "heatmap", other / "heatmap")
    with pytest.raises(SidecarError, match="another model"):
        Sidecar(other / exported.name, "f" * 64)  # a model whose sha256 is not the one the card names
