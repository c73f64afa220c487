"""Resuming a fine-tuning stage where it stopped, exactly as if it had never stopped.

``keras.callbacks.BackupAndRestore`` brings back the weights, the optimizer (with its
moving averages) and the epoch count. Without three more things a resumed run goes on
correctly but differently:

- the states of the dropout layers' random generators, which ``save_weights`` leaves out
  (:func:`seed_state_backup` keeps them beside the backup);
- the input stream: the order and every augmentation and mixup draw of an epoch follow
  from how many passes the ``tf.data`` pipeline has started (:mod:`training.data`), and a
  new process starts counting at zero (:func:`skip_finished_epochs`);
- early stopping's patience count, which starts at zero again (:func:`early_stopping`
  replays the logged epochs into it).
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import numpy as np

from training import atomic

# How many iterators Keras 3's ``fit`` makes of a training dataset of known length per
# epoch: one it trains on, and one it makes at the epoch's end that the next epoch then
# replaces (keras.src.trainers.epoch_iterator). Each draws the next seeds of the dataset's
# random stream, so skipping an epoch means making as many. The resume test of
# tests/training fails if a Keras upgrade changes this.
ITERATORS_PER_EPOCH = 2


def completed_epochs(backup_dir: Path) -> int:
    """The epochs a stage's ``BackupAndRestore`` folder has saved (0 when there is none)."""
    metadata = Path(backup_dir) / "training_metadata.json"
    if not metadata.exists():
        return 0
    return int(json.loads(metadata.read_text())["epoch"])


def skip_finished_epochs(dataset, epochs: int) -> None:
    """Advance ``dataset``'s random stream past ``epochs`` epochs of ``fit``, without reading it.

    Making an iterator of a ``tf.data`` dataset is what moves its reshuffling and
    re-randomising seeds on, so making and dropping the iterators those epochs made leaves
    the dataset where an unbroken run would have it. Reading from them is not needed.
    """
    for _ in range(epochs * ITERATORS_PER_EPOCH):
        iter(dataset)


def logged_values(history_csv: Path, metric: str) -> list[float]:
    """The per-epoch values of ``metric`` in a ``CSVLogger`` file, oldest first ([] without one)."""
    if not Path(history_csv).exists():
        return []
    with open(history_csv, newline="") as handle:
        return [float(row[metric]) for row in csv.DictReader(handle) if row.get(metric)]


def early_stopping(monitor: str, patience: int, history_csv: Path, resumed_epochs: int):
    """``EarlyStopping`` on a metric to maximise that, after a resume, counts the finished epochs too.

    A fresh ``EarlyStopping`` would give a resumed stage its whole patience again and so
    could train it longer than an unbroken run; this one replays the first
    ``resumed_epochs`` epochs of ``history_csv`` (those the resumed backup holds) through
    the callback's own bookkeeping when training begins.
    """
    import keras

    class ResumedEarlyStopping(keras.callbacks.EarlyStopping):
        def on_train_begin(self, logs=None):
            super().on_train_begin(logs)
            replayed = logged_values(history_csv, monitor)[:resumed_epochs]
            if len(replayed) < resumed_epochs:
                # Keras writes its backup before the CSV row of the same epoch, so a
                # kill between the two leaves the log one row short of the backup.
                print(f"note: {history_csv} logs {len(replayed)} of the {resumed_epochs} epochs the backup "
                      "holds; early stopping counts only the logged ones, so this stage may train "
                      "longer than an unbroken run", file=sys.stderr)
            for epoch, value in enumerate(replayed):
                super().on_epoch_end(epoch, {monitor: value})

    return ResumedEarlyStopping(monitor, patience=patience, mode="max", restore_best_weights=False)


def seed_state_backup(backup_dir: Path):
    """A callback that saves the model's random-generator states with each epoch's backup and restores them.

    Keras layers that draw random numbers (dropout, the backbone's drop-connect) keep
    their generator state in a variable that ``save_weights`` does not write, so a resumed
    run would draw the masks of its first epochs again. Each epoch's states go into a file
    named after the epoch count; a resume restores the file that matches the backup's count,
    or says that it cannot (then the run goes on correctly, but not bit for bit).
    """
    import keras

    backup_dir = Path(backup_dir)

    def states_file(epochs: int) -> Path:
        return backup_dir / f"seed_states_after_{epochs}_epochs.npy"

    class SeedStateBackup(keras.callbacks.Callback):
        def _states(self) -> list:
            # In model order, which is the same in every process that builds this model;
            # the variables' paths carry global name counters, which are not.
            return [v for v in self.model.non_trainable_variables if v.path.endswith("seed_generator_state")]

        def on_train_begin(self, logs=None):
            epochs, states = completed_epochs(backup_dir), self._states()
            if not epochs or not states:
                return
            saved = states_file(epochs)
            if not saved.exists() or len(values := np.load(saved)) != len(states):
                print(f"note: no random-generator states for epoch {epochs} in {backup_dir}; the resumed run "
                      "goes on correctly but will not repeat an unbroken run bit for bit", file=sys.stderr)
                return
            for variable, value in zip(states, values):
                variable.assign(value)

        def on_epoch_end(self, epoch, logs=None):
            states = self._states()
            if not states:
                return
            atomic.save_npy(states_file(epoch + 1), np.stack([np.asarray(v) for v in states]))
            states_file(epoch).unlink(missing_ok=True)

    return SeedStateBackup()
