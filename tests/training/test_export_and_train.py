"""A few-step training run end to end: checkpoints, resume, export round trip and the card."""

import json

import keras
import numpy as np
import pytest

from hemoapp.core.contract import CLASS_NAMES, ModelCard, ModelCardError, check_card
from training.cli import main as training_main
from training.config import TrainConfig
from training.export import build_card, card_path_for, export_tflite, sha256_of, write_card
from training.train import RunPaths, train


@pytest.fixture(scope="module")
def trained_run(tiny_pbc, tmp_path_factory):
    root = tmp_path_factory.mktemp("run")
    config = TrainConfig(
        data_dir=str(tiny_pbc), run_dir=str(root / "run"), cache_dir=str(root / "cache"),
        models_dir=str(root / "models"), weights="none", stage1_epochs=2, stage2_epochs=1,
        batch_size=8, unfreeze_from="block7a_", bccd_dir=str(root / "no-bccd"),
    )
    train(config)
    return config


def test_training_writes_checkpoints_histories_and_model(trained_run):
    paths = RunPaths(trained_run.run_dir)
    state = json.loads(paths.state.read_text())
    assert state == {"stage1_done": True, "stage2_done": True}
    assert paths.stage1_weights.exists() and paths.final_model.exists()
    history = json.loads(paths.stage1_history.read_text())
    assert len(history["loss"]) >= 1 and "val_accuracy" in history
    assert paths.stage2_history.read_text().startswith("epoch,")


def test_interrupted_run_resumes_from_stage_1(trained_run, tmp_path):
    """With stage 1 done and stage 2 not, a new call skips stage 1 (its features are not recomputed)."""
    paths = RunPaths(trained_run.run_dir)
    paths.write_state(stage2_done=False)
    for cached in paths.features.glob("*.npy"):
        cached.unlink()
    train(trained_run)
    assert not list(paths.features.glob("*.npy")), "stage 1 ran again"
    assert paths.read_state()["stage2_done"]


def test_keras_and_tflite_exports_agree(trained_run, tmp_path):
    from hemoapp.core.classifier import Classifier

    model = keras.models.load_model(RunPaths(trained_run.run_dir).final_model)
    x = np.random.default_rng(0).integers(0, 256, (5, 128, 128, 3)).astype(np.uint8)
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


def test_card_round_trip_and_contract_check(tmp_path):
    model_file = tmp_path / "x.tflite"
    model_file.write_bytes(b"fake model bytes")
    card = build_card(model_file, "x", "1.2.3", calibration_temperature=1.7, review_threshold=0.8,
                      metrics={"test": {"accuracy": 0.99}})
    write_card(card, card_path_for(model_file))
    loaded = ModelCard.load(card_path_for(model_file))
    assert loaded == card
    check_card(loaded)
    assert "Acevedo" in loaded.citation and loaded.classes == list(CLASS_NAMES)
    loaded.classes = list(reversed(CLASS_NAMES))
    with pytest.raises(ModelCardError, match="classes"):
        check_card(loaded)


def test_export_and_evaluate_commands(trained_run, capsys):
    """`python -m training export` then `evaluate` write the shipped files and a full report."""
    args = ["--run-dir", trained_run.run_dir, "--data-dir", trained_run.data_dir, "--models-dir", trained_run.models_dir,
            "--weights", "none"]
    assert training_main(["export", *args]) == 0
    card = ModelCard.load(f"{trained_run.models_dir}/hemolens-lite0.card.json")
    check_card(card)
    assert card.metrics["test"]["n"] == 16 and card.calibration_temperature > 0
    assert training_main(["evaluate", *args]) == 0
    report = f"{trained_run.models_dir}/report"
    metrics = json.loads(open(f"{report}/metrics.json").read())
    assert metrics["model"]["sha256"] == card.sha256
    assert len(metrics["test"]["confusion"]) == 8
    for figure in ("confusion_counts.png", "confusion_normalized.png", "roc_ovr.png", "reliability.png",
                   "training_curves.png", "random_test_predictions.png", "misclassified.png"):
        assert (__import__("pathlib").Path(report) / figure).stat().st_size > 1000, figure
    assert "| test |" in open(f"{report}/README.md").read()


def test_wrong_layout_gives_a_clear_error_and_exit_code_2(tmp_path, capsys):
    (tmp_path / "train" / "lymphocytes").mkdir(parents=True)
    code = training_main(["train", "--data-dir", str(tmp_path), "--run-dir", str(tmp_path / "run"), "--weights", "none"])
    assert code == 2
    assert "unknown class folder" in capsys.readouterr().err


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
