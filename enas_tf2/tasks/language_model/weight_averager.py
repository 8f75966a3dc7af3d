"""`WeightAverager`: enas_lm's NT-ASGD-style weight averaging in final training (§5.2)."""

from __future__ import annotations

import contextlib
from typing import Iterator, List, Sequence

import tensorflow as tf

_FIRST = tf.VariableAggregation.ONLY_FIRST_REPLICA


class WeightAverager(tf.Module):
    """A uniform running average of the weights, switched on by a non-monotone trigger.

    Rule (enas_lm ``fixed.py``): after each validation, if averaging has not started, more than
    `patience` validation scores exist and the current one is worse than the best of all but the
    last `patience`, averaging starts. From the next optimizer step on, every step updates
    ``avg <- avg + (w - avg) / n`` (n = steps since the start, so the first update copies w), and
    evaluations run with the averaged weights (the trained weights are restored afterwards).

    Create it under the strategy scope that owns the model: the averages are mirrored and read the
    first replica's weights (identical on all replicas after an all-reduced update). It is a
    `tf.Module`, so ``tf.train.Checkpoint(averager=...)`` saves averages, count, flag and history.

    Args:
      variables: the weights to average (the model's trainable variables).
      patience: enas_lm's ``best_valid_ppl_threshold`` (10 in final training).
    """

    def __init__(self, variables: Sequence, patience: int = 10, name: str = "weight_averager"):
        super().__init__(name=name)
        self._weights = list(variables)
        self.patience = int(patience)
        self.averages: List[tf.Variable] = [
            tf.Variable(tf.zeros(v.shape, v.dtype), trainable=False, aggregation=_FIRST,
                        name=f"average_{i}") for i, v in enumerate(self._weights)]
        self.count = tf.Variable(0.0, trainable=False, aggregation=_FIRST, name="count")
        self.started = tf.Variable(False, trainable=False, aggregation=_FIRST, name="started")
        self.history = tf.Variable(tf.zeros([0]), shape=tf.TensorShape([None]), trainable=False,
                                   aggregation=_FIRST, name="history")

    def update(self) -> None:
        """One averaging step when started (no-op before); call after each optimizer step, in
        cross-replica context (inside or outside `tf.function`)."""
        def step():
            self.count.assign_add(1.0)
            for average, weight in zip(self.averages, self._weights):
                average.assign_add((tf.convert_to_tensor(weight) - average) / self.count)
            return tf.constant(True)

        tf.cond(self.started, step, lambda: tf.constant(False))

    def observe(self, score: float) -> bool:
        """Records one validation score (perplexity: lower is better) and applies the trigger;
        host side, once per validation. Returns whether averaging is on."""
        history = [float(v) for v in self.history.numpy()]
        if (not bool(self.started.numpy()) and len(history) > self.patience
                and float(score) > min(history[:-self.patience])):
            self.started.assign(True)
        self.history.assign(history + [float(score)])
        return bool(self.started.numpy())

    @contextlib.contextmanager
    def averaged_weights(self) -> Iterator[bool]:
        """Within the block the model holds the averaged weights (if averaging has produced any);
        the trained weights come back on exit. Yields whether the averages are in use."""
        if not bool(self.started.numpy()) or float(self.count.numpy()) == 0.0:
            yield False
            return
        backup = [tf.identity(tf.convert_to_tensor(w)) for w in self._weights]
        for weight, average in zip(self._weights, self.averages):
            weight.assign(average)
        try:
            yield True
        finally:
            for weight, value in zip(self._weights, backup):
                weight.assign(value)
