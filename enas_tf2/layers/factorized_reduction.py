"""Factorized reduction (docs/enas_reference.md §1.4): halve the spatial size without losing every other pixel.

Stride 2: path 1 takes the even rows/columns, path 2 the input shifted by one pixel (pad one
row/column at the bottom/right, drop the first) and then the even rows/columns; each path is a 1x1
conv to F/2 channels; the two halves are concatenated and batch-normalised. No ReLU inside (callers
add one where the original does). Stride 1: a plain 1x1 conv -> BN. The weights are the two 1x1
kernels of the original; the computation is one block-sparse 2x2 conv (see `factorized_paths`).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from enas_tf2.errors import EnasError
from enas_tf2.layers.batch_norm import BatchNorm, fused_batch_norm


def combined_kernel(kernel_1, kernel_2):
    """The two 1x1 path kernels ``[1, 1, C, F/2]`` as one block-sparse 2x2 kernel ``[2, 2, C, F]``.

    Tap (0, 0) holds path 1 (output channels ``:F/2``), tap (1, 1) path 2 (channels ``F/2:``).
    """
    zeros = tf.zeros_like(kernel_1[0, 0])
    first = tf.concat([kernel_1[0, 0], zeros], axis=-1)
    second = tf.concat([zeros, kernel_2[0, 0]], axis=-1)
    corner = tf.zeros_like(first)
    return tf.stack([tf.stack([first, corner]), tf.stack([corner, second])])


def factorized_paths(x, kernel_1, kernel_2):
    """The two strided 1x1-conv paths, concatenated (before BN). Kernels are ``[1, 1, C, F/2]``.

    Computed as ONE 2x2 convolution with stride 2 and SAME padding (`combined_kernel`): output
    pixel (i, j) reads input (2i, 2j) through path 1 and (2i+1, 2j+1) through path 2, and SAME
    adds the bottom/right zero row/column exactly when the size is odd -- the same values as
    "subsample / shift by one pixel, subsample, two 1x1 convs, concat", without the pad, slice
    and concat copies (their gradients cost ~25 ms per step on this CPU, measured).
    """
    return tf.nn.conv2d(x, combined_kernel(kernel_1, kernel_2), strides=2, padding="SAME")


def factorized_reduction(x, kernel_1, kernel_2, scale, offset):
    """Stride-2 factorized reduction with batch-statistics BN (the search-mode functional form)."""
    return fused_batch_norm(factorized_paths(x, kernel_1, kernel_2), scale, offset)


class FactorizedReduction(keras.layers.Layer):
    """Factorized reduction to ``filters`` channels (stride 2), or 1x1 conv -> BN (stride 1).

    Args:
        filters: output channels F; must be even for stride 2 (two halves of F/2).
        strides: 2 (reduce) or 1 (plain 1x1 conv -> BN).
        batch_stats_only: BN mode, see :class:`BatchNorm`.
    """

    def __init__(self, filters: int, strides: int = 2, batch_stats_only: bool = False, **kwargs):
        super().__init__(**kwargs)
        if strides not in (1, 2):
            raise EnasError(f"FactorizedReduction strides must be 1 or 2, got {strides}")
        if strides == 2 and filters % 2:
            raise EnasError(f"factorized reduction needs an even number of filters, got {filters}")
        self.filters = int(filters)
        self.strides = int(strides)
        self.batch_stats_only = bool(batch_stats_only)
        self.bn = BatchNorm(batch_stats_only=batch_stats_only, name="bn",
                            dtype=self.dtype_policy)

    def build(self, input_shape):
        channels = input_shape[-1]
        init = keras.initializers.HeNormal()
        if self.strides == 1:
            self.kernel = self.add_weight(shape=(1, 1, channels, self.filters), initializer=init,
                                          name="kernel")
        else:
            half = self.filters // 2
            self.kernel_1 = self.add_weight(shape=(1, 1, channels, half), initializer=init,
                                            name="kernel_1")
            self.kernel_2 = self.add_weight(shape=(1, 1, channels, half), initializer=init,
                                            name="kernel_2")
        self.bn.build(self.compute_output_shape(input_shape))

    def call(self, x, training=None):
        if self.strides == 1:
            y = tf.nn.conv2d(x, self.kernel, strides=1, padding="SAME")
        else:
            y = factorized_paths(x, self.kernel_1, self.kernel_2)
        return self.bn(y, training=training)

    def compute_output_shape(self, input_shape):
        n, h, w, _ = input_shape
        s = self.strides
        return (n, None if h is None else -(-h // s), None if w is None else -(-w // s),
                self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(filters=self.filters, strides=self.strides,
                      batch_stats_only=self.batch_stats_only)
        return config
