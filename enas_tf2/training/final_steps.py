"""Compiled train/eval steps of final training (one fixed architecture), generic over the task.

Differences from the original micro_final (docs/enas_reference.md §4, §10): gradients are clipped
as `--child_grad_clip` says (none, the authors' effective behaviour, P2; per_tensor; global); an
auxiliary head, where the net has one, is trained and regularised like
the rest (P3; the task adds its loss).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from enas_tf2.configs.base import OptimizerConfig
from enas_tf2.training.gradients import check_clip_mode, clip_and_apply
from enas_tf2.training.search_steps import sum_over_replicas
from enas_tf2.training.step_metrics import StepMetrics


class FinalSteps:
    """`train_loop(iterator, n)` and `evaluate(batch)` for a fixed network under any strategy."""

    def __init__(self, strategy, task, net, optimizer, optim_cfg: OptimizerConfig,
                 jit_compile: bool = False):
        self.strategy = strategy
        self.task = task
        self.net = net
        self.optimizer = optimizer
        self.ocfg = optim_cfg
        self.clip_mode = check_clip_mode(optim_cfg.grad_clip)
        self.mixed = isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
        with strategy.scope():
            self.metrics = StepMetrics()
        self._replica_train_fn = tf.function(self._replica_train, jit_compile=jit_compile) \
            if jit_compile else self._replica_train
        self.train_loop = tf.function(self._train_loop)
        self.evaluate = tf.function(self._evaluate)

    def _replica_train(self, batch):
        variables = self.net.trainable_variables
        with tf.GradientTape() as tape:
            total, stats = self.task.train_loss(self.net, batch, variables)
            total_for_grad = self.optimizer.scale_loss(total) if self.mixed else total
        grads = tape.gradient(total_for_grad, variables)
        if self.mixed:
            # LossScaleOptimizer unscales, skips overflowing steps and clips (global_clipnorm of
            # its inner SGD) by itself; that clip sees each replica's part before the all-reduce.
            grads = [tf.zeros_like(v) if g is None else g for g, v in zip(grads, variables)]
            self.optimizer.apply(grads, variables)
            norm = tf.linalg.global_norm([tf.cast(g, tf.float32) for g in grads]) / tf.cast(
                self.optimizer.dynamic_scale, tf.float32)  # report the unscaled norm
            bound = self.ocfg.grad_bound
            binds = tf.cast(norm > bound, tf.float32) \
                if self.clip_mode == "global" and bound > 0 else tf.constant(0.0)
        else:
            norm, binds = clip_and_apply(self.optimizer, grads, variables, self.clip_mode,
                                         self.ocfg.grad_bound, self.task.gradient_scale(batch))
        return total, stats, norm, binds

    def _train_loop(self, iterator, num_steps):
        """Runs `num_steps` training steps inside one `tf.function` call."""
        for _ in tf.range(num_steps):
            loss, stats, norm, binds = self.strategy.run(self._replica_train_fn,
                                                         args=(next(iterator),))
            self.task.after_train_step()
            mean = tf.distribute.ReduceOp.MEAN
            self.metrics.add(
                loss=self.strategy.reduce(tf.distribute.ReduceOp.SUM, loss, axis=None),
                metric=self.task.train_metric(sum_over_replicas(self.strategy, stats)),
                grad_norm=self.strategy.reduce(mean, norm, axis=None),
                clipped=self.strategy.reduce(mean, binds, axis=None), steps=1.0)

    def _evaluate(self, batch):
        per_replica = self.strategy.run(lambda b: self.task.eval_stats(self.net, b),
                                        args=(batch,))
        return sum_over_replicas(self.strategy, per_replica)
