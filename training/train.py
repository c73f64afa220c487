"""Two-stage transfer learning with checkpoints and resume.

Stage 1 trains the head on the frozen backbone. The backbone is frozen and runs
in inference mode, so its pooled features are computed once, cached, and the head
is fitted on them in seconds instead of re-running the backbone every epoch.

Stage 2 unfreezes the top of the backbone (BatchNormalization stays frozen and in
inference mode) and fine-tunes end to end at a lower, cosine-decayed learning
rate with augmentation. ``BackupAndRestore`` makes an interrupted run resume at
the epoch it reached; the best epoch on val is kept.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from hemoapp.core.contract import CLASS_NAMES
from training.config import TrainConfig
from training.data import class_weights, load_split, make_dataset, uses_soft_targets
from training.model import build_classifier, build_head, feature_extractor, unfreeze_from


def log(message: str) -> None:
    """Progress line with a timestamp (training runs in the background with a log file)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


class RunPaths:
    """Files of one run folder (checkpoints, histories, the final model)."""

    def __init__(self, run_dir: str | os.PathLike[str]) -> None:
        self.root = Path(run_dir)
        self.stage1_weights = self.root / "stage1.weights.h5"
        self.stage2_best = self.root / "stage2_best.weights.h5"
        self.backup = self.root / "backup"
        self.stage1_history = self.root / "stage1_history.json"
        self.stage2_history = self.root / "stage2_history.csv"
        self.final_model = self.root / "model.keras"
        self.state = self.root / "state.json"
        self.config = self.root / "config.json"
        self.features = self.root / "features"

    def read_state(self) -> dict:
        """The run's progress marker (which stages are done)."""
        return json.loads(self.state.read_text()) if self.state.exists() else {}

    def write_state(self, **updates) -> None:
        """Merge ``updates`` into the progress marker, atomically."""
        state = self.read_state() | updates
        tmp = self.state.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        os.replace(tmp, self.state)


def train(config: TrainConfig) -> Path:
    """Run both stages (skipping what a previous run finished); return the final model path."""
    import keras

    paths = RunPaths(config.run_dir)
    paths.root.mkdir(parents=True, exist_ok=True)
    paths.config.write_text(json.dumps(config.as_dict(), indent=2))
    keras.utils.set_random_seed(config.seed)
    state = paths.read_state()
    if state.get("stage2_done") and paths.final_model.exists():
        log(f"run {paths.root} is complete; delete it to train again")
        return paths.final_model

    log("loading data (decoded with the app's own loader, cached)")
    data_dir = Path(config.data_dir)
    x_train, y_train, _ = load_split(data_dir / "train", config.cache_dir, limit_per_class=config.limit_per_class)
    x_val, y_val, _ = load_split(data_dir / "val", config.cache_dir, limit_per_class=config.limit_per_class)
    log(f"train {len(x_train)} images, val {len(x_val)} images")
    weights = class_weights(y_train) if config.class_weighting else None

    model, base = build_classifier(config.backbone, config.weights, dropout=config.dropout, seed=config.seed)

    if state.get("stage1_done") and paths.stage1_weights.exists():
        log("stage 1 already done: loading its weights")
        model.load_weights(paths.stage1_weights)
    else:
        run_stage1(config, model, paths, (x_train, y_train), (x_val, y_val), weights)
        model.save_weights(paths.stage1_weights)
        paths.write_state(stage1_done=True)

    run_stage2(config, model, base, paths, (x_train, y_train), (x_val, y_val), weights)
    model.save(paths.final_model)
    paths.write_state(stage2_done=True)
    log(f"saved {paths.final_model}")
    return paths.final_model


def _features(model, images: np.ndarray, cache: Path, batch_size: int) -> np.ndarray:
    if cache.exists():
        return np.load(cache)
    extractor = feature_extractor(model)
    feats = extractor.predict(images.astype(np.float32), batch_size=batch_size * 2, verbose=2)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.save(cache, feats)
    return feats


def run_stage1(config: TrainConfig, model, paths: RunPaths, train_data, val_data, weights) -> None:
    """Fit the head on cached features of the frozen backbone; copy it into ``model``."""
    import keras

    log("stage 1: computing frozen-backbone features (once, cached)")
    f_train = _features(model, train_data[0], paths.features / "train.npy", config.batch_size)
    f_val = _features(model, val_data[0], paths.features / "val.npy", config.batch_size)
    head = build_head(f_train.shape[1], dropout=config.dropout, seed=config.seed)
    head.compile(optimizer=keras.optimizers.Adam(config.stage1_lr), **_loss_and_metrics(config))
    log("stage 1: training the head")
    history = head.fit(
        f_train,
        _targets(config, train_data[1]),
        validation_data=(f_val, _targets(config, val_data[1])),
        epochs=config.stage1_epochs,
        batch_size=128,
        class_weight=weights,
        verbose=2,
        callbacks=[keras.callbacks.EarlyStopping("val_loss", patience=5, restore_best_weights=True)],
    )
    paths.stage1_history.write_text(json.dumps(_plain(history.history), indent=2))
    model.get_layer("logits").set_weights(head.get_layer("logits").get_weights())
    log(f"stage 1: best val accuracy {max(history.history['val_accuracy']):.4f}")


def run_stage2(config: TrainConfig, model, base, paths: RunPaths, train_data, val_data, weights) -> None:
    """Fine-tune the top of the backbone with augmentation; keep the best val epoch."""
    import keras

    if config.stage2_epochs <= 0:
        return
    trainable = unfreeze_from(base, config.unfreeze_from)
    log(f"stage 2: fine-tuning {trainable} layers from {config.unfreeze_from}* (BatchNorm frozen)")
    train_ds = make_dataset(train_data[0], train_data[1], config, training=True)
    val_ds = make_dataset(val_data[0], val_data[1], config, training=False)
    schedule = stage2_schedule(config, int(np.ceil(len(train_data[0]) / config.batch_size)))
    use_ema = config.stage2_ema_momentum > 0
    optimizer = keras.optimizers.Adam(schedule, use_ema=use_ema, ema_momentum=config.stage2_ema_momentum)
    model.compile(optimizer=optimizer, **_loss_and_metrics(config))
    # Order matters: the backup is taken before the EMA swap (so a resume restores
    # the raw weights in the model and the averages in the optimizer); the checkpoint
    # after it (so it saves the averaged weights that were validated).
    callbacks = [keras.callbacks.BackupAndRestore(str(paths.backup))]
    if use_ema:
        callbacks.append(keras.callbacks.SwapEMAWeights(swap_on_epoch=True))
    callbacks += [
        keras.callbacks.ModelCheckpoint(
            str(paths.stage2_best), monitor="val_accuracy", save_best_only=True, save_weights_only=True,
            # After a resume, only an epoch better than the best one logged so far may replace the checkpoint.
            initial_value_threshold=_best_logged(paths.stage2_history, "val_accuracy") if paths.stage2_best.exists() else None,
        ),
        keras.callbacks.CSVLogger(str(paths.stage2_history), append=True),
        keras.callbacks.EarlyStopping("val_accuracy", patience=config.patience, restore_best_weights=False),
    ]
    model.fit(
        train_ds,
        validation_data=val_ds,
        epochs=config.stage2_epochs,
        class_weight=weights,
        callbacks=callbacks,
        shuffle=False,  # the tf.data pipeline shuffles
        verbose=1 if sys.stdout.isatty() else 2,
    )
    if paths.stage2_best.exists():
        model.load_weights(paths.stage2_best)
        log("stage 2: restored the best val epoch")


def _loss_and_metrics(config: TrainConfig) -> dict:
    """Loss and metrics for ``compile``: sparse labels, or one-hot targets when smoothing or mixing.

    Either way the accuracy metric is named ``accuracy`` so histories, checkpoints and
    early stopping read the same keys.
    """
    import keras

    if uses_soft_targets(config):
        return {
            "loss": keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=config.label_smoothing),
            "metrics": [keras.metrics.CategoricalAccuracy(name="accuracy")],
        }
    return {"loss": keras.losses.SparseCategoricalCrossentropy(from_logits=True), "metrics": ["accuracy"]}


def _targets(config: TrainConfig, labels: np.ndarray) -> np.ndarray:
    """Class indices as the loss of ``_loss_and_metrics`` expects them."""
    if uses_soft_targets(config):
        return np.eye(len(CLASS_NAMES), dtype=np.float32)[labels]
    return labels


def stage2_schedule(config: TrainConfig, steps_per_epoch: int):
    """Cosine learning-rate decay with warm restarts (SGDR) over the stage-2 epochs.

    The first cycle lasts ``stage2_cycle_epochs``; each later cycle is ``stage2_cycle_mul``
    times as long and starts at ``stage2_restart_lr_mul`` times the previous peak. With
    ``stage2_cycle_epochs`` 0 (or equal to ``stage2_epochs``) this is a plain cosine decay.
    """
    import keras

    first = config.stage2_cycle_epochs or config.stage2_epochs
    return keras.optimizers.schedules.CosineDecayRestarts(
        config.stage2_lr,
        first * steps_per_epoch,
        t_mul=config.stage2_cycle_mul,
        m_mul=config.stage2_restart_lr_mul,
        alpha=config.stage2_min_lr / config.stage2_lr,
    )


def _best_logged(history_csv: Path, metric: str) -> float | None:
    """Best value of ``metric`` in a CSVLogger file, or None if there is none."""
    import csv

    if not history_csv.exists():
        return None
    with open(history_csv, newline="") as handle:
        values = [float(row[metric]) for row in csv.DictReader(handle) if row.get(metric)]
    return max(values) if values else None


def _plain(history: dict) -> dict:
    return {key: [float(v) for v in values] for key, values in history.items()}
