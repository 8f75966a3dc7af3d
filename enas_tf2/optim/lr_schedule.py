"""Child learning-rate schedules (docs/enas_reference.md §4.2): SGDR held constant per epoch, or staircase decay.

The original recomputes its cosine-with-warm-restarts rate from the *epoch* number, so the rate is
constant within an epoch and jumps at epoch boundaries. Keras' `CosineDecayRestarts` evaluated at
the epoch index (instead of the step) is exactly that rule: its restart points are T_0, T_0·(1+T_mul),
... and its value is ``lr_min + ½(lr_max − lr_min)(1 + cos(π·T_cur/T_i))``. The only difference is
π itself (the original used 3.1415926), a relative difference of 2e-8 in the cosine argument.

The staircase rule ``lr · rate^floor(step / (dec_every · steps_per_epoch))`` is Keras'
`ExponentialDecay(staircase=True)` as is, so the factory returns that class instead of a copy.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from enas_tf2.configs.base import OptimizerConfig
from enas_tf2.errors import EnasError


@keras.saving.register_keras_serializable(package="enas_tf2")
class EpochCosineRestarts(keras.optimizers.schedules.LearningRateSchedule):
    """Cosine annealing with warm restarts (SGDR), constant within each epoch (docs/enas_reference.md §4.2).

    With ``e = step // steps_per_epoch`` and the current cycle starting at epoch ``last_reset`` with
    length ``T_i`` (T_0, then ×T_mul at every restart), the rate is
    ``lr_min + ½(lr_max − lr_min)(1 + cos(π·(e − last_reset)/T_i))``. With T_0=10, T_mul=2 the
    restarts fall at epochs 10, 30, 70, 150, 310, 630, so 150/310/630-epoch runs end at lr_min.

    Args:
      lr_max: rate at the start of each cycle (> 0).
      lr_min: rate approached at the end of each cycle (0 <= lr_min <= lr_max).
      T_0: length of the first cycle in epochs (>= 1).
      T_mul: cycle-length multiplier at each restart (>= 1).
      steps_per_epoch: optimizer steps per epoch (>= 1).
    """

    def __init__(self, lr_max: float, lr_min: float, T_0: int, T_mul: int, steps_per_epoch: int):
        if not lr_max > 0:
            raise EnasError(f"lr_max must be > 0, got {lr_max}")
        if not 0 <= lr_min <= lr_max:
            raise EnasError(f"lr_min must be in [0, lr_max={lr_max}], got {lr_min}")
        if int(T_0) < 1 or int(T_mul) < 1:
            raise EnasError(f"lr_T_0 and lr_T_mul must be >= 1, got T_0={T_0}, T_mul={T_mul}")
        if int(steps_per_epoch) < 1:
            raise EnasError(f"steps_per_epoch must be >= 1, got {steps_per_epoch}")
        self.lr_max = float(lr_max)
        self.lr_min = float(lr_min)
        self.T_0 = int(T_0)
        self.T_mul = int(T_mul)
        self.steps_per_epoch = int(steps_per_epoch)
        # Keras' schedule is fed epochs, not steps: that is what makes the rate per-epoch constant.
        self._per_epoch = keras.optimizers.schedules.CosineDecayRestarts(
            initial_learning_rate=self.lr_max, first_decay_steps=self.T_0,
            t_mul=float(self.T_mul), m_mul=1.0, alpha=self.lr_min / self.lr_max)

    def epoch_of(self, step):
        """The epoch index (int64 tensor) that optimizer step `step` belongs to."""
        step = tf.cast(step, tf.int64)
        return step // self.steps_per_epoch

    def __call__(self, step):
        """Learning rate (float32 scalar) at optimizer step `step` (0-based)."""
        return self._per_epoch(tf.cast(self.epoch_of(step), tf.float32))

    def get_config(self):
        """Constructor arguments, for `keras.optimizers.schedules.serialize`."""
        return {"lr_max": self.lr_max, "lr_min": self.lr_min, "T_0": self.T_0,
                "T_mul": self.T_mul, "steps_per_epoch": self.steps_per_epoch}


def make_child_lr_schedule(cfg: OptimizerConfig, steps_per_epoch: int):
    """The child's schedule from its config: `EpochCosineRestarts` if ``cfg.lr_cosine``, else staircase.

    Staircase: ``cfg.lr · cfg.lr_dec_rate^floor(step / (cfg.lr_dec_every · steps_per_epoch))``.
    Raises EnasError for non-positive rates, periods or `steps_per_epoch`.
    """
    if int(steps_per_epoch) < 1:
        raise EnasError(f"steps_per_epoch must be >= 1, got {steps_per_epoch}")
    if cfg.lr_cosine:
        return EpochCosineRestarts(cfg.lr_max, cfg.lr_min, cfg.lr_T_0, cfg.lr_T_mul,
                                   steps_per_epoch)
    if not cfg.lr > 0 or cfg.lr_dec_every < 1 or not cfg.lr_dec_rate > 0:
        raise EnasError(f"staircase schedule needs lr > 0, lr_dec_every >= 1 and lr_dec_rate > 0; "
                        f"got lr={cfg.lr}, lr_dec_every={cfg.lr_dec_every}, "
                        f"lr_dec_rate={cfg.lr_dec_rate}")
    return keras.optimizers.schedules.ExponentialDecay(
        initial_learning_rate=cfg.lr, decay_steps=cfg.lr_dec_every * int(steps_per_epoch),
        decay_rate=cfg.lr_dec_rate, staircase=True)
