"""Training augmentation and standardisation as pure TensorFlow functions (ENAS_SPEC §4.3).

Every function takes a batch ``[B, H, W, C]`` or a single image ``[H, W, C]``; batches are the
fast path (the pipeline augments after batching, so a handful of ops serve 64+ images instead of
each image paying per-op overhead). Random functions take an explicit ``seed`` (an int pair,
shape ``[2]``) or a ``tf.random.Generator`` and use only stateless random ops, so the same seed
gives the same result eagerly, in ``tf.function`` and in ``Dataset.map``. Images are float32 in
pixel units (0..255) until `standardize`.
"""

from __future__ import annotations

from typing import Callable, Sequence, Union

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


def _on_batch(fn: Callable[[tf.Tensor], tf.Tensor], images: tf.Tensor) -> tf.Tensor:
    """Applies a batch function to ``[B, H, W, C]``, or to ``[H, W, C]`` as a batch of one."""
    images = tf.convert_to_tensor(images)
    if images.shape.rank == 3:
        return fn(images[None])[0]
    return fn(images)


def _uniform_ints(shape, seed: tf.Tensor, maxvals) -> tf.Tensor:
    """int32 draws uniform in ``[0, maxvals)`` (``maxvals`` broadcasts against ``shape``)."""
    unit = tf.random.stateless_uniform(shape, seed)
    draws = tf.cast(tf.floor(unit * tf.cast(maxvals, tf.float32)), tf.int32)
    return tf.minimum(draws, tf.cast(maxvals, tf.int32) - 1)   # guards float rounding at 1.0


def pad_and_random_crop(images: tf.Tensor, pad_h: int, pad_w: int, seed: Seed) -> tf.Tensor:
    """Zero-pads ``pad_h``/``pad_w`` pixels on each side, then crops, per image, a window of the
    original size at offsets uniform in ``[0, 2*pad]`` (the original's ``pad_to_bounding_box`` +
    ``random_crop``: 32x32 padded to 40x40 and cropped back)."""
    seed = as_seed(seed)

    def crop(batch):
        shape = tf.shape(batch)
        size_b, height, width = shape[0], shape[1], shape[2]
        offsets = _uniform_ints([size_b, 2], seed, [2 * pad_h + 1, 2 * pad_w + 1])
        padded = tf.pad(batch, [[0, 0], [pad_h, pad_h], [pad_w, pad_w], [0, 0]])
        # Per-image windows as two batched gathers (rows, then columns): no per-image ops.
        rows = offsets[:, :1] + tf.range(height)[None, :]
        cols = offsets[:, 1:] + tf.range(width)[None, :]
        out = tf.gather(padded, rows, axis=1, batch_dims=1)
        return tf.gather(out, cols, axis=2, batch_dims=1)

    return _on_batch(crop, images)


def random_flip_left_right(images: tf.Tensor, seed: Seed) -> tf.Tensor:
    """Mirrors each image horizontally with probability 1/2."""
    seed = as_seed(seed)

    def flip(batch):
        mask = tf.random.stateless_uniform([tf.shape(batch)[0]], seed) < 0.5
        return tf.where(mask[:, None, None, None], tf.reverse(batch, axis=[2]), batch)

    return _on_batch(flip, images)


def standardize(images: tf.Tensor, mean: Sequence[float], std: Sequence[float]) -> tf.Tensor:
    """``(image / 255 - mean) / std`` per channel (last axis); ``mean``/``std`` in [0, 1] units.

    Written as one multiply-add, ``image * (1 / (255 std)) - mean / std``."""
    scale = tf.constant([1.0 / (255.0 * s) for s in std], tf.float32)
    shift = tf.constant([m / s for m, s in zip(mean, std)], tf.float32)
    return tf.cast(images, tf.float32) * scale - shift


def cutout(images: tf.Tensor, size: int, seed: Seed) -> tf.Tensor:
    """Zeroes, per image, a ``size`` x ``size`` square whose top-left corner is uniform over the
    image, clipped at the bottom/right border (ENAS_SPEC §4.3 / P15: the original anchors the
    corner, not the centre, so squares near the border are smaller). Run it after `standardize`
    so the zeros equal the channel mean, as in the original. ``size <= 0`` is a no-op."""
    if size <= 0:
        return tf.convert_to_tensor(images)
    seed = as_seed(seed)

    def cut(batch):
        shape = tf.shape(batch)
        size_b, height, width = shape[0], shape[1], shape[2]
        corner = _uniform_ints([size_b, 2], seed, tf.stack([height, width]))
        rows = tf.range(height)[None, :]
        cols = tf.range(width)[None, :]
        in_rows = (rows >= corner[:, :1]) & (rows < corner[:, :1] + size)     # [B, H]
        in_cols = (cols >= corner[:, 1:]) & (cols < corner[:, 1:] + size)     # [B, W]
        keep = ~(in_rows[:, :, None] & in_cols[:, None, :])
        return batch * tf.cast(keep, batch.dtype)[..., None]

    return _on_batch(cut, images)


def augment_for_train(images: tf.Tensor, seed: Seed, mean: Sequence[float],
                      std: Sequence[float], cutout_size: int = 0) -> tf.Tensor:
    """The full training transform of ``[B, H, W, 3]`` (or ``[H, W, 3]``) images in pixel units:
    pad + random crop (``round(H/8)``, ``round(W/8)`` px), random horizontal flip, standardise,
    optional cutout; one seed draws every image's randomness.

    ``H`` and ``W`` must be static (they fix the padding), as they are after the pipeline's
    resize. Returns float32 of the input's shape."""
    images = tf.convert_to_tensor(images)
    height, width = images.shape[-3], images.shape[-2]
    if height is None or width is None:
        raise ValueError("augment_for_train needs images with a static height and width")
    crop_seed, flip_seed, cutout_seed = tf.unstack(
        tf.random.experimental.stateless_split(as_seed(seed), 3))
    out = tf.cast(images, tf.float32)
    out = pad_and_random_crop(out, pad_amount(height), pad_amount(width), crop_seed)
    out = random_flip_left_right(out, flip_seed)
    out = standardize(out, mean, std)
    out = cutout(out, cutout_size, cutout_seed)
    return tf.ensure_shape(out, images.shape)
