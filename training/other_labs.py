"""Zero-shot figures on other labs' cells, next to PBC's: accuracy, recall, the review flag.

The only other-lab data here are ``bccd-wbc`` (351 crops, another lab, camera and stain) and
``lisc-wbc`` (1,218 crops from about 246 smear fields in Tehran; several shifted crops of
one cell, so its intervals are narrower than its ~246 independent fields justify). Both are
measured through the exported ``.tflite`` with the app's classifier, decoded with the
model's own framing, as ``hemoapp validate`` would.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hemoapp.core.classifier import softmax
from hemoapp.core.contract import CLASS_NAMES
from training.config import TrainConfig
from training.data import load_split
from training.intervals import accuracy_interval

#: Name of each other-lab set → the config field that holds its folder.
OTHER_LAB_FIELDS: dict[str, str] = {"bccd-wbc": "bccd_dir", "lisc-wbc": "lisc_dir"}

#: Caveats the report prints beside each set.
NOTES: dict[str, str] = {
    "bccd-wbc": "basophil has 3 images: too few to measure",
    "lisc-wbc": "about 246 smear fields with several shifted crops of one cell: intervals are optimistic",
}


def _wilson(successes: int, n: int) -> list[float] | None:
    if n == 0:
        return None
    labels = np.ones(n, dtype=np.int64)
    predicted = np.concatenate([np.ones(successes, dtype=np.int64), np.zeros(n - successes, dtype=np.int64)])
    return list(accuracy_interval(labels, predicted))


def other_lab_metrics(labels: np.ndarray, probs: np.ndarray, review_threshold: float, note: str = "") -> dict:
    """Accuracy, per-class recall (with Wilson intervals) and the review flag's outcome on one set."""
    predicted = probs.argmax(axis=1)
    right = predicted == labels
    unflagged = probs.max(axis=1) >= review_threshold
    per_class = {}
    for index, name in enumerate(CLASS_NAMES):
        mask = labels == index
        if mask.any():
            per_class[name] = {
                "n": int(mask.sum()),
                "recall": float(right[mask].mean()),
                "recall_ci95": _wilson(int(right[mask].sum()), int(mask.sum())),
                "predicted_as": {CLASS_NAMES[c]: int((predicted[mask] == c).sum()) for c in np.unique(predicted[mask])},
            }
    n_unflagged = int(unflagged.sum())
    unflagged_right = int((unflagged & right).sum())
    return {
        "available": True,
        "n": int(len(labels)),
        "accuracy": float(right.mean()),
        "accuracy_ci95": _wilson(int(right.sum()), int(len(labels))),
        "per_class": per_class,
        "mean_confidence": float(probs.max(axis=1).mean()),
        "review_threshold": float(review_threshold),
        "flagged_fraction": float(1.0 - unflagged.mean()),
        "unflagged": n_unflagged,
        "unflagged_wrong": n_unflagged - unflagged_right,
        "unflagged_accuracy": unflagged_right / n_unflagged if n_unflagged else None,
        "unflagged_accuracy_ci95": _wilson(unflagged_right, n_unflagged),
        "note": note,
    }


def evaluate_other_lab(config: TrainConfig, folder: str | Path, tflite_path: Path, temperature: float,
                       review_threshold: float, note: str = "") -> dict:
    """:func:`other_lab_metrics` of the exported model on one class-folder set (``available: False`` if absent)."""
    from training.export_run import app_logits

    folder = Path(folder)
    if not folder.is_dir():
        return {"available": False}
    images, labels, _ = load_split(folder, config.cache_dir, allow_missing=True, framing=config.framing)
    probs = softmax(app_logits(tflite_path, images), temperature)
    return other_lab_metrics(labels, probs, review_threshold, note)


def evaluate_other_labs(config: TrainConfig, tflite_path: Path, temperature: float, review_threshold: float) -> dict:
    """Every other-lab set of the config, by name."""
    return {
        name: evaluate_other_lab(config, getattr(config, field), tflite_path, temperature, review_threshold,
                                 NOTES.get(name, ""))
        for name, field in OTHER_LAB_FIELDS.items()
    }


def _pct(value: float | None, interval: list[float] | None) -> str:
    if value is None:
        return "–"
    if not interval:
        return f"{value * 100:.1f}%"
    return f"{value * 100:.1f}% ({interval[0] * 100:.1f}–{interval[1] * 100:.1f})"


def render_other_labs(results: dict, pbc_test: dict | None = None) -> list[str]:
    """Markdown lines: one table of every set next to PBC test, then per-class recall of each."""
    lines = ["| set | n | accuracy (95% CI) | flagged | right among the unflagged (95% CI) |", "|---|---|---|---|---|"]
    if pbc_test is not None:
        review = pbc_test["review"]
        lines.append(f"| PBC test (training lab) | {pbc_test['n']} | "
                     f"{_pct(pbc_test['accuracy'], list(pbc_test['accuracy_ci95']))} | "
                     f"{review['flagged_fraction'] * 100:.1f}% | "
                     f"{_pct(review['unflagged_accuracy'], review.get('unflagged_accuracy_ci95'))} |")
    for name, result in results.items():
        if not result.get("available"):
            lines.append(f"| {name} | not available | | | |")
            continue
        lines.append(f"| {name} | {result['n']} | {_pct(result['accuracy'], result['accuracy_ci95'])} | "
                     f"{result['flagged_fraction'] * 100:.1f}% | "
                     f"{_pct(result['unflagged_accuracy'], result['unflagged_accuracy_ci95'])} |")
    for name, result in results.items():
        if not result.get("available"):
            continue
        lines += ["", f"**{name}** per class ({result['note']}):" if result.get("note") else f"**{name}** per class:",
                  "", "| class | n | recall (95% CI) | predicted as |", "|---|---|---|---|"]
        for cls, row in result["per_class"].items():
            spread = ", ".join(f"{k} {v}" for k, v in sorted(row["predicted_as"].items(), key=lambda kv: -kv[1]))
            lines.append(f"| {cls} | {row['n']} | {_pct(row['recall'], row['recall_ci95'])} | {spread} |")
    return lines
