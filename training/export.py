"""Export a trained Keras model: ``.keras`` for more training, ``.tflite`` + card for the app."""

from __future__ import annotations

import datetime as _dt
import functools
import os
import tempfile
from pathlib import Path
from typing import Any

from hemoapp.core.classifier import card_path_for, sha256_of
from hemoapp.core.contract import CLASS_NAMES, IMAGE_SIZE, ModelCard, contract_preprocessing

__all__ = ["card_path_for", "sha256_of", "build_card", "export_tflite", "tflite_bytes", "write_card"]

PBC_CITATION = (
    "Acevedo A, Merino A, Alférez S, Molina Á, Boldú L, Rodellar J. A dataset of microscopic peripheral "
    "blood cell images for development of automatic recognition systems. Data in Brief 30 (2020) 105474. "
    "doi:10.1016/j.dib.2020.105474 (data: Mendeley Data doi:10.17632/snkd93bnjr.1, CC BY 4.0)"
)


def tflite_bytes(model, quantize: str = "float16", image_size: int = IMAGE_SIZE) -> bytes:
    """Convert a Keras model (uint8-range RGB in, logits out) to a LiteRT flatbuffer.

    Only TFLite builtin ops are allowed, so the app's LiteRT runtime (no Flex ops)
    can run it. ``quantize`` is ``"none"``, ``"float16"`` (weights in fp16, half
    the size, same speed on XNNPACK) or ``"dynamic"`` (int8 weights).
    """
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
        if quantize in ("float16", "dynamic"):
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if quantize == "float16":
            converter.target_spec.supported_types = [tf.float16]
        elif quantize not in ("none", "dynamic"):
            raise ValueError(f"unknown quantisation {quantize!r}")
        return converter.convert()


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file and rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes files private; shipped models are for everyone to read
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def export_tflite(model, path: str | os.PathLike[str], quantize: str = "float16") -> str:
    """Write the model as ``.tflite``; return the file's sha256."""
    atomic_write_bytes(path, tflite_bytes(model, quantize=quantize))
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
) -> ModelCard:
    """Make the model card for an exported ``.tflite`` file (sha256 read from the file)."""
    return ModelCard(
        name=name,
        version=version,
        classes=list(CLASS_NAMES),
        input_size=IMAGE_SIZE,
        preprocessing=contract_preprocessing(),
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
        citation=PBC_CITATION,
        licence="Model: same licence as HemoLens; training data: CC BY 4.0 (attribution above)",
        metrics=metrics or {},
        model_file=Path(model_path).name,
    )


def write_card(card: ModelCard, path: str | os.PathLike[str]) -> None:
    """Write a card atomically."""
    atomic_write_bytes(path, card.to_json().encode("utf-8"))
