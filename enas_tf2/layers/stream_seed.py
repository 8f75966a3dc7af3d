"""`stream_seed`: the seed of one random draw that a checkpoint can reproduce.

Why: stateful ops (``tf.random.uniform``, ``tf.nn.dropout``) keep their position in a hidden
per-op stream that no checkpoint holds, so a run resumed from a checkpoint restarts its dropout
and drop-path streams and ends with other weights than the uninterrupted run (issue 13, exact
resume). The layers therefore draw with ``tf.random.stateless_*`` ops, whose output is a pure
function of a seed tensor, and build that seed from four things:

* ``seed``: a Python int fixed at construction (a constructor argument, in ``get_config``), so
  two layers of one model, or two models, draw different streams;
* ``counter``: an int64 value that is saved with the weights (a non-trainable weight that counts
  the training calls, or the step that a saved weight counts), so the same step after a restore
  draws the same masks as before the kill, and the next step draws new ones;
* the replica id in the sync group (0 outside a `tf.distribute` strategy), so the replicas of a
  `MirroredStrategy` or `MultiWorkerMirroredStrategy` step drop different units of their own
  examples, as independent per-device streams did;
* ``salt``: a Python int fixed per call site (e.g. the op slot of a cell, the kind of an RNN
  mask), so several draws in one training call are independent. It is never a counter of Python
  calls, whose value would depend on the order in which `tf.function` traces the calls.

The counter is the same on every replica, so the replica id is the only difference between
replicas. The counters are weights with ``aggregation="none"``: under a strategy each replica
advances its own copy by one per training call, so the copies stay equal without any
synchronisation, and a checkpoint saves (and a restore sets on every copy) that one value.
``"only_first_replica"`` would give the same numbers but turns every update made inside a
replica's call into a cross-replica ``merge_call``, which pauses each replica thread mid-forward
and lets them interleave (Keras' ``add_loss`` list is shared by the threads: the RNN models'
penalties leaked from one replica into the other).
"""

from __future__ import annotations

import tensorflow as tf


def stream_seed(seed: int, counter, salt: int = 0) -> tf.Tensor:
    """The int64 ``[2]`` seed of a ``tf.random.stateless_*`` draw for
    ``(seed, counter, replica id, salt)``.

    Args:
      seed: the layer's or model's construction-time seed (Python int).
      counter: an integer scalar (tensor or variable value) that a checkpoint restores, read
        BEFORE it is advanced for the current call.
      salt: distinguishes the draws of one call (Python int, fixed per call site).

    Different arguments give unrelated seeds: each component is hashed in with
    `tf.random.experimental.stateless_fold_in` (Philox), not added, so e.g. (seed 1, salt 2) and
    (seed 2, salt 1) do not collide.
    """
    key = tf.stack([tf.constant(seed, tf.int64), tf.cast(counter, tf.int64)])
    context = tf.distribute.get_replica_context()
    # None in a cross-replica context (a call made directly under `strategy.scope()`): one draw
    # for the whole batch, like a single device.
    replica = 0 if context is None else context.replica_id_in_sync_group
    key = tf.random.experimental.stateless_fold_in(key, tf.cast(replica, tf.int64))
    return tf.random.experimental.stateless_fold_in(key, tf.constant(salt, tf.int64))
