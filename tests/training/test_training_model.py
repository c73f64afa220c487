"""The head / fine-tune builder."""

import keras
import numpy as np
import pytest

from hemoapp.core.contract import IMAGE_SIZE
from training.model import build_backbone, build_classifier, build_head, feature_extractor, unfreeze_from


@pytest.fixture(scope="module")
def classifier():
    return build_classifier("lite0", weights="none", dropout=0.2)


def test_classifier_outputs_eight_logits_from_0_255_input(classifier):
    model, base = classifier
    x = np.random.default_rng(0).uniform(0, 255, (2, IMAGE_SIZE, IMAGE_SIZE, 3)).astype(np.float32)
    out = np.asarray(model(x, training=False))
    assert out.shape == (2, 8)
    # Scaling lives in the model: a Rescaling layer precedes the convolutions.
    assert any(isinstance(layer, keras.layers.Rescaling) for layer in base.layers[:4])
    assert feature_extractor(model).output.shape[-1] == 1280


def test_backbone_starts_frozen_and_unfreezes_from_a_block_with_batchnorm_frozen(classifier):
    model, base = classifier
    assert not base.trainable
    trainable_before = len(model.trainable_weights)
    assert trainable_before == 2  # the head: kernel + bias
    count = unfreeze_from(base, "block6a_")
    assert count > 0
    names = [layer.name for layer in base.layers]
    start = names.index(next(n for n in names if n.startswith("block6a_")))
    for index, layer in enumerate(base.layers):
        if isinstance(layer, keras.layers.BatchNormalization):
            assert not layer.trainable
        elif layer.weights:
            assert layer.trainable == (index >= start), layer.name
    assert len(model.trainable_weights) > trainable_before
    with pytest.raises(ValueError):
        unfreeze_from(base, "block99z_")


def test_batchnorm_statistics_stay_frozen_while_fine_tuning(classifier):
    """A training step on an unfrozen backbone must not touch BatchNorm's moving statistics."""
    model, base = classifier
    unfreeze_from(base, "block6a_")
    batchnorms = [layer for layer in base.layers if isinstance(layer, keras.layers.BatchNormalization)]
    before = [w.numpy() for layer in batchnorms for w in layer.non_trainable_weights]
    kernel_before = base.get_layer("top_conv").kernel.numpy()
    model.compile(optimizer=keras.optimizers.Adam(1e-2),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x = np.random.default_rng(1).uniform(0, 255, (4, IMAGE_SIZE, IMAGE_SIZE, 3)).astype(np.float32)
    model.train_on_batch(x, np.array([0, 1, 2, 3]))
    after = [w.numpy() for layer in batchnorms for w in layer.non_trainable_weights]
    assert all(np.array_equal(a, b) for a, b in zip(before, after))
    assert not np.array_equal(kernel_before, base.get_layer("top_conv").kernel.numpy())


def test_head_shape():
    head = build_head(1280)
    assert head.output.shape[-1] == 8


def test_keras_backbones_are_selectable_offline_with_no_weights():
    base, scaling = build_backbone("mobilenetv2", "none", image_size=96)
    assert base.output.shape[-1] == 1280
    assert scaling and isinstance(scaling[0], keras.layers.Rescaling)
    with pytest.raises(FileNotFoundError):
        build_backbone("resnet50", "/nonexistent/weights.h5")
    with pytest.raises(ValueError, match="unknown backbone"):
        build_backbone("alexnet", "none")


def test_lite1_is_a_backbone_with_imagenet_weights_offline():
    """Lite1 comes with converted ImageNet weights, like Lite0: not the random initialisation."""
    pretrained, _ = build_backbone("lite1", "imagenet", image_size=64)
    untrained, _ = build_backbone("lite1", "none", image_size=64)
    assert pretrained.name == "efficientnet_lite1"
    assert pretrained.count_params() == untrained.count_params()
    stem = pretrained.get_layer("stem_conv").kernel.numpy()
    assert not np.allclose(stem, untrained.get_layer("stem_conv").kernel.numpy())
    # The depth Lite1 adds: stage 6 has five blocks, one more than Lite0's four.
    assert pretrained.get_layer("block6e_dwconv") is not None
