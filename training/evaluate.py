"""The evaluation report a clinician asks for, computed on what the app actually runs.

Every number comes from the shipped ``.tflite`` through the app's classifier
(calibrated with the card's temperature), with scikit-learn metrics. Output, in
``models/report/``: PNG figures, ``metrics.json`` and ``README.md``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from hemoapp.core.contract import CLASS_NAMES, ModelCard
from training import plots
from training.calibration import (
    expected_calibration_error,
    reliability_bins,
    review_outcome,
    risk_coverage,
    softmax,
)
from training.config import TrainConfig
from training.data import load_split
from training.export_run import app_logits, shipped_paths
from training.intervals import accuracy_interval, macro_f1_interval
from training.other_labs import NOTES, evaluate_other_lab, evaluate_other_labs, render_other_labs
from training.train import RunPaths, log


def classification_metrics(labels: np.ndarray, probs: np.ndarray, seed: int = 0) -> dict:
    """Accuracy and macro-F1 with 95% intervals, per-class report, confusion matrices, OvR ROC/AUC and ECE.

    ``seed`` fixes the bootstrap behind the macro-F1 interval, so a report is reproducible.
    """
    from sklearn.metrics import (
        accuracy_score,
        classification_report,
        confusion_matrix,
        f1_score,
        roc_auc_score,
        roc_curve,
    )

    classes = list(range(len(CLASS_NAMES)))
    predicted = probs.argmax(axis=1)
    matrix = confusion_matrix(labels, predicted, labels=classes)
    with np.errstate(invalid="ignore", divide="ignore"):
        normalized = np.nan_to_num(matrix / matrix.sum(axis=1, keepdims=True))
    roc = {}
    for index, name in enumerate(CLASS_NAMES):
        positives = labels == index
        if positives.any() and (~positives).any():
            fpr, tpr, _ = roc_curve(positives, probs[:, index])
            roc[name] = (fpr, tpr, float(roc_auc_score(positives, probs[:, index])))
    present = sorted(set(labels.tolist()))
    return {
        "n": int(len(labels)),
        "accuracy": float(accuracy_score(labels, predicted)),
        "accuracy_ci95": list(accuracy_interval(labels, predicted)),
        "macro_f1": float(f1_score(labels, predicted, labels=present, average="macro")),
        "macro_f1_ci95": list(macro_f1_interval(labels, predicted, seed=seed)),
        "report": classification_report(
            labels, predicted, labels=classes, target_names=list(CLASS_NAMES), output_dict=True, zero_division=0
        ),
        "confusion": matrix.tolist(),
        "confusion_normalized": normalized.tolist(),
        "auc_per_class": {name: auc for name, (_, _, auc) in roc.items()},
        "macro_auc_ovr": float(np.mean([auc for _, _, auc in roc.values()])) if roc else float("nan"),
        "ece": expected_calibration_error(probs, labels),
        "_roc": roc,
    }


def _load_histories(paths: RunPaths, ema: bool = False) -> dict[str, dict[str, list[float]]]:
    histories = {}
    if paths.stage1_history.exists():
        histories["stage 1 (head, frozen backbone)"] = json.loads(paths.stage1_history.read_text())
    for stage, what in ((2, "fine-tuning"), (3, "deeper fine-tuning")):
        if paths.history(stage).exists():
            # With EMA the val curve is the averaged weights' (it lags the train curve at first).
            title = f"stage {stage} ({what}; val: averaged weights)" if ema else f"stage {stage} ({what})"
            histories[title] = _read_csv_history(paths.history(stage))
    return histories


def _read_csv_history(path: Path) -> dict[str, list[float]]:
    """A ``CSVLogger`` file as ``{metric: [value per epoch]}``."""
    import csv

    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    # A resumed run appends; keep the last row logged for each epoch.
    by_epoch = {int(row["epoch"]): row for row in rows}
    keys = [k for k in rows[0] if k != "epoch"] if rows else []
    return {k: [float(by_epoch[e][k]) for e in sorted(by_epoch)] for k in keys}


def _sample_grid(images, labels, probs, indices, path: Path, title: str) -> None:
    captions, ok = [], []
    for i in indices:
        p = int(probs[i].argmax())
        captions.append(f"true {CLASS_NAMES[labels[i]]}\npred {CLASS_NAMES[p]} {probs[i, p]:.2f}")
        ok.append(p == labels[i])
    plots.plot_image_grid([images[i] for i in indices], captions, ok, path, title)


def evaluate_run(config: TrainConfig, report_dir: str | Path | None = None) -> dict:
    """Write the full report for the shipped model; return the metrics dict."""
    tflite_path, card_path, _ = shipped_paths(config)
    card = ModelCard.load(card_path)
    out = Path(report_dir or Path(config.models_dir) / "report")
    out.mkdir(parents=True, exist_ok=True)
    data_dir = Path(config.data_dir)
    temperature = card.calibration_temperature

    log("evaluating on the test split")
    x_test, y_test, _ = load_split(data_dir / "test", config.cache_dir, limit_per_class=config.limit_per_class, framing=config.framing)
    x_val, y_val, _ = load_split(data_dir / "val", config.cache_dir, limit_per_class=config.limit_per_class, framing=config.framing)
    test_logits = app_logits(tflite_path, x_test)
    val_logits = app_logits(tflite_path, x_val)
    test_probs, val_probs = softmax(test_logits, temperature), softmax(val_logits, temperature)
    test_probs_uncalibrated = softmax(test_logits, 1.0)
    test = classification_metrics(y_test, test_probs, seed=config.seed)
    val = classification_metrics(y_val, val_probs, seed=config.seed)
    test["ece_uncalibrated"] = expected_calibration_error(test_probs_uncalibrated, y_test)

    names = list(CLASS_NAMES)
    plots.plot_confusion(np.array(test["confusion"]), names, out / "confusion_counts.png", False, "Test: confusion (counts)")
    plots.plot_confusion(np.array(test["confusion_normalized"]), names, out / "confusion_normalized.png", True,
                         "Test: confusion (row-normalised = recall)")
    plots.plot_roc(test["_roc"], test["macro_auc_ovr"], out / "roc_ovr.png")
    plots.plot_reliability(
        {
            "test, uncalibrated": (reliability_bins(test_probs_uncalibrated, y_test)[1], test["ece_uncalibrated"]),
            f"test, T={temperature:.2f}": (reliability_bins(test_probs, y_test)[1], test["ece"]),
        },
        out / "reliability.png",
    )
    review_curves = {}
    for split, split_metrics, split_probs, labels in (("val", val, val_probs, y_val), ("test", test, test_probs, y_test)):
        review = review_outcome(split_probs, labels, card.review_threshold)
        split_metrics["review"] = review
        unflagged = review["n"] - review["flagged"]
        review_curves[split] = (*risk_coverage(split_probs, labels), unflagged / review["n"],
                                review["unflagged_wrong"] / max(unflagged, 1))
    plots.plot_risk_coverage(review_curves, out / "review_flag.png")
    histories = _load_histories(RunPaths(config.run_dir), ema=config.stage2_ema_momentum > 0)
    if histories:
        plots.plot_history(histories, out / "training_curves.png")
    probs = test_probs
    rng = np.random.default_rng(config.seed)
    _sample_grid(x_test, y_test, probs, rng.choice(len(y_test), size=min(24, len(y_test)), replace=False),
                 out / "random_test_predictions.png", "Random test images (true / predicted, confidence)")
    wrong = np.flatnonzero(probs.argmax(axis=1) != y_test)
    _sample_grid(x_test, y_test, probs, wrong[:36], out / "misclassified.png",
                 f"All {len(wrong)} misclassified test images" if len(wrong) <= 36 else f"36 of {len(wrong)} misclassified")

    other_labs = evaluate_other_labs(config, tflite_path, temperature, card.review_threshold)
    metrics = {
        "model": {"name": card.name, "version": card.version, "sha256": card.sha256,
                  "calibration_temperature": temperature, "review_threshold": card.review_threshold},
        "test": _public(test),
        "val": _public(val),
        "other_labs": other_labs,
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    (out / "README.md").write_text(render_markdown(metrics, bool(histories)), encoding="utf-8")
    log(f"test accuracy {test['accuracy']:.4f}, macro-F1 {test['macro_f1']:.4f}, macro AUC {test['macro_auc_ovr']:.5f}, "
        f"ECE {test['ece'] * 100:.2f}%; report in {out}")
    return metrics


def evaluate_bccd(config: TrainConfig, tflite_path: Path, temperature: float, review_threshold: float) -> dict:
    """Zero-shot figures on ``config.bccd_dir`` (see :mod:`training.other_labs`)."""
    return evaluate_other_lab(config, config.bccd_dir, tflite_path, temperature, review_threshold, NOTES["bccd-wbc"])


def _public(metrics: dict) -> dict:
    return {k: v for k, v in metrics.items() if not k.startswith("_")}


def _headline_row(split: str, m: dict) -> str:
    acc_low, acc_high = m["accuracy_ci95"]
    f1_low, f1_high = m["macro_f1_ci95"]
    return (f"| {split} | {m['n']} | {m['accuracy'] * 100:.2f}% ({acc_low * 100:.2f}–{acc_high * 100:.2f}) | "
            f"{m['macro_f1']:.4f} ({f1_low:.4f}–{f1_high:.4f}) | {m['macro_auc_ovr']:.5f} | {m['ece'] * 100:.2f}% |")


def _review_row(split: str, review: dict) -> str:
    unflagged = "no cell unflagged"
    if review["unflagged_accuracy"] is not None:
        low, high = review["unflagged_accuracy_ci95"]
        unflagged = f"{review['unflagged_accuracy'] * 100:.2f}% ({low * 100:.2f}–{high * 100:.2f})"
    return (f"| {split} | {review['flagged']} of {review['n']} ({review['flagged_fraction'] * 100:.1f}%) | "
            f"{review['errors_flagged']} of {review['errors']} | {review['unflagged_wrong']} | {unflagged} |")


def render_markdown(metrics: dict, has_curves: bool) -> str:
    """The report's README.md: headline numbers, per-class table and the figures."""
    test, val, model = metrics["test"], metrics["val"], metrics["model"]
    lines = [
        f"# Evaluation report: {model['name']} {model['version']}",
        "",
        f"Model sha256 `{model['sha256']}`; calibration temperature {model['calibration_temperature']:.3f}; "
        f"review threshold {model['review_threshold']:.2f}. Every number below was computed on the exported "
        "`.tflite` through the app's own classifier (LiteRT), with scikit-learn metrics.",
        "",
        "| split | n | accuracy (95% CI) | macro-F1 (95% CI) | macro AUC (OvR) | ECE (calibrated) |",
        "|---|---|---|---|---|---|",
        _headline_row("val", val),
        _headline_row("test", test),
        "",
        "Intervals: Wilson score for accuracy, a 1,000-resample bootstrap over images for macro-F1. "
        "They show how far a split of this size can pin a model down: differences between models "
        "smaller than the interval are not evidence.",
        "",
        f"Test ECE before temperature scaling: {test['ece_uncalibrated'] * 100:.2f}%.",
        "",
        "## Per class (test)",
        "",
        "| class | precision | recall | F1 | support | AUC |",
        "|---|---|---|---|---|---|",
    ]
    for name in CLASS_NAMES:
        row = test["report"][name]
        lines.append(f"| {name} | {row['precision']:.4f} | {row['recall']:.4f} | {row['f1-score']:.4f} | "
                     f"{int(row['support'])} | {test['auc_per_class'].get(name, float('nan')):.5f} |")
    lines += ["", "## The review flag", "",
              f"The app flags every cell below the review threshold ({model['review_threshold']:.2f}, chosen on val) "
              "for a person to check and reports the rest as they are. What that does on each split:", "",
              "| split | flagged for review | errors caught by the flag | wrong and not flagged | "
              "accuracy of the unflagged cells (95% CI) |",
              "|---|---|---|---|---|"]
    for split, m in (("val", val), ("test", test)):
        lines.append(_review_row(split, m["review"]))
    lines += ["", "![Risk-coverage](review_flag.png)"]
    lines += ["", "## Other labs (zero-shot: no labels from them in training)", "",
              "Each set through the app's classifier with the model's own framing, next to PBC test; "
              "'flagged' is the share below the review threshold, 'right among the unflagged' what the "
              "flag lets through.", ""]
    lines += render_other_labs(metrics.get("other_labs", {}), test)
    lines += ["", "## Figures", ""]
    figures = [("Confusion matrix (counts)", "confusion_counts.png"),
               ("Confusion matrix (row-normalised)", "confusion_normalized.png"),
               ("One-vs-rest ROC", "roc_ovr.png"), ("Reliability", "reliability.png")]
    if has_curves:
        figures.append(("Training curves per stage", "training_curves.png"))
    figures += [("Random test predictions", "random_test_predictions.png"), ("Misclassified test images", "misclassified.png")]
    for title, file in figures:
        lines += [f"### {title}", "", f"![{title}]({file})", ""]
    return "\n".join(lines)
