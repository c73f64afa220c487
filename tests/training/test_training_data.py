"""The training data pipeline: layout checks, the app's decoder, caching, augmentation."""

import numpy as np
import pytest
from PIL import Image

from hemoapp.core import imageio
from hemoapp.core.contract import CLASS_NAMES, IMAGE_SIZE
from training.config import TrainConfig
from training.data import (
    DataLayoutError,
    augment,
    class_weights,
    distilled_targets,
    list_split,
    load_example,
    load_split,
    make_dataset,
    mixup,
    rotate,
)


def test_lists_classes_in_contract_order(tiny_pbc):
    files = list_split(tiny_pbc / "train")
    assert len(files.paths) == 2 * len(CLASS_NAMES)
    assert [files.paths[i].parent.name for i in range(0, 16, 2)] == list(CLASS_NAMES)
    assert files.labels.tolist() == [i // 2 for i in range(16)]


def test_unknown_class_folder_is_an_error(tmp_path, tiny_pbc):
    split = tmp_path / "train"
    for name in CLASS_NAMES:
        (split / name).mkdir(parents=True)
        Image.new("RGB", (8, 8)).save(split / name / "a.png")
    (split / "monocytes").mkdir()
    with pytest.raises(DataLayoutError, match="unknown class folder"):
        list_split(split)


def test_empty_class_is_an_error_unless_allowed(tmp_path):
    split = tmp_path / "val"
    for name in CLASS_NAMES:
        (split / name).mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(split / "basophil" / "a.png")
    with pytest.raises(DataLayoutError, match="has no images"):
        list_split(split)
    assert len(list_split(split, allow_missing=True).paths) == 1


def test_unreadable_image_is_reported_by_name(tmp_path):
    split = tmp_path / "train"
    for name in CLASS_NAMES:
        (split / name).mkdir(parents=True)
        Image.new("RGB", (8, 8)).save(split / name / "ok.png")
    (split / "platelet" / "broken.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(DataLayoutError, match="broken.jpg"):
        load_split(split)


def test_train_time_input_equals_the_apps_input(tiny_pbc, tmp_path):
    """Same bytes in, same array out: training decodes with the app's own function."""
    assert load_example is imageio.load_rgb
    images, labels, paths = load_split(tiny_pbc / "test", cache_dir=tmp_path)
    dataset = make_dataset(images, labels, TrainConfig(batch_size=4), training=False)
    batch = next(iter(dataset))[0].numpy()
    for i in range(4):
        np.testing.assert_array_equal(batch[i], imageio.load_rgb(paths[i]).astype(np.float32))
    assert batch.shape[1:] == (IMAGE_SIZE, IMAGE_SIZE, 3)


def test_cache_is_reused(tiny_pbc, tmp_path):
    first, _, _ = load_split(tiny_pbc / "val", cache_dir=tmp_path)
    cached = list(tmp_path.glob("val-*.npy"))
    assert len(cached) == 1
    # Poison the cache: a reused cache returns the poisoned values.
    np.save(cached[0], np.zeros_like(first))
    again, _, _ = load_split(tiny_pbc / "val", cache_dir=tmp_path)
    assert not again.any()


def test_augmentation_keeps_shape_range_and_changes_pixels(tiny_pbc):
    import tensorflow as tf

    images, _, _ = load_split(tiny_pbc / "train")
    out = np.stack([augment(tf.constant(images[0]), TrainConfig(), tf.constant([0, k])).numpy() for k in range(4)])
    assert out.shape == (4, IMAGE_SIZE, IMAGE_SIZE, 3)
    assert out.min() >= 0.0 and out.max() <= 255.0
    assert not np.allclose(out[0], images[0])
    assert len({o.tobytes() for o in out}) == 4  # each seed its own draw


def test_augmentation_is_a_function_of_its_seed(tiny_pbc):
    """Same seed, same image (any thread, any order); another seed, another image."""
    import tensorflow as tf

    images, _, _ = load_split(tiny_pbc / "train")
    config = TrainConfig(aug_rotation=30.0)
    image = tf.constant(images[3])
    first = augment(image, config, tf.constant([7, 11])).numpy()
    tf.random.set_seed(99)  # the global seed plays no part
    np.testing.assert_array_equal(augment(image, config, tf.constant([7, 11])).numpy(), first)
    assert not np.array_equal(augment(image, config, tf.constant([7, 12])).numpy(), first)


def test_training_pipeline_repeats_itself_from_the_seed_and_varies_by_epoch(tiny_pbc):
    """Two pipelines built after the same seeding give the same batches; each pass differs."""
    import keras

    images, labels, _ = load_split(tiny_pbc / "train")
    config = TrainConfig(batch_size=16, mixup_alpha=0.2)

    def two_epochs():
        keras.utils.set_random_seed(config.seed)
        dataset = make_dataset(images, labels, config, training=True)
        return [[x.numpy() for x, _ in dataset] for _ in range(2)]

    first, second = two_epochs(), two_epochs()
    for epoch in range(2):
        for a, b in zip(first[epoch], second[epoch]):
            np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0][0], first[1][0])


def test_rotation_by_a_right_angle_equals_a_quarter_turn():
    """The transform matrix is right: 90° and -90° are exactly tf's quarter turns, 0° is the identity."""
    import tensorflow as tf

    image = tf.constant(np.random.default_rng(0).uniform(0, 255, (9, 9, 3)).astype(np.float32))
    np.testing.assert_allclose(rotate(image, 0.0).numpy(), image.numpy(), atol=1e-4)
    quarter = {k: tf.image.rot90(image, k).numpy() for k in (1, 3)}
    np.testing.assert_allclose(rotate(image, 90.0).numpy(), quarter[1], atol=1e-3)
    np.testing.assert_allclose(rotate(image, -90.0).numpy(), quarter[3], atol=1e-3)


def test_rotation_by_45_degrees_keeps_the_centre_and_fills_corners_with_zero():
    import tensorflow as tf

    image = tf.ones((33, 33, 1)) * 7.0
    out = rotate(image, 45.0).numpy()[..., 0]
    assert out[16, 16] == pytest.approx(7.0)
    assert out[0, 0] == 0.0 and out[-1, -1] == 0.0  # outside the turned square: the fill
    assert out[16, 0] == pytest.approx(7.0, abs=1e-3)  # edge midpoints stay inside it


def test_rotation_augmentation_fills_with_the_slide_background(tiny_pbc):
    """Rotated-in corners get the slide's background colour, not black."""
    import tensorflow as tf

    image = np.full((IMAGE_SIZE, IMAGE_SIZE, 3), (200, 180, 190), dtype=np.uint8)
    image[40:88, 40:88] = (90, 40, 120)  # a dark "cell" in the middle
    config = TrainConfig(aug_rotation=45.0, aug_zoom=0.0, aug_shift=0.0, aug_brightness=0.0,
                         aug_contrast=1e-6, aug_hue=0.0, aug_saturation=1e-6)  # tf needs a range
    outs = np.stack([augment(tf.constant(image), config, tf.constant([3, k])).numpy() for k in range(8)])
    np.testing.assert_allclose(outs[:, :3, :3], np.broadcast_to([200, 180, 190], outs[:, :3, :3].shape), atol=1.5)
    # The cell's pixels turned with it: its area is unchanged but not every time in the same place.
    dark = outs[..., 0] < 145
    assert np.all(np.abs(dark.sum(axis=(1, 2)) - 48 * 48) < 48 * 48 * 0.05)
    assert len({d.tobytes() for d in dark}) > 1


def test_balanced_class_weights_hand_computed():
    labels = np.array([0, 0, 0, 1] + list(range(2, 8)))  # 10 samples, class 0 x3
    weights = class_weights(labels)
    assert weights[0] == pytest.approx(10 / (8 * 3))
    assert weights[1] == pytest.approx(10 / 8)


def test_cache_is_keyed_by_the_contract_preprocessing(tiny_pbc, tmp_path, monkeypatch):
    """A cache decoded under another preprocessing (e.g. another crop) is never reused."""
    import training.data

    load_split(tiny_pbc / "val", cache_dir=tmp_path)
    changed = {**training.data.contract_preprocessing(), "center_crop": 0.5}
    monkeypatch.setattr(training.data, "contract_preprocessing", lambda framing="centre-crop": changed)
    load_split(tiny_pbc / "val", cache_dir=tmp_path)
    assert len(list(tmp_path.glob("val-*.npy"))) == 2


def test_mixup_blends_images_and_targets_with_the_same_weight():
    """Each mixed example is w * own + (1 - w) * partner's, for images and targets alike."""
    import tensorflow as tf

    images = tf.constant(np.stack([np.full((4, 4, 3), v, np.float32) for v in (0.0, 100.0, 200.0)]))
    targets = tf.one_hot([0, 1, 2], len(CLASS_NAMES))
    mixed_images, mixed_targets = (t.numpy() for t in mixup(images, targets, alpha=0.4, seed=tf.constant([0, 1])))
    partner = np.array([2, 1, 0])  # the batch reversed
    weight = mixed_targets[np.arange(3), [0, 1, 2]]
    weight[1] = 1.0  # the middle example is its own partner
    expected = weight * images.numpy()[:, 0, 0, 0] + (1 - weight) * images.numpy()[partner, 0, 0, 0]
    np.testing.assert_allclose(mixed_images[:, 0, 0, 0], expected, atol=1e-3)
    np.testing.assert_allclose(mixed_targets.sum(axis=1), 1.0, atol=1e-6)
    assert ((weight > 0) & (weight <= 1)).all()
    assert not np.allclose(mixed_images, images.numpy())  # Beta(0.4, 0.4) is never exactly 0 or 1


def test_soft_target_config_gives_one_hot_targets_in_both_pipelines(tiny_pbc):
    images, labels, _ = load_split(tiny_pbc / "train")
    config = TrainConfig(label_smoothing=0.1, mixup_alpha=0.2, batch_size=4)
    _, val_targets = next(iter(make_dataset(images, labels, config, training=False)))
    np.testing.assert_array_equal(val_targets.numpy(), np.eye(len(CLASS_NAMES))[labels[:4]])
    train_images, train_targets = next(iter(make_dataset(images, labels, config, training=True)))
    assert train_images.shape == (4, IMAGE_SIZE, IMAGE_SIZE, 3)
    assert train_targets.shape == (4, len(CLASS_NAMES))
    np.testing.assert_allclose(train_targets.numpy().sum(axis=1), 1.0, atol=1e-6)


def _brightness_teacher(images, training):
    """A stand-in teacher whose logits follow each image's mean intensity (class k: k * mean / 50)."""
    import tensorflow as tf

    assert not training
    means = tf.reduce_mean(images, axis=[1, 2, 3])
    return means[:, None] * tf.range(len(CLASS_NAMES), dtype=tf.float32)[None, :] / 50.0


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def test_distilled_targets_blend_the_labels_with_the_teachers_softened_answer():
    import tensorflow as tf

    images = tf.constant(np.stack([np.full((4, 4, 3), v, np.float32) for v in (10.0, 120.0, 240.0)]))
    one_hot = tf.one_hot([0, 3, 7], len(CLASS_NAMES))
    blended = distilled_targets(images, one_hot, _brightness_teacher, weight=0.3, temperature=2.0).numpy()
    logits = np.array([10.0, 120.0, 240.0])[:, None] * np.arange(len(CLASS_NAMES))[None, :] / 50.0
    np.testing.assert_allclose(blended, 0.7 * one_hot.numpy() + 0.3 * _softmax(logits / 2.0), atol=1e-6)
    np.testing.assert_allclose(blended.sum(axis=1), 1.0, atol=1e-6)


def test_the_teacher_sees_the_augmented_batch_and_validation_keeps_the_labels(tiny_pbc):
    """Each training target is the teacher's answer on the very image yielded beside it."""
    images, labels, _ = load_split(tiny_pbc / "train")
    config = TrainConfig(batch_size=8, distill_weight=0.4, distill_temperature=3.0)
    for batch_images, targets in make_dataset(images, labels, config, training=True, teacher=_brightness_teacher):
        means = batch_images.numpy().mean(axis=(1, 2, 3))
        soft = _softmax(means[:, None] * np.arange(len(CLASS_NAMES))[None, :] / 50.0 / 3.0)
        hard = (targets.numpy() - 0.4 * soft) / 0.6
        np.testing.assert_allclose(hard.max(axis=1), 1.0, atol=1e-4)  # what is left is one-hot
        np.testing.assert_allclose(hard.sum(axis=1), 1.0, atol=1e-4)
    _, val_targets = next(iter(make_dataset(images, labels, config, training=False, teacher=_brightness_teacher)))
    np.testing.assert_array_equal(val_targets.numpy(), np.eye(len(CLASS_NAMES))[labels[:8]])


def _lab_config(**overrides):
    from training.config import TrainConfig

    values = dict(aug_stain=0.3, aug_gamma=0.4, aug_blur=1.5, aug_noise=0.03, aug_jpeg_min_quality=40)
    values.update(overrides)
    return TrainConfig.from_file(None, values)


def _field(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    image = np.full((32, 32, 3), (230, 200, 190), np.float32)
    image[8:24, 8:24] = (90, 40, 140)
    return np.clip(image + rng.normal(0, 5, image.shape), 0, 255).astype(np.float32) / 255.0


def test_lab_shift_is_deterministic_per_seed_and_bounded():
    """Same seed, same image; another seed, another image; always within 0..1."""
    import tensorflow as tf

    from training.augment import lab_shift

    config = _lab_config()
    image = tf.constant(_field())
    first = lab_shift(image, config, tf.constant([3, 4], tf.int64)).numpy()
    again = lab_shift(image, config, tf.constant([3, 4], tf.int64)).numpy()
    other = lab_shift(image, config, tf.constant([5, 6], tf.int64)).numpy()
    np.testing.assert_array_equal(first, again)
    assert np.abs(first - other).mean() > 1e-3
    for seed in range(20):
        out = lab_shift(image, config, tf.constant([seed, 1], tf.int64)).numpy()
        assert out.shape == image.shape and out.min() >= 0.0 and out.max() <= 1.0
        assert np.isfinite(out).all()


def test_lab_shift_is_off_by_default_and_leaves_the_other_draws_alone():
    """With every lab strength 0 the image is untouched, so 1.1.0's recipe trains as before."""
    import tensorflow as tf

    from training.augment import lab_shift
    from training.config import TrainConfig

    image = tf.constant(_field())
    out = lab_shift(image, TrainConfig(), tf.constant([1, 2], tf.int64))
    np.testing.assert_array_equal(out.numpy(), image.numpy())


def test_each_lab_change_is_bounded_by_its_strength():
    """Stain jitter changes colour but not the layout; blur lowers the spread of edges."""
    import tensorflow as tf

    from training.augment import gaussian_blur, stain_jitter

    image = tf.constant(_field())
    jittered = stain_jitter(image, 0.3, tf.constant([1, 1], tf.int64)).numpy()
    assert 0 < np.abs(jittered - image.numpy()).mean() < 0.25
    # The nucleus stays the darkest square: jitter changes dye amounts, not where the dye is.
    assert jittered[8:24, 8:24].mean() < jittered[:6, :6].mean()
    sharp = np.abs(np.diff(image.numpy(), axis=1)).mean()
    blurred = np.abs(np.diff(gaussian_blur(image, tf.constant(1.5)).numpy(), axis=1)).mean()
    assert blurred < sharp
    np.testing.assert_allclose(gaussian_blur(image, tf.constant(0.0)).numpy(), image.numpy(), atol=1e-3)


def test_training_decodes_with_the_apps_framing(tiny_pbc):
    """Cell-centred training images are exactly what the app's decoder gives for the same files."""
    from hemoapp.core.contract import FRAMING_CELL_CENTRED
    from hemoapp.core.imageio import load_rgb

    images, _, paths = load_split(tiny_pbc / "val", framing=FRAMING_CELL_CENTRED)
    for image, path in zip(images, paths):
        np.testing.assert_array_equal(image, load_rgb(path, framing=FRAMING_CELL_CENTRED))
