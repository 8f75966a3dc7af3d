"""3x3 max pooling with a custom gradient that keeps TensorFlow's fast oneDNN MaxPoolGrad.

TF's oneDNN build runs its fast max-pool gradient only when the gradient op sees the forward
oneDNN max-pool output directly. Inside a ``switch_case`` branch (the weight-shared child) the
forward output reaches the gradient through Optional ops and the slow generic kernel runs
(131 ms vs 11 ms for 12 calls, SHARED_CHILD_NOTES.md item 1). The custom gradient below recomputes
the forward pool inside the backward pass (a few ms) so the fast kernel is used everywhere.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from tensorflow.python.ops import gen_nn_ops

from enas_tf2.errors import EnasError


def _make_pool(stride: int):
    ksize = [1, 3, 3, 1]
    strides = [1, stride, stride, 1]

    @tf.custom_gradient
    def pool(x):
        y = tf.nn.max_pool2d(x, ksize, strides, "SAME")

        def grad(dy):
            # Recompute instead of reusing `y`: the fast kernel needs a direct forward edge.
            y_again = tf.nn.max_pool2d(x, ksize, strides, "SAME")
            return gen_nn_ops.max_pool_grad(x, y_again, dy, ksize, strides, "SAME")

        return y, grad

    return pool


_POOLS = {1: _make_pool(1), 2: _make_pool(2)}


def max_pool_3x3(x, stride: int = 1):
    """3x3 SAME max pooling of NHWC ``x`` with stride 1 or 2 (custom fast gradient)."""
    if stride not in _POOLS:
        raise EnasError(f"max pool stride must be 1 or 2, got {stride}")
    return _POOLS[stride](x)


class MaxPool3x3(keras.layers.Layer):
    """3x3 SAME max pooling layer (stride 1 or 2) using :func:`max_pool_3x3`."""

    def __init__(self, strides: int = 1, **kwargs):
        super().__init__(**kwargs)
        if strides not in (1, 2):
            raise EnasError(f"MaxPool3x3 strides must be 1 or 2, got {strides}")
        self.strides = int(strides)

    def call(self, x):
        return max_pool_3x3(x, self.strides)

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        s = self.strides
        return (n, None if h is None else -(-h // s), None if w is None else -(-w // s), c)

    def get_config(self):
        config = super().get_config()
        config.update(strides=self.strides)
        return config
