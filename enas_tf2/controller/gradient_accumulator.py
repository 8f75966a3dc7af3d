"""`GradientAccumulator`: averages the gradients of `num_aggregate` controller samples."""

from __future__ import annotations

from typing import List, Sequence

import tensorflow as tf


class GradientAccumulator:
    """Running sum of gradients in non-trainable variables, so one Adam step can use the mean
    over `num_aggregate` samples (the original's SyncReplicasOptimizer, docs/enas_reference.md §2.5).

    Create it inside the strategy scope that owns the controller: the sums are then mirrored.
    `add` works in cross-replica context (every copy gets the same value) and in replica context
    (the copies receive the MEAN over replicas, so replicas with different gradients still
    agree). `mean()` divides by the number of `add` calls since the last `reset`; nothing here
    is checkpointed, a resumed run starts a fresh aggregate.

    Args:
      variables: the variables whose gradients will be added, in the order `add` receives them.
    """

    def __init__(self, variables: Sequence[tf.Variable], name: str = "grad_accumulator"):
        self._sums = [
            tf.Variable(tf.zeros(v.shape, v.dtype), trainable=False, name=f"{name}_{i}",
                        aggregation=tf.VariableAggregation.MEAN)
            for i, v in enumerate(variables)]
        # Counted once whatever the number of replicas.
        self._count = tf.Variable(0.0, trainable=False, name=f"{name}_count",
                                  aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)

    @property
    def count(self) -> tf.Tensor:
        """How many gradient lists were added since the last reset."""
        return self._count.read_value()

    def add(self, grads: Sequence) -> None:
        """Adds one gradient list (None entries count as zeros; IndexedSlices are densified)."""
        if len(grads) != len(self._sums):
            raise ValueError(f"expected {len(self._sums)} gradients, got {len(grads)}")
        for total, grad in zip(self._sums, grads):
            if grad is not None:
                total.assign_add(tf.convert_to_tensor(grad, dtype=total.dtype))
        self._count.assign_add(1.0)

    def mean(self) -> List[tf.Tensor]:
        """The average of the added gradients (zeros when nothing was added)."""
        count = tf.maximum(self._count.read_value(), 1.0)
        return [total.read_value() / tf.cast(count, total.dtype) for total in self._sums]

    def reset(self) -> None:
        """Clears the sums and the count, ready for the next aggregate."""
        for total in self._sums:
            total.assign(tf.zeros_like(total))
        self._count.assign(0.0)
