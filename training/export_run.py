"""Turn a finished training run into the shipped files in ``models/``.

Steps: export ``.keras`` (weights only, no optimizer state) and ``.tflite``; run
the exported ``.tflite`` through the app's own :class:`Classifier` on val to fit
the calibration temperature and the review threshold (so they describe exactly
what the app runs); measure the test split; write the model card.

All of it happens in a staging folder beside the shipped files, which are replaced
only at the end: an export that dies midway leaves ``models/`` as it was.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

from hemoapp.core.contract import CLASS_NAMES, IMAGE_SIZE
from training.calibration import (
    choose_review_threshold,
    expected_calibration_error,
    fit_temperature,
    review_outcome,
    softmax,
)
from training.config import TrainConfig
from training.data import load_split
from hemoapp.core.heatmap import sidecar_paths
from training.export import build_card, card_path_for, export_tflite, write_card
from training.provenance import training_record
from training.sidecar import export_sidecar
from training.train import RunPaths, log


def shipped_paths(config: TrainConfig) -> tuple[Path, Path, Path]:
    """``(tflite, card, keras)`` paths of the shipped model."""
    models = Path(config.models_dir)
    tflite = models / f"{config.name}.tflite"
    return tflite, card_path_for(tflite), models / f"{config.name}.keras"


def app_logits(tflite_path: Path, images: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """Logits of the exported model as the app computes them (LiteRT, same input path)."""
    from hemoapp.core.classifier import Classifier

    classifier = Classifier(tflite_path)
    return np.concatenate(
        [classifier.predict_logits(images[i:i + batch_size]) for i in range(0, len(images), batch_size)]
    )


def summary_metrics(logits: np.ndarray, labels: np.ndarray, temperature: float,
                    review_threshold: float | None = None) -> dict:
    """Headline metrics for the card (the full report is :mod:`training.evaluate`).

    With ``review_threshold``, also what the app's review flag does on the split
    (flagged cells, errors caught, wrong answers left unflagged).
    """
    from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

    probs = softmax(logits, temperature)
    predicted = probs.argmax(axis=1)
    metrics = {
        "n": int(len(labels)),
        "accuracy": float(accuracy_score(labels, predicted)),
        "macro_f1": float(f1_score(labels, predicted, average="macro")),
        "macro_auc_ovr": float(roc_auc_score(labels, probs, multi_class="ovr", average="macro",
                                             labels=list(range(len(CLASS_NAMES))))),
        "ece": expected_calibration_error(probs, labels),
        "ece_uncalibrated": expected_calibration_error(softmax(logits, 1.0), labels),
    }
    if review_threshold is not None:
        review = review_outcome(probs, labels, review_threshold)
        review.pop("unflagged_accuracy_ci95")  # the report has the interval; the card keeps the counts
        metrics["review"] = review
    return metrics


def staging_dir(config: TrainConfig) -> Path:
    """Where an export builds and measures its files before they replace the shipped ones.

    Inside the models folder, so the final moves are renames on one file system; hidden,
    and one level down, so neither the app nor the packaging (``models/*.tflite``) sees it.
    """
    return Path(config.models_dir) / f".{config.name}.export-staging"


def export_run(config: TrainConfig) -> Path:
    """Export the run's final model into ``models/`` with a calibrated, measured card."""
    import keras

    paths = RunPaths(config.run_dir)
    if not paths.final_model.exists():
        raise FileNotFoundError(f"no trained model at {paths.final_model}: run `python -m training train` first")
    shipped_tflite, shipped_card, shipped_keras = shipped_paths(config)
    staging = staging_dir(config)
    shutil.rmtree(staging, ignore_errors=True)  # what an export that died left behind
    staging.mkdir(parents=True)
    # Same names as the shipped files: the card records the model's file name.
    tflite_path, card_path, keras_path = (staging / path.name for path in shipped_paths(config))
    # compile=False: no optimizer state, which would triple the shipped .keras file.
    model = keras.models.load_model(paths.final_model, compile=False)
    model.save(keras_path)
    representative = None
    if config.quantize == "int8":
        representative = int8_calibration_images(config)
        log(f"int8: calibrating activation ranges on {len(representative)} training images")
    sha = export_tflite(model, tflite_path, config.quantize, representative, config.int8_float_layers)
    log(f"exported {tflite_path} ({tflite_path.stat().st_size / 1e6:.1f} MB, sha256 {sha[:12]}…)")
    # A provisional card lets the app's Classifier load the staged file; it is replaced below.
    write_card(build_card(tflite_path, config.name, config.version, architecture=_architecture(config),
                                  framing=config.framing), card_path)

    data_dir = Path(config.data_dir)
    x_val, y_val, _ = load_split(data_dir / "val", config.cache_dir, limit_per_class=config.limit_per_class, framing=config.framing)
    x_test, y_test, _ = load_split(data_dir / "test", config.cache_dir, limit_per_class=config.limit_per_class, framing=config.framing)
    val_logits = app_logits(tflite_path, x_val)
    temperature = fit_temperature(val_logits, y_val)
    threshold = choose_review_threshold(softmax(val_logits, temperature), y_val)
    test_logits = app_logits(tflite_path, x_test)
    metrics = {
        "val": summary_metrics(val_logits, y_val, temperature, threshold),
        "test": summary_metrics(test_logits, y_test, temperature, threshold),
        "measured_with": "the exported .tflite through hemoapp.core.classifier (LiteRT)",
    }
    log(f"temperature {temperature:.3f}, review threshold {threshold:.2f}; "
        f"val acc {metrics['val']['accuracy']:.4f}, test acc {metrics['test']['accuracy']:.4f}")
    card = build_card(
        tflite_path,
        config.name,
        config.version,
        architecture=_architecture(config),
        calibration_temperature=temperature,
        review_threshold=threshold,
        metrics=metrics,
        training=training_record(paths),
        framing=config.framing,
    )
    write_card(card, card_path)
    # The heatmap sidecar (last feature map + head weights) for the app's heatmaps; its card names this model.
    export_sidecar(model, tflite_path, x_val[:64])
    sidecar_moves = list(zip(sidecar_paths(tflite_path), sidecar_paths(shipped_tflite)))
    np.savez_compressed(paths.root / "logits.npz", val=val_logits, val_labels=y_val, test=test_logits, test_labels=y_test)
    check_release_floor(config, metrics["test"]["accuracy"], staging, paths)
    # The .keras first (the app never reads it), then the model, then its card: see publish.
    publish([(keras_path, shipped_keras), (tflite_path, shipped_tflite), (card_path, shipped_card), *sidecar_moves])
    shutil.rmtree(staging, ignore_errors=True)
    log(f"shipped {shipped_tflite} and its card")
    return shipped_tflite


class ReleaseFloorError(ValueError):
    """The exported model is below the release floor; the shipped files were left as they were."""


def rejected_dir(paths: RunPaths) -> Path:
    """Where an export below the release floor leaves its candidate (model, card) for inspection."""
    return paths.root / "rejected-export"


def check_release_floor(config: TrainConfig, test_accuracy: float, staging: Path, paths: RunPaths) -> None:
    """Refuse to ship a model below ``config.release_min_test_accuracy`` on the test split.

    A recipe's accuracy varies by several tenths of a point from seed to seed (and
    reruns of the shipped recipe have landed below the floor), so the export checks
    every candidate instead of trusting the recipe. The candidate is moved to
    :func:`rejected_dir` and ``models/`` is not touched.

    Raises:
        ReleaseFloorError: saying what was measured and where the candidate is.
    """
    floor = config.release_min_test_accuracy
    if test_accuracy >= floor:
        return
    rejected = rejected_dir(paths)
    shutil.rmtree(rejected, ignore_errors=True)
    shutil.move(str(staging), str(rejected))
    raise ReleaseFloorError(
        f"test accuracy {test_accuracy:.2%} is below the release floor {floor:.2%}: {config.models_dir} is "
        f"unchanged; the candidate and its card are in {rejected}. Train again (a new run folder, or another "
        "seed), or lower release_min_test_accuracy deliberately (--set) for a non-release export."
    )


def publish(moves: list[tuple[Path, Path]]) -> None:
    """Move each staged file over its shipped one, in order, each an atomic rename.

    Export passes the ``.keras``, then the ``.tflite``, then its card. A crash between
    the ``.tflite`` and the card leaves the new model beside the previous card, whose
    sha256 names the previous model, so the app refuses the pair until the export is
    run again: it never accepts a card that does not describe the model beside it (a
    model with no card at all is refused too). A crash before the ``.tflite`` leaves the
    previous pair intact. The heatmap sidecar (``heatmap/``) comes last: a crash before
    it leaves the previous sidecar, whose card names the previous model's sha256, so the
    app shows no heatmap until the export is run again.
    """
    for source, target in moves:
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)


def int8_calibration_images(config: TrainConfig, size: int = IMAGE_SIZE) -> np.ndarray:
    """The training images that calibrate an int8 export's activation ranges (see :func:`calibration_sample`)."""
    images, labels, _ = load_split(
        Path(config.data_dir) / "train", config.cache_dir, size=size, limit_per_class=config.limit_per_class,
        framing=config.framing,
    )
    return images[calibration_sample(labels, config.seed)]


def calibration_sample(labels: np.ndarray, seed: int, per_class: int = 48) -> np.ndarray:
    """Indices of up to ``per_class`` images of every class, drawn with ``seed`` (sorted).

    Stratified so that the rare classes' activations shape the int8 ranges too.
    """
    rng = np.random.default_rng(seed)
    picks = [
        rng.choice(members, size=min(per_class, members.size), replace=False)
        for members in (np.flatnonzero(labels == index) for index in range(len(CLASS_NAMES)))
        if members.size
    ]
    return np.sort(np.concatenate(picks)) if picks else np.zeros(0, dtype=np.int64)


_QUANTIZE_WORDS = {
    "none": "float32 weights",
    "float16": "float16 weights",
    "dynamic": "int8 weights (dynamic range)",
    "int8": "int8 weights and activations",
}


def _quantize_words(config: TrainConfig) -> str:
    words = _QUANTIZE_WORDS.get(config.quantize, config.quantize)
    if config.quantize == "int8" and config.int8_float_layers:
        words += f" ({config.int8_float_layers} most quantisation-sensitive layers in float)"
    return words


def _architecture(config: TrainConfig) -> str:
    names = {
        "lite0": "EfficientNet-Lite0 (ImageNet weights), fine-tuned",
        "lite1": "EfficientNet-Lite1 (ImageNet weights), fine-tuned",
    }
    return f"{names.get(config.backbone, config.backbone)}; {IMAGE_SIZE} px RGB input; {_quantize_words(config)}"
