"""ReLU -> 1x1 conv -> BN: the channel calibration in front of every cell (docs/enas_reference.md §1.2)."""

from __future__ import annotations

import keras
import tensorflow as tf

from enas_tf2.layers.batch_norm import BatchNorm, fused_batch_norm


def relu_conv_bn(x, kernel, scale, offset):
    """ReLU -> 1x1 conv (``kernel`` ``[1, 1, C, F]``) -> batch-statistics BN (search form)."""
    y = tf.nn.conv2d(tf.nn.relu(x), kernel, strides=1, padding="SAME")
    return fused_batch_norm(y, scale, offset)


class ReluConvBn(keras.layers.Layer):
    """ReLU -> 1x1 conv to ``filters`` channels (no bias) -> BN.

    Args:
        filters: output channels.
        batch_stats_only: BN mode, see :class:`BatchNorm`.
    """

    def __init__(self, filters: int, batch_stats_only: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.batch_stats_only = bool(batch_stats_only)
        self.bn = BatchNorm(batch_stats_only=batch_stats_only, name="bn",
                            dtype=self.dtype_policy)

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(1, 1, input_shape[-1], self.filters),
                                      initializer=keras.initializers.HeNormal(), name="kernel")
        self.bn.build(self.compute_output_shape(input_shape))

    def call(self, x, training=None):
        y = tf.nn.conv2d(tf.nn.relu(x), self.kernel, strides=1, padding="SAME")
        return self.bn(y, training=training)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.filters,)

    def get_config(self):
        config = super().get_config()
        config.update(filters=self.filters, batch_stats_only=self.batch_stats_only)
        return config
