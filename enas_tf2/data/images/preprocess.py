"""The deterministic part of preprocessing: resize to the model's input size, then standardise.

`preprocess_for_eval` is the single definition of eval preprocessing: the input pipeline applies
it to validation/test/reward images, and the SavedModel export wraps the same function, so a served
model sees exactly what evaluation saw.
"""

from __future__ import annotations

from typing import Optional, Sequence, Tuple

import tensorflow as tf

from enas_tf2.data.images.augment import standardize


def resize_images(images: tf.Tensor, image_size: Optional[Tuple[int, int]],
                  keep_dtype: bool = False) -> tf.Tensor:
    """Bilinear resize of ``[H, W, C]`` or ``[B, H, W, C]`` to ``image_size`` (H, W), without
    preserving the aspect ratio (a plain op the export can repeat). Returns float32 in the input's
    pixel units. ``None``, or a size equal to the static input size, only casts (or, with
    ``keep_dtype``, returns the input as is: uint8 CIFAR images stay small until standardised)."""
    if image_size is None or tuple(images.shape[-3:-1]) == tuple(image_size):
        return images if keep_dtype else tf.cast(images, tf.float32)
    return tf.image.resize(images, image_size, method="bilinear")


def preprocess_for_eval(images, image_size: Optional[Tuple[int, int]], mean: Sequence[float],
                        std: Sequence[float]) -> tf.Tensor:
    """Eval preprocessing of ``[H, W, 3]`` or ``[B, H, W, 3]`` images: bilinear resize to
    ``image_size`` then ``(x / 255 - mean) / std`` per channel.

    Args:
      images: uint8, or float in pixel units 0..255 (NOT 0..1).
      image_size: ``(H, W)``, or ``None`` to keep the input size.
      mean, std: per-channel statistics in [0, 1] units (`ImageData.mean` / ``.std``).
    Returns float32 images of the requested size.
    """
    images = tf.convert_to_tensor(images)
    return standardize(resize_images(images, image_size), mean, std)
