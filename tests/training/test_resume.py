"""Resume bookkeeping: the epochs a backup holds, the logged values, early stopping's replayed count."""

import json

import keras
import numpy as np
import pytest

from training.config import TrainConfig
from training.data import make_dataset
from training.resume import completed_epochs, early_stopping, logged_values, seed_state_backup, skip_finished_epochs


def _history(tmp_path, values):
    path = tmp_path / "stage2_history.csv"
    path.write_text("epoch,accuracy,val_accuracy\n" + "".join(f"{i},0.5,{v!r}\n" for i, v in enumerate(values)))
    return path


def test_completed_epochs_reads_the_backup_metadata_and_is_zero_without_it(tmp_path):
    assert completed_epochs(tmp_path / "backup") == 0
    (tmp_path / "backup").mkdir()
    (tmp_path / "backup" / "training_metadata.json").write_text(json.dumps({"epoch": 7, "batch": 0}))
    assert completed_epochs(tmp_path / "backup") == 7


def test_logged_values_keep_the_logged_floats_in_order(tmp_path):
    values = [0.5, 0.7250000238418579, 0.6]
    assert logged_values(_history(tmp_path, values), "val_accuracy") == values
    assert logged_values(tmp_path / "missing.csv", "val_accuracy") == []


class _Model:
    stop_training = False


def _started_early_stopping(history_csv, resumed_epochs):
    """The resume's early stopping (patience 3 on val_accuracy), as Keras has it when training begins."""
    callback = early_stopping("val_accuracy", patience=3, history_csv=history_csv, resumed_epochs=resumed_epochs)
    callback.set_model(_Model())
    callback.on_train_begin()
    return callback


@pytest.mark.parametrize(
    ("logged", "resumed", "next_values", "stops"),
    [
        ([0.5, 0.7, 0.6, 0.6], 4, [0.65], True),   # best at epoch 1, then 3 epochs without a gain: patience 3 used up
        ([0.5, 0.7, 0.6, 0.6], 4, [0.75], False),  # a new best resets the count
        ([0.5, 0.6, 0.7, 0.6], 4, [0.65], False),  # best at epoch 2: only 2 epochs without a gain
        ([0.5, 0.7, 0.6, 0.6], 0, [0.65, 0.6], False),  # no backup: the stage starts again, and so does the count
        ([], 0, [0.5, 0.4], False),                # a fresh stage
    ],
)
def test_early_stopping_counts_the_finished_epochs_after_a_resume(tmp_path, logged, resumed, next_values, stops):
    callback = _started_early_stopping(_history(tmp_path, logged), resumed)
    assert not callback.model.stop_training, "stopped before the resumed epoch ran"
    for epoch, value in enumerate(next_values, start=resumed):
        callback.on_epoch_end(epoch, {"val_accuracy": value})
    assert callback.model.stop_training is stops


def test_early_stopping_says_so_when_the_log_is_shorter_than_the_backup(tmp_path, capsys):
    """A kill between Keras's backup and the CSV row leaves one epoch unlogged: not silently."""
    callback = _started_early_stopping(_history(tmp_path, [0.5, 0.7]), resumed_epochs=3)
    assert "logs 2 of the 3 epochs" in capsys.readouterr().err
    # The two logged epochs still count (best at epoch 1); the unlogged one cannot, so
    # patience 3 runs out after three more epochs without a gain, one later than unbroken.
    for epoch in (3, 4):
        callback.on_epoch_end(epoch, {"val_accuracy": 0.6})
        assert not callback.model.stop_training
    callback.on_epoch_end(5, {"val_accuracy": 0.6})
    assert callback.model.stop_training


def test_early_stopping_is_quiet_when_the_log_holds_every_backed_up_epoch(tmp_path, capsys):
    _started_early_stopping(_history(tmp_path, [0.5, 0.7, 0.6]), resumed_epochs=2)
    assert capsys.readouterr().err == ""


def test_skipping_epochs_leaves_the_training_stream_where_an_unbroken_pass_has_it():
    """Epoch k of a fresh pipeline after skipping k epochs equals epoch k of one that ran them."""
    images = np.random.default_rng(0).integers(0, 255, (24, 16, 16, 3), dtype=np.uint8)
    config = TrainConfig(batch_size=8, mixup_alpha=0.2, aug_rotation=10.0, seed=3)

    def epoch_batches(iterator):
        return [np.concatenate([np.ravel(t) for t in batch]) for batch in iterator]

    def pipeline():
        keras.utils.set_random_seed(config.seed)
        return make_dataset(images, np.arange(24) % 8, config, training=True)

    unbroken = pipeline()
    # fit makes two iterators per epoch and trains on the first: epoch 2 reads the fifth.
    passes = [epoch_batches(iter(unbroken)) for _ in range(5)]
    resumed = pipeline()
    skip_finished_epochs(resumed, 2)
    got = epoch_batches(iter(resumed))
    for a, b in zip(passes[4], got, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not all(np.array_equal(a, b) for a, b in zip(passes[0], got)), "the stream does not change by epoch"


def test_dropout_generator_states_come_back_only_for_the_backed_up_epoch(tmp_path, capsys):
    """The states saved after epoch 3 are restored when the backup says 3 epochs; another count is reported."""
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dropout(0.5, seed=1), keras.layers.Dense(2)])
    callback = seed_state_backup(tmp_path)
    callback.set_model(model)
    state = model.layers[0].seed_generator.state

    def advance():
        model(np.ones((2, 4), np.float32), training=True)  # a dropout draw moves the generator on

    def backup_says(epochs):
        (tmp_path / "training_metadata.json").write_text(json.dumps({"epoch": epochs, "batch": 0}))

    advance()
    callback.on_epoch_end(2)  # the end of the third epoch
    saved = np.asarray(state).copy()
    advance()
    assert not np.array_equal(np.asarray(state), saved)

    backup_says(3)
    callback.on_train_begin()
    np.testing.assert_array_equal(np.asarray(state), saved)

    advance()
    moved = np.asarray(state).copy()
    backup_says(4)
    callback.on_train_begin()
    np.testing.assert_array_equal(np.asarray(state), moved)
    assert "no random-generator states for epoch 4" in capsys.readouterr().err
