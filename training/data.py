"""Training data: class folders → arrays through the app's own decoder → ``tf.data``.

Images are decoded by :func:`hemoapp.core.imageio.load_rgb` — the very function the
app uses — so the train-time input equals the app's input bit for bit. Decoded
splits are cached as ``.npy`` files (a 128 px split of PBC is ~600 MB in memory).
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hemoapp.core import cellfind
from hemoapp.core.contract import CLASS_NAMES, FRAMING_CENTRE_CROP, IMAGE_SIZE, contract_preprocessing
from hemoapp.core.imageio import ImageReadError, is_image_name, load_rgb
from training import atomic
from training.augment import lab_shift

#: The training-time loader *is* the app's loader (tested in tests/core).
load_example = load_rgb


class DataLayoutError(ValueError):
    """The data folder does not look like ``<split>/<class>/<images>``."""


@dataclass
class SplitFiles:
    """The files of one split with their integer labels (contract order)."""

    paths: list[Path]
    labels: np.ndarray


def list_split(
    split_dir: str | os.PathLike[str],
    classes: tuple[str, ...] = CLASS_NAMES,
    allow_missing: bool = False,
    limit_per_class: int = 0,
) -> SplitFiles:
    """List ``split_dir/<class>/*`` image files, checking the layout.

    Args:
        split_dir: folder with one sub-folder per class.
        classes: expected class names; an unknown folder is an error.
        allow_missing: accept missing/empty classes (e.g. BCCD has only white cells).
        limit_per_class: keep at most this many files per class (0 keeps all).

    Raises:
        DataLayoutError: missing folder, unknown class folder, or empty class.
    """
    split_dir = Path(split_dir)
    if not split_dir.is_dir():
        raise DataLayoutError(f"{split_dir} is not a folder")
    found = sorted(p.name for p in split_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    unknown = [name for name in found if name not in classes]
    if unknown:
        raise DataLayoutError(
            f"{split_dir}: unknown class folder(s) {unknown}; expected only {list(classes)}"
        )
    paths: list[Path] = []
    labels: list[int] = []
    for index, name in enumerate(classes):
        class_dir = split_dir / name
        files = sorted(p for p in class_dir.iterdir() if p.is_file() and is_image_name(p.name)) if class_dir.is_dir() else []
        if not files and not allow_missing:
            raise DataLayoutError(f"{split_dir}: class '{name}' has no images")
        if limit_per_class:
            files = files[:limit_per_class]
        paths.extend(files)
        labels.extend([index] * len(files))
    return SplitFiles(paths, np.asarray(labels, dtype=np.int64))


def decode_files(
    paths: list[Path], size: int = IMAGE_SIZE, workers: int | None = None, framing: str = FRAMING_CENTRE_CROP
) -> np.ndarray:
    """Decode files with the app's decoder into a uint8 (N, size, size, 3) array.

    Raises:
        DataLayoutError: listing every unreadable image (training never skips silently).
    """
    out = np.empty((len(paths), size, size, 3), dtype=np.uint8)
    errors: list[str] = []

    def work(item: tuple[int, Path]) -> None:
        index, path = item
        try:
            out[index] = load_example(path, size, framing)
        except ImageReadError as exc:
            errors.append(f"{path}: {exc.message}")

    with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 2) as pool:
        list(pool.map(work, enumerate(paths)))
    if errors:
        raise DataLayoutError(f"{len(errors)} unreadable image(s):\n" + "\n".join(sorted(errors)[:20]))
    return out


def cache_key(paths: list[Path], size: int, framing: str = FRAMING_CENTRE_CROP) -> str:
    """Short hash of what decoded images of ``paths`` depend on: files, size and preprocessing."""
    # The preprocessing is part of the key: a cache decoded under another contract is stale.
    digest = hashlib.sha256(f"{size}|{sorted(contract_preprocessing(framing).items())}".encode())
    if framing != FRAMING_CENTRE_CROP:
        digest.update(cellfind.PARAMETERS.encode())
    for path in paths:
        stat = path.stat()
        digest.update(f"{path}|{stat.st_size}|{int(stat.st_mtime)}".encode())
    return digest.hexdigest()[:16]


def load_split(
    split_dir: str | os.PathLike[str],
    cache_dir: str | os.PathLike[str] | None = None,
    size: int = IMAGE_SIZE,
    allow_missing: bool = False,
    limit_per_class: int = 0,
    framing: str = FRAMING_CENTRE_CROP,
) -> tuple[np.ndarray, np.ndarray, list[Path]]:
    """Decoded images, labels and paths of a split, cached on disk when ``cache_dir`` is set."""
    files = list_split(split_dir, allow_missing=allow_missing, limit_per_class=limit_per_class)
    cache_file = None
    if cache_dir:
        cache_file = Path(cache_dir) / f"{Path(split_dir).name}-{size}-{cache_key(files.paths, size, framing)}.npy"
        if cache_file.exists():
            return np.load(cache_file), files.labels, files.paths
    images = decode_files(files.paths, size, framing=framing)
    if cache_file:
        atomic.save_npy(cache_file, images)  # a kill mid-write must not leave a short cache to be reused
    return images, files.labels, files.paths


def class_weights(labels: np.ndarray, num_classes: int = len(CLASS_NAMES)) -> dict[int, float]:
    """Balanced class weights n / (k * count_c), as scikit-learn's 'balanced'."""
    counts = np.bincount(labels, minlength=num_classes).astype(np.float64)
    counts[counts == 0] = 1.0
    weights = labels.size / (num_classes * counts)
    return {index: float(w) for index, w in enumerate(weights)}


def augment(image, config, seed):
    """Random, label-preserving changes for smear images (a ``tf.data`` map function).

    Orientation is meaningless in a smear (flips, 90° turns and, with ``aug_rotation``,
    any angle), cells vary a little in size and position (zoom/shift), and stains vary
    between runs and labs (brightness, contrast, hue, saturation).

    Every draw is a stateless random op keyed by ``seed`` (an int tensor of shape [2],
    one per example; see :func:`example_seeds`): the same seed gives the same image,
    whichever thread or in which order ``tf.data`` runs the map. Stateful random ops
    would make training depend on thread timing, or, with op determinism on, force
    the map to run serially.
    """
    import tensorflow as tf

    draws = iter(tf.unstack(tf.random.experimental.stateless_split(seed, num=11)))
    size = image.shape[0]
    image = tf.cast(image, tf.float32)
    # Slide background colour: the mean of the outer frame of pixels (before any crop).
    frame = tf.concat([image[:2], image[-2:], tf.transpose(image[:, :2], [1, 0, 2]),
                       tf.transpose(image[:, -2:], [1, 0, 2])], axis=0)
    background = tf.reduce_mean(frame, axis=[0, 1])
    image = tf.image.stateless_random_flip_left_right(image, next(draws))
    image = tf.image.stateless_random_flip_up_down(image, next(draws))
    image = tf.image.rot90(image, k=tf.random.stateless_uniform([], next(draws), 0, 4, dtype=tf.int32))
    # Shift so the background is 0: pixels that a rotation or crop brings in from outside
    # the field become 0, i.e. background, once it is added back.
    image = image - background
    angle_seed = next(draws)  # drawn whether used or not, so the other draws do not move
    if config.aug_rotation > 0:
        image = rotate(image, tf.random.stateless_uniform([], angle_seed, -config.aug_rotation, config.aug_rotation))
    # Zoom and shift in one crop: a box of scale s around a jittered centre.
    scale = tf.random.stateless_uniform([], next(draws), 1.0 - config.aug_zoom, 1.0 + config.aug_zoom)
    half = 0.5 / scale
    cy = 0.5 + tf.random.stateless_uniform([], next(draws), -config.aug_shift, config.aug_shift)
    cx = 0.5 + tf.random.stateless_uniform([], next(draws), -config.aug_shift, config.aug_shift)
    box = tf.stack([cy - half, cx - half, cy + half, cx + half])[None]
    image = tf.image.crop_and_resize(image[None], box, [0], [size, size], extrapolation_value=0.0)[0]
    image = image + background
    image = image / 255.0
    image = tf.image.stateless_random_brightness(image, config.aug_brightness, next(draws))
    image = tf.image.stateless_random_contrast(image, 1.0 - config.aug_contrast, 1.0 + config.aug_contrast,
                                               next(draws))
    image = tf.image.stateless_random_hue(image, config.aug_hue, next(draws))
    image = tf.image.stateless_random_saturation(image, 1.0 - config.aug_saturation, 1.0 + config.aug_saturation,
                                                 next(draws))
    image = lab_shift(tf.clip_by_value(image, 0.0, 1.0), config, seed)
    return tf.clip_by_value(image, 0.0, 1.0) * 255.0


def example_seeds(seed: int):
    """An endless ``tf.data`` stream of stateless-random seeds (int64 pairs), one per example.

    Reproducible from ``seed`` (with the global seed that ``keras.utils.set_random_seed``
    sets) and different at each pass over the data, so every epoch sees new augmentations.
    """
    import tensorflow as tf

    return tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)


def rotate(image, degrees):
    """Rotate an (H, W, C) float image about its centre by ``degrees`` (bilinear, zeros outside).

    The 90° turns cover the square's own symmetries; this adds every angle between them,
    since a cell on a smear has no preferred orientation at all.
    """
    import math

    import tensorflow as tf

    theta = tf.cast(degrees, tf.float32) * (math.pi / 180.0)
    cos, sin = tf.cos(theta), tf.sin(theta)
    height = tf.cast(tf.shape(image)[0], tf.float32)
    width = tf.cast(tf.shape(image)[1], tf.float32)
    cx, cy = (width - 1.0) / 2.0, (height - 1.0) / 2.0
    # The transform maps each output pixel (x, y) to the input point it samples.
    transform = tf.stack([
        cos, -sin, cx - cos * cx + sin * cy,
        sin, cos, cy - sin * cx - cos * cy,
        0.0, 0.0,
    ])[None]
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=image[None], transforms=transform, output_shape=tf.shape(image)[:2],
        fill_value=0.0, interpolation="BILINEAR", fill_mode="CONSTANT",
    )[0]


def uses_soft_targets(config) -> bool:
    """Whether training needs one-hot (smoothed, mixed or distilled) targets instead of class indices."""
    return config.label_smoothing > 0 or config.mixup_alpha > 0 or config.distill_weight > 0


def distilled_targets(images, targets, teacher, weight: float, temperature: float):
    """Blend one-hot ``targets`` with a teacher's softened answers on the same ``images``.

    ``(1 - weight) * targets + weight * softmax(teacher(images) / temperature)``: the
    teacher sees exactly the augmented (and mixed) batch the student trains on, so its
    answer fits the image it is blended with. ``teacher`` maps a batch to logits.
    """
    import tensorflow as tf

    soft = tf.nn.softmax(teacher(images, training=False) / temperature)
    return (1.0 - weight) * targets + weight * tf.cast(soft, targets.dtype)


def mixup(images, targets, alpha: float, seed):
    """Blend each example of a batch with the batch's reverse (Zhang et al., 2018).

    The weight is drawn per example from Beta(alpha, alpha) (as a ratio of two Gamma
    draws, which ``tf.random`` has, stateless and keyed by ``seed`` like
    :func:`augment`); targets must be one-hot and are blended alike.
    """
    import tensorflow as tf

    count = tf.shape(images)[0]
    seed_a, seed_b = tf.unstack(tf.random.experimental.stateless_split(seed, num=2))
    a = tf.random.stateless_gamma([count], seed_a, alpha)
    b = tf.random.stateless_gamma([count], seed_b, alpha)
    weight = a / (a + b)
    mix_images = weight[:, None, None, None]
    mix_targets = weight[:, None]
    images = mix_images * images + (1.0 - mix_images) * tf.reverse(images, [0])
    targets = mix_targets * targets + (1.0 - mix_targets) * tf.reverse(targets, [0])
    return images, targets


def make_dataset(images: np.ndarray, labels: np.ndarray, config, training: bool, teacher=None):
    """A ``tf.data`` pipeline over in-memory uint8 images; augmented and shuffled when training.

    Reproducible: with the global seed set (as :func:`training.train.train` does), the order
    and the augmentations follow from ``config.seed`` alone.

    Labels are class indices, or one-hot rows when the config smooths, mixes or distils
    targets (then for validation too, so one loss serves both). With ``teacher`` (a
    classifier giving logits) and ``config.distill_weight``, the training targets are
    blended with the teacher's answers (:func:`distilled_targets`); validation is not.
    """
    import tensorflow as tf

    soft = uses_soft_targets(config)
    targets = tf.one_hot(labels, len(CLASS_NAMES)) if soft else labels

    # Named map functions, run as written: they hold plain TF ops and no tensor-dependent
    # control flow, so AutoGraph has nothing to convert (and it cannot parse lambdas
    # that share a statement, which only earns a warning in the training log).
    @tf.autograph.experimental.do_not_convert
    def augment_example(example, seed):
        image, target = example
        return augment(image, config, seed), target

    @tf.autograph.experimental.do_not_convert
    def as_float(image, target):
        return tf.cast(image, tf.float32), target

    @tf.autograph.experimental.do_not_convert
    def mix_batch(batch, seed):
        images, batch_targets = batch
        return mixup(images, batch_targets, config.mixup_alpha, seed)

    @tf.autograph.experimental.do_not_convert
    def distil_batch(images, batch_targets):
        return images, distilled_targets(images, batch_targets, teacher, config.distill_weight,
                                         config.distill_temperature)

    dataset = tf.data.Dataset.from_tensor_slices((images, targets))
    if training:
        dataset = dataset.shuffle(len(images), seed=config.seed, reshuffle_each_iteration=True)
        # Parallel but in order, each example with its own seed: the batches do not
        # depend on thread timing (see augment).
        dataset = tf.data.Dataset.zip(dataset, example_seeds(config.seed)).map(
            augment_example, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
        )
    else:
        dataset = dataset.map(as_float)
    dataset = dataset.batch(config.batch_size)
    if training and config.mixup_alpha > 0:
        dataset = tf.data.Dataset.zip(dataset, example_seeds(config.seed + 1)).map(
            mix_batch, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
        )
    if training and teacher is not None and config.distill_weight > 0:
        dataset = dataset.map(distil_batch)  # one batch at a time: the teacher is the costly part
    return dataset.prefetch(tf.data.AUTOTUNE)
