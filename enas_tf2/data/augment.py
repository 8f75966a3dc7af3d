"""Training augmentation and standardisation as pure TensorFlow functions (ENAS_SPEC §4.3).

Order, as in the original: zero-pad + random crop, random horizontal flip, standardise, optional
cutout. Random functions take an explicit ``seed`` (an int pair, shape ``[2]``) or a
``tf.random.Generator`` and use only stateless random ops, so the same seed gives the same result
eagerly, in ``tf.function`` and in ``Dataset.map``.

The input pipeline runs the two halves where each is cheapest (measured, see bench/README.md):
`crop_and_flip` per image on uint8 (small arrays, parallel over images), then `standardize` and
`cutout` once per batch (one pass over the batch instead of many small per-image ops).
"""

from __future__ import annotations

from typing import Sequence, Union

import tensorflow as tf

Seed = Union[tf.Tensor, Sequence[int], tf.random.Generator]


def as_seed(seed: Seed) -> tf.Tensor:
    """A stateless-op seed (int64 ``[2]``) from an int pair/tensor or a ``tf.random.Generator``."""
    if isinstance(seed, tf.random.Generator):
        return seed.make_seeds(1)[:, 0]
    return tf.cast(tf.convert_to_tensor(seed), tf.int64)


def pad_amount(size: int) -> int:
    """Zero padding per side for a side of ``size`` pixels: ``round(size / 8)``, i.e. 4 at 32.

    The original pads 4 px at 32x32; scaling with the side keeps the same relative jitter at
    160 or 224 px (Python's round: 100 -> 12, 160 -> 20, 224 -> 28)."""
    return int(round(size / 8))


def _uniform_ints(shape, seed: tf.Tensor, maxvals) -> tf.Tensor:
    """int32 draws uniform in ``[0, maxvals)`` (``maxvals`` broadcasts against ``shape``)."""
    unit = tf.random.stateless_uniform(shape, seed)
    draws = tf.cast(tf.floor(unit * tf.cast(maxvals, tf.float32)), tf.int32)
    return tf.minimum(draws, tf.cast(maxvals, tf.int32) - 1)   # guards float rounding at 1.0


def pad_and_random_crop(image: tf.Tensor, pad_h: int, pad_w: int, seed: Seed) -> tf.Tensor:
    """Zero-pads one ``[H, W, C]`` image by ``pad_h``/``pad_w`` pixels per side, then crops a
    window of the original size at offsets uniform in ``[0, 2*pad]`` (the original's
    ``pad_to_bounding_box`` + ``random_crop``: 32x32 padded to 40x40 and cropped back). Any dtype."""
    shape = tf.shape(image)
    offsets = _uniform_ints([2], as_seed(seed), [2 * pad_h + 1, 2 * pad_w + 1])
    padded = tf.pad(image, [[pad_h, pad_h], [pad_w, pad_w], [0, 0]])
    return tf.slice(padded, [offsets[0], offsets[1], 0], shape)


def random_flip_left_right(image: tf.Tensor, seed: Seed) -> tf.Tensor:
    """Mirrors one ``[H, W, C]`` image horizontally with probability 1/2. Any dtype."""
    flip = tf.random.stateless_uniform([], as_seed(seed)) < 0.5
    return tf.cond(flip, lambda: tf.reverse(image, axis=[1]), lambda: image)


def crop_and_flip(image: tf.Tensor, seed: Seed) -> tf.Tensor:
    """The geometric half of training augmentation for one ``[H, W, C]`` image with static
    ``H``, ``W``: pad ``round(H/8)``/``round(W/8)`` + random crop, then random flip (two seeds
    split from ``seed``). Keeps the dtype and shape."""
    height, width = image.shape[0], image.shape[1]
    if height is None or width is None:
        raise ValueError("crop_and_flip needs an image with a static height and width")
    crop_seed, flip_seed = tf.unstack(tf.random.experimental.stateless_split(as_seed(seed), 2))
    out = pad_and_random_crop(image, pad_amount(height), pad_amount(width), crop_seed)
    return tf.ensure_shape(random_flip_left_right(out, flip_seed), image.shape)


def standardize(images: tf.Tensor, mean: Sequence[float], std: Sequence[float]) -> tf.Tensor:
    """``(x / 255 - mean) / std`` per channel (last axis) of pixel-unit images, any rank;
    ``mean``/``std`` in [0, 1] units. Returns float32.

    uint8 input goes through one per-channel ``Dequantize`` op (``lo + x * (hi - lo) / 255``),
    which converts and scales in a single pass: half the time of cast + multiply + add on a
    160 px batch. Float input uses the multiply-add ``x * (1 / (255 std)) - mean / std``."""
    images = tf.convert_to_tensor(images)
    low = [-m / s for m, s in zip(mean, std)]
    if images.dtype == tf.uint8:
        high = [lo + 1.0 / s for lo, s in zip(low, std)]
        return tf.quantization.dequantize(
            tf.bitcast(images, tf.quint8), tf.constant(low), tf.constant(high),
            mode="MIN_COMBINED", axis=images.shape.rank - 1)
    scale = tf.constant([1.0 / (255.0 * s) for s in std], tf.float32)
    return tf.cast(images, tf.float32) * scale + tf.constant(low, tf.float32)


def cutout(images: tf.Tensor, size: int, seed: Seed) -> tf.Tensor:
    """Zeroes, in each ``[H, W, C]`` image (or each image of a ``[B, H, W, C]`` batch), a
    ``size`` x ``size`` square whose top-left corner is uniform over the image, clipped at the
    bottom/right border (ENAS_SPEC §4.3 / P15: the original anchors the corner, not the centre,
    so squares near the border are smaller). Run it after `standardize` so the zeros equal the
    channel mean, as in the original. ``size <= 0`` returns the input unchanged."""
    images = tf.convert_to_tensor(images)
    if size <= 0:
        return images
    batch = images if images.shape.rank == 4 else images[None]
    shape = tf.shape(batch)
    height, width = shape[1], shape[2]
    corner = _uniform_ints([shape[0], 2], as_seed(seed), tf.stack([height, width]))
    rows = tf.range(height)[None, :]
    cols = tf.range(width)[None, :]
    in_rows = (rows >= corner[:, :1]) & (rows < corner[:, :1] + size)     # [B, H]
    in_cols = (cols >= corner[:, 1:]) & (cols < corner[:, 1:] + size)     # [B, W]
    keep = ~(in_rows[:, :, None] & in_cols[:, None, :])
    out = batch * tf.cast(keep, batch.dtype)[..., None]
    return out if images.shape.rank == 4 else out[0]


def augment_for_train(image: tf.Tensor, seed: Seed, mean: Sequence[float], std: Sequence[float],
                      cutout_size: int = 0) -> tf.Tensor:
    """The whole training transform of one ``[H, W, 3]`` pixel-unit image (uint8 or float):
    `crop_and_flip`, `standardize`, `cutout`, with seeds split from ``seed``. Returns float32.

    The pipeline runs the same stages but draws cutout squares per batch, see the module doc."""
    geometry_seed, cutout_seed = tf.unstack(
        tf.random.experimental.stateless_split(as_seed(seed), 2))
    out = standardize(crop_and_flip(tf.convert_to_tensor(image), geometry_seed), mean, std)
    return cutout(out, cutout_size, cutout_seed)
