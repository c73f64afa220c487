"""GPU experiment (2026-11-24): every convolution of EfficientNet-Lite0 fine-tuned, several seeds at once.

Not the shipped recipe (that is ``python -m training train``, on the CPU); this script records how the
GPU figures in ``training/EXPERIMENTS.md`` ("More compute: a lent GPU") were made, so they can be made
again. It uses the training module's own model builder (:func:`training.model.build_classifier`) and
decoder (:func:`training.data.decode_files`, the app's contract: 128 px from the central 75%), under
Keras 3 with the JAX backend, because the lent machine has JAX but no TensorFlow.

How it ran on the lent H100 (no network there): the keras, namex and optree wheels, the converted
ImageNet weights (``build_classifier("lite0", "imagenet")`` saved with ``save_weights``) and the
train/val JPEGs, in tar parts under 64 MiB, were carried over; then

  KERAS_BACKEND=jax python3 gpu_finetune.py prepare /tmp/data/pbc8 /tmp/data/pbc.npz
  for s in 1 2 3 4; do python3 gpu_finetune.py train /tmp/data/pbc.npz lite0_imagenet.weights.h5 $OUT \
      --seed $s --epochs 25 --budget 390 & done; wait

and, back on the development machine (TensorFlow backend),

  python training/experiments/gpu_finetune.py evaluate seed1.weights.h5 ... --with models/hemolens-lite0.keras

Subcommands:
  prepare DATA OUT.npz         decode train/val once, with the app's decoder
  smoke WEIGHTS                build, load and time a few train steps (backend check and speed)
  train DATA.npz WEIGHTS OUT   train one seed; writes OUT/<tag>.weights.h5
  evaluate WEIGHTS...          val/test accuracy of each weights file and of their average
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402


def prepare(data_dir: str, out: str) -> None:
    """Decode the train and val splits once into one ``.npz`` the training processes share."""
    from training.data import decode_files, list_split

    start = time.time()
    arrays = {}
    for split in ("train", "val"):
        files = list_split(Path(data_dir) / split)
        arrays[f"x_{split}"] = decode_files(files.paths, workers=16)
        arrays[f"y_{split}"] = files.labels
        arrays[f"names_{split}"] = np.asarray([p.name for p in files.paths])
    np.savez(out, **arrays)
    print("prepared", {k: v.shape for k, v in arrays.items()}, f"{time.time() - start:.1f}s", flush=True)


def build(weights: str, seed: int, dropout: float = 0.2):
    """The classifier with ImageNet weights loaded and a seed-specific fresh head."""
    from training.model import build_classifier

    model, base = build_classifier("lite0", "none", dropout=dropout, seed=seed)
    model.load_weights(weights)
    dense = model.get_layer("logits")
    kernel, bias = dense.get_weights()
    rng = np.random.default_rng(seed)
    limit = np.sqrt(6.0 / sum(kernel.shape))
    dense.set_weights([rng.uniform(-limit, limit, kernel.shape).astype("float32"), np.zeros_like(bias)])
    return model, base


def augmenter(seed: int):
    """Dihedral symmetries (flips + random transpose) and stain jitter.

    Keras's RandomRotation/Zoom/Translation run at ~50 images/s under JAX on an H100
    (measured), so geometric resampling is left out of this experiment.
    """
    import keras
    from keras import layers, ops

    class RandomTranspose(layers.Layer):
        def __init__(self, seed, **kwargs):
            super().__init__(**kwargs)
            self.seed_generator = keras.random.SeedGenerator(seed)

        def call(self, x, training=None):
            if not training:
                return x
            swap = keras.random.uniform((ops.shape(x)[0], 1, 1, 1), seed=self.seed_generator) < 0.5
            return ops.where(swap, ops.transpose(x, (0, 2, 1, 3)), x)

    return keras.Sequential([
        layers.RandomFlip("horizontal_and_vertical", seed=seed),
        RandomTranspose(seed + 1),
        layers.RandomBrightness(0.08, value_range=(0.0, 255.0), seed=seed + 4),
        layers.RandomContrast(0.12, value_range=(0.0, 255.0), seed=seed + 5),
        layers.RandomSaturation((0.44, 0.56), value_range=(0.0, 255.0), seed=seed + 6),
    ], name="augment")


def smoke(weights: str) -> None:
    """Check the backend and print training speed on random data (one seed, batch 64)."""
    import keras

    from hemoapp.core.contract import IMAGE_SIZE
    from training.model import unfreeze_from

    print("backend", keras.backend.backend(), flush=True)
    model, base = build(weights, 1)
    aug = augmenter(1)
    inputs = keras.Input((IMAGE_SIZE, IMAGE_SIZE, 3))
    train_model = keras.Model(inputs, model(aug(inputs)))
    unfreeze_from(base, "stem_conv")
    train_model.compile(keras.optimizers.Adam(1e-4), keras.losses.CategoricalCrossentropy(from_logits=True),
                        jit_compile=True)
    x = np.random.default_rng(0).integers(0, 255, (64 * 40, IMAGE_SIZE, IMAGE_SIZE, 3)).astype("float32")
    y = keras.utils.to_categorical(np.arange(len(x)) % 8, 8)
    t = time.time()
    train_model.fit(x[:128], y[:128], batch_size=64, epochs=1, verbose=0)
    print(f"compile+2 steps {time.time() - t:.1f}s", flush=True)
    t = time.time()
    train_model.fit(x, y, batch_size=64, epochs=1, verbose=0)
    dt = time.time() - t
    print(f"40 steps of 64: {dt:.2f}s = {len(x) / dt:.0f} img/s", flush=True)


def time_budget(deadline: float):
    """A callback that stops training once the wall clock passes ``deadline`` (the lease is short)."""
    import keras

    class TimeBudget(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if time.time() > deadline:
                print(f"time budget spent after epoch {epoch + 1}", flush=True)
                self.model.stop_training = True

    return TimeBudget()


def train(data: str, weights: str, out: str, seed: int, epochs: int, lr: float, batch: int,
          smoothing: float, head_epochs: int, deadline: float, tag: str) -> None:
    """Stage 1 (head, frozen backbone), then stage 2 (all convolutions, BN in inference mode)."""
    import keras

    from hemoapp.core.contract import IMAGE_SIZE
    from training.data import class_weights
    from training.model import unfreeze_from

    keras.utils.set_random_seed(seed)
    arrays = np.load(data)
    x_train = arrays["x_train"].astype("float32")
    y_train = keras.utils.to_categorical(arrays["y_train"], 8)
    x_val = arrays["x_val"].astype("float32")
    y_val = arrays["y_val"]
    weights_by_class = class_weights(arrays["y_train"])
    sample_weight = np.asarray([weights_by_class[int(c)] for c in arrays["y_train"]], dtype="float32")

    model, base = build(weights, seed)
    aug = augmenter(seed * 10)
    inputs = keras.Input((IMAGE_SIZE, IMAGE_SIZE, 3))
    train_model = keras.Model(inputs, model(aug(inputs)))
    loss = keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=smoothing)
    start = time.time()

    # Stage 1: the head on the frozen backbone.
    train_model.compile(keras.optimizers.Adam(1e-3), loss, jit_compile=True)
    train_model.fit(x_train, y_train, sample_weight=sample_weight, batch_size=batch, epochs=head_epochs, verbose=0)
    val_acc = float(np.mean(np.argmax(model.predict(x_val, batch_size=512, verbose=0), 1) == y_val))
    print(f"[{tag}] stage1 val {val_acc:.4f} at {time.time() - start:.0f}s", flush=True)

    # Stage 2: every convolution trainable, BatchNormalization kept in inference mode.
    unfreeze_from(base, "stem_conv")
    steps = epochs * int(np.ceil(len(x_train) / batch))
    schedule = keras.optimizers.schedules.CosineDecay(0.0, steps, alpha=0.0, warmup_target=lr,
                                                      warmup_steps=int(np.ceil(len(x_train) / batch)))
    optimizer = keras.optimizers.AdamW(schedule, weight_decay=1e-5, use_ema=True, ema_momentum=0.999)
    train_model.compile(optimizer, loss, jit_compile=True)

    class Report(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if (epoch + 1) % 5 == 0 or epoch + 1 == epochs:
                acc = float(np.mean(np.argmax(model.predict(x_val, batch_size=512, verbose=0), 1) == y_val))
                print(f"[{tag}] epoch {epoch + 1} loss {logs['loss']:.4f} val (raw weights) {acc:.4f} "
                      f"at {time.time() - start:.0f}s", flush=True)

    # No SwapEMAWeights: under JAX (Keras 3.15) it leaves donated buffers behind after the last
    # epoch ("Array has been deleted"), and after an early stop it makes fit's finalisation write
    # the raw weights over the averaged ones. Without it, fit ends by putting the EMA weights in.
    callbacks = [Report(), time_budget(deadline)]
    train_model.fit(x_train, y_train, sample_weight=sample_weight, batch_size=batch, epochs=epochs,
                    verbose=0, callbacks=callbacks)
    logits = model.predict(x_val, batch_size=512, verbose=0)
    acc = float(np.mean(np.argmax(logits, 1) == y_val))
    print(f"[{tag}] final val {acc:.4f} ({int(np.sum(np.argmax(logits, 1) != y_val))} wrong) "
          f"in {time.time() - start:.0f}s", flush=True)
    Path(out).mkdir(parents=True, exist_ok=True)
    model.save_weights(str(Path(out) / f"{tag}.weights.h5"))
    print(json.dumps({
        "seed": seed, "epochs": epochs, "lr": lr, "batch": batch, "smoothing": smoothing,
        "head_epochs": head_epochs, "val_accuracy": acc,
        "backend": keras.backend.backend(), "seconds": time.time() - start}), flush=True)


def evaluate(weight_files: list[str], keras_models: list[str], data_dir: str, cache_dir: str) -> None:
    """Print val and test accuracy of each model and of the average of their probabilities."""
    import keras
    from sklearn.metrics import f1_score

    from training.data import load_split
    from training.model import build_classifier

    splits = {name: load_split(Path(data_dir) / name, cache_dir=cache_dir) for name in ("val", "test")}
    probabilities: dict[str, dict[str, np.ndarray]] = {}
    for path in weight_files + keras_models:
        if path in keras_models:
            model = keras.models.load_model(path)
        else:
            model, _ = build_classifier("lite0", "none")
            model.load_weights(path)
        probabilities[Path(path).name] = {
            name: keras.ops.convert_to_numpy(keras.ops.softmax(
                model.predict(images.astype("float32"), batch_size=256, verbose=0)))
            for name, (images, _, _) in splits.items()}

    def line(name: str, by_split: dict[str, np.ndarray]) -> None:
        cells = []
        for split, (_, labels, _) in splits.items():
            predicted = by_split[split].argmax(1)
            cells.append(f"{split} {np.mean(predicted == labels) * 100:.2f}% ({int(np.sum(predicted != labels))} wrong, "
                         f"macro-F1 {f1_score(labels, predicted, average='macro'):.4f})")
        print(f"{name:32s} " + " | ".join(cells), flush=True)

    for name, by_split in probabilities.items():
        line(name, by_split)
    for members in (list(probabilities)[:len(weight_files)], list(probabilities)):
        if len(members) > 1:
            line(f"average of {len(members)}", {split: np.mean([probabilities[m][split] for m in members], axis=0)
                                                  for split in splits})
    test_labels = splits["test"][1]
    wrong = [set(np.flatnonzero(p["test"].argmax(1) != test_labels)) for p in probabilities.values()]
    print(f"test images wrong in every model: {len(set.intersection(*wrong))}")


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("data")
    p.add_argument("out")
    p = sub.add_parser("smoke")
    p.add_argument("weights")
    p = sub.add_parser("train")
    p.add_argument("data")
    p.add_argument("weights")
    p.add_argument("out")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--lr", type=float, default=3e-4)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--smoothing", type=float, default=0.0)
    p.add_argument("--head-epochs", type=int, default=3)
    p.add_argument("--budget", type=float, default=420.0, help="seconds of training at most")
    p.add_argument("--tag", default="")
    p = sub.add_parser("evaluate")
    p.add_argument("weights", nargs="+", help="weights files saved by train")
    p.add_argument("--with", dest="keras_models", action="append", default=[], help="a .keras model to add")
    p.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "datasets" / "pbc8"))
    p.add_argument("--cache-dir", default=str(ROOT / "cache"))
    args = parser.parse_args()
    # The lent GPU has JAX and no TensorFlow; the development machine has TensorFlow.
    os.environ.setdefault("KERAS_BACKEND", "tensorflow" if args.command == "evaluate" else "jax")
    if args.command == "evaluate":
        evaluate(args.weights, args.keras_models, args.data_dir, args.cache_dir)
    elif args.command == "prepare":
        prepare(args.data, args.out)
    elif args.command == "smoke":
        smoke(args.weights)
    else:
        train(args.data, args.weights, args.out, args.seed, args.epochs, args.lr, args.batch, args.smoothing,
              args.head_epochs, time.time() + args.budget, args.tag or f"seed{args.seed}")


if __name__ == "__main__":
    main()
