"""The heatmap: a class activation map over the whole picture, and the sidecar's checks."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PIL import Image, ImageDraw

from hemoapp.core.contract import FRAMING_CENTRE_CROP
from hemoapp.core.heatmap import Sidecar, SidecarError, explain, map_onto_image, overlay, sidecar_paths
from hemoapp.core.imageio import model_square


def darkness_feature_map(model_input: np.ndarray) -> np.ndarray:
    """A synthetic 4 x 4 x 2 feature map: channel 0 is how dark each block of the input is."""
    grey = model_input.astype(np.float32).mean(axis=2)
    blocks = grey.reshape(4, grey.shape[0] // 4, 4, grey.shape[1] // 4).mean(axis=(1, 3))
    return np.stack([255.0 - blocks, np.ones_like(blocks)], axis=-1)


def test_the_heatmap_has_the_pictures_size_and_peaks_on_the_cell():
    # A non-square picture with one dark cell off the centre, inside the square the model sees.
    width, height, cx, cy = 400, 300, 150, 120
    image = Image.new("RGB", (width, height), (235, 220, 225))
    ImageDraw.Draw(image).ellipse((cx - 25, cy - 25, cx + 25, cy + 25), fill=(60, 20, 90))
    kernel = np.array([[1.0, 0.0], [0.0, 1.0]])  # class 0 reads channel 0
    result = explain(image, 0, "basophil", FRAMING_CENTRE_CROP, darkness_feature_map, kernel, 128)
    assert result.heat.shape == (height, width)
    assert result.square == model_square(image, FRAMING_CENTRE_CROP)
    y, x = np.unravel_index(int(np.argmax(result.heat)), result.heat.shape)
    assert np.hypot(x - cx, y - cy) < 60, (x, y)
    left, top, right, bottom = (round(v) for v in result.square)
    assert result.heat[:, : left - 1].max() == 0 and result.heat[bottom + 1 :, :].max() == 0  # unseen: no heat
    assert overlay(image, result.heat, 0.6).size == image.size


def test_the_map_follows_the_square_where_it_reaches_past_the_edges():
    cam = np.zeros((4, 4), dtype=np.float32)
    cam[0, 0] = 1.0
    heat = map_onto_image(cam, (100, 80), (-20.0, -20.0, 60.0, 60.0))  # a cell-centred square past the corner
    assert heat.shape == (80, 100)
    assert heat[0, 0] == heat.max() > 0 and heat[:, 61:].max() == 0  # the hot block is the top-left one


def copy_shipped(repo_root, tmp_path):
    shutil.copytree(repo_root / "models" / "heatmap", tmp_path / "heatmap")
    return tmp_path / "hemolens-lite0.tflite"


def test_a_sidecar_for_another_model_is_refused(repo_root, tmp_path):
    model = copy_shipped(repo_root, tmp_path)
    with pytest.raises(SidecarError, match="another model"):
        Sidecar(model, "ab" * 32)


def test_a_changed_sidecar_or_a_missing_one_is_refused(repo_root, tmp_path):
    model = copy_shipped(repo_root, tmp_path)
    tflite, weights, card_path = sidecar_paths(model)
    base = json.loads(card_path.read_text())["base_model"]["sha256"]
    Sidecar(model, base)  # as shipped: accepted
    weights.write_bytes(weights.read_bytes() + b"x")
    with pytest.raises(SidecarError, match="do not match"):
        Sidecar(model, base)
    card_path.unlink()
    with pytest.raises(SidecarError, match="no heatmap sidecar"):
        Sidecar(model, base)


def test_the_shipped_sidecar_reproduces_the_models_logits(repo_root, pbc8_originals):
    from hemoapp.core.classifier import Classifier
    from hemoapp.core.imageio import load_rgb

    classifier = Classifier(repo_root / "models" / "hemolens-lite0.tflite", num_threads=1)
    sidecar = Sidecar(classifier.model_path, classifier.info.sha256)
    for path in sorted(pbc8_originals.glob("*/*.jpg"))[::16]:
        x = load_rgb(path)
        features = sidecar.feature_map(x)
        logits = features.mean(axis=(0, 1)) @ sidecar.kernel + sidecar.bias
        np.testing.assert_allclose(logits, classifier.predict_logits(x[None])[0], atol=0.05)
