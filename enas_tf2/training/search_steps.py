"""The compiled inner steps of an ENAS search: one `tf.function` per kind of step (orbit's shape).

Distribution design (any `tf.distribute` strategy, one trace each):
- The architecture is sampled ONCE per step in cross-replica context from a stateless seed, so every
  replica and every worker uses the same architecture (workers hold identical controller weights and
  derive the same seed from the shared step counter).
- Child gradients are all-reduced, clipped by their true global norm, then applied (the original's
  clipping was a no-op, pitfall P2; ours clips).
- The reward is the accuracy over the whole global reward batch (counts summed over replicas), so it
  is the replica average. The REINFORCE bookkeeping (baseline, gradient accumulation) runs in
  cross-replica context; only the Adam update runs per replica, as Keras optimizers require.
"""

from __future__ import annotations

import tensorflow as tf

from enas_tf2.config import ChildOptimConfig, ControllerConfig
from enas_tf2.controller import reinforce
from enas_tf2.training.gradients import apply_clipped
from enas_tf2.training.metrics import count_correct


def seed_for(stream: int, run_seed: int, counter) -> tf.Tensor:
    """A stateless-RNG seed: the same on every worker for the same (stream, seed, counter)."""
    return tf.stack([tf.cast(run_seed * 8 + stream, tf.int64), tf.cast(counter, tf.int64)])


# Independent random streams of one run.
CHILD_STREAM, CONTROLLER_STREAM, EVAL_STREAM, DERIVE_STREAM = 0, 1, 2, 3


class SearchSteps:
    """Child training, controller sampling/update, evaluation and scoring steps."""

    def __init__(self, strategy, child, controller, child_optimizer, controller_optimizer,
                 accumulator, baseline, controller_cfg: ControllerConfig,
                 optim_cfg: ChildOptimConfig, global_batch: int):
        self.strategy = strategy
        self.child = child
        self.controller = controller
        self.child_optimizer = child_optimizer
        self.controller_optimizer = controller_optimizer
        self.accumulator = accumulator
        self.baseline = baseline
        self.ccfg = controller_cfg
        self.ocfg = optim_cfg
        self.global_batch = global_batch
        self.child_train = tf.function(self._child_train)
        self.controller_sample = tf.function(self._controller_sample)
        self.controller_apply = tf.function(self._controller_apply)
        self.evaluate = tf.function(self._evaluate)
        self.sample = tf.function(self._sample)
        self.score = tf.function(self._score)

    # ---- child -------------------------------------------------------------------------------
    def _replica_train(self, images, labels, arch):
        replicas = self.strategy.num_replicas_in_sync
        variables = self.child.trainable_variables
        with tf.GradientTape() as tape:
            logits = self.child(images, arch, training=True)
            ce = tf.nn.sparse_softmax_cross_entropy_with_logits(
                labels=tf.cast(labels, tf.int32), logits=tf.cast(logits, tf.float32))
            loss = tf.nn.compute_average_loss(ce, global_batch_size=self.global_batch)
            # L2 over all trainable weights as the original (BN scales/offsets included, no 1/2).
            reg = self.ocfg.l2_reg * self.child.l2_loss() / replicas
            total = loss + reg
        # Untaken branches give zero gradients; apply_clipped also turns any None into zeros.
        norm = apply_clipped(self.child_optimizer, tape.gradient(total, variables), variables,
                             self.ocfg.grad_bound)
        correct = count_correct(logits, labels)
        return total, correct, norm

    def _child_train(self, iterator, seed):
        arch = self.controller(seed=seed).arch
        images, labels = next(iterator)
        loss, correct, norm = self.strategy.run(self._replica_train, args=(images, labels, arch))
        sum_ = tf.distribute.ReduceOp.SUM
        return {
            "loss": self.strategy.reduce(sum_, loss, axis=None),
            "acc": self.strategy.reduce(sum_, correct, axis=None) / self.global_batch,
            "grad_norm": self.strategy.reduce(tf.distribute.ReduceOp.MEAN, norm, axis=None),
            "arch": arch,
        }

    # ---- evaluation --------------------------------------------------------------------------
    def _replica_counts(self, images, labels, arch):
        logits = self.child(images, arch, training=False)
        return count_correct(logits, labels), tf.cast(tf.size(labels), tf.float32)

    def _counts(self, images, labels, arch):
        correct, count = self.strategy.run(self._replica_counts, args=(images, labels, arch))
        sum_ = tf.distribute.ReduceOp.SUM
        return (self.strategy.reduce(sum_, correct, axis=None),
                self.strategy.reduce(sum_, count, axis=None))

    def _evaluate(self, batch, seed):
        """Correct and total counts of one eval batch under a freshly sampled architecture."""
        arch = self.controller(seed=seed).arch
        return self._counts(batch[0], batch[1], arch)

    def _score(self, batch, arch):
        """Accuracy of a given architecture on one (distributed) batch."""
        correct, count = self._counts(batch[0], batch[1], arch)
        return correct / tf.maximum(count, 1.0)

    def _sample(self, seed):
        return self.controller(seed=seed)

    # ---- controller --------------------------------------------------------------------------
    def _controller_sample(self, iterator, seed):
        images, labels = next(iterator)
        with tf.GradientTape() as tape:
            out = self.controller(seed=seed)
            with tape.stop_recording():
                correct, count = self._counts(images, labels, out.arch)
                accuracy = correct / tf.maximum(count, 1.0)
            reward = reinforce.reward(accuracy, tf.stop_gradient(out.entropy),
                                      self.ccfg.entropy_weight)
            baseline = reinforce.update_baseline(self.baseline, reward, self.ccfg.bl_dec)
            loss = reinforce.reinforce_loss(out.log_prob, reward, baseline)
            loss += self.ccfg.skip_weight * out.aux_loss
        self.baseline.assign(baseline)
        variables = self.controller.trainable_variables
        grads = tape.gradient(loss, variables)
        grads = [tf.zeros_like(v) if g is None else g for g, v in zip(grads, variables)]
        self.accumulator.add(grads)
        return {"arch": out.arch, "accuracy": accuracy, "reward": reward, "baseline": baseline,
                "entropy": out.entropy, "log_prob": out.log_prob, "loss": loss}

    def _replica_apply(self, grads):
        replicas = self.strategy.num_replicas_in_sync
        self.controller_optimizer.apply([g / replicas for g in grads],
                                        self.controller.trainable_variables)

    def _controller_apply(self):
        """One Adam step with the mean of the accumulated sample gradients."""
        grads = self.accumulator.mean()
        self.strategy.run(self._replica_apply, args=(grads,))
        self.accumulator.reset()
        return tf.linalg.global_norm(grads)
