"""Separable convolution as ENAS uses it: {ReLU -> depthwise kxk -> pointwise 1x1 -> BN} twice
(micro), or once (the macro space's separable ops, `SepConv(repeats=1)`).

The stride (2 in reduction cells when the input is a cell input) is applied only on the first
repetition (docs/enas_reference.md §1.2). The raw functional forms below take the weights as tensors so the
weight-shared child can run exactly the same maths on slices of its weight banks.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from enas_tf2.errors import EnasError
from enas_tf2.layers.batch_norm import BatchNorm, fused_batch_norm


def relu_depthwise_pointwise(x, depthwise_kernel, pointwise_kernel, stride: int = 1):
    """ReLU -> depthwise conv (``[k, k, C, 1]``, SAME) -> pointwise conv (``[1, 1, C, F]``)."""
    x = tf.nn.relu(x)
    x = tf.nn.depthwise_conv2d(x, depthwise_kernel, strides=[1, stride, stride, 1], padding="SAME")
    return tf.nn.conv2d(x, pointwise_kernel, strides=1, padding="SAME")


def sep_conv(x, depthwise_kernels, pointwise_kernels, scales, offsets, stride: int = 1):
    """The full separable-conv op with batch-statistics BN (search mode).

    Args:
        x: NHWC input.
        depthwise_kernels, pointwise_kernels, scales, offsets: two entries each (one per
            repetition), e.g. tensors whose leading axis has size 2, or lists of two tensors.
        stride: stride of the first repetition's depthwise conv.
    """
    for rep in range(2):
        x = relu_depthwise_pointwise(x, depthwise_kernels[rep], pointwise_kernels[rep],
                                     stride if rep == 0 else 1)
        x = fused_batch_norm(x, scales[rep], offsets[rep])
    return x


class SepConv(keras.layers.Layer):
    """ENAS separable convolution: {ReLU -> depthwise kxk -> pointwise 1x1 -> BN} x `repeats`.

    Args:
        filters: output channels F of every pointwise conv.
        kernel_size: 3 or 5 in the micro and macro spaces.
        strides: 1 or 2, applied to the first depthwise conv only.
        batch_stats_only: BN mode, see :class:`BatchNorm`.
        repeats: 2 (micro) or 1 (macro).
    """

    def __init__(self, filters: int, kernel_size: int, strides: int = 1,
                 batch_stats_only: bool = False, repeats: int = 2, **kwargs):
        super().__init__(**kwargs)
        if strides not in (1, 2):
            raise EnasError(f"SepConv strides must be 1 or 2, got {strides}")
        if repeats not in (1, 2):
            raise EnasError(f"SepConv repeats must be 1 or 2, got {repeats}")
        self.repeats = int(repeats)
        self.filters = int(filters)
        self.kernel_size = int(kernel_size)
        self.strides = int(strides)
        self.batch_stats_only = bool(batch_stats_only)
        # Sub-layers follow this layer's dtype policy (Keras does not propagate it by itself).
        self.bn_1 = BatchNorm(batch_stats_only=batch_stats_only, name="bn_1",
                              dtype=self.dtype_policy)
        self.bn_2 = (BatchNorm(batch_stats_only=batch_stats_only, name="bn_2",
                               dtype=self.dtype_policy) if self.repeats == 2 else None)

    def build(self, input_shape):
        channels = input_shape[-1]
        k = self.kernel_size
        init = keras.initializers.HeNormal()
        self.depthwise_1 = self.add_weight(shape=(k, k, channels, 1), initializer=init,
                                           name="depthwise_1")
        self.pointwise_1 = self.add_weight(shape=(1, 1, channels, self.filters), initializer=init,
                                           name="pointwise_1")
        if self.repeats == 2:
            self.depthwise_2 = self.add_weight(shape=(k, k, self.filters, 1), initializer=init,
                                               name="depthwise_2")
            self.pointwise_2 = self.add_weight(shape=(1, 1, self.filters, self.filters),
                                               initializer=init, name="pointwise_2")
        out_shape = tuple(input_shape[:-1]) + (self.filters,)
        self.bn_1.build(out_shape)
        if self.repeats == 2:
            self.bn_2.build(out_shape)

    def call(self, x, training=None):
        x = relu_depthwise_pointwise(x, self.depthwise_1, self.pointwise_1, self.strides)
        x = self.bn_1(x, training=training)
        if self.repeats == 1:
            return x
        x = relu_depthwise_pointwise(x, self.depthwise_2, self.pointwise_2, 1)
        return self.bn_2(x, training=training)

    def compute_output_shape(self, input_shape):
        n, h, w, _ = input_shape
        s = self.strides
        return (n, None if h is None else -(-h // s), None if w is None else -(-w // s),
                self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(filters=self.filters, kernel_size=self.kernel_size, strides=self.strides,
                      batch_stats_only=self.batch_stats_only, repeats=self.repeats)
        return config
