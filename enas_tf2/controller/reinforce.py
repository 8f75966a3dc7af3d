"""REINFORCE for the controller as small pure functions (docs/enas_reference.md §2.5, pitfall P7).

Per sampled architecture: ``R = score + entropy_weight * entropy``; the baseline moves first,
``b <- b - (1 - bl_dec)(b - R)``, and the loss uses the UPDATED baseline,
``loss = -log_prob * (R - b)`` (the TF1 ordering was racy; NNI's port uses the updated value).
Gradients of `num_aggregate` samples are averaged (`GradientAccumulator`) and applied as one
Adam step with beta_1 = 0 and epsilon = 1e-3, no clipping, no L2.

``adv_norm`` (the ``enas_plus`` recipe, not the paper): `advantage_step` divides ``R - b`` by a
running standard deviation of the advantages and the first sample sets the baseline (the
paper's starts at 0). Rewards of accuracy / 100 differ by ~0.01 between cells, so raw advantages
make steps whose size depends on the task's reward scale; normalised ones are O(1) everywhere.
"""

from __future__ import annotations

from typing import Optional

import keras
import tensorflow as tf

from enas_tf2.configs.base import ControllerConfig
from enas_tf2.controller.gradient_accumulator import GradientAccumulator

__all__ = ["reward", "update_baseline", "advantage_step", "reinforce_loss", "policy_loss",
           "make_optimizer", "GradientAccumulator"]

ADV_EPSILON = 1e-8   # keeps a constant reward from dividing by zero


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


def advantage_step(reward_value, baseline, variance, count, cfg: ControllerConfig):
    """``(advantage, new_baseline, new_variance)`` after one sample.

    `count` is the number of samples seen before this one. Without ``cfg.adv_norm``: the
    paper's ``R - b`` with the updated baseline (`update_baseline`), `variance` unchanged. With
    it: the first sample (``count == 0``) sets the baseline (advantage 0); later ones update the
    baseline, then the moving mean of the squared advantage (same decay ``bl_dec``, bias-corrected
    like Adam's moments over the ``count`` updates it has seen) and divide by its square root,
    so a stationary reward stream gives advantages of mean ~0 and standard deviation ~1.
    """
    r = tf.cast(reward_value, tf.float32)
    b = tf.cast(baseline, tf.float32)
    new_b = update_baseline(b, r, cfg.bl_dec)
    if not cfg.adv_norm:
        return r - new_b, new_b, tf.cast(variance, tf.float32)
    count = tf.cast(count, tf.float32)
    first = count < 0.5
    new_b = tf.where(first, r, new_b)
    delta = r - new_b
    v = tf.cast(variance, tf.float32)
    new_v = tf.where(first, v, v - (1.0 - cfg.bl_dec) * (v - delta * delta))
    # `count` variance updates so far (the first sample makes none): Adam's bias correction.
    corrected = new_v / tf.maximum(1.0 - tf.pow(tf.cast(cfg.bl_dec, tf.float32),
                                                tf.maximum(count, 1.0)), 1e-12)
    return delta / tf.sqrt(corrected + ADV_EPSILON), new_b, new_v


def policy_loss(log_prob, advantage) -> tf.Tensor:
    """``-log_prob * advantage`` with the advantage held constant (`advantage_step`)."""
    return -log_prob * tf.stop_gradient(tf.cast(advantage, tf.float32))


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
