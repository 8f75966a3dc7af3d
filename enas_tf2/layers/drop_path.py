"""Scheduled drop path (docs/enas_reference.md §4.4): per-example Bernoulli masks on whole op outputs.

The keep probability falls linearly with depth and with training progress:
``kp_cell = 1 − (l+1)/L · (1 − dp)`` for cell ``l`` of ``L`` cells, then
``kp = 1 − min(1, (s+1)/total_steps) · (1 − kp_cell)`` at global step ``s``. So early in training
and in shallow cells almost nothing is dropped, and the deepest cell at the last step keeps exactly
``dp`` (``child_drop_path_keep_prob``). Kept examples are divided by ``kp`` so the expected output is
unchanged.

The masks are stateless draws (`stream_seed`) keyed by the layer's ``seed``, the global ``step``
(which the caller saves: `MicroNet` counts its training calls in the weight ``drop_path_step``),
the replica and a per-call-site ``salt`` (the op slot of the cell), so a run resumed from a
checkpoint drops the same paths as the uninterrupted run, and the several ops of one cell that
share this layer draw independent masks.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from enas_tf2.errors import EnasError
from enas_tf2.layers.stream_seed import stream_seed

# Default of `seed`, distinct from the other layers' defaults (`MicroNet` passes its own seeds).
DEFAULT_SEED = 0x44524F50   # "DROP"


@keras.saving.register_keras_serializable(package="enas_tf2")
class DropPath(keras.layers.Layer):
    """Drops a whole op output per example with the scheduled probability of one cell.

    Args:
      drop_path_keep_prob: ``dp``, the keep probability reached by the last cell at the last step
        (1.0 disables drop path).
      cell_index: ``l``, 0-based index of the cell this layer serves.
      total_cells: ``L``, number of cells in the network (``num_layers + 2`` in ENAS).
      total_steps: training steps of the whole run (``num_epochs · steps_per_epoch``).
      seed: seed of the masks (see the module doc).

    Call: ``layer(x, step=global_step, training=True, salt=k)``; ``step`` is the 0-based global
    step (e.g. ``optimizer.iterations`` before the update), ``salt`` a Python int that tells the
    call sites of one step apart. Identity when not training. The mask is a function of
    ``(seed, step, replica, salt)``: one layer serves all ops of its cell with a different
    ``salt`` per op, and the same step and salt give the same mask (what makes a resumed run
    repeat the uninterrupted one).
    """

    def __init__(self, drop_path_keep_prob: float, cell_index: int, total_cells: int,
                 total_steps: int, seed: int = DEFAULT_SEED, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 < drop_path_keep_prob <= 1.0:
            raise EnasError(f"drop_path_keep_prob must be in (0, 1], got {drop_path_keep_prob}")
        if not 0 <= cell_index < total_cells:
            raise EnasError(f"cell_index {cell_index} is outside [0, {total_cells})")
        if int(total_steps) < 1:
            raise EnasError(f"drop path needs total_steps >= 1, got {total_steps}")
        self.drop_path_keep_prob = float(drop_path_keep_prob)
        self.cell_index = int(cell_index)
        self.total_cells = int(total_cells)
        self.total_steps = int(total_steps)
        self.seed = int(seed)
        # The depth part of the schedule is a Python constant: cells are fixed at construction.
        self.cell_keep_prob = 1.0 - (self.cell_index + 1) / self.total_cells * (
            1.0 - self.drop_path_keep_prob)

    @property
    def active(self) -> bool:
        """False when nothing is ever dropped (``drop_path_keep_prob == 1``)."""
        return self.drop_path_keep_prob < 1.0

    def keep_prob(self, step):
        """Keep probability (float32 scalar tensor) at 0-based global step `step`."""
        progress = tf.minimum(
            1.0, (tf.cast(step, tf.float32) + 1.0) / float(self.total_steps))
        return 1.0 - progress * (1.0 - self.cell_keep_prob)

    def call(self, x, step=None, training=None, salt: int = 0):
        if not training or not self.active:
            return x
        if step is None:
            raise EnasError("DropPath needs the global step when training (pass step=...)")
        kp = self.keep_prob(step)
        # floor(kp + U[0,1)) is 1 with probability kp: one draw per example, broadcast over H, W, C.
        noise_shape = tf.concat([tf.shape(x)[:1], tf.ones([tf.rank(x) - 1], tf.int32)], axis=0)
        uniform = tf.random.stateless_uniform(noise_shape, stream_seed(self.seed, step, salt),
                                              dtype=tf.float32)
        mask = tf.floor(kp + uniform)
        return x / tf.cast(kp, x.dtype) * tf.cast(mask, x.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(drop_path_keep_prob=self.drop_path_keep_prob, cell_index=self.cell_index,
                      total_cells=self.total_cells, total_steps=self.total_steps,
                      seed=self.seed)
        return config
