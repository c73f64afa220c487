"""Which quantisation to ship: val accuracy and LiteRT throughput of each export of one Keras model.

Exports the model once per mode into a temporary folder, runs every file
through the app's :class:`~hemoapp.core.classifier.Classifier` on the PBC val
split (accuracy, and how many val images change their prediction against the
float16 file) and times inference alone on random batches. Example::

    python benchmarks/bench_quantization.py --model models/hemolens-lite0.keras \\
        --modes float16 int8 int8:5 int8:15

``int8:N`` is full-integer int8 with the N most quantisation-sensitive layers
kept in float (see ``training.export.tflite_bytes``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hemoapp.core.classifier import Classifier  # noqa: E402
from training.config import TrainConfig  # noqa: E402
from training.data import load_split  # noqa: E402
from training.export import build_card, card_path_for, export_tflite, write_card  # noqa: E402
from training.export_run import app_logits, int8_calibration_images  # noqa: E402


def parse_mode(text: str) -> tuple[str, int]:
    """``"int8:5"`` → ``("int8", 5)``; ``"float16"`` → ``("float16", 0)``."""
    mode, _, layers = text.partition(":")
    return mode, int(layers or 0)


def throughput(path: Path, size: int, seconds: float, batch: int = 64) -> float:
    """Images per second of inference alone (no decoding) on random uint8 batches."""
    classifier = Classifier(path)
    x = np.random.default_rng(0).integers(0, 256, (batch, size, size, 3), dtype=np.uint8)
    classifier.predict_logits(x)  # warm-up: allocation and XNNPACK packing
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        classifier.predict_logits(x)
        done += batch
    return done / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    """Print one row per quantisation mode: size, val accuracy, changed predictions, images/s."""
    import keras

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="models/hemolens-lite0.keras", help="trained Keras model")
    parser.add_argument("--modes", nargs="+", default=["float16", "int8", "int8:5", "int8:15"])
    parser.add_argument("--seconds", type=float, default=10.0, help="timing length per mode")
    args = parser.parse_args(argv)

    config = TrainConfig()
    model = keras.models.load_model(args.model, compile=False)
    size = int(model.input_shape[1])
    data = Path(config.data_dir)
    x_val, y_val, _ = load_split(data / "val", config.cache_dir, size=size)
    representative = int8_calibration_images(config, size)

    print(f"{args.model}: {size} px; val {len(y_val)} images; int8 calibrated on {len(representative)} train images")
    print(f"{'mode':<10} {'MB':>5} {'val acc':>8} {'changed':>8} {'img/s':>7}")
    reference = None
    with tempfile.TemporaryDirectory() as folder:
        for text in args.modes:
            mode, float_layers = parse_mode(text)
            path = Path(folder) / f"{text.replace(':', '-')}.tflite"
            export_tflite(model, path, mode, representative, float_layers)
            write_card(build_card(path, "bench", "0"), card_path_for(path))
            predicted = app_logits(path, x_val).argmax(axis=1)
            reference = predicted if reference is None else reference
            speed = throughput(path, size, args.seconds)
            print(f"{text:<10} {path.stat().st_size / 1e6:5.1f} {np.mean(predicted == y_val):8.4f} "
                  f"{int(np.sum(predicted != reference)):8d} {speed:7.0f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
