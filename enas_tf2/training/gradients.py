"""Applying gradients under any strategy, clipped in one of three modes.

``--child_grad_clip`` (`OptimizerConfig.grad_clip`), at the bound ``--child_grad_bound``:

* ``none``: no clipping. What the authors' CIFAR code effectively did: it meant to clip each
  tensor by its norm, but appended the unclipped gradient (pitfall P2), so nothing was clipped.
* ``per_tensor``: each gradient tensor clipped by its own norm (what that code intended,
  ``tf.clip_by_norm`` per variable).
* ``global``: all gradients scaled together when their global norm exceeds the bound (enas_lm's
  PTB recipe, where the clip does work).

A bound <= 0 switches clipping off in every mode. The logged ``|g|`` is always the global norm
before clipping; the logged ``clip_rate`` counts the steps on which the clip changed at least one
gradient (0 in ``none`` mode).
"""

from __future__ import annotations

from typing import Tuple

import tensorflow as tf

from enas_tf2.errors import EnasError

CLIP_MODES = ("none", "per_tensor", "global")


def check_clip_mode(mode: str) -> str:
    """`mode` when it is one of `CLIP_MODES`; EnasError naming the choices otherwise."""
    if mode not in CLIP_MODES:
        raise EnasError(f"unknown --child_grad_clip={mode!r}; choose one of "
                        f"{', '.join(CLIP_MODES)}")
    return mode


def _values(grad):
    # Norms of IndexedSlices are those of their values, as in TF's own clip ops.
    return grad.values if isinstance(grad, tf.IndexedSlices) else grad


def clip_gradients(grads, mode: str, bound: float) -> Tuple[list, tf.Tensor, tf.Tensor]:
    """``(clipped grads, global norm before clipping, 1.0 if the clip changed any gradient else
    0.0)``. `grads` hold no None; IndexedSlices stay IndexedSlices."""
    norm = tf.linalg.global_norm(grads)
    if mode == "none" or bound <= 0:
        return list(grads), norm, tf.constant(0.0)
    if mode == "global":
        clipped, _ = tf.clip_by_global_norm(grads, bound, use_norm=norm)
        return clipped, norm, tf.cast(norm > bound, tf.float32)
    norms = tf.stack([tf.norm(tf.cast(_values(g), tf.float32)) for g in grads])
    clipped = [tf.clip_by_norm(g, bound) for g in grads]
    return clipped, norm, tf.cast(tf.reduce_any(norms > bound), tf.float32)


def clip_and_apply(optimizer, grads, variables, mode: str, bound: float,
                   scale=None) -> Tuple[tf.Tensor, tf.Tensor]:
    """All-reduces `grads` (replica context), clips them (`clip_gradients`), applies them;
    returns ``(global norm before clipping, whether the clip bound)``.

    Keras optimizers all-reduce by themselves, but only after their own clipping, which would then
    clip each replica's partial gradient. So the sum is taken here, clipped, and handed over as 1/N
    (the optimizer's own sum restores it). `None` gradients (variables a step never touched)
    become zeros. `scale` (a task's per-batch factor, e.g. a language model's window length /
    bptt) multiplies the clipped gradients.
    """
    grads = [tf.zeros_like(v) if g is None else g for g, v in zip(grads, variables)]
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    if replicas > 1:
        grads = tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM, grads)
    grads, norm, binds = clip_gradients(grads, mode, bound)
    if scale is not None:
        # IndexedSlices (the RNN's gathered weight banks) stay sparse: a dense product would
        # densify every bank and force a dense update of all of it.
        grads = [tf.IndexedSlices(g.values * tf.cast(scale, g.values.dtype), g.indices,
                                  g.dense_shape) if isinstance(g, tf.IndexedSlices)
                 else g * tf.cast(scale, g.dtype) for g in grads]
    if replicas > 1:
        grads = [g / replicas for g in grads]
    optimizer.apply(grads, variables)
    return norm, binds

