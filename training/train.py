"""Two-stage transfer learning with checkpoints and resume.

Stage 1 trains the head on the frozen backbone. The backbone is frozen and runs
in inference mode, so its pooled features are computed once, cached, and the head
is fitted on them in seconds instead of re-running the backbone every epoch.

Stage 2 unfreezes the top of the backbone (BatchNormalization stays frozen and in
inference mode) and fine-tunes end to end at a lower, cosine-decayed learning
rate with augmentation. ``BackupAndRestore`` makes an interrupted run resume at
the epoch it reached; the best epoch on val is kept.

Training is deterministic: TensorFlow's op determinism is on and every random draw of
the input pipeline is keyed by the config's seed (:mod:`training.data`), so the same
config on the same machine and software trains the same weights, also when a run was
interrupted and resumed (:mod:`training.resume` brings back what Keras's backup leaves
out: the dropout generators' states, the input stream's position, early stopping's count).

Stage 3 (optional) starts from stage 2's best weights and fine-tunes deeper, from the
stem, at a lower learning rate with rotations of any angle; it replaces stage 2's
weights only with an epoch that beats them on val.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hemoapp.core.contract import CLASS_NAMES
from training import atomic, provenance
from training.config import RESUME_SAFE_FIELDS, TrainConfig
from training.data import cache_key, class_weights, load_split, make_dataset, uses_soft_targets
from training.model import build_classifier, build_head, feature_extractor, unfreeze_from
from training.resume import (
    completed_epochs,
    early_stopping,
    logged_values,
    seed_state_backup,
    skip_finished_epochs,
)
from training.run_paths import RunPaths


def log(message: str) -> None:
    """Progress line with a timestamp (training runs in the background with a log file)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


class ConfigMismatchError(ValueError):
    """A run folder with progress was resumed under a config that changes the weights."""


@dataclass(frozen=True)
class FineTuneStage:
    """One fine-tuning stage: which layers train, for how long, how fast, with what rotation."""

    number: int
    epochs: int
    lr: float
    unfreeze_from: str
    rotation: float

    @property
    def continues_fine_tuning(self) -> bool:
        """A stage after stage 2: it starts from fine-tuned weights it must beat on val."""
        return self.number > 2


def fine_tune_stages(config: TrainConfig) -> list[FineTuneStage]:
    """Stage 2 always (it may have 0 epochs); stage 3 when ``stage3_epochs`` > 0."""
    stages = [FineTuneStage(2, config.stage2_epochs, config.stage2_lr, config.unfreeze_from, config.aug_rotation)]
    if config.stage3_epochs > 0:
        stages.append(FineTuneStage(3, config.stage3_epochs, config.stage3_lr, config.stage3_unfreeze_from,
                                    config.stage3_aug_rotation))
    return stages


def train(config: TrainConfig) -> Path:
    """Run every stage (skipping what a previous run finished); return the final model path.

    Raises:
        ConfigMismatchError: the run folder holds progress made under a config that
            differs in a field that changes the weights (see :func:`check_resumable`).
    """
    import keras

    paths = RunPaths(config.run_dir)
    paths.root.mkdir(parents=True, exist_ok=True)
    check_resumable(paths, config)  # before config.json is overwritten: it is what we compare with
    atomic.save_json(paths.config, config.as_dict())
    keras.utils.set_random_seed(config.seed)
    make_deterministic()
    state = paths.read_state()
    stages = fine_tune_stages(config)
    if _is_complete(paths, state, stages):
        log(f"run {paths.root} is complete; delete it to train again")
        return paths.final_model
    # A folder without progress starts a new record: sessions that trained nothing are not history.
    provenance.start_session(paths.root, new_run=not _has_progress(paths))
    if state.get("complete"):
        # A stage was reset: from here the weights may change, so the model.keras of the
        # earlier pass no longer describes them; complete again once the new one is saved.
        paths.write_state(complete=False)

    log("loading data (decoded with the app's own loader, cached)")
    data_dir = Path(config.data_dir)
    x_train, y_train, train_files = load_split(data_dir / "train", config.cache_dir,
                                               limit_per_class=config.limit_per_class, framing=config.framing)
    x_val, y_val, val_files = load_split(data_dir / "val", config.cache_dir, limit_per_class=config.limit_per_class, framing=config.framing)
    log(f"train {len(x_train)} images, val {len(x_val)} images")
    weights = class_weights(y_train) if config.class_weighting else None

    model, base = build_classifier(config.backbone, config.weights, dropout=config.dropout, seed=config.seed)
    teacher = load_teacher(config, paths, model) if config.distill_weight > 0 else None

    if state.get("stage1_done") and paths.stage1_weights.exists():
        log("stage 1 already done: loading its weights")
        model.load_weights(paths.stage1_weights)
    else:
        run_stage1(config, model, paths, (x_train, y_train, train_files), (x_val, y_val, val_files), weights)
        model.save_weights(paths.stage1_weights)
        paths.write_state(stage1_done=True)

    for stage in stages:
        done = f"stage{stage.number}_done"
        if state.get(done) and paths.end_weights(stage.number).exists():
            log(f"stage {stage.number} already done: loading its weights")
            model.load_weights(paths.end_weights(stage.number))
            continue
        fine_tune(config, stage, model, base, paths, (x_train, y_train), (x_val, y_val), weights, teacher)
        model.save_weights(paths.end_weights(stage.number))
        paths.write_state(**{done: True})
    # Atomic, and "complete" only once the file is in place: a kill during the save leaves
    # the run incomplete (the next call saves again), never a truncated model.keras that
    # the next call would call finished.
    atomic.save_model(model, paths.final_model)
    paths.write_state(complete=True)
    provenance.finish_session(paths.root)
    log(f"saved {paths.final_model}")
    return paths.final_model


def make_deterministic() -> None:
    """Make TensorFlow's ops give the same results for the same inputs (process-wide).

    With the seed set and the input pipeline keyed by per-example seeds
    (:func:`training.data.example_seeds`), the same config on the same machine and
    software then trains the same weights. On this CPU it costs nothing measurable
    (410 ms per stage-2 step of Lite0 at 128 px, with or without).
    """
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()


def _is_complete(paths: RunPaths, state: dict, stages: list[FineTuneStage]) -> bool:
    """Every stage done and the final model saved after them (``complete`` is set after the save)."""
    stages_done = all(state.get(f"stage{stage.number}_done") for stage in stages)
    return bool(stages_done and state.get("complete") and paths.final_model.exists())


def check_resumable(paths: RunPaths, config: TrainConfig) -> None:
    """Refuse to go on with a run folder whose progress was made under a different config.

    A run's checkpoints, histories and cached features all assume its config, so
    resuming under another would silently mix two trainings. Every field but
    :data:`RESUME_SAFE_FIELDS` must match, even one that only adds epochs: the
    learning-rate schedules depend on the epoch counts too. A folder holding nothing but
    ``config.json`` has no progress and takes any config.

    Raises:
        ConfigMismatchError: naming the changed fields and what to do instead.
    """
    if not paths.config.exists() or not _has_progress(paths):
        return
    try:
        previous = json.loads(paths.config.read_text())
    except ValueError:
        previous = None
    if not isinstance(previous, dict):
        raise ConfigMismatchError(f"{paths.config} is unreadable, so the progress in {paths.root} cannot be "
                                  f"checked against this config. {_fresh_start_hint(paths)}")
    changed = changed_fields(previous, config)
    if changed:
        details = "; ".join(f"{key} {old!r} -> {new!r}" for key, old, new in changed)
        raise ConfigMismatchError(
            f"{paths.root} holds a run trained with another config ({details}); resuming it would mix "
            f"checkpoints of two configs. {_fresh_start_hint(paths)} To go on with that run, use the values "
            f"in {paths.config}."
        )


def changed_fields(previous: dict, config: TrainConfig) -> list[tuple[str, object, object]]:
    """``(field, previous value, new value)`` for each weight-affecting field that differs.

    A field missing from an older ``config.json`` counts as its default (fields are
    added with a default that keeps the earlier behaviour).
    """
    defaults = _json_round_trip(TrainConfig().as_dict())
    current = _json_round_trip(config.as_dict())  # compare as stored: tuples become lists, etc.
    return [
        (key, previous.get(key, defaults.get(key)), value)
        for key, value in current.items()
        if key not in RESUME_SAFE_FIELDS and previous.get(key, defaults.get(key)) != value
    ]


def _has_progress(paths: RunPaths) -> bool:
    """Whether the run folder holds anything besides ``config.json`` and the session record
    (state, checkpoints, logs, features)."""
    bookkeeping = {paths.config.name, provenance.PROVENANCE_FILE}
    return any(entry.name not in bookkeeping for entry in paths.root.iterdir())


def _fresh_start_hint(paths: RunPaths) -> str:
    return f"Train into a new folder (--run-dir) or delete {paths.root} to start over."


def _json_round_trip(value):
    return json.loads(json.dumps(value))


def feature_key(config: TrainConfig, files: list[Path], image_size: int) -> str:
    """Short hash of what stage 1's frozen-backbone features depend on.

    That is the backbone and its weights (a local weights file by size and time; with
    ``none``, the seed that draws them), and the images: :func:`training.data.cache_key`
    covers the files (so the data folder and ``limit_per_class``), the input size and
    the contract's preprocessing (the crop).
    """
    weights = config.weights
    if weights not in ("imagenet", "none") and Path(weights).exists():
        stat = Path(weights).stat()
        weights = f"{Path(weights).resolve()}|{stat.st_size}|{int(stat.st_mtime)}"
    seed = config.seed if config.weights == "none" else None
    text = f"{config.backbone}|{weights}|{seed}|{cache_key(list(files), image_size)}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _feature_file(config: TrainConfig, paths: RunPaths, split: str, data) -> Path:
    images, _, files = data
    return paths.feature_cache(split, feature_key(config, files, images.shape[1]))


def _features(model, images: np.ndarray, cache: Path, batch_size: int) -> np.ndarray:
    """The frozen backbone's features of ``images``, read from ``cache`` or computed and saved there."""
    if cache.exists():
        return np.load(cache)
    extractor = feature_extractor(model)
    feats = extractor.predict(images.astype(np.float32), batch_size=batch_size * 2, verbose=2)
    atomic.save_npy(cache, feats)  # a kill mid-write must not leave a short file to be reused
    return feats


def run_stage1(config: TrainConfig, model, paths: RunPaths, train_data, val_data, weights) -> None:
    """Fit the head on cached features of the frozen backbone; copy it into ``model``.

    ``train_data`` and ``val_data`` are ``(images, labels, files)``; the files key the
    feature cache (see :func:`feature_key`).
    """
    import keras

    log("stage 1: computing frozen-backbone features (once, cached)")
    f_train = _features(model, train_data[0], _feature_file(config, paths, "train", train_data), config.batch_size)
    f_val = _features(model, val_data[0], _feature_file(config, paths, "val", val_data), config.batch_size)
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
    atomic.save_json(paths.stage1_history, _plain(history.history))
    model.get_layer("logits").set_weights(head.get_layer("logits").get_weights())
    log(f"stage 1: best val accuracy {max(history.history['val_accuracy']):.4f}")


def fine_tune(config: TrainConfig, stage: FineTuneStage, model, base, paths: RunPaths, train_data, val_data,
              weights, teacher=None) -> None:
    """Fine-tune from ``stage.unfreeze_from`` on with augmentation; end on the best val epoch.

    With a ``teacher`` (see :func:`load_teacher`) the training targets are distilled.

    A later stage starts from the earlier one's best weights and keeps an epoch of its
    own only if it beats their val accuracy, so a stage that does not help leaves the
    model as it was.
    """
    if stage.epochs <= 0:
        return
    trainable = unfreeze_from(base, stage.unfreeze_from)
    log(f"stage {stage.number}: fine-tuning {trainable} layers from {stage.unfreeze_from}* (BatchNorm frozen)"
        + (f", rotations up to ±{stage.rotation:g}°" if stage.rotation else ""))
    stage_config = dataclasses.replace(config, aug_rotation=stage.rotation)
    train_ds = make_dataset(train_data[0], train_data[1], stage_config, training=True, teacher=teacher)
    val_ds = make_dataset(val_data[0], val_data[1], stage_config, training=False)
    steps_per_epoch = int(np.ceil(len(train_data[0]) / config.batch_size))
    if stage.continues_fine_tuning:
        schedule = warmup_cosine_schedule(stage.lr, config.stage2_min_lr, stage.epochs, steps_per_epoch)
    else:
        schedule = stage2_schedule(config, steps_per_epoch)
    use_ema = config.stage2_ema_momentum > 0
    optimizer = fine_tune_optimizer(config, schedule)
    model.compile(optimizer=optimizer, **_loss_and_metrics(config))
    best_file, history_file = paths.best_weights(stage.number), paths.history(stage.number)
    # The bar a new best epoch must clear: after a resume, this stage's best logged so far;
    # in a later stage, also the val accuracy of the weights it starts from.
    candidates = [max(logged_values(history_file, "val_accuracy"), default=None) if best_file.exists() else None]
    if stage.continues_fine_tuning:
        start = model.evaluate(val_ds, verbose=0, return_dict=True)["accuracy"]
        log(f"stage {stage.number}: starting weights have val accuracy {start:.4f}")
        candidates.append(float(start))
    bar = max((v for v in candidates if v is not None), default=None)
    # A resumed stage goes on with the input stream where the interrupted one left it.
    skip_finished_epochs(train_ds, completed_epochs(paths.backup(stage.number)))
    model.fit(
        train_ds,
        validation_data=val_ds,
        epochs=stage.epochs,
        class_weight=weights,
        callbacks=fine_tune_callbacks(config, stage, paths, bar, use_ema),
        shuffle=False,  # the tf.data pipeline shuffles
        verbose=1 if sys.stdout.isatty() else 2,
    )
    if best_file.exists():
        model.load_weights(best_file)
        log(f"stage {stage.number}: restored its best val epoch")
    elif stage.continues_fine_tuning:
        # No epoch beat the earlier best: go back to the weights this stage started from.
        model.load_weights(paths.end_weights(stage.number - 1))
        log(f"stage {stage.number}: no epoch beat stage {stage.number - 1}; keeping its weights")


def load_teacher(config: TrainConfig, paths: RunPaths, student):
    """The ``distill_teacher`` classifier, checked against the student; its sha256 kept in the run's state.

    The config names the teacher by path, so the file's sha256 is what ties a run to the
    teacher it learned from: resuming with another file at that path would mix two
    trainings, and is refused like a changed config.

    Raises:
        ConfigMismatchError: no teacher file, one that is not a classifier of the
            student's input and classes, or another file than the run started with.
    """
    import keras

    from hemoapp.core.classifier import sha256_of

    path = Path(config.distill_teacher)
    if not config.distill_teacher or not path.is_file():
        raise ConfigMismatchError(f"distill_weight is {config.distill_weight:g} but the teacher model "
                                  f"{config.distill_teacher!r} is not a file; set distill_teacher to a .keras model")
    digest = sha256_of(path)
    started_with = paths.read_state().get("distill_teacher_sha256")
    if started_with and started_with != digest:
        raise ConfigMismatchError(f"{path} has changed since {paths.root} started distilling from it (sha256 "
                                  f"{started_with[:12]}… then, {digest[:12]}… now). {_fresh_start_hint(paths)}")
    teacher = keras.models.load_model(path, compile=False)
    if tuple(teacher.input_shape[1:]) != tuple(student.input_shape[1:]) or teacher.output_shape[-1] != len(CLASS_NAMES):
        raise ConfigMismatchError(f"the teacher {path} takes {teacher.input_shape[1:]} and gives "
                                  f"{teacher.output_shape[-1]} outputs; the student takes {student.input_shape[1:]} "
                                  f"and gives {len(CLASS_NAMES)}")
    teacher.trainable = False
    paths.write_state(distill_teacher_sha256=digest)
    log(f"distilling from {path} (sha256 {digest[:12]}…): weight {config.distill_weight:g}, "
        f"temperature {config.distill_temperature:g}")
    return teacher


def fine_tune_optimizer(config: TrainConfig, schedule):
    """Adam for the fine-tuning stages, with the config's weight averaging and weight decay."""
    import keras

    return keras.optimizers.Adam(
        schedule,
        weight_decay=config.stage2_weight_decay or None,
        use_ema=config.stage2_ema_momentum > 0,
        ema_momentum=config.stage2_ema_momentum,
    )


def fine_tune_callbacks(config: TrainConfig, stage: FineTuneStage, paths: RunPaths, bar: float | None,
                        use_ema: bool) -> list:
    """The callbacks of a fine-tuning stage, in the order they must run at each epoch's end.

    - The backup first, before the EMA swap: a resume restores the raw weights in the
      model and the averages in the optimizer. The dropout layers' generator states
      beside it (``save_weights`` leaves them out).
    - The CSV row before the checkpoint: a resume takes its bar from the CSV (see
      :func:`fine_tune`), so a crash between the two must leave the logged best at least
      as high as the checkpoint's, or a worse epoch could overwrite the checkpoint. The
      other way round (logged, not saved) only makes the bar a little stricter.
    - The checkpoint after the swap: it saves the averaged weights that were validated.
    """
    import keras

    callbacks = [
        keras.callbacks.BackupAndRestore(str(paths.backup(stage.number))),
        seed_state_backup(paths.backup(stage.number)),
    ]
    if use_ema:
        callbacks.append(keras.callbacks.SwapEMAWeights(swap_on_epoch=True))
    callbacks += [
        keras.callbacks.CSVLogger(str(paths.history(stage.number)), append=True),
        keras.callbacks.ModelCheckpoint(
            str(paths.best_weights(stage.number)), monitor="val_accuracy", save_best_only=True,
            save_weights_only=True, initial_value_threshold=bar,
        ),
        early_stopping("val_accuracy", config.patience, paths.history(stage.number),
                       resumed_epochs=completed_epochs(paths.backup(stage.number))),
    ]
    return callbacks


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


def warmup_cosine_schedule(peak_lr: float, min_lr: float, epochs: int, steps_per_epoch: int):
    """One epoch of linear warm-up from ``min_lr`` to ``peak_lr``, then a cosine decay to ``min_lr``.

    The warm-up spares freshly unfrozen early layers a full-size first step.
    """
    import keras

    warmup = steps_per_epoch if epochs > 1 else 0
    return keras.optimizers.schedules.CosineDecay(
        min_lr,
        max(1, epochs * steps_per_epoch - warmup),
        alpha=min_lr / peak_lr,
        warmup_target=peak_lr,
        warmup_steps=warmup,
    )


def _plain(history: dict) -> dict:
    return {key: [float(v) for v in values] for key, values in history.items()}
