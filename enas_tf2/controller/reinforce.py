"""REINFORCE for the controller as small pure functions (docs/enas_reference.md §2.5, pitfall P7).

Per sampled architecture: ``R = score + entropy_weight * entropy``; the baseline moves first,
``b <- b - (1 - bl_dec)(b - R)``, and the loss uses the UPDATED baseline,
``loss = -log_prob * (R - b)`` (the TF1 ordering was racy; NNI's port uses the updated value).
Gradients of `num_aggregate` samples are averaged (`GradientAccumulator`) and applied as one
Adam step with beta_1 = 0 and epsilon = 1e-3, no clipping, no L2.
"""

from __future__ import annotations

from typing import Optional

import keras
import tensorflow as tf

from enas_tf2.configs.base import ControllerConfig
from enas_tf2.controller.gradient_accumulator import GradientAccumulator

__all__ = ["reward", "update_baseline", "reinforce_loss", "make_optimizer", "GradientAccumulator"]


def reward(accuracy, entropy, entropy_weight: Optional[float]) -> tf.Tensor:
    """``accuracy + entropy_weight * entropy`` (float32 scalar).

    `accuracy` is the task score of the sampled architecture (CIFAR: accuracy on one validation
    minibatch). The entropy enters the reward, not the loss, and carries no gradient: it is
    reward shaping only. `entropy_weight` None or 0 disables it, as the original's unset flag.
    """
    value = tf.cast(accuracy, tf.float32)
    if entropy_weight:
        value += entropy_weight * tf.stop_gradient(tf.cast(entropy, tf.float32))
    return value


def update_baseline(baseline, reward_value, bl_dec: float):
    """The moving-average baseline after one sample: ``b - (1 - bl_dec) * (b - R)``."""
    return baseline - (1.0 - bl_dec) * (baseline - reward_value)


def reinforce_loss(log_prob, reward_value, baseline) -> tf.Tensor:
    """``-log_prob * (R - b)``: its gradient is the REINFORCE estimate (advantage is constant)."""
    advantage = tf.stop_gradient(tf.cast(reward_value, tf.float32) - tf.cast(baseline, tf.float32))
    return -log_prob * advantage


def make_optimizer(cfg: ControllerConfig) -> keras.optimizers.Adam:
    """Adam with the controller's settings (lr constant, beta_1 = 0, epsilon = 1e-3 by default).

    Keras' Adam puts epsilon outside the square root with the bias correction folded into the
    step size, exactly like TF1's AdamOptimizer, so epsilon has the original meaning.
    """
    return keras.optimizers.Adam(learning_rate=cfg.lr, beta_1=cfg.adam_beta1,
                                 epsilon=cfg.adam_epsilon, name="controller_adam")
