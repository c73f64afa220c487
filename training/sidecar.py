"""Export the heatmap sidecar of a model: its last feature map as a small LiteRT model, and its head.

The shipped model outputs logits only, and its file (and sha256) must not change to give
the app a heatmap. The sidecar is the same network cut before global pooling (the final
conv activation, 4 x 4 x 1280 for Lite0 at 128 px) for the same uint8-range input, plus
the dense head's weights, so the app computes a class activation map in numpy:
``CAM = feature_map @ W[:, class]`` (:mod:`hemoapp.core.heatmap`). Its card names the base
model's name and sha256; the app refuses a sidecar made for another model.

Writes, beside the model, ``heatmap/<stem>.tflite``, ``heatmap/<stem>.npz`` (``kernel``,
``bias``, float16/float32) and ``heatmap/<stem>.json`` (the sidecar card). A subfolder:
``models/*.tflite`` is what the app and the packaging take for classifiers.

Command line (the shipped model from its committed ``.keras``)::

    python -m training.sidecar models/hemolens-lite0.keras models/hemolens-lite0.tflite
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
from pathlib import Path

import numpy as np

from hemoapp.core.heatmap import SIDECAR_SCHEMA_VERSION, sidecar_paths
from training.export import atomic_write_bytes, sha256_of, tflite_bytes


def feature_model(model):
    """The classifier up to its last feature map (the input of global pooling; shares weights)."""
    import keras

    return keras.Model(model.input, model.get_layer("avg_pool").input, name="feature_map")


def _check_against_base(sidecar_tflite: Path, base_tflite: Path, kernel: np.ndarray, bias: np.ndarray,
                        images: np.ndarray) -> float:
    """Largest |logit| difference between the sidecar (pooled features @ W + b) and the base model."""
    from ai_edge_litert.interpreter import Interpreter

    from hemoapp.core.classifier import Classifier

    base_logits = Classifier(base_tflite, num_threads=2).predict_logits(images)
    interpreter = Interpreter(model_path=str(sidecar_tflite), num_threads=2)
    details = interpreter.get_input_details()[0]
    interpreter.resize_tensor_input(details["index"], list(images.shape), strict=True)
    interpreter.allocate_tensors()
    interpreter.set_tensor(details["index"], images.astype(details["dtype"]))
    interpreter.invoke()
    features = interpreter.get_tensor(interpreter.get_output_details()[0]["index"]).astype(np.float64)
    logits = features.mean(axis=(1, 2)) @ kernel.astype(np.float64) + bias.astype(np.float64)
    return float(np.abs(logits - base_logits).max())


def export_sidecar(model, base_tflite: str | Path, check_images: np.ndarray | None = None) -> Path:
    """Write the heatmap sidecar of ``model`` (Keras) for the exported ``base_tflite``; return its card's path.

    ``check_images`` (uint8 model inputs): if given, the sidecar's pooled features through
    the head are compared with the base model's logits, and the largest difference goes
    in the card (float16 weights on both sides: about 1e-2).
    """
    base_tflite = Path(base_tflite)
    card_src = base_tflite.with_name(base_tflite.stem + ".card.json")
    base_card = json.loads(card_src.read_text(encoding="utf-8"))
    tflite_path, weights_path, card_path = sidecar_paths(base_tflite)
    features = feature_model(model)
    shape = [int(v) for v in features.output_shape[1:]]
    atomic_write_bytes(tflite_path, tflite_bytes(features, "float16", int(model.input_shape[1])))
    dense = model.get_layer("logits")
    kernel, bias = (np.asarray(w, dtype=np.float32) for w in dense.get_weights())
    tmp = weights_path.with_name(weights_path.name + ".tmp.npz")
    np.savez_compressed(tmp, kernel=kernel.astype(np.float16), bias=bias)
    tmp.replace(weights_path)
    card = {
        "kind": "heatmap-sidecar",
        "schema_version": SIDECAR_SCHEMA_VERSION,
        "base_model": {"name": base_card["name"], "version": base_card["version"], "sha256": sha256_of(base_tflite)},
        "model_file": tflite_path.name,
        "sha256": sha256_of(tflite_path),
        "weights_file": weights_path.name,
        "weights_sha256": sha256_of(weights_path),
        "feature_map": shape,
        "method": "class activation map: feature_map @ kernel[:, class], the head's dense weights (Zhou et al. 2016)",
        "created": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
    }
    if check_images is not None and len(check_images):
        card["max_logit_difference"] = _check_against_base(tflite_path, base_tflite, kernel, bias, check_images)
        card["checked_on"] = f"{len(check_images)} images"
    atomic_write_bytes(card_path, (json.dumps(card, indent=2) + "\n").encode("utf-8"))
    return card_path


def _check_images(data_dir: Path, count: int) -> np.ndarray:
    from hemoapp.core.imageio import load_rgb

    files = sorted(p for p in (data_dir / "val").rglob("*") if p.suffix.lower() in {".jpg", ".png", ".jpeg"})
    step = max(1, len(files) // count)
    return np.stack([load_rgb(path) for path in files[::step][:count]])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.sidecar", description=__doc__.splitlines()[0])
    parser.add_argument("keras_model", type=Path)
    parser.add_argument("base_tflite", type=Path)
    parser.add_argument("--data-dir", type=Path, default=Path(__file__).resolve().parents[2] / "shared/datasets/pbc8")
    parser.add_argument("--check", type=int, default=64, help="val images to compare logits on (0: none)")
    args = parser.parse_args(argv)
    import keras

    model = keras.models.load_model(args.keras_model, compile=False)
    images = _check_images(args.data_dir, args.check) if args.check else None
    card = export_sidecar(model, args.base_tflite, images)
    print(card.read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
