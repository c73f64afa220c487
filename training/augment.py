"""What differs between labs, drawn at random on each training image (``tf.data`` ops).

PBC's images come from one analyser, one camera, one stain protocol. Another lab's differ in
stain concentration and hue, exposure and camera response (gamma), focus, sensor noise and
JPEG compression. :func:`lab_shift` draws each of those per image, so the model cannot lean on
PBC's particular look. Scale, position and background are :func:`training.data.augment`'s
zoom and shift (pixels brought in from outside the field take the slide's background colour).

Each strength is a :class:`training.config.TrainConfig` field (``aug_stain``, ``aug_gamma``,
``aug_blur``, ``aug_noise``, ``aug_jpeg_min_quality``); 0 turns that change off, and with all
of them 0 :func:`lab_shift` returns the image unchanged (the recipe of 1.1.0). Every draw is a
stateless random op keyed by the example's seed, so the same seed gives the same image
(deterministic training, see ``training.data``), and each output stays within 0..1.
"""

from __future__ import annotations

import numpy as np

#: Stain vectors of haematoxylin, eosin and DAB in optical density (rows; Ruifrok & Johnston
#: 2001, as scikit-image's ``rgb_from_hed``). May Grünwald-Giemsa's azure and eosin dyes
#: are close to the first two: jitter in this space changes how strongly each dye took.
RGB_FROM_HED = np.array([[0.65, 0.70, 0.29], [0.07, 0.99, 0.11], [0.27, 0.57, 0.78]], dtype=np.float32)
HED_FROM_RGB = np.linalg.inv(RGB_FROM_HED).astype(np.float32)

#: Side of the blur kernel (pixels of the 128 px input); covers sigma up to about 1.7.
BLUR_TAPS = 7

#: Salt folded into the example seed for these draws, so adding them leaves the draws of
#: ``training.data.augment`` (flips, turns, zoom, colour) exactly as they were.
_SEED_SALT = 7919


def any_lab_shift(config) -> bool:
    """Whether the config asks for any of :func:`lab_shift`'s changes."""
    return (config.aug_stain > 0 or config.aug_gamma > 0 or config.aug_blur > 0 or config.aug_noise > 0
            or config.aug_jpeg_min_quality > 0)


def lab_shift(image, config, seed):
    """Apply stain, gamma, defocus, noise and JPEG changes to one (H, W, 3) float image in 0..1.

    Args:
        image: float32 tensor in 0..1.
        config: a :class:`training.config.TrainConfig` (the ``aug_*`` strengths).
        seed: the example's stateless seed (int tensor of shape [2]).
    """
    import tensorflow as tf

    if not any_lab_shift(config):
        return image
    salted = tf.random.experimental.stateless_fold_in(seed, _SEED_SALT)
    draws = iter(tf.unstack(tf.random.experimental.stateless_split(salted, num=8)))
    stain_seed, gamma_seed, blur_seed, noise_seed, amount_seed, jpeg_seed = (next(draws) for _ in range(6))
    if config.aug_stain > 0:
        image = stain_jitter(image, config.aug_stain, stain_seed)
    if config.aug_gamma > 0:
        # Log-uniform around 1: gamma g and 1/g equally likely.
        log_gamma = tf.random.stateless_uniform([], gamma_seed, -1.0, 1.0) * float(np.log1p(config.aug_gamma))
        image = tf.pow(tf.clip_by_value(image, 1e-4, 1.0), tf.exp(log_gamma))
    if config.aug_blur > 0:
        sigma = tf.random.stateless_uniform([], blur_seed, 0.0, config.aug_blur)
        image = gaussian_blur(image, sigma)
    if config.aug_noise > 0:
        amount = tf.random.stateless_uniform([], amount_seed, 0.0, config.aug_noise)
        image = image + amount * tf.random.stateless_normal(tf.shape(image), noise_seed)
    image = tf.clip_by_value(image, 0.0, 1.0)
    if config.aug_jpeg_min_quality > 0:
        shape = image.shape
        image = tf.image.stateless_random_jpeg_quality(image, int(config.aug_jpeg_min_quality), 100, jpeg_seed)
        image.set_shape(shape)  # the JPEG round trip loses the static shape the model needs
    return tf.clip_by_value(image, 0.0, 1.0)


def stain_jitter(image, strength: float, seed):
    """Scale and shift each dye's optical density by up to ``strength`` (Tellez et al., 2018).

    Each of the three stain concentrations becomes ``c * a + b`` with ``a`` in
    ``1 ± strength`` and ``b`` in ``± strength / 5``, drawn per image.
    """
    import tensorflow as tf

    scale_seed, shift_seed = tf.unstack(tf.random.experimental.stateless_split(seed, num=2))
    scale = tf.random.stateless_uniform([3], scale_seed, 1.0 - strength, 1.0 + strength)
    shift = tf.random.stateless_uniform([3], shift_seed, -strength / 5.0, strength / 5.0)
    density = -tf.math.log(tf.clip_by_value(image, 1.0 / 255.0, 1.0))
    stains = tf.tensordot(density, tf.constant(HED_FROM_RGB), axes=1)
    stains = stains * scale + shift
    density = tf.tensordot(stains, tf.constant(RGB_FROM_HED), axes=1)
    return tf.exp(-tf.maximum(density, 0.0))


def gaussian_blur(image, sigma):
    """Blur an (H, W, C) image with a separable Gaussian of ``sigma`` pixels (edges repeated)."""
    import tensorflow as tf

    offsets = tf.range(BLUR_TAPS, dtype=tf.float32) - (BLUR_TAPS - 1) / 2.0
    # sigma 0 would divide by zero; below 0.2 the kernel is a plain copy anyway.
    weights = tf.exp(-0.5 * tf.square(offsets / tf.maximum(sigma, 0.2)))
    weights = weights / tf.reduce_sum(weights)
    channels = image.shape[-1]
    pad = (BLUR_TAPS - 1) // 2
    padded = tf.pad(image[None], [[0, 0], [pad, pad], [pad, pad], [0, 0]], mode="SYMMETRIC")
    row = tf.tile(tf.reshape(weights, [1, BLUR_TAPS, 1, 1]), [1, 1, channels, 1])
    column = tf.tile(tf.reshape(weights, [BLUR_TAPS, 1, 1, 1]), [1, 1, channels, 1])
    blurred = tf.nn.depthwise_conv2d(padded, row, [1, 1, 1, 1], "VALID")
    blurred = tf.nn.depthwise_conv2d(blurred, column, [1, 1, 1, 1], "VALID")
    return blurred[0]
