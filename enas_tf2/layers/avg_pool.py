"""3x3 average pooling (SAME padding; padded positions are excluded from the average, as in TF1)."""

from __future__ import annotations

import keras
import tensorflow as tf

from enas_tf2.errors import EnasError


def avg_pool_3x3(x, stride: int = 1):
    """3x3 SAME average pooling of NHWC ``x`` with stride 1 or 2."""
    if stride not in (1, 2):
        raise EnasError(f"average pool stride must be 1 or 2, got {stride}")
    return tf.nn.avg_pool2d(x, 3, stride, "SAME")


class AvgPool3x3(keras.layers.Layer):
    """3x3 SAME average pooling layer (stride 1 or 2) using :func:`avg_pool_3x3`."""

    def __init__(self, strides: int = 1, **kwargs):
        super().__init__(**kwargs)
        if strides not in (1, 2):
            raise EnasError(f"AvgPool3x3 strides must be 1 or 2, got {strides}")
        self.strides = int(strides)

    def call(self, x):
        return avg_pool_3x3(x, self.strides)

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        s = self.strides
        return (n, None if h is None else -(-h // s), None if w is None else -(-w // s), c)

    def get_config(self):
        config = super().get_config()
        config.update(strides=self.strides)
        return config
