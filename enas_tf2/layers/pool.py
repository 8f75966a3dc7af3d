"""3x3 pooling, SAME padding, stride 1 or 2: average (padded positions excluded from the average,
as in TF1) and max, as raw functions for the weight-shared child and as one `Pool3x3` layer.

The max pool keeps TensorFlow's fast oneDNN MaxPoolGrad inside branches. TF's oneDNN build runs
its fast max-pool gradient only when the gradient op sees the forward oneDNN max-pool output
directly. Inside a ``switch_case`` branch (the weight-shared child) the forward output reaches the
gradient through Optional ops and the slow generic kernel runs (131 ms vs 11 ms for 12 calls,
docs/shared_child_notes.md item 1). Our gradient recomputes the forward pool inside the backward
pass (a few ms) so the fast kernel is used everywhere.

Why a gradient override instead of ``tf.custom_gradient``: a custom gradient inside a
``switch_case`` inside a nested ``tf.function`` (how the child shares one cell trace) fails when
TF builds the case gradient (``AssertionError`` in ``cond_v2._resolve_grad_inputs``, TF 2.21). A
registered gradient function is handled like any built-in gradient. In eager mode (no graph to
annotate) the built-in gradient is used, which computes the same values.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from tensorflow.python.ops import gen_nn_ops

from enas_tf2.errors import EnasError

_GRADIENT_NAME = "EnasRecomputeMaxPoolGrad"


@tf.RegisterGradient(_GRADIENT_NAME)
def _recompute_max_pool_grad(op, dy):
    """MaxPool gradient from a freshly recomputed forward pool (direct edge -> fast kernel)."""
    x = op.inputs[0]
    ksize, strides = op.get_attr("ksize"), op.get_attr("strides")
    padding = op.get_attr("padding")
    y_again = gen_nn_ops.max_pool(x, ksize, strides, padding)
    return gen_nn_ops.max_pool_grad(x, y_again, dy, ksize, strides, padding)


def max_pool_3x3(x, stride: int = 1):
    """3x3 SAME max pooling of NHWC ``x`` with stride 1 or 2 (recomputing fast gradient)."""
    if stride not in (1, 2):
        raise EnasError(f"max pool stride must be 1 or 2, got {stride}")
    if tf.executing_eagerly():
        return tf.nn.max_pool2d(x, 3, stride, "SAME")
    with tf.compat.v1.get_default_graph().gradient_override_map({"MaxPool": _GRADIENT_NAME}):
        return tf.nn.max_pool2d(x, 3, stride, "SAME")


def avg_pool_3x3(x, stride: int = 1):
    """3x3 SAME average pooling of NHWC ``x`` with stride 1 or 2."""
    if stride not in (1, 2):
        raise EnasError(f"average pool stride must be 1 or 2, got {stride}")
    return tf.nn.avg_pool2d(x, 3, stride, "SAME")


_POOLS = {"avg": avg_pool_3x3, "max": max_pool_3x3}


class Pool3x3(keras.layers.Layer):
    """3x3 SAME pooling layer: ``kind`` ``"avg"`` (`avg_pool_3x3`) or ``"max"``
    (`max_pool_3x3`), stride 1 or 2."""

    def __init__(self, kind: str, strides: int = 1, **kwargs):
        super().__init__(**kwargs)
        if kind not in _POOLS:
            raise EnasError(f"Pool3x3 kind must be 'avg' or 'max', got {kind!r}")
        if strides not in (1, 2):
            raise EnasError(f"Pool3x3 strides must be 1 or 2, got {strides}")
        self.kind = kind
        self.strides = int(strides)

    def call(self, x):
        return _POOLS[self.kind](x, self.strides)

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        s = self.strides
        return (n, None if h is None else -(-h // s), None if w is None else -(-w // s), c)

    def get_config(self):
        config = super().get_config()
        config.update(kind=self.kind, strides=self.strides)
        return config
