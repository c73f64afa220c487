"""Fit the "not assessable" limits on PBC val, measure them, write them into the model card.

Every measure is taken the way the app takes it: each file decoded by
:func:`hemoapp.core.imageio.load_model_input` with the model's framing, the quality
measured by :func:`hemoapp.core.assessability.measure_quality`, the logits from the app's
own :class:`~hemoapp.core.classifier.Classifier`.

The limits: each quality measure's bound at the :data:`QUALITY_QUANTILE` (and 1 - it)
quantile of PBC val, and the energy score's at :data:`ENERGY_QUANTILE`. Measured on PBC
test: the false-flag rate (PBC cells declared not assessable; goal <= 2%); on each other
lab's set: how many cells are not assessable and the accuracy among the assessable,
unflagged ones.

    python -m training.assessability [--write-card]
"""

from __future__ import annotations

import argparse
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from hemoapp.core.assessability import DEFAULT_QUALITY, Quality, assess, measure_quality
from hemoapp.core.classifier import Classifier, card_path_for, softmax
from hemoapp.core.contract import CLASS_NAMES
from hemoapp.core.imageio import ImageReadError, is_image_name, load_model_input

#: Share of PBC val each quality bound may refuse (each side).
QUALITY_QUANTILE: float = 0.001

#: Share of PBC val the energy score may refuse.
ENERGY_QUANTILE: float = 0.99

#: Each quality bound: the measure, its side, its card key and how PBC val's tail is widened
#: into the limit (``("mul", f)``: times f; ``("add", a)``: plus a; ``("floor", v)``: at least v).
#: The quality checks are for pictures that are *bad* (blurred, badly exposed, no centred cell),
#: not merely unlike PBC's (another stain, a brighter lamp): those are the energy score's to
#: judge. So each tail is widened, e.g. half PBC's sharpest-blur tail, 30 grey levels darker.
#: PBC never clips a pixel; another lab's white background may clip much of the picture and
#: the cell is still seen, so only a picture more than half clipped is refused.
_BOUNDS: tuple[tuple[str, str, str, tuple[str, float]], ...] = (
    ("sharpness", "min", "min_sharpness", ("mul", 0.5)), ("sharpness", "max", "max_sharpness", ("mul", 2.0)),
    ("brightness", "min", "min_brightness", ("add", -30.0)), ("brightness", "max", "max_brightness", ("add", 20.0)),
    ("clipped", "max", "max_clipped", ("floor", 0.5)), ("cell_offset", "max", "max_cell_offset", ("mul", 1.25)),
    ("cell_extent", "min", "min_cell_extent", ("mul", 0.67)), ("cell_extent", "max", "max_cell_extent", ("mul", 1.0)),
    # Fixed: a lobed nucleus may count as several blobs, so PBC's tail reaches the count's cap (8).
    ("cells", "max", "max_cells", ("fixed", 7.0)),
)

_DATA_ROOT = Path(__file__).resolve().parents[2] / "shared" / "datasets"


def class_folder_files(folder: Path) -> tuple[list[Path], np.ndarray]:
    """Image files of a class-folder set and their labels (contract order)."""
    files, labels = [], []
    for index, name in enumerate(CLASS_NAMES):
        for path in sorted((folder / name).glob("*")) if (folder / name).is_dir() else []:
            if is_image_name(path):
                files.append(path)
                labels.append(index)
    return files, np.asarray(labels, dtype=np.int64)


def measure_set(classifier: Classifier, files: list[Path]) -> tuple[list[Quality | None], np.ndarray]:
    """Quality of every file and the app's logits (a row of NaN for a file the app refuses)."""

    def one(path: Path):
        try:
            item = load_model_input(path, classifier.input_size, classifier.framing)
        except ImageReadError:
            return None, None
        return measure_quality(item.array), item.array

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(one, files))
    qualities = [q for q, _ in results]
    logits = np.full((len(files), len(CLASS_NAMES)), np.nan, dtype=np.float32)
    good = [i for i, (_, a) in enumerate(results) if a is not None]
    for start in range(0, len(good), 64):
        chunk = good[start : start + 64]
        logits[chunk] = classifier.predict_logits(np.stack([results[i][1] for i in chunk]))
    return qualities, logits


def fit_block(val_quality: list[Quality | None], val_logits: np.ndarray) -> dict:
    """The card's ``assessability`` limits, from PBC val."""
    from hemoapp.core.assessability import energy_score

    measured = [q.as_dict() for q in val_quality if q is not None and q.cell_found]
    quality = {}
    for measure, side, key, (how, amount) in _BOUNDS:
        values = np.array([m[measure] for m in measured])
        quantile = QUALITY_QUANTILE if side == "min" else 1.0 - QUALITY_QUANTILE
        tail = float(np.quantile(values, quantile))
        limit = (tail * amount if how == "mul" else tail + amount if how == "add"
                 else amount if how == "fixed" else max(tail, amount))
        quality[key] = round(min(limit, 255.0) if measure == "brightness" else limit, 4)
    finite = np.isfinite(val_logits).all(axis=1)
    energy = energy_score(val_logits[finite])
    return {
        "quality": quality,
        "ood": {"score": "energy", "max_energy": round(float(np.quantile(energy, ENERGY_QUANTILE)), 4)},
        "fitted_on": f"PBC val (n={len(val_quality)}): each quality bound at its {QUALITY_QUANTILE:.1%} tail, widened "
                     "(sharpness x0.5 / x2, brightness -30 / +20, clipped at least half the picture, cell offset "
                     "x1.25, cell extent x0.67 / x1, at most 7 stained blobs); the energy score (-logsumexp of the logits) at its "
                     f"{ENERGY_QUANTILE:.0%} quantile",
    }


def outcome(qualities: list[Quality | None], logits: np.ndarray, labels: np.ndarray, block: dict,
            temperature: float, review_threshold: float) -> dict:
    """How many cells are not assessable (by reason), and accuracy among the assessable unflagged ones."""
    reasons: dict[str, int] = {}
    assessable = np.zeros(len(labels), dtype=bool)
    readable = np.isfinite(logits).all(axis=1)
    for i, (quality, row) in enumerate(zip(qualities, logits)):
        if not readable[i]:
            continue
        verdict = assess(quality, row, block)
        assessable[i] = verdict.assessable
        if not verdict.assessable:
            key = verdict.reason.split(" (")[0]
            reasons[key] = reasons.get(key, 0) + 1
    probs = softmax(np.where(readable[:, None], logits, 0.0), temperature)
    right = probs.argmax(axis=1) == labels
    unflagged = probs.max(axis=1) >= review_threshold
    kept = assessable & unflagged
    unflagged_all = readable & unflagged
    return {
        "n": int(readable.sum()),
        "not_assessable": int((readable & ~assessable).sum()),
        "not_assessable_fraction": float((readable & ~assessable).sum() / max(1, readable.sum())),
        "reasons": dict(sorted(reasons.items(), key=lambda kv: -kv[1])),
        "assessable_unflagged": int(kept.sum()),
        "assessable_unflagged_wrong": int((kept & ~right).sum()),
        "assessable_unflagged_accuracy": float(right[kept].mean()) if kept.any() else None,
        "unflagged_before": int(unflagged_all.sum()),
        "unflagged_accuracy_before": float(right[unflagged_all].mean()) if unflagged_all.any() else None,
        "accuracy_all": float(right[readable].mean()) if readable.any() else None,
        "accuracy_assessable": float(right[readable & assessable].mean()) if (readable & assessable).any() else None,
        "accuracy_not_assessable": (float(right[readable & ~assessable].mean())
                                    if (readable & ~assessable).any() else None),
    }


def measure_sets(model_path: Path, data_root: Path = _DATA_ROOT) -> dict:
    """``{set: (qualities, logits, labels)}`` for PBC val and test and the other labs' sets found."""
    classifier = Classifier(model_path)
    sets = {"val": data_root / "pbc8" / "val", "test": data_root / "pbc8" / "test",
            "bccd-wbc": data_root / "bccd-wbc", "lisc-wbc": data_root / "lisc-wbc"}
    measured = {}
    for name, folder in sets.items():
        if folder.is_dir():
            files, labels = class_folder_files(folder)
            measured[name] = (*measure_set(classifier, files), labels)
    return measured


def fit_and_measure(model_path: Path, data_root: Path = _DATA_ROOT, measured: dict | None = None) -> dict:
    """The ``assessability`` block of the model at ``model_path``: limits and their measured outcome."""
    card = Classifier(model_path).card
    measured = measured or measure_sets(model_path, data_root)
    block = fit_block(measured["val"][0], measured["val"][1])
    block["measured"] = {
        name: outcome(q, lg, lb, block, card.calibration_temperature, card.review_threshold)
        for name, (q, lg, lb) in measured.items()
    }
    block["false_flag_rate"] = {split: block["measured"][split]["not_assessable_fraction"]
                                for split in ("val", "test") if split in block["measured"]}
    block["measured_with"] = "the .tflite through hemoapp.core.classifier, decoded by hemoapp.core.imageio"
    return block


def write_block(model_path: Path, block: dict) -> Path:
    """Put ``block`` into the card beside ``model_path`` as ``assessability`` (nothing else changes)."""
    from training.export import atomic_write_bytes

    card_path = card_path_for(model_path)
    data = json.loads(card_path.read_text(encoding="utf-8"))
    data["assessability"] = block
    atomic_write_bytes(card_path, (json.dumps(data, indent=2) + "\n").encode("utf-8"))
    return card_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.assessability", description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path(__file__).resolve().parents[1] / "models" / "hemolens-lite0.tflite")
    parser.add_argument("--data-root", type=Path, default=_DATA_ROOT)
    parser.add_argument("--write-card", action="store_true", help="write the block into the model's card")
    args = parser.parse_args(argv)
    block = fit_and_measure(args.model, args.data_root)
    print(json.dumps(block, indent=2))
    if args.write_card:
        print(f"wrote {write_block(args.model, block)}")
    return 0


__all__ = ["DEFAULT_QUALITY", "fit_and_measure", "fit_block", "outcome", "write_block"]

if __name__ == "__main__":
    raise SystemExit(main())
