"""The compiled inner steps of an ENAS search, generic over (task, space).

Distribution design (any `tf.distribute` strategy, one trace each):
- The architecture is sampled ONCE per step in cross-replica context from a stateless seed, so every
  replica and every worker uses the same architecture (workers hold identical controller weights and
  derive the same seed from the shared step counter).
- Child gradients are all-reduced, clipped (``none``, ``per_tensor`` or ``global``, on the sum
  over replicas), scaled by the task's per-batch factor, then applied (`gradients.clip_and_apply`).
- Statistics (e.g. correct/count) are summed over replicas and turned into the reward or metric
  by the task, so the reward of a global batch is the same whatever the number of replicas. The
  REINFORCE bookkeeping (baseline, gradient accumulation) runs in cross-replica context; only the
  Adam update runs per replica, as Keras optimizers require.
- Child training runs `num_steps` steps inside ONE `tf.function` call (orbit's inner loop); the
  per-step scalars go to `StepMetrics` on the device and are read at log intervals.
- With the random strategy (`train_loop_archs`) the host draws each step's architecture and the
  compiled loop reads row ``i`` of a ``[steps_per_loop, *arch_shape]`` tensor: the space only
  samples uniformly on the host (`SearchSpace.random_arch`), and a fixed row count keeps one trace.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from enas_tf2.configs.base import ControllerConfig, OptimizerConfig
from enas_tf2.controller import reinforce
from enas_tf2.training.gradients import check_clip_mode, clip_and_apply
from enas_tf2.training.step_metrics import StepMetrics


def seed_for(stream: int, run_seed: int, counter) -> tf.Tensor:
    """A stateless-RNG seed: the same on every worker for the same (stream, seed, counter)."""
    return tf.stack([tf.cast(run_seed * 8 + stream, tf.int64), tf.cast(counter, tf.int64)])


def host_seed(stream: int, run_seed: int, counter: int) -> int:
    """An integer seed for a space's host-side `random_arch`, from the same (stream, seed,
    counter) triple as `seed_for` (so random-strategy runs resume with the same draws)."""
    entropy = [int(stream), int(run_seed) % 2 ** 63, int(counter)]
    return int(np.random.SeedSequence(entropy).generate_state(1, np.uint64)[0])


# Independent random streams of one run (RANDOM_STREAM: uniformly random derive comparisons).
CHILD_STREAM, CONTROLLER_STREAM, EVAL_STREAM, DERIVE_STREAM, RANDOM_STREAM = 0, 1, 2, 3, 4


def sum_over_replicas(strategy, per_replica: dict) -> dict:
    """Sums a dict of per-replica scalars over the replicas."""
    return {k: strategy.reduce(tf.distribute.ReduceOp.SUM, v, axis=None)
            for k, v in per_replica.items()}


class SearchSteps:
    """Child training loop, controller sample/apply, evaluation and scoring steps.

    Args:
      strategy: the run's strategy.
      task: the `Task` (loss, statistics, reward, gradient scale).
      child, controller: the weight-shared child and the policy.
      child_optimizer, controller_optimizer, accumulator, baseline: REINFORCE and child state.
      step: the int64 global child-step counter (seeds the architecture of each step).
      controller_cfg, optim_cfg: settings; run_seed: the run's seed.
      objective: the `enas_tf2.cost.objective.Objective` turning the task's reward and the
        sampled architecture into the controller's reward (None: the task's reward as is).
      advantage_state: float32 ``[2]`` variable (running variance of the advantage, samples
        seen) for ``controller_cfg.adv_norm``; created here when None (unsaved).
    """

    def __init__(self, strategy, task, child, controller, child_optimizer, controller_optimizer,
                 accumulator, baseline, step, controller_cfg: ControllerConfig,
                 optim_cfg: OptimizerConfig, run_seed: int, objective=None,
                 advantage_state=None):
        self.strategy = strategy
        self.task = task
        self.child = child
        self.controller = controller
        self.child_optimizer = child_optimizer
        self.controller_optimizer = controller_optimizer
        self.accumulator = accumulator
        self.baseline = baseline
        self.step = step
        self.ccfg = controller_cfg
        self.ocfg = optim_cfg
        self.clip_mode = check_clip_mode(optim_cfg.grad_clip)
        self.run_seed = int(run_seed)
        self.objective = objective
        with strategy.scope():
            self.metrics = StepMetrics()
            if advantage_state is None:
                advantage_state = tf.Variable([0.0, 0.0], trainable=False,
                                              name="advantage_state")
        self.advantage_state = advantage_state
        self.train_loop = tf.function(self._train_loop)
        self.train_loop_archs = tf.function(self._train_loop_archs)
        self.controller_sample = tf.function(self._controller_sample)
        self.controller_apply = tf.function(self._controller_apply)
        self.evaluate = tf.function(self._evaluate)
        self.sample = tf.function(self._sample)
        self.score = tf.function(self._score)

    def _forward(self, arch):
        return lambda *args, **kwargs: self.child(*args, arch=arch, **kwargs)

    # ---- child -------------------------------------------------------------------------------
    def _replica_train(self, batch, arch):
        variables = self.child.trainable_variables
        with tf.GradientTape() as tape:
            loss, stats = self.task.train_loss(self._forward(arch), batch, variables)
        # Untaken branches give zero gradients; clip_and_apply also turns any None into zeros.
        norm, binds = clip_and_apply(self.child_optimizer, tape.gradient(loss, variables),
                                     variables, self.clip_mode, self.ocfg.grad_bound,
                                     self.task.gradient_scale(batch))
        return loss, stats, norm, binds

    def _train_step(self, iterator, arch):
        """One child step on the next batch with `arch` (cross-replica context)."""
        batch = next(iterator)
        loss, stats, norm, binds = self.strategy.run(self._replica_train, args=(batch, arch))
        self.task.after_train_step()
        sum_, mean = tf.distribute.ReduceOp.SUM, tf.distribute.ReduceOp.MEAN
        self.metrics.add(
            loss=self.strategy.reduce(sum_, loss, axis=None),
            metric=self.task.train_metric(sum_over_replicas(self.strategy, stats)),
            grad_norm=self.strategy.reduce(mean, norm, axis=None),
            clipped=self.strategy.reduce(mean, binds, axis=None), steps=1.0)
        self.step.assign_add(1)

    def _train_loop(self, iterator, num_steps):
        """Runs `num_steps` child steps, an architecture freshly sampled by the controller for
        each."""
        for _ in tf.range(num_steps):
            arch = self.controller(seed=seed_for(CHILD_STREAM, self.run_seed, self.step)).arch
            self._train_step(iterator, arch)

    def _train_loop_archs(self, iterator, num_steps, archs):
        """Runs `num_steps` child steps, step ``i`` with the architecture ``archs[i]`` (rows past
        `num_steps` are padding)."""
        for i in tf.range(num_steps):
            self._train_step(iterator, archs[i])

    # ---- evaluation --------------------------------------------------------------------------
    def _stats(self, batch, arch):
        per_replica = self.strategy.run(
            lambda b: self.task.eval_stats(self._forward(arch), b), args=(batch,))
        return sum_over_replicas(self.strategy, per_replica)

    def _evaluate(self, batch, seed):
        """Summed statistics of one eval batch under a freshly sampled architecture."""
        return self._stats(batch, self.controller(seed=seed).arch)

    def _score(self, batch, arch):
        """Summed statistics of a given architecture on one (distributed) batch."""
        return self._stats(batch, arch)

    def _sample(self, seed):
        return self.controller(seed=seed)

    # ---- controller --------------------------------------------------------------------------
    def _controller_sample(self, iterator, seed):
        batch = next(iterator)
        with tf.GradientTape() as tape:
            out = self.controller(seed=seed)
            with tape.stop_recording():
                value = self.task.reward(self._stats(batch, out.arch))
                shaped = value if self.objective is None else \
                    self.objective.reward_tensor(value, out.arch)
            reward = reinforce.reward(shaped, tf.stop_gradient(out.entropy),
                                      self.ccfg.entropy_weight)
            state = self.advantage_state
            advantage, baseline, variance = reinforce.advantage_step(
                reward, self.baseline, state[0], state[1], self.ccfg)
            # aux_loss comes weighted by the space (the macro skip penalty, docs/enas_reference.md §2.2).
            loss = reinforce.policy_loss(out.log_prob, advantage) + out.aux_loss
        self.baseline.assign(baseline)
        state.assign(tf.stack([variance, state[1] + 1.0]))
        variables = self.controller.trainable_variables
        grads = tape.gradient(loss, variables)
        grads = [tf.zeros_like(v) if g is None else g for g, v in zip(grads, variables)]
        self.accumulator.add(grads)
        return {"arch": out.arch, "score": value, "reward": reward, "baseline": baseline,
                "advantage": advantage,
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
