"""Export a trained Keras model: ``.keras`` for more training, ``.tflite`` + card for the app."""

from __future__ import annotations

import datetime as _dt
import functools
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from hemoapp.core.atomic_write import write_bytes
from hemoapp.core.classifier import card_path_for, sha256_of
from hemoapp.core.contract import CLASS_NAMES, FRAMING_CENTRE_CROP, IMAGE_SIZE, ModelCard, contract_preprocessing

__all__ = [
    "QUANTIZE_MODES", "build_card", "card_path_for", "export_tflite", "int8_error_ranking", "sha256_of",
    "tflite_bytes", "write_card",
]

PBC_CITATION = (
    "Acevedo A, Merino A, Alférez S, Molina Á, Boldú L, Rodellar J. A dataset of microscopic peripheral "
    "blood cell images for development of automatic recognition systems. Data in Brief 30 (2020) 105474. "
    "doi:10.1016/j.dib.2020.105474 (data: Mendeley Data doi:10.17632/snkd93bnjr.1, CC BY 4.0)"
)


#: Quantisation modes :func:`tflite_bytes` understands.
QUANTIZE_MODES = ("none", "float16", "dynamic", "int8")


def tflite_bytes(
    model,
    quantize: str = "float16",
    image_size: int = IMAGE_SIZE,
    representative_images: np.ndarray | None = None,
    float_layers: int = 0,
) -> bytes:
    """Convert a Keras model (uint8-range RGB in, logits out) to a LiteRT flatbuffer.

    Only TFLite builtin ops are allowed, so the app's LiteRT runtime (no Flex ops)
    can run it. ``quantize`` is one of :data:`QUANTIZE_MODES`: ``"none"``,
    ``"float16"`` (weights in fp16, half the size, same speed on XNNPACK),
    ``"dynamic"`` (int8 weights) or ``"int8"`` (int8 weights and activations,
    ranges calibrated on ``representative_images``; the interface stays float32
    so the app feeds every model the same way). With ``"int8"``, ``float_layers``
    > 0 keeps that many layers in float: those whose int8 output strays most
    from the float model's on the representative images (see
    :func:`int8_error_ranking`); the stem is typically among them.
    """
    if quantize not in QUANTIZE_MODES:
        raise ValueError(f"unknown quantisation {quantize!r}; expected one of {QUANTIZE_MODES}")
    if quantize == "int8" and (representative_images is None or len(representative_images) == 0):
        raise ValueError("int8 quantisation needs representative images to calibrate activation ranges")
    import keras
    import tensorflow as tf

    signature = [tf.TensorSpec([None, image_size, image_size, 3], tf.float32, name="image")]
    with tempfile.TemporaryDirectory() as saved_model_dir:
        archive = keras.export.ExportArchive()
        archive.track(model)
        archive.add_endpoint("serve", functools.partial(model.__call__, training=False), input_signature=signature)
        archive.write_out(saved_model_dir, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(saved_model_dir)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        if quantize != "none":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if quantize == "float16":
            converter.target_spec.supported_types = [tf.float16]
        if quantize == "int8":
            converter.representative_dataset = _representative_dataset(representative_images)
            if float_layers > 0:
                return _selectively_quantized(converter, representative_images, float_layers)
        return converter.convert()


def int8_error_ranking(converter, images: np.ndarray) -> list[tuple[str, float]]:
    """Layers of an int8 conversion, worst first, by RMSE of their output in units of its int8 step.

    Uses TensorFlow Lite's QuantizationDebugger, which runs float and int8 side
    by side on ``images``; an error near or above one step means the layer loses
    information that the float model had.
    """
    import csv
    import io

    import tensorflow as tf

    debugger = tf.lite.experimental.QuantizationDebugger(
        converter=converter, debug_dataset=_representative_dataset(images)
    )
    debugger.run()
    dump = io.StringIO()
    debugger.layer_statistics_dump(dump)
    dump.seek(0)
    ranking = [
        (row["tensor_name"], float(np.sqrt(float(row["mean_squared_error"])) / float(row["scale"])))
        for row in csv.DictReader(dump)
        if float(row["scale"]) > 0
    ]
    return sorted(ranking, key=lambda item: -item[1])


def _selectively_quantized(converter, images: np.ndarray, float_layers: int) -> bytes:
    import tensorflow as tf

    # A quarter of the calibration images is enough to rank layers, at a quarter of the cost.
    debug_images = images[::4] if len(images) >= 32 else images
    worst = [name for name, _ in int8_error_ranking(converter, debug_images)[:float_layers]]
    options = tf.lite.experimental.QuantizationDebugOptions(denylisted_nodes=worst)
    debugger = tf.lite.experimental.QuantizationDebugger(
        converter=converter, debug_dataset=_representative_dataset(debug_images), debug_options=options
    )
    return debugger.get_nondebug_quantized_model()


def _representative_dataset(images: np.ndarray):
    """One image per calibration step, as the float32 batch the model's signature takes."""

    def generate():
        for image in images:
            yield [np.asarray(image, dtype=np.float32)[np.newaxis]]

    return generate


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (:func:`hemoapp.core.atomic_write.write_bytes`)."""
    write_bytes(path, data, make_parents=True)


def export_tflite(
    model,
    path: str | os.PathLike[str],
    quantize: str = "float16",
    representative_images: np.ndarray | None = None,
    float_layers: int = 0,
) -> str:
    """Write the model as ``.tflite``; return the file's sha256 (arguments as :func:`tflite_bytes`)."""
    image_size = int(model.input_shape[1])
    atomic_write_bytes(path, tflite_bytes(model, quantize, image_size, representative_images, float_layers))
    return sha256_of(path)


def build_card(
    model_path: str | os.PathLike[str],
    name: str,
    version: str,
    *,
    architecture: str = "",
    calibration_temperature: float = 1.0,
    review_threshold: float = 0.9,
    metrics: dict[str, Any] | None = None,
    training_data: dict[str, Any] | None = None,
    training: dict[str, Any] | None = None,
    framing: str = FRAMING_CENTRE_CROP,
) -> ModelCard:
    """Make the model card for an exported ``.tflite`` file (sha256 read from the file).

    ``training`` is how the weights were trained (:func:`training.provenance.training_record`).
    """
    return ModelCard(
        name=name,
        version=version,
        classes=list(CLASS_NAMES),
        input_size=IMAGE_SIZE,
        preprocessing=contract_preprocessing(framing),
        sha256=sha256_of(model_path),
        created=_dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        calibration_temperature=float(calibration_temperature),
        review_threshold=float(review_threshold),
        architecture=architecture,
        training_data=training_data
        or {
            "dataset": "PBC (peripheral blood cells), 8 classes",
            "source": "Hospital Clinic of Barcelona, CellaVision DM96, May Grünwald-Giemsa stain",
            "licence": "CC BY 4.0",
        },
        training=training or {},
        citation=PBC_CITATION,
        licence="Model: same licence as HemoLens; training data: CC BY 4.0 (attribution above)",
        metrics=metrics or {},
        model_file=Path(model_path).name,
    )


def write_card(card: ModelCard, path: str | os.PathLike[str]) -> None:
    """Write a card atomically."""
    atomic_write_bytes(path, card.to_json().encode("utf-8"))
