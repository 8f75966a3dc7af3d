"""Fused batch normalisation: the one BN used by every child network.

Two modes, chosen at construction:

* ``batch_stats_only=True`` (weight-shared search child): always normalises with the statistics of
  the current batch and keeps no moving averages.  A moving average over many different sampled
  architectures would describe none of them (docs/enas_reference.md §1.2, search mode), so there is nothing to
  keep; this also means nothing can drift apart between replicas under ``MirroredStrategy``.
* ``batch_stats_only=False`` (fixed final network): Keras-like.  ``training=True`` normalises with
  batch statistics and updates moving mean/variance with momentum 0.9
  (``moving = 0.9 * moving + 0.1 * batch``); ``training=False`` normalises with the moving values.

Both modes run TensorFlow's fused kernel (``FusedBatchNormV3``): the unfused Keras layer costs about
220 ms per step at search settings on this CPU (docs/shared_child_notes.md, item 4).  The fused kernel's
running variance uses the Bessel-corrected batch variance (n / (n - 1)), as the original TF1 code
did.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from tensorflow.python.ops import gen_nn_ops

from enas_tf2.errors import EnasError

EPSILON = 1e-5
MOMENTUM = 0.9


def fused_batch_norm(x, scale, offset, epsilon: float = EPSILON):
    """Normalises NHWC ``x`` with its own batch statistics, then applies ``scale`` and ``offset``.

    The raw functional form used inside the weight-shared child's branches (weights passed in as
    tensors). Returns a tensor shaped like ``x``.
    """
    y, _, _ = tf.compat.v1.nn.fused_batch_norm(
        x, scale, offset, epsilon=epsilon, data_format="NHWC", is_training=True)
    return y


def batch_norm_forward(x, scale, offset):
    """Batch-statistics BN returning ``(y, reserves)``: the three reserve tensors are what
    `batch_norm_backward` needs (for hand-written gradients inside `layers.branch_switch`)."""
    # Batch statistics: the kernel ignores the mean/variance inputs, which must be empty.
    empty = tf.constant([], tf.float32)
    y, _, _, reserve_1, reserve_2, reserve_3 = gen_nn_ops.fused_batch_norm_v3(
        x, scale, offset, empty, empty, epsilon=EPSILON, data_format="NHWC", is_training=True)
    return y, [reserve_1, reserve_2, reserve_3]


def batch_norm_backward(dy, x, scale, reserves):
    """``(dx, d_scale, d_offset)`` of `batch_norm_forward` (x is the BN input)."""
    dx, d_scale, d_offset, _, _ = gen_nn_ops.fused_batch_norm_grad_v3(
        dy, x, scale, reserves[0], reserves[1], reserves[2], epsilon=EPSILON,
        data_format="NHWC", is_training=True)
    return dx, d_scale, d_offset


class BatchNorm(keras.layers.Layer):
    """Fused batch normalisation over the channel axis of NHWC tensors.

    Args:
        batch_stats_only: if True, always use batch statistics and create no moving statistics
            (weight-shared search). If False, keep moving mean/variance (momentum 0.9) and use them
            when ``training=False``.
        momentum: moving-average momentum (0.9 in the original code).
        epsilon: variance epsilon (1e-5 in the original code).

    Under ``MirroredStrategy`` the moving statistics are created with ``aggregation="mean"``, so
    each update is averaged across replicas instead of letting the replicas' copies drift apart
    (Keras 3's own BatchNormalization does not aggregate them).
    """

    def __init__(self, batch_stats_only: bool = False, momentum: float = MOMENTUM,
                 epsilon: float = EPSILON, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= momentum < 1.0:
            raise EnasError(f"batch-norm momentum must be in [0, 1), got {momentum}")
        self.batch_stats_only = bool(batch_stats_only)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is None:
            raise EnasError("BatchNorm needs a known channel count (last axis of the input)")
        # Not autocast: the fused kernel takes float32 scale, offset and statistics even when the
        # activations are float16 (mixed precision).
        self.gamma = self.add_weight(shape=(channels,), initializer="ones", name="gamma",
                                     autocast=False)
        self.beta = self.add_weight(shape=(channels,), initializer="zeros", name="beta",
                                    autocast=False)
        if not self.batch_stats_only:
            self.moving_mean = self.add_weight(
                shape=(channels,), initializer="zeros", trainable=False, name="moving_mean",
                aggregation="mean", autocast=False)
            self.moving_variance = self.add_weight(
                shape=(channels,), initializer="ones", trainable=False, name="moving_variance",
                aggregation="mean", autocast=False)

    def call(self, x, training=None):
        if self.batch_stats_only:
            return fused_batch_norm(x, self.gamma, self.beta, self.epsilon)
        if training:
            # exponential_avg_factor makes the fused kernel return the updated moving values.
            y, new_mean, new_var = tf.compat.v1.nn.fused_batch_norm(
                x, self.gamma, self.beta, mean=self.moving_mean, variance=self.moving_variance,
                epsilon=self.epsilon, data_format="NHWC", is_training=True,
                exponential_avg_factor=1.0 - self.momentum)
            self.moving_mean.assign(new_mean)
            self.moving_variance.assign(new_var)
            return y
        y, _, _ = tf.compat.v1.nn.fused_batch_norm(
            x, self.gamma, self.beta, mean=self.moving_mean, variance=self.moving_variance,
            epsilon=self.epsilon, data_format="NHWC", is_training=False)
        return y

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(batch_stats_only=self.batch_stats_only, momentum=self.momentum,
                      epsilon=self.epsilon)
        return config
