"""Compiled train/eval steps of final training (one fixed architecture).

Differences from the original micro_final (ENAS_SPEC §4, §10): gradients are really clipped by their
global norm (P2), the auxiliary head is trained and regularised like the rest (P3).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from enas_tf2.config import ChildOptimConfig
from enas_tf2.training.gradients import apply_clipped
from enas_tf2.training.metrics import count_correct


def split_outputs(outputs):
    """(logits, aux_logits or None) from whatever the fixed net returns."""
    if isinstance(outputs, dict):
        return outputs["logits"], outputs.get("aux_logits")
    if isinstance(outputs, (tuple, list)):
        return outputs[0], (outputs[1] if len(outputs) > 1 else None)
    return outputs, None


class FinalSteps:
    """`train(iterator)` and `evaluate(batch)` for a fixed network under any strategy."""

    def __init__(self, strategy, net, optimizer, optim_cfg: ChildOptimConfig, aux_weight: float,
                 global_batch: int, jit_compile: bool = False):
        self.strategy = strategy
        self.net = net
        self.optimizer = optimizer
        self.ocfg = optim_cfg
        self.aux_weight = aux_weight
        self.global_batch = global_batch
        self.mixed = isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
        self._replica_train_fn = tf.function(self._replica_train, jit_compile=jit_compile) \
            if jit_compile else self._replica_train
        self.train = tf.function(self._train)
        self.evaluate = tf.function(self._evaluate)

    def _ce(self, labels, logits):
        ce = tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=tf.cast(labels, tf.int32), logits=tf.cast(logits, tf.float32))
        return tf.nn.compute_average_loss(ce, global_batch_size=self.global_batch)

    def _replica_train(self, images, labels):
        replicas = self.strategy.num_replicas_in_sync
        variables = self.net.trainable_variables
        with tf.GradientTape() as tape:
            # The drop-path keep probability is scheduled on the global step (ENAS_SPEC §4.4).
            logits, aux_logits = split_outputs(
                self.net(images, training=True, step=self.optimizer.iterations))
            loss = self._ce(labels, logits)
            if aux_logits is not None:
                loss += self.aux_weight * self._ce(labels, aux_logits)
            reg = tf.add_n([tf.reduce_sum(tf.square(tf.cast(v, tf.float32))) for v in variables])
            total = loss + self.ocfg.l2_reg * reg / replicas
            if self.mixed:
                total_for_grad = self.optimizer.scale_loss(total)
            else:
                total_for_grad = total
        grads = tape.gradient(total_for_grad, variables)
        if self.mixed:
            # LossScaleOptimizer unscales, skips overflowing steps and clips (global_clipnorm of
            # its inner SGD) by itself; that clip sees each replica's part before the all-reduce.
            grads = [tf.zeros_like(v) if g is None else g for g, v in zip(grads, variables)]
            self.optimizer.apply(grads, variables)
            norm = tf.linalg.global_norm([tf.cast(g, tf.float32) for g in grads]) / tf.cast(
                self.optimizer.dynamic_scale, tf.float32)  # report the unscaled norm
        else:
            norm = apply_clipped(self.optimizer, grads, variables, self.ocfg.grad_bound)
        return total, count_correct(logits, labels), norm

    def _train(self, iterator):
        images, labels = next(iterator)
        loss, correct, norm = self.strategy.run(self._replica_train_fn, args=(images, labels))
        sum_ = tf.distribute.ReduceOp.SUM
        return {"loss": self.strategy.reduce(sum_, loss, axis=None),
                "acc": self.strategy.reduce(sum_, correct, axis=None) / self.global_batch,
                "grad_norm": self.strategy.reduce(tf.distribute.ReduceOp.MEAN, norm, axis=None)}

    def _replica_eval(self, images, labels):
        logits, _ = split_outputs(self.net(images, training=False))
        return count_correct(logits, labels), tf.cast(tf.size(labels), tf.float32)

    def _evaluate(self, batch):
        correct, count = self.strategy.run(self._replica_eval, args=batch)
        sum_ = tf.distribute.ReduceOp.SUM
        return (self.strategy.reduce(sum_, correct, axis=None),
                self.strategy.reduce(sum_, count, axis=None))
