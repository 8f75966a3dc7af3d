"""Training augmentation and standardisation as pure TensorFlow functions (docs/enas_reference.md §4.3).

Order, as in the original: standardise, zero-pad + random crop, random horizontal flip, optional
cutout. The original standardised the whole array when loading it and padded afterwards, so its
zero padding (and its cutout) fill with the channel MEAN, not with black; `augment_for_train`
keeps that order. Random functions take an explicit ``seed`` (an int pair, shape ``[2]``) or a
``tf.random.Generator`` and use only stateless random ops, so the same seed gives the same result
eagerly, in ``tf.function`` and in ``Dataset.map``.

All functions work on one ``[H, W, C]`` image (`standardize` on any rank): the pipeline maps them
over images in parallel, which measured cheaper here than batched ops (bench/README.md). They
avoid TensorFlow's slow paths on this CPU: a per-channel ``[C]`` operand broadcast against
``[..., C]`` (10x slower than a same-shape operand) and ``tf.pad`` of a whole image.
"""

from __future__ import annotations

from typing import Sequence, Union

import numpy as np
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
    ``pad_to_bounding_box`` + ``random_crop``: 32x32 padded to 40x40 and cropped back). Any dtype.

    Computed as "cut the part of the image inside the window, zero-pad it back to H x W", which
    pads only the window's border strips instead of padding the whole image first."""
    shape = tf.shape(image)
    height, width = shape[0], shape[1]
    offsets = _uniform_ints([2], as_seed(seed), [2 * pad_h + 1, 2 * pad_w + 1])
    top, left = offsets[0] - pad_h, offsets[1] - pad_w       # window corner in image coordinates
    inside_h, inside_w = height - tf.abs(top), width - tf.abs(left)
    window = tf.slice(image, [tf.maximum(top, 0), tf.maximum(left, 0), 0],
                      [inside_h, inside_w, -1])
    pad_top, pad_left = tf.maximum(-top, 0), tf.maximum(-left, 0)
    return tf.pad(window, [[pad_top, height - inside_h - pad_top],
                           [pad_left, width - inside_w - pad_left], [0, 0]])


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


TILE_MAX_PIXELS = 1 << 20   # 1024x1024: 12 MiB of tiled constants at most


def standardize(images: tf.Tensor, mean: Sequence[float], std: Sequence[float]) -> tf.Tensor:
    """``(x / 255 - mean) / std`` per channel (last axis) of pixel-unit images of any rank;
    ``mean``/``std`` in [0, 1] units. Returns float32.

    One multiply-add, ``x * (1 / (255 std)) + (-mean / std)``. When the image size is static the
    per-channel factors are tiled to the full ``[H, W, C]`` shape first: same maths, but no
    inner-axis broadcast (measured 43 vs 395 us per 160 px image). Above `TILE_MAX_PIXELS` the
    tiled constants would grow past what a graph may hold (2 GB at 16384 px), so they are not
    tiled."""
    images = tf.cast(images, tf.float32)
    scale = np.array([1.0 / (255.0 * s) for s in std], np.float32)
    shift = np.array([-m / s for m, s in zip(mean, std)], np.float32)
    if images.shape.rank >= 3 and None not in images.shape[-3:-1] \
            and images.shape[-3] * images.shape[-2] <= TILE_MAX_PIXELS:
        full = (images.shape[-3], images.shape[-2], 1)
        scale, shift = np.tile(scale, full), np.tile(shift, full)
    return images * tf.constant(scale) + tf.constant(shift)


def _embed(window: tf.Tensor, top, left, height, width, fill: float) -> tf.Tensor:
    """``window`` placed at ``(top, left)`` of a ``height`` x ``width`` canvas of ``fill``, built
    by concatenation (memory copies) rather than ``tf.pad`` (a slow generic kernel here)."""
    rows, cols, channels = tf.shape(window)[0], tf.shape(window)[1], tf.shape(window)[2]
    def block(h, w):
        return tf.fill(tf.stack([h, w, channels]), tf.cast(fill, window.dtype))
    band = tf.concat([block(rows, left), window, block(rows, width - left - cols)], axis=1)
    return tf.concat([block(top, width), band, block(height - top - rows, width)], axis=0)


def cutout(image: tf.Tensor, size: int, seed: Seed) -> tf.Tensor:
    """Zeroes a ``size`` x ``size`` square of one ``[H, W, C]`` image whose top-left corner is
    uniform over the image, clipped at the bottom/right border (docs/enas_reference.md §4.3 / P15: the
    original anchors the corner, not the centre, so squares near the border are smaller). Run
    it after `standardize` so the zeros equal the channel mean, as in the original.
    ``size <= 0`` returns the input unchanged."""
    image = tf.convert_to_tensor(image)
    if size <= 0:
        return image
    shape = tf.shape(image)
    height, width = shape[0], shape[1]
    corner = _uniform_ints([2], as_seed(seed), tf.stack([height, width]))
    hole = tf.zeros(tf.stack([tf.minimum(size, height - corner[0]),
                              tf.minimum(size, width - corner[1]), shape[2]]), image.dtype)
    return image * _embed(hole, corner[0], corner[1], height, width, 1.0)


def augment_for_train(image: tf.Tensor, seed: Seed, mean: Sequence[float], std: Sequence[float],
                      cutout_size: int = 0) -> tf.Tensor:
    """The whole training transform of one ``[H, W, 3]`` pixel-unit image (uint8 or float):
    `standardize`, then `crop_and_flip` (its zero padding is the channel mean, as in the
    original), then `cutout`, with seeds split from ``seed``. Returns float32.

    This is exactly what the input pipeline applies to each training image."""
    geometry_seed, cutout_seed = tf.unstack(
        tf.random.experimental.stateless_split(as_seed(seed), 2))
    out = crop_and_flip(standardize(tf.convert_to_tensor(image), mean, std), geometry_seed)
    return cutout(out, cutout_size, cutout_seed)
