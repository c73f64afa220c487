"""A run survives kills and refuses to mix: atomic saves, keyed features, config checks, callback order."""

import dataclasses
import json
import shutil

import keras
import numpy as np
import pytest

from training import atomic
from training import train as train_module
from training.cli import main as training_main
from training.config import TrainConfig
from training.data import DataLayoutError, list_split
from training.provenance import read_sessions
from training.resume import logged_values
from training.train import (
    ConfigMismatchError,
    FineTuneStage,
    RunPaths,
    _features,
    feature_key,
    fine_tune_callbacks,
    train,
)


class _Killed(BaseException):
    """Stands for a kill: not an Exception, so no ``except Exception`` swallows it."""


def _tiny_model():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8)])
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


# --- atomic saves -------------------------------------------------------------------------------


def test_atomic_save_model_keeps_the_old_file_when_the_save_dies(tmp_path, monkeypatch):
    target = tmp_path / "model.keras"
    atomic.save_model(_tiny_model(), target)
    before = target.read_bytes()
    assert isinstance(keras.models.load_model(target, compile=False), keras.Model)

    def dies_midway(self, filepath, *args, **kwargs):
        assert str(filepath).endswith(".keras"), "Keras picks the format from the suffix"
        open(filepath, "wb").write(b"PK\x03\x04 half a zip")
        raise _Killed

    monkeypatch.setattr(keras.Model, "save", dies_midway)
    with pytest.raises(_Killed):
        atomic.save_model(_tiny_model(), target)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.keras"], "temporary file left behind"


# --- stage-1 feature cache ----------------------------------------------------------------------


def _files(root, limit=0):
    return list_split(root / "train", limit_per_class=limit).paths


def test_feature_key_changes_with_everything_the_features_depend_on(tiny_pbc, tmp_path):
    base = TrainConfig(data_dir=str(tiny_pbc))
    files = _files(tiny_pbc)
    key = feature_key(base, files, 96)
    assert feature_key(dataclasses.replace(base, name="x", version="9", models_dir="m", stage2_epochs=1), files,
                       96) == key, "fields that do not touch the backbone must not invalidate the cache"
    weights_file = tmp_path / "w.weights.h5"
    weights_file.write_bytes(b"weights")
    others = {
        feature_key(dataclasses.replace(base, backbone="mobilenetv2"), files, 96),
        feature_key(dataclasses.replace(base, weights="none"), files, 96),
        feature_key(dataclasses.replace(base, weights=str(weights_file)), files, 96),
        feature_key(base, files, 128),  # input size
        feature_key(base, _files(tiny_pbc, limit=1), 96),  # limit_per_class
        feature_key(base, files[:-1], 96),  # other data
    }
    assert key not in others and len(others) == 6
    # Random initial weights depend on the seed; a changed weights file is another backbone.
    none = dataclasses.replace(base, weights="none")
    assert feature_key(none, files, 96) != feature_key(dataclasses.replace(none, seed=1), files, 96)
    before = feature_key(dataclasses.replace(base, weights=str(weights_file)), files, 96)
    weights_file.write_bytes(b"other weights")
    assert feature_key(dataclasses.replace(base, weights=str(weights_file)), files, 96) != before


def test_feature_key_changes_when_an_image_changes(tiny_pbc, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(tiny_pbc / "train", data / "train")
    config = TrainConfig(data_dir=str(data))
    key = feature_key(config, _files(data), 96)
    first = _files(data)[0]
    first.write_bytes(first.read_bytes() + b"\0")
    assert feature_key(config, _files(data), 96) != key


class _Extractor:
    def predict(self, images, **kwargs):
        return images.reshape(len(images), -1)[:, :3].astype(np.float32)


def test_features_are_written_atomically(tmp_path, monkeypatch):
    monkeypatch.setattr(train_module, "feature_extractor", lambda model: _Extractor())
    cache = tmp_path / "features" / "train-0123.npy"
    images = np.arange(2 * 4 * 4 * 3, dtype=np.uint8).reshape(2, 4, 4, 3)
    real_save = np.save

    def dies_midway(file, array, *args, **kwargs):
        open(file, "wb").write(b"\x93NUMPY half")
        raise _Killed

    monkeypatch.setattr(np, "save", dies_midway)
    with pytest.raises(_Killed):
        _features(None, images, cache, 8)
    assert not list(cache.parent.iterdir()), "a half-written cache would be reused as features"
    monkeypatch.setattr(np, "save", real_save)
    feats = _features(None, images, cache, 8)
    np.testing.assert_array_equal(np.load(cache), feats)
    np.testing.assert_array_equal(_features(None, images * 0, cache, 8), feats)  # read back, not recomputed


# --- resuming under another config ---------------------------------------------------------------


def _run_with_progress(tmp_path, **fields) -> TrainConfig:
    """A run folder as a first ``train`` call leaves it after stage 1, with a data folder that is missing.

    The missing data makes a ``train`` call that gets past the config check stop at once.
    """
    config = TrainConfig(run_dir=str(tmp_path / "run"), data_dir=str(tmp_path / "no-data"), **fields)
    paths = RunPaths(config.run_dir)
    paths.root.mkdir()
    paths.config.write_text(json.dumps(config.as_dict()))
    paths.write_state(stage1_done=True)
    return config


def test_resume_with_a_weight_changing_config_is_refused_with_advice(tmp_path):
    config = _run_with_progress(tmp_path)
    paths = RunPaths(config.run_dir)
    saved = paths.config.read_text()
    changed = dataclasses.replace(config, stage2_epochs=config.stage2_epochs + 6, stage2_lr=1e-3)
    with pytest.raises(ConfigMismatchError) as error:
        train(changed)
    message = str(error.value)
    assert "stage2_epochs 24 -> 30" in message and "stage2_lr 0.0003 -> 0.001" in message
    assert "--run-dir" in message and str(paths.root) in message
    assert paths.config.read_text() == saved, "the run's config was overwritten"


def test_resume_is_refused_through_the_command_line_too(tmp_path, capsys):
    config = _run_with_progress(tmp_path)
    code = training_main(["train", "--run-dir", config.run_dir, "--data-dir", config.data_dir,
                          "--weights", "none", "--seed", "7"])
    assert code == 2
    assert "seed" in capsys.readouterr().err


def test_resume_allows_cosmetic_changes_and_a_folder_without_progress(tmp_path):
    config = _run_with_progress(tmp_path)
    cosmetic = dataclasses.replace(config, name="other", version="9.9.9", models_dir="elsewhere",
                                   cache_dir=str(tmp_path / "c"), quantize="int8", bccd_dir="b")
    with pytest.raises(DataLayoutError):  # past the config check, stopped by the missing data
        train(cosmetic)
    assert json.loads(RunPaths(config.run_dir).config.read_text())["name"] == "other"
    # Nothing but config.json: a failed first call (here, the data) has made no progress.
    fresh = TrainConfig(run_dir=str(tmp_path / "fresh"), data_dir=str(tmp_path / "no-data"))
    with pytest.raises(DataLayoutError):
        train(fresh)
    with pytest.raises(DataLayoutError):
        train(dataclasses.replace(fresh, stage2_epochs=3))
    # The session record those calls left counts as no progress either, and keeps only the last call.
    assert len(read_sessions(fresh.run_dir)) == 1


def test_resume_treats_fields_an_older_config_lacks_as_their_defaults(tmp_path):
    config = _run_with_progress(tmp_path)
    paths = RunPaths(config.run_dir)
    older = json.loads(paths.config.read_text())
    del older["stage3_epochs"]  # written before stage 3 existed
    paths.config.write_text(json.dumps(older))
    with pytest.raises(DataLayoutError):
        train(config)
    paths.config.write_text(json.dumps(older))
    with pytest.raises(ConfigMismatchError, match="stage3_epochs 0 -> 5"):
        train(dataclasses.replace(config, stage3_epochs=5))


# --- fine-tuning callbacks -----------------------------------------------------------------------


def test_a_crash_while_checkpointing_leaves_the_epoch_logged(tmp_path, monkeypatch):
    """The resume bar comes from the CSV, so the CSV row must be written before the checkpoint."""
    config = TrainConfig(run_dir=str(tmp_path / "run"))
    paths = RunPaths(config.run_dir)
    paths.root.mkdir()
    stage = FineTuneStage(2, 1, 1e-3, "block7a_", 0.0)

    def killed(self, *args, **kwargs):
        raise _Killed

    monkeypatch.setattr(keras.callbacks.ModelCheckpoint, "_save_model", killed)
    x = np.random.default_rng(0).normal(size=(16, 4)).astype(np.float32)
    y = np.arange(16) % 8
    with pytest.raises(_Killed):
        _tiny_model().fit(x, y, validation_data=(x, y), epochs=1, verbose=0,
                          callbacks=fine_tune_callbacks(config, stage, paths, None, use_ema=False))
    assert logged_values(paths.history(2), "val_accuracy"), "the epoch's row is missing"


def test_fine_tune_callbacks_run_backup_ema_log_then_checkpoint():
    config = TrainConfig(run_dir="run")
    stage = FineTuneStage(2, 1, 1e-3, "block7a_", 0.0)
    names = [type(c).__name__ for c in fine_tune_callbacks(config, stage, RunPaths("run"), 0.5, use_ema=True)]
    assert names == [
        "BackupAndRestore", "SeedStateBackup", "SwapEMAWeights", "CSVLogger", "ModelCheckpoint", "ResumedEarlyStopping",
    ]
