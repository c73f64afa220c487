"""Build and export a tiny Keras model so tests run the real LiteRT loading path.

The model has the shipped model's interface (float 0..255 RGB in, 8 logits out,
pixel scaling inside the model) but only a few hundred weights, so building and
converting it takes seconds. Keras/TensorFlow are imported lazily: only tests
that ask for a model pay for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hemoapp.core.contract import CLASS_NAMES, IMAGE_SIZE


@dataclass(frozen=True)
class ExportedModel:
    """Paths of an exported test model and its card."""

    model_path: Path
    card_path: Path


def build_tiny_keras_model(input_size: int = IMAGE_SIZE, outputs: int = len(CLASS_NAMES), seed: int = 7):
    """A small conv net with the shipped model's interface (logits out)."""
    import keras

    keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=(input_size, input_size, 3), dtype="float32", name="image")
    x = keras.layers.Rescaling(1.0 / 255.0)(inputs)
    x = keras.layers.Conv2D(8, 3, strides=2, activation="relu")(x)
    x = keras.layers.Conv2D(16, 3, strides=2, activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    logits = keras.layers.Dense(outputs, name="logits")(x)
    return keras.Model(inputs, logits, name="tiny")


def export_tiny_model(
    directory: Path,
    name: str = "tiny-test",
    *,
    input_size: int = IMAGE_SIZE,
    outputs: int = len(CLASS_NAMES),
    calibration_temperature: float = 1.5,
    review_threshold: float = 0.9,
) -> ExportedModel:
    """Export a tiny model + card into ``directory`` with the training exporter."""
    from training.export import atomic_write_bytes, build_card, card_path_for, tflite_bytes, write_card

    directory.mkdir(parents=True, exist_ok=True)
    model_path = directory / f"{name}.tflite"
    model = build_tiny_keras_model(input_size=input_size, outputs=outputs)
    # tflite_bytes + atomic_write_bytes is export_tflite with a chosen input size
    # (tests also need a model whose input disagrees with the contract).
    atomic_write_bytes(model_path, tflite_bytes(model, quantize="float16", image_size=input_size))
    card = build_card(
        model_path,
        name=name,
        version="0.0.1-test",
        architecture="tiny test CNN",
        calibration_temperature=calibration_temperature,
        review_threshold=review_threshold,
    )
    card_path = card_path_for(model_path)
    write_card(card, card_path)
    return ExportedModel(model_path=model_path, card_path=card_path)
