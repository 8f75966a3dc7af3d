"""Applying gradients under any strategy with a clip on their TRUE global norm."""

from __future__ import annotations

import tensorflow as tf


def apply_clipped(optimizer, grads, variables, grad_bound: float, scale=None) -> tf.Tensor:
    """All-reduces `grads` (replica context), clips them by global norm, applies them.

    Keras optimizers all-reduce by themselves, but only after their own clipping, which would then
    clip each replica's partial gradient. So the sum is taken here, clipped, and handed over as 1/N
    (the optimizer's own sum restores it). The original's clipping was a no-op (pitfall P2); this
    one clips. `None` gradients (variables a step never touched) become zeros. `scale` (a task's
    per-batch factor, e.g. a language model's window length / bptt) multiplies the clipped
    gradients. Returns the norm before clipping.
    """
    grads = [tf.zeros_like(v) if g is None else g for g, v in zip(grads, variables)]
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    if replicas > 1:
        grads = tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM, grads)
    norm = tf.linalg.global_norm(grads)
    if grad_bound > 0:
        grads, _ = tf.clip_by_global_norm(grads, grad_bound, use_norm=norm)
    if scale is not None:
        # IndexedSlices (the RNN's gathered weight banks) stay sparse: a dense product would
        # densify every bank and force a dense update of all of it.
        grads = [tf.IndexedSlices(g.values * tf.cast(scale, g.values.dtype), g.indices,
                                  g.dense_shape) if isinstance(g, tf.IndexedSlices)
                 else g * tf.cast(scale, g.dtype) for g in grads]
    if replicas > 1:
        grads = [g / replicas for g in grads]
    optimizer.apply(grads, variables)
    return norm
