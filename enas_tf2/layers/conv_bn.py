"""Convolution (no bias) then BN, optionally after a ReLU: the stem (3x3, no ReLU, docs/
enas_reference.md §1.2) and the ReLU -> 1x1 -> BN channel calibration in front of every cell."""

from __future__ import annotations

import keras
import tensorflow as tf

from enas_tf2.layers.batch_norm import BatchNorm, fused_batch_norm


def relu_conv_bn(x, kernel, scale, offset):
    """ReLU -> 1x1 conv (``kernel`` ``[1, 1, C, F]``) -> batch-statistics BN (search form)."""
    y = tf.nn.conv2d(tf.nn.relu(x), kernel, strides=1, padding="SAME")
    return fused_batch_norm(y, scale, offset)


class ConvBn(keras.layers.Layer):
    """[ReLU ->] ``kernel_size`` x ``kernel_size`` SAME conv to ``filters`` channels (no bias) -> BN.

    ``ConvBn(3 * F, kernel_size=3, relu_first=False)`` is the ENAS stem (cell 0 gets (stem,
    stem)); ``ConvBn(F)`` is the ReLU -> 1x1 -> BN calibration.

    Args:
        filters: output channels.
        kernel_size: square kernel side.
        relu_first: apply a ReLU to the input first.
        strides: convolution stride.
        batch_stats_only: BN mode, see :class:`BatchNorm`.
    """

    def __init__(self, filters: int, kernel_size: int = 1, relu_first: bool = True,
                 strides: int = 1, batch_stats_only: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.kernel_size = int(kernel_size)
        self.relu_first = bool(relu_first)
        self.strides = int(strides)
        self.batch_stats_only = bool(batch_stats_only)
        self.bn = BatchNorm(batch_stats_only=batch_stats_only, name="bn",
                            dtype=self.dtype_policy)

    def build(self, input_shape):
        k = self.kernel_size
        self.kernel = self.add_weight(shape=(k, k, input_shape[-1], self.filters),
                                      initializer=keras.initializers.HeNormal(), name="kernel")
        self.bn.build(self.compute_output_shape(input_shape))

    def call(self, x, training=None):
        if self.relu_first:
            x = tf.nn.relu(x)
        y = tf.nn.conv2d(x, self.kernel, strides=self.strides, padding="SAME")
        return self.bn(y, training=training)

    def compute_output_shape(self, input_shape):
        n, h, w = tuple(input_shape[:3])
        s = self.strides
        return (n, None if h is None else -(-h // s), None if w is None else -(-w // s),
                self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(filters=self.filters, kernel_size=self.kernel_size,
                      relu_first=self.relu_first, strides=self.strides,
                      batch_stats_only=self.batch_stats_only)
        return config
