"""Zero-shot accuracy of one .tflite model on PBC and the other labs, with and without cell finding.

    .venv/bin/python training/experiments/cellfind_eval.py [--model models/hemolens-lite0.tflite]

Prints accuracy, per-class recall and the share of cells that are right among those the
review flag does not flag, for the plain centre crop and for :mod:`hemoapp.core.cellfind`.
BCCD is split by source image number (even = tuning part, odd = report part).
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np

from hemoapp.core import imageio
from hemoapp.core.classifier import Classifier
from hemoapp.core.contract import CENTER_CROP, CLASS_NAMES, FRAMING_CELL_CENTRED, FRAMING_CENTRE_CROP, IMAGE_SIZE
from training.data import list_split

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"


def optical_density(images: np.ndarray) -> np.ndarray:
    return -np.log((images.astype(np.float32) + 1.0) / 256.0)


def stain_normalise(images: np.ndarray, reference: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Reinhard-style transfer in optical density: each image's per-channel mean and spread → PBC's."""
    ref_mean, ref_std = reference
    od = optical_density(images)
    mean = od.mean(axis=(1, 2), keepdims=True)
    std = od.std(axis=(1, 2), keepdims=True) + 1e-6
    od = (od - mean) / std * ref_std + ref_mean
    return np.clip(np.exp(-od) * 256.0 - 1.0, 0, 255).astype(np.uint8)


def inputs(paths, normalise: bool) -> np.ndarray:
    out = np.empty((len(paths), IMAGE_SIZE, IMAGE_SIZE, 3), np.uint8)
    for i, path in enumerate(paths):
        image, _ = imageio.open_image(imageio.read_bytes(path), draft_size=int(IMAGE_SIZE / CENTER_CROP) + 1)
        out[i] = imageio.frame_input(image, IMAGE_SIZE, FRAMING_CELL_CENTRED if normalise else FRAMING_CENTRE_CROP)
    return out


def report(name, probs, labels, threshold):
    pred = probs.argmax(1)
    right = pred == labels
    unflagged = probs.max(1) >= threshold
    recalls = " ".join(
        f"{CLASS_NAMES[c][:4]}={right[labels == c].mean():.2f}" for c in np.unique(labels)
    )
    safe = right[unflagged].mean() if unflagged.any() else float("nan")
    print(f"  {name:22s} n={len(labels):5d} acc={right.mean():.4f} flagged={1 - unflagged.mean():.3f} "
          f"unflagged-right={safe:.4f} ({unflagged.sum()}) {recalls}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="models/hemolens-lite0.tflite")
    parser.add_argument("--sets", default="pbc8/val,bccd-wbc,lisc-wbc")
    parser.add_argument("--stain", action="store_true", help="also try stain normalisation to PBC train's statistics")
    args = parser.parse_args()
    model = Classifier(args.model)
    threshold = model.card.review_threshold
    reference = None
    if args.stain:
        sample = list_split(DATA / "pbc8" / "train").paths[::40]
        od = optical_density(inputs(sample, model.framing != FRAMING_CENTRE_CROP))
        reference = (od.mean(axis=(1, 2)).mean(axis=0), od.std(axis=(1, 2)).mean(axis=0))
    for set_name in args.sets.split(","):
        files = list_split(DATA / set_name, allow_missing=True)
        variants = [(False, False), (True, False)] + ([(True, True)] if args.stain else [])
        for normalise, stain in variants:
            x = inputs(files.paths, normalise)
            if stain:
                x = stain_normalise(x, reference)
            probs = np.concatenate([model.predict_arrays(x[i:i + 64]) for i in range(0, len(x), 64)])
            tag = f"{set_name} {'cellfind' if normalise else 'centre'}{'+stain' if stain else ''}"
            report(tag, probs, files.labels, threshold)
            if set_name.startswith("bccd"):
                number = np.array([int(re.search(r"_(\d+)", p.name).group(1)) for p in files.paths])
                report(tag + " even", probs[number % 2 == 0], files.labels[number % 2 == 0], threshold)
                report(tag + " odd", probs[number % 2 == 1], files.labels[number % 2 == 1], threshold)


if __name__ == "__main__":
    main()
