"""A few-step training run end to end: checkpoints, resume, export round trip and the card."""

import json
from pathlib import Path

import keras
import numpy as np
import pytest

from hemoapp.core.contract import CLASS_NAMES, ModelCard, ModelCardError, check_card
from training.cli import main as training_main
from training.config import TrainConfig
from training.export import build_card, card_path_for, export_tflite, sha256_of, tflite_bytes, write_card
from training.export_run import calibration_sample
from training.model import build_classifier
from training.provenance import NOT_RECIPE, code_version, read_sessions, training_record
from training.train import ConfigMismatchError, RunPaths, train


@pytest.fixture(scope="module")
def trained_run(tiny_pbc, tmp_path_factory):
    root = tmp_path_factory.mktemp("run")
    config = TrainConfig(
        data_dir=str(tiny_pbc), run_dir=str(root / "run"), cache_dir=str(root / "cache"),
        models_dir=str(root / "models"), weights="none", stage1_epochs=2, stage2_epochs=1,
        batch_size=8, unfreeze_from="block7a_", bccd_dir=str(root / "no-bccd"),
        release_min_test_accuracy=0.0,  # a few steps on 16 images: far below any release floor
    )
    train(config)
    return config


@pytest.mark.slow
def test_training_writes_checkpoints_histories_and_model(trained_run):
    paths = RunPaths(trained_run.run_dir)
    state = json.loads(paths.state.read_text())
    assert state == {"stage1_done": True, "stage2_done": True, "complete": True}
    assert paths.stage1_weights.exists() and paths.final_model.exists()
    history = json.loads(paths.stage1_history.read_text())
    assert len(history["loss"]) >= 1 and "val_accuracy" in history
    assert paths.stage2_history.read_text().startswith("epoch,")


@pytest.mark.slow
def test_interrupted_run_resumes_from_stage_1(trained_run, tmp_path):
    """With stage 1 done and stage 2 not, a new call skips stage 1 (its features are not recomputed)."""
    paths = RunPaths(trained_run.run_dir)
    paths.write_state(stage2_done=False)
    for cached in paths.features.glob("*.npy"):
        cached.unlink()
    sessions_before = read_sessions(paths.root)
    train(trained_run)
    assert not list(paths.features.glob("*.npy")), "stage 1 ran again"
    assert paths.read_state()["stage2_done"]
    sessions = read_sessions(paths.root)
    assert sessions[:-1] == sessions_before and "finished" in sessions[-1], "the resumed call is not recorded"


class _Killed(BaseException):
    """Stands for a kill: not an Exception, so no ``except Exception`` swallows it."""


@pytest.mark.slow
def test_a_kill_while_saving_the_final_model_leaves_the_run_incomplete(trained_run, monkeypatch):
    """Keras writes model.keras in place; a kill mid-save must not leave a file the next call calls finished."""
    paths = RunPaths(trained_run.run_dir)
    paths.final_model.unlink()  # as if killed after the last stage, before the save

    def dies_midway(self, filepath, *args, **kwargs):
        open(filepath, "wb").write(b"PK\x03\x04 half a zip")
        raise _Killed

    with monkeypatch.context() as patch:
        patch.setattr(keras.Model, "save", dies_midway)
        with pytest.raises(_Killed):
            train(trained_run)
    assert not paths.final_model.exists(), "a truncated model.keras is in place"
    assert not list(paths.root.glob("*.keras")) and not list(paths.root.glob(".*.keras"))
    assert not paths.read_state().get("complete")
    # The next call saves it again (stages done: nothing is retrained) and only then marks the run complete.
    stage2_log = paths.stage2_history.read_text()
    keras.models.load_model(train(trained_run), compile=False)
    assert paths.read_state()["complete"] and paths.stage2_history.read_text() == stage2_log


@pytest.mark.slow
def test_an_export_that_dies_while_measuring_leaves_the_shipped_files_alone(trained_run, tmp_path, monkeypatch):
    """The new model is measured in a staging folder; models/ changes only once its final card is written."""
    import dataclasses

    from hemoapp.core.classifier import Classifier
    from training import export_run as export_module

    config = dataclasses.replace(trained_run, models_dir=str(tmp_path / "models"))
    tflite, card, keras_file = export_module.shipped_paths(config)
    export_module.export_run(config)
    assert not export_module.staging_dir(config).exists()
    shipped = {path: path.read_bytes() for path in (tflite, card, keras_file)}
    assert ModelCard.load(card).sha256 == sha256_of(tflite) and ModelCard.load(card).metrics

    def killed(*args, **kwargs):
        raise _Killed

    monkeypatch.setattr(export_module, "fit_temperature", killed)
    with pytest.raises(_Killed):
        export_module.export_run(config)
    assert {path: path.read_bytes() for path in (tflite, card, keras_file)} == shipped
    # What the dead export left is in the hidden staging folder, out of sight of models/*.tflite.
    visible = sorted(p.name for p in (tmp_path / "models").iterdir() if not p.name.startswith("."))
    # The heatmap sidecar folder is published with the model by the first, complete export.
    assert visible == sorted([p.name for p in shipped] + ["heatmap"])
    Classifier(tflite)  # the app still loads the previous, measured pair


@pytest.mark.slow
def test_keras_and_tflite_exports_agree(trained_run, tmp_path):
    from hemoapp.core.classifier import Classifier

    model = keras.models.load_model(RunPaths(trained_run.run_dir).final_model)
    size = int(model.input_shape[1])
    x = np.random.default_rng(0).integers(0, 256, (5, size, size, 3)).astype(np.uint8)
    reference = np.asarray(model(x.astype(np.float32), training=False))

    model.save(tmp_path / "m.keras")
    reloaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(np.asarray(reloaded(x.astype(np.float32), training=False)), reference, atol=1e-5)

    tflite = tmp_path / "m.tflite"
    sha = export_tflite(model, tflite, quantize="float16")
    card = build_card(tflite, "test-model", "0.0.1", calibration_temperature=1.0)
    write_card(card, card_path_for(tflite))
    logits = Classifier(tflite).predict_logits(x)
    # float16 weights: small differences only
    np.testing.assert_allclose(logits, reference, atol=0.05 * max(1.0, np.abs(reference).max()))
    assert (logits.argmax(1) == reference.argmax(1)).mean() >= 0.8
    assert sha == sha256_of(tflite) == card.sha256


@pytest.mark.slow
def test_int8_export_quantises_activations_and_keeps_the_float_interface(trained_run, tmp_path):
    """Full-integer export: int8 tensors inside, float32 in and out, predictions close to the float model."""
    from ai_edge_litert.interpreter import Interpreter

    from hemoapp.core.classifier import Classifier
    from training.data import load_split

    model = keras.models.load_model(RunPaths(trained_run.run_dir).final_model)
    size = int(model.input_shape[1])
    with pytest.raises(ValueError, match="representative"):
        tflite_bytes(model, "int8", size)
    images, labels, _ = load_split(f"{trained_run.data_dir}/train", size=size)
    representative = images[calibration_sample(labels, 0)]
    reference = np.asarray(model(images.astype(np.float32), training=False))

    def export_and_count_int8(path, float_layers):
        export_tflite(model, path, "int8", representative, float_layers)
        interpreter = Interpreter(model_path=str(path))
        assert interpreter.get_input_details()[0]["dtype"] == np.float32
        assert interpreter.get_output_details()[0]["dtype"] == np.float32
        write_card(build_card(path, "int8-model", "0.0.1"), card_path_for(path))
        logits = Classifier(path).predict_logits(images)
        assert np.corrcoef(logits.ravel(), reference.ravel())[0, 1] > 0.9
        return sum(t["dtype"] == np.int8 for t in interpreter.get_tensor_details())

    all_int8 = export_and_count_int8(tmp_path / "all.tflite", 0)
    assert all_int8 > 50  # weights and activations
    # Keeping the 3 worst layers in float leaves fewer int8 tensors.
    assert export_and_count_int8(tmp_path / "mixed.tflite", 3) < all_int8


@pytest.mark.slow
def test_int8_error_ranking_is_worst_first(trained_run):
    import tensorflow as tf

    from training.data import load_split
    from training.export import int8_error_ranking

    model = keras.models.load_model(RunPaths(trained_run.run_dir).final_model)
    images, _, _ = load_split(f"{trained_run.data_dir}/train", size=int(model.input_shape[1]))
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([image[None].astype(np.float32)] for image in images)
    ranking = int8_error_ranking(converter, images[:4])
    errors = [error for _, error in ranking]
    assert len(ranking) > 10 and errors == sorted(errors, reverse=True) and errors[0] > 0


def test_calibration_sample_is_stratified_and_seeded():
    labels = np.repeat(np.arange(len(CLASS_NAMES)), [100, 5, 60, 60, 60, 60, 60, 60])
    picked = calibration_sample(labels, seed=3, per_class=10)
    counts = np.bincount(labels[picked], minlength=len(CLASS_NAMES))
    assert counts.tolist() == [10, 5, 10, 10, 10, 10, 10, 10]  # a rare class gives what it has
    assert np.array_equal(picked, calibration_sample(labels, seed=3, per_class=10))
    assert not np.array_equal(picked, calibration_sample(labels, seed=4, per_class=10))
    with pytest.raises(ValueError, match="unknown quantisation"):
        tflite_bytes(None, "int4")


@pytest.mark.slow
def test_bccd_evaluation_counts_the_cells_the_app_would_not_flag(trained_run, tiny_pbc, tmp_path):
    """Domain-shift metrics: recall per class and the confident (unflagged) answers, wrong ones counted."""
    import dataclasses

    from hemoapp.core.classifier import Classifier, softmax
    from training.data import load_split
    from training.evaluate import evaluate_bccd

    model = keras.models.load_model(RunPaths(trained_run.run_dir).final_model)
    tflite = tmp_path / "m.tflite"
    export_tflite(model, tflite)
    write_card(build_card(tflite, "m", "0.0.1"), card_path_for(tflite))
    config = dataclasses.replace(trained_run, bccd_dir=str(tiny_pbc / "val"), cache_dir=str(tmp_path / "cache"))
    images, labels, _ = load_split(config.bccd_dir)
    probs = softmax(Classifier(tflite).predict_logits(images), 2.0)
    threshold = float(np.median(probs.max(axis=1)))

    result = evaluate_bccd(config, tflite, 2.0, threshold)
    confident = probs.max(axis=1) >= threshold
    assert result["n"] == len(labels) == 16
    assert result["unflagged"] == int(confident.sum()) > 0
    assert result["unflagged_wrong"] == int((confident & (probs.argmax(1) != labels)).sum())
    assert result["accuracy"] == pytest.approx(float(np.mean(probs.argmax(1) == labels)))
    assert evaluate_bccd(config, tflite, 2.0, 1.01)["unflagged"] == 0


def test_card_round_trip_and_contract_check(tmp_path):
    model_file = tmp_path / "x.tflite"
    model_file.write_bytes(b"fake model bytes")
    card = build_card(model_file, "x", "1.2.3", calibration_temperature=1.7, review_threshold=0.8,
                      metrics={"test": {"accuracy": 0.99}}, training={"recipe": {"seed": 5}, "sessions": []})
    write_card(card, card_path_for(model_file))
    loaded = ModelCard.load(card_path_for(model_file))
    assert loaded == card and loaded.training["recipe"] == {"seed": 5}
    check_card(loaded)
    # A card from before the training record (1.1.0's) still loads, with an empty one.
    older = json.loads(card_path_for(model_file).read_text())
    del older["training"]
    assert ModelCard.from_dict(older).training == {}
    with pytest.raises(ModelCardError, match="training"):
        ModelCard.from_dict({**older, "training": "seed 5"})
    assert "Acevedo" in loaded.citation and loaded.classes == list(CLASS_NAMES)
    loaded.classes = list(reversed(CLASS_NAMES))
    with pytest.raises(ModelCardError, match="classes"):
        check_card(loaded)


@pytest.mark.slow
def test_an_export_below_the_release_floor_leaves_the_shipped_model(trained_run, tmp_path, capsys):
    """A candidate under the floor is kept in the run folder for inspection; models/ is not touched."""
    import dataclasses

    from training import export_run as export_module

    models = tmp_path / "models"
    shipped = dataclasses.replace(trained_run, models_dir=str(models))
    export_module.export_run(shipped)
    before = {path.name: path.read_bytes() for path in models.iterdir() if path.is_file()}
    args = ["--run-dir", trained_run.run_dir, "--data-dir", trained_run.data_dir, "--models-dir", str(models),
            "--weights", "none", "--set", "release_min_test_accuracy=1.01"]
    assert training_main(["export", *args]) == 2
    assert "below the release floor 101.00%" in capsys.readouterr().err
    assert {path.name: path.read_bytes() for path in models.iterdir() if path.is_file()} == before
    rejected = export_module.rejected_dir(RunPaths(trained_run.run_dir))
    card = ModelCard.load(rejected / "hemolens-lite0.card.json")
    assert card.sha256 == sha256_of(rejected / "hemolens-lite0.tflite") and card.metrics["test"]["n"] == 16
    assert not export_module.staging_dir(shipped).exists()


@pytest.mark.slow
def test_export_and_evaluate_commands(trained_run, capsys):
    """`python -m training export` then `evaluate` write the shipped files and a full report."""
    args = ["--run-dir", trained_run.run_dir, "--data-dir", trained_run.data_dir, "--models-dir", trained_run.models_dir,
            "--weights", "none", "--set", "release_min_test_accuracy=0"]
    assert training_main(["export", *args]) == 0
    card = ModelCard.load(f"{trained_run.models_dir}/hemolens-lite0.card.json")
    check_card(card)
    assert card.metrics["test"]["n"] == 16 and card.calibration_temperature > 0
    review = card.metrics["test"]["review"]
    assert review["threshold"] == card.review_threshold
    assert review["errors"] == round(16 * (1 - card.metrics["test"]["accuracy"]))
    assert review["errors_flagged"] + review["unflagged_wrong"] == review["errors"]
    # The card says how the weights were trained, from the run folder rather than the export's arguments.
    paths = RunPaths(trained_run.run_dir)
    assert card.training["recipe"] == {key: value for key, value in json.loads(paths.config.read_text()).items()
                                       if key not in NOT_RECIPE}
    assert card.training["recipe"]["stage2_epochs"] == 1 and card.training["data"] == Path(trained_run.data_dir).name
    assert card.training["epochs"]["stage1"] == len(json.loads(paths.stage1_history.read_text())["loss"])
    assert card.training["epochs"]["stage2"] == 1 and card.training["epochs"]["stage2_best"] == 1
    sessions = card.training["sessions"]
    assert sessions and "finished" in sessions[-1]  # earlier ones: the kill and resume tests above
    assert sessions[-1]["software"]["keras"] == keras.__version__ and sessions[-1]["code"] == code_version()
    assert card.training["export"] == {"code": code_version(), "software": sessions[-1]["software"]}
    assert training_main(["evaluate", *args]) == 0
    report = f"{trained_run.models_dir}/report"
    metrics = json.loads(open(f"{report}/metrics.json").read())
    assert metrics["model"]["sha256"] == card.sha256
    assert len(metrics["test"]["confusion"]) == 8
    low, high = metrics["test"]["accuracy_ci95"]
    assert low <= metrics["test"]["accuracy"] <= high
    for figure in ("confusion_counts.png", "confusion_normalized.png", "roc_ovr.png", "reliability.png",
                   "training_curves.png", "random_test_predictions.png", "misclassified.png"):
        assert (__import__("pathlib").Path(report) / figure).stat().st_size > 1000, figure
    assert "| test |" in open(f"{report}/README.md").read()


def test_wrong_layout_gives_a_clear_error_and_exit_code_2(tmp_path, capsys):
    (tmp_path / "train" / "lymphocytes").mkdir(parents=True)
    code = training_main(["train", "--data-dir", str(tmp_path), "--run-dir", str(tmp_path / "run"), "--weights", "none"])
    assert code == 2
    assert "unknown class folder" in capsys.readouterr().err


@pytest.mark.slow
def test_ema_checkpoint_holds_the_validated_averaged_weights(tiny_pbc, tmp_path):
    """With Polyak averaging on, the kept model is the one whose val loss was logged."""
    import csv

    from training.data import load_split, make_dataset

    config = TrainConfig(
        data_dir=str(tiny_pbc), run_dir=str(tmp_path / "run"), cache_dir=str(tmp_path / "cache"),
        weights="none", stage1_epochs=1, stage2_epochs=3, stage2_cycle_epochs=0, stage2_lr=3e-3,
        stage2_ema_momentum=0.5, batch_size=8, unfreeze_from="block7a_", patience=10,
    )
    model = keras.models.load_model(train(config))
    with open(RunPaths(config.run_dir).stage2_history, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 3
    best = max(rows, key=lambda row: float(row["val_accuracy"]))  # first of equals, like the checkpoint
    x_val, y_val, _ = load_split(tiny_pbc / "val", config.cache_dir)
    model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    val_loss = model.evaluate(make_dataset(x_val, y_val, config, training=False), verbose=0, return_dict=True)["loss"]
    assert val_loss == pytest.approx(float(best["val_loss"]), rel=1e-4)


def _random_draws_config(tiny_pbc, run_dir, seed: int = 5, **overrides) -> TrainConfig:
    """A tiny run whose every random draw matters: rotations, mixup, dropout and weight averaging."""
    settings = dict(
        data_dir=str(tiny_pbc), run_dir=str(run_dir), cache_dir=str(run_dir.parent / "cache"),
        weights="none", stage1_epochs=2, stage2_epochs=2, stage2_cycle_epochs=0, batch_size=8,
        unfreeze_from="block7a_", aug_rotation=20.0, mixup_alpha=0.2, stage2_ema_momentum=0.5,
        patience=10, seed=seed,
    )
    return TrainConfig(**{**settings, **overrides})


@pytest.mark.slow
def test_the_same_config_trains_the_same_weights(tiny_pbc, tmp_path):
    """Reproducible training: two runs of one config (in two folders) end bit for bit equal.

    Augmentation with rotations, mixup, dropout and weight averaging all draw random
    numbers; a third run with another seed shows the weights do depend on them.
    """
    def run(folder: str, seed: int) -> list[np.ndarray]:
        config = _random_draws_config(tiny_pbc, tmp_path / folder, seed=seed)
        return keras.models.load_model(train(config)).get_weights()

    first, again, other_seed = run("a", 5), run("b", 5), run("c", 6)
    assert len(first) == len(again)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, c) for a, c in zip(first, other_seed))


@pytest.mark.slow
def test_an_interrupted_and_resumed_run_trains_the_same_weights_as_an_unbroken_one(tiny_pbc, tmp_path,
                                                                                     monkeypatch):
    """A kill after stage 2's second epoch, then the same command: bit for bit the unbroken run's weights.

    The resumed process must pick up the input stream (order, augmentation and mixup
    draws) at the epoch it stopped at, not start it again.
    """
    import training.train as train_module

    unbroken = _random_draws_config(tiny_pbc, tmp_path / "unbroken", stage2_epochs=4)
    expected = keras.models.load_model(train(unbroken)).get_weights()

    class KillAfterSecondEpoch(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise _Killed

    real_callbacks = train_module.fine_tune_callbacks
    interrupted = _random_draws_config(tiny_pbc, tmp_path / "interrupted", stage2_epochs=4)
    with monkeypatch.context() as patch:
        patch.setattr(train_module, "fine_tune_callbacks",
                      lambda *args: real_callbacks(*args) + [KillAfterSecondEpoch()])
        with pytest.raises(_Killed):
            train(interrupted)
    paths = RunPaths(interrupted.run_dir)
    assert len(paths.stage2_history.read_text().strip().splitlines()) == 1 + 2, "not killed after epoch 2"
    resumed = keras.models.load_model(train(interrupted)).get_weights()
    assert paths.stage2_history.read_text() == RunPaths(unbroken.run_dir).stage2_history.read_text()
    for a, b in zip(expected, resumed, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.slow
def test_label_smoothing_and_mixup_train_with_the_smoothed_loss(tiny_pbc, tmp_path):
    """Both stages run on one-hot targets; the logged val loss is the smoothed cross-entropy."""
    import csv

    from training.data import load_split, make_dataset

    config = TrainConfig(
        data_dir=str(tiny_pbc), run_dir=str(tmp_path / "run"), cache_dir=str(tmp_path / "cache"),
        weights="none", stage1_epochs=1, stage2_epochs=2, stage2_cycle_epochs=0, batch_size=8,
        unfreeze_from="block7a_", label_smoothing=0.2, mixup_alpha=0.2, patience=10,
    )
    model = keras.models.load_model(train(config))
    stage1 = json.loads(RunPaths(config.run_dir).stage1_history.read_text())
    assert {"accuracy", "val_accuracy"} <= set(stage1)
    with open(RunPaths(config.run_dir).stage2_history, newline="") as handle:
        rows = list(csv.DictReader(handle))
    best = max(rows, key=lambda row: float(row["val_accuracy"]))
    x_val, y_val, _ = load_split(tiny_pbc / "val", config.cache_dir)
    val_ds = make_dataset(x_val, y_val, config, training=False)
    smoothed, plain = (
        keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=s) for s in (0.2, 0.0)
    )
    logged = float(best["val_loss"])
    model.compile(loss=smoothed)
    assert model.evaluate(val_ds, verbose=0, return_dict=True)["loss"] == pytest.approx(logged, rel=1e-4)
    model.compile(loss=plain)
    assert model.evaluate(val_ds, verbose=0, return_dict=True)["loss"] != pytest.approx(logged, rel=1e-3)


@pytest.mark.slow
def test_a_distilled_run_records_its_teacher_and_refuses_another_on_resume(tiny_pbc, tmp_path):
    teacher_path = tmp_path / "teacher.keras"
    build_classifier("lite0", "none", seed=1)[0].save(teacher_path)
    config = TrainConfig(
        data_dir=str(tiny_pbc), run_dir=str(tmp_path / "run"), cache_dir=str(tmp_path / "cache"),
        weights="none", stage1_epochs=1, stage2_epochs=1, stage2_cycle_epochs=0, batch_size=8,
        unfreeze_from="block7a_", distill_teacher=str(teacher_path), distill_weight=0.5, distill_temperature=2.0,
    )
    keras.models.load_model(train(config), compile=False)
    paths = RunPaths(config.run_dir)
    digest = sha256_of(teacher_path)
    assert paths.read_state()["distill_teacher_sha256"] == digest
    assert training_record(paths)["distilled_from"] == {"model": "teacher.keras", "sha256": digest}

    paths.write_state(stage2_done=False, complete=False)  # as if stopped during stage 2
    build_classifier("lite0", "none", seed=2)[0].save(teacher_path)  # another model at the same path
    with pytest.raises(ConfigMismatchError, match="has changed since"):
        train(config)


def test_a_missing_teacher_stops_the_run_before_stage_1(tiny_pbc, tmp_path):
    config = TrainConfig(
        data_dir=str(tiny_pbc), run_dir=str(tmp_path / "run"), cache_dir=str(tmp_path / "cache"),
        weights="none", distill_teacher=str(tmp_path / "nowhere.keras"), distill_weight=0.5,
    )
    with pytest.raises(ConfigMismatchError, match="is not a file"):
        train(config)
    assert not RunPaths(config.run_dir).stage1_weights.exists()


@pytest.fixture(scope="module")
def three_stage_run(tiny_pbc, tmp_path_factory):
    """Stage 3 at a learning rate too small to move a weight: it cannot beat stage 2."""
    root = tmp_path_factory.mktemp("run3")
    config = TrainConfig(
        data_dir=str(tiny_pbc), run_dir=str(root / "run"), cache_dir=str(root / "cache"),
        weights="none", stage1_epochs=1, stage2_epochs=1, stage2_cycle_epochs=0, batch_size=8,
        unfreeze_from="block7a_", stage3_epochs=2, stage3_lr=1e-12, stage2_min_lr=1e-12,
        stage3_unfreeze_from="block6d_", stage3_aug_rotation=45.0, patience=10,
    )
    train(config)
    return config


def _same_weights(model, weights_file) -> bool:
    reference = keras.models.clone_model(model)
    reference.load_weights(weights_file)
    return all(np.array_equal(a, b) for a, b in zip(model.get_weights(), reference.get_weights()))


@pytest.mark.slow
def test_stage_3_that_does_not_beat_stage_2_leaves_its_weights(three_stage_run):
    paths = RunPaths(three_stage_run.run_dir)
    assert paths.read_state() == {"stage1_done": True, "stage2_done": True, "stage3_done": True, "complete": True}
    assert len(paths.history(3).read_text().strip().splitlines()) == 1 + 2  # header + 2 epochs
    assert not paths.best_weights(3).exists(), "an epoch no better than stage 2 was kept"
    model = keras.models.load_model(paths.final_model, compile=False)
    assert _same_weights(model, paths.end_weights(2))


@pytest.mark.slow
def test_interrupted_stage_3_resumes_without_redoing_stage_2(three_stage_run):
    paths = RunPaths(three_stage_run.run_dir)
    stage2_log = paths.history(2).read_text()
    paths.write_state(stage3_done=False)
    paths.history(3).unlink()
    train(three_stage_run)
    assert paths.history(2).read_text() == stage2_log
    assert len(paths.history(3).read_text().strip().splitlines()) == 1 + 2
    assert paths.read_state()["stage3_done"]
    assert _same_weights(keras.models.load_model(paths.final_model, compile=False), paths.end_weights(2))


@pytest.mark.slow
def test_stage_3_curves_are_in_the_report_histories(three_stage_run):
    from training.evaluate import _load_histories

    histories = _load_histories(RunPaths(three_stage_run.run_dir))
    assert [title.split(" (")[0] for title in histories] == ["stage 1", "stage 2", "stage 3"]
    assert len(histories["stage 3 (deeper fine-tuning)"]["val_accuracy"]) == 2


def test_warmup_cosine_schedule_rises_for_one_epoch_then_decays_to_the_floor():
    from training.train import warmup_cosine_schedule

    schedule = warmup_cosine_schedule(1e-4, 1e-6, epochs=4, steps_per_epoch=10)
    rates = [float(schedule(step)) for step in range(41)]
    assert rates[0] == pytest.approx(1e-6)
    assert rates[10] == pytest.approx(1e-4)
    assert all(a < b for a, b in zip(rates[:10], rates[1:11]))
    assert all(a >= b for a, b in zip(rates[10:40], rates[11:41]))
    assert rates[40] == pytest.approx(1e-6)


@pytest.mark.parametrize("decay", [0.0, 0.05])
def test_fine_tune_optimizer_decays_weights_by_lr_times_decay(decay):
    """With a zero gradient, a step moves a weight only by the decoupled decay: w * (1 - lr * decay)."""
    from training.train import fine_tune_optimizer

    optimizer = fine_tune_optimizer(TrainConfig(stage2_weight_decay=decay, stage2_ema_momentum=0.0), 0.01)
    weight = keras.Variable(np.full((3,), 2.0, np.float32))
    optimizer.apply_gradients([(keras.ops.zeros((3,)), weight)])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(weight), 2.0 * (1 - 0.01 * decay), rtol=1e-6)
