"""The classifier on a real (tiny) LiteRT model: checks, batching, calibration, discovery."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from hemoapp.core import classifier as classifier_module
from hemoapp.core.classifier import (
    Classifier,
    ModelLoadError,
    card_path_for,
    find_default_model,
    load_default_classifier,
    softmax,
)
from hemoapp.core.contract import CLASS_NAMES, IMAGE_SIZE


def random_batch(count: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(count, IMAGE_SIZE, IMAGE_SIZE, 3), dtype=np.uint8)


def copy_model(tiny_model, directory, name="copy"):
    directory.mkdir(parents=True, exist_ok=True)
    model = directory / f"{name}.tflite"
    shutil.copyfile(tiny_model.model_path, model)
    shutil.copyfile(tiny_model.card_path, card_path_for(model))
    return model


def edit_card(model, **changes):
    path = card_path_for(model)
    card = json.loads(path.read_text())
    card.update(changes)
    path.write_text(json.dumps(card))


def test_card_path_rule():
    assert card_path_for("models/hemolens-lite0.tflite") == Path("models/hemolens-lite0.card.json")
    assert card_path_for("/x/y.v2.tflite") == Path("/x/y.v2.card.json")


def test_loads_and_describes_model(tiny_classifier, tiny_model):
    info = tiny_classifier.info
    assert info.name == "tiny-test" and info.version == "0.0.1-test"
    assert info.path == tiny_model.model_path
    assert len(info.sha256) == 64 and info.sha256 == info.card.sha256
    assert tiny_classifier.class_names == CLASS_NAMES
    assert tiny_classifier.input_size == IMAGE_SIZE
    assert tiny_classifier.num_threads == 1


def test_probabilities_are_calibrated_softmax_of_logits(tiny_classifier):
    batch = random_batch(5)
    logits = tiny_classifier.predict_logits(batch)
    probabilities = tiny_classifier.predict_arrays(batch)
    assert logits.shape == probabilities.shape == (5, len(CLASS_NAMES))
    assert probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    temperature = tiny_classifier.card.calibration_temperature
    assert temperature == 1.5
    np.testing.assert_allclose(probabilities, softmax(logits, temperature), rtol=1e-6)
    # The temperature really changes the output (softens it).
    assert not np.allclose(probabilities, softmax(logits, 1.0))


def test_model_sees_pixels_not_noise(tiny_classifier):
    # Different images give different logits; the same image gives the same logits.
    black = np.zeros((1, IMAGE_SIZE, IMAGE_SIZE, 3), np.uint8)
    white = np.full((1, IMAGE_SIZE, IMAGE_SIZE, 3), 255, np.uint8)
    assert not np.allclose(tiny_classifier.predict_logits(black), tiny_classifier.predict_logits(white))
    np.testing.assert_array_equal(tiny_classifier.predict_logits(black), tiny_classifier.predict_logits(black))


def test_changing_batch_sizes_give_the_same_answers(tiny_classifier):
    batch = random_batch(7, seed=1)
    one_by_one = np.concatenate([tiny_classifier.predict_logits(batch[i : i + 1]) for i in range(7)])
    for sizes in ([7], [4, 3], [2, 5], [3, 3, 1]):
        parts, start = [], 0
        for size in sizes:
            parts.append(tiny_classifier.predict_logits(batch[start : start + size]))
            start += size
        np.testing.assert_allclose(np.concatenate(parts), one_by_one, rtol=1e-5, atol=1e-5)
    assert tiny_classifier.predict_arrays(batch[:0]).shape == (0, len(CLASS_NAMES))


def test_rejects_wrong_batch_arrays(tiny_classifier):
    with pytest.raises(ValueError, match="uint8"):
        tiny_classifier.predict_arrays(random_batch(2).astype(np.float32))
    with pytest.raises(ValueError, match="shape"):
        tiny_classifier.predict_arrays(np.zeros((2, 64, 64, 3), np.uint8))
    with pytest.raises(ValueError):
        tiny_classifier.predict_arrays(np.zeros((IMAGE_SIZE, IMAGE_SIZE, 3), np.uint8))


def test_refuses_missing_file_and_missing_card(tiny_model, tmp_path):
    with pytest.raises(ModelLoadError, match="does not exist"):
        Classifier(tmp_path / "nope.tflite")
    model = tmp_path / "lonely.tflite"
    shutil.copyfile(tiny_model.model_path, model)
    with pytest.raises(ModelLoadError, match="no model card"):
        Classifier(model)


def test_refuses_model_that_does_not_match_its_card(tiny_model, tmp_path):
    model = copy_model(tiny_model, tmp_path)
    data = bytearray(model.read_bytes())
    data[-1] ^= 0xFF
    model.write_bytes(bytes(data))
    with pytest.raises(ModelLoadError, match="does not match its card"):
        Classifier(model)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"classes": list(reversed(CLASS_NAMES))}, "classes"),
        ({"input_size": 224}, "input size"),
        ({"preprocessing": {"color_mode": "BGR"}}, "preprocessing"),
        ({"preprocessing": "rgb"}, "wrong type"),
        ({"calibration_temperature": 0}, "temperature"),
        ({"review_threshold": 1.5}, "threshold"),
        ({"sha256": "z" * 64}, "hex digest"),
    ],
)
def test_refuses_card_that_disagrees_with_contract(tiny_model, tmp_path, changes, message):
    model = copy_model(tiny_model, tmp_path)
    edit_card(model, **changes)
    with pytest.raises(ModelLoadError, match=message):
        Classifier(model)


def test_refuses_unparseable_card(tiny_model, tmp_path):
    model = copy_model(tiny_model, tmp_path)
    card_path_for(model).write_text("{not json")
    with pytest.raises(ModelLoadError, match="cannot be used"):
        Classifier(model)


def test_refuses_file_that_is_not_a_model(tmp_path):
    from hemoapp.core.classifier import sha256_of
    from hemoapp.core.contract import ModelCard, contract_preprocessing

    model = tmp_path / "garbage.tflite"
    model.write_bytes(b"definitely not a flatbuffer" * 10)
    card = ModelCard(
        name="garbage",
        version="1",
        classes=list(CLASS_NAMES),
        input_size=IMAGE_SIZE,
        preprocessing=contract_preprocessing(),
        sha256=sha256_of(model),
        created="2025-01-01T00:00:00+00:00",
    )
    card_path_for(model).write_text(card.to_json())
    with pytest.raises(ModelLoadError, match="not a valid LiteRT model"):
        Classifier(model)


def test_refuses_model_whose_shapes_disagree(tmp_path):
    pytest.importorskip("keras")
    from hemotest.tiny_model import export_tiny_model

    wrong_input = export_tiny_model(tmp_path, name="wrong-input", input_size=96)
    with pytest.raises(ModelLoadError, match=r"input of shape \(1, 96, 96, 3\)"):
        Classifier(wrong_input.model_path)
    wrong_output = export_tiny_model(tmp_path, name="wrong-output", outputs=5)
    with pytest.raises(ModelLoadError, match=r"outputs shape \(1, 5\)"):
        Classifier(wrong_output.model_path)


def test_find_default_model_search_order(tiny_model, tmp_path, monkeypatch):
    source = tmp_path / "source" / "models"
    bundle = tmp_path / "bundle"
    monkeypatch.setattr(classifier_module, "SOURCE_MODELS_DIR", source)
    monkeypatch.delenv("HEMOLENS_MODEL", raising=False)
    monkeypatch.delattr(sys, "_MEIPASS", raising=False)
    assert find_default_model() is None
    with pytest.raises(ModelLoadError, match="No model is installed"):
        load_default_classifier()

    # Source tree: only models with a card count; the shipped name wins.
    source.mkdir(parents=True)
    (source / "aaa-no-card.tflite").write_bytes(b"x")
    assert find_default_model() is None
    copy_model(tiny_model, source, name="other")
    assert find_default_model() == source / "other.tflite"
    copy_model(tiny_model, source, name="hemolens-lite0")
    assert find_default_model() == source / "hemolens-lite0.tflite"

    # A PyInstaller bundle beats the source tree.
    copy_model(tiny_model, bundle / "models", name="bundled")
    monkeypatch.setattr(sys, "_MEIPASS", str(bundle), raising=False)
    assert find_default_model() == bundle / "models" / "bundled.tflite"

    # The environment variable beats everything, even when wrong (it fails loudly).
    monkeypatch.setenv("HEMOLENS_MODEL", str(tmp_path / "missing.tflite"))
    assert find_default_model() == tmp_path / "missing.tflite"
    with pytest.raises(ModelLoadError, match="does not exist"):
        load_default_classifier()
    monkeypatch.setenv("HEMOLENS_MODEL", str(tiny_model.model_path))
    assert load_default_classifier(num_threads=1).info.name == "tiny-test"


def test_shipped_model_loads_if_present(repo_root):
    shipped = repo_root / "models" / "hemolens-lite0.tflite"
    if not shipped.exists():
        pytest.skip("the shipped model has not been trained yet")
    model = Classifier(shipped, num_threads=1)
    probabilities = model.predict_arrays(random_batch(2))
    assert probabilities.shape == (2, len(CLASS_NAMES))


def test_interpreter_runs_the_bytes_that_were_hashed(tiny_model, tmp_path, monkeypatch):
    """The file checked against the card must be the file run: one read, no second open by path."""
    import hashlib

    from ai_edge_litert import interpreter as litert

    built = []
    real_interpreter = litert.Interpreter

    def spy(*args, **kwargs):
        built.append(kwargs)
        return real_interpreter(*args, **kwargs)

    monkeypatch.setattr(litert, "Interpreter", spy)
    model = copy_model(tiny_model, tmp_path)
    classifier = Classifier(model, num_threads=1)
    assert len(built) == 1
    assert built[0].get("model_path") is None, "LiteRT must not open the file a second time"
    content = built[0]["model_content"]
    assert hashlib.sha256(content).hexdigest() == classifier.info.sha256
    assert content == tiny_model.model_path.read_bytes()
    assert classifier.predict_arrays(random_batch(2)).shape == (2, len(CLASS_NAMES))


def test_a_folder_given_as_the_model_says_what_file_is_expected(tiny_model, tmp_path, monkeypatch):
    folder = tmp_path / "models"
    folder.mkdir()
    monkeypatch.setenv("HEMOLENS_MODEL", str(folder))
    with pytest.raises(ModelLoadError) as raised:
        load_default_classifier()
    message = str(raised.value)
    assert message.startswith(f"HEMOLENS_MODEL is set to {folder}: {folder} is a folder, not a model file.")
    assert "does not exist" not in message
    assert "a LiteRT model file (NAME.tflite) with its model card (NAME.card.json) beside it" in message
    assert "this folder holds no .tflite file with its card" in message
    # A folder that holds a model: the message names the file to give instead.
    model = copy_model(tiny_model, folder, name="lab-model")
    with pytest.raises(ModelLoadError, match=f"give {model} instead"):
        Classifier(folder)
