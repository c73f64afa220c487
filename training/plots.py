"""Figures of the evaluation report (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_confusion(matrix: np.ndarray, labels: list[str], path: Path, normalized: bool, title: str) -> None:
    """Confusion matrix heat map with the value in every cell."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.5, 6.5))
    image = ax.imshow(matrix, cmap="Blues", vmin=0, vmax=1.0 if normalized else None)
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    threshold = matrix.max() / 2 if matrix.size else 0
    for i in range(matrix.shape[0]):
        for j in range(matrix.shape[1]):
            value = matrix[i, j]
            text = f"{value:.3f}" if normalized else f"{int(value)}"
            ax.text(j, i, text, ha="center", va="center", fontsize=7,
                    color="white" if value > threshold else "black")
    fig.colorbar(image, ax=ax, fraction=0.046)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_roc(curves: dict[str, tuple[np.ndarray, np.ndarray, float]], macro_auc: float, path: Path) -> None:
    """One-vs-rest ROC curves per class, with a zoomed inset of the top-left corner."""
    plt = _plt()
    fig, (ax, zoom) = plt.subplots(1, 2, figsize=(12, 5.2))
    for name, (fpr, tpr, auc) in curves.items():
        for axis in (ax, zoom):
            axis.plot(fpr, tpr, lw=1.4, label=f"{name} (AUC {auc:.4f})")
    ax.plot([0, 1], [0, 1], "k--", lw=0.8)
    ax.set_title(f"One-vs-rest ROC (macro AUC {macro_auc:.4f})")
    zoom.set_xlim(0, 0.05)
    zoom.set_ylim(0.9, 1.001)
    zoom.set_title("zoom: FPR ≤ 5%")
    for axis in (ax, zoom):
        axis.set_xlabel("false positive rate")
        axis.set_ylabel("true positive rate")
        axis.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_history(histories: dict[str, dict[str, list[float]]], path: Path) -> None:
    """Accuracy and loss per epoch for each training stage (train and val)."""
    plt = _plt()
    fig, axes = plt.subplots(len(histories), 2, figsize=(11, 3.6 * len(histories)), squeeze=False)
    for row, (stage, history) in enumerate(histories.items()):
        epochs = np.arange(1, len(history.get("loss", [])) + 1)
        for col, metric in enumerate(("accuracy", "loss")):
            axis = axes[row][col]
            if metric in history:
                axis.plot(epochs, history[metric], "o-", label=f"train {metric}")
            if f"val_{metric}" in history:
                axis.plot(epochs, history[f"val_{metric}"], "s-", label=f"val {metric}")
            axis.set_title(f"{stage}: {metric}")
            axis.set_xlabel("epoch")
            axis.grid(alpha=0.3)
            axis.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_reliability(panels: dict[str, tuple[list, float]], path: Path) -> None:
    """Reliability diagrams: accuracy vs confidence per bin, with ECE, one panel per setting."""
    plt = _plt()
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 5), squeeze=False)
    for axis, (title, (bins, ece)) in zip(axes[0], panels.items()):
        conf = np.array([b[0] for b in bins])
        acc = np.array([b[1] for b in bins])
        count = np.array([b[2] for b in bins])
        width = 1.0 / len(bins)
        centers = (np.arange(len(bins)) + 0.5) * width
        has = count > 0
        axis.bar(centers[has], acc[has], width=width * 0.9, alpha=0.75, label="accuracy")
        # The red tick is the bin's mean confidence: its distance to the bar top is the gap.
        axis.plot(centers[has], conf[has], "r_", ms=12, mew=2, label="mean confidence")
        axis.plot([0, 1], [0, 1], "k--", lw=0.8)
        axis.set_xlim(0, 1)
        axis.set_ylim(0, 1.02)
        axis.set_xlabel("confidence")
        axis.set_ylabel("accuracy")
        axis.set_title(f"{title}: ECE {ece * 100:.2f}%")
        axis.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_risk_coverage(curves: dict[str, tuple[np.ndarray, np.ndarray, float, float]], path: Path) -> None:
    """Error rate among unflagged cells against the fraction left unflagged, one line per split.

    Each entry is ``(coverage, error_rate, coverage_at_threshold, error_at_threshold)``;
    the review threshold's operating point is marked on its line.
    """
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4.8))
    for label, (coverage, error, at_coverage, at_error) in curves.items():
        (line,) = ax.plot(coverage * 100, error * 100, lw=1.5, label=label)
        ax.plot([at_coverage * 100], [at_error * 100], "o", color=line.get_color(), ms=7,
                label=f"{label}: review threshold ({at_coverage * 100:.1f}% unflagged, {at_error * 100:.2f}% wrong)")
    ax.set_xlabel("cells not flagged for review (%)")
    ax.set_ylabel("wrong among them (%)")
    ax.set_xlim(0, 100.5)
    ax.set_ylim(bottom=0)
    ax.set_title("Risk-coverage: what the review flag lets through")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_image_grid(images: list[np.ndarray], captions: list[str], ok: list[bool], path: Path, title: str,
                    columns: int = 6) -> None:
    """A grid of images with captions; wrong predictions captioned in red."""
    plt = _plt()
    if not images:
        fig, axis = plt.subplots(figsize=(6, 1.5))
        axis.axis("off")
        axis.text(0.5, 0.5, f"{title}: none", ha="center", va="center")
        fig.savefig(path, dpi=110)
        plt.close(fig)
        return
    rows = int(np.ceil(len(images) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(2.3 * columns, 2.55 * rows), squeeze=False)
    for axis in axes.flat:
        axis.axis("off")
    for axis, image, caption, good in zip(axes.flat, images, captions, ok):
        axis.imshow(image)
        axis.set_title(caption, fontsize=7.5, color="black" if good else "red")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=72)  # photos compress poorly as PNG; keep the committed report small
    plt.close(fig)
