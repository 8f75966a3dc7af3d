"""Everything a search holds: models, optimizers, REINFORCE state, counters, built under
`strategy.scope()` through the `RunContext` and gathered in one checkpoint (orbit's rule)."""

from __future__ import annotations

import tensorflow as tf

from enas_tf2.configs.base import ControllerConfig, OptimizerConfig
from enas_tf2.controller import reinforce
from enas_tf2.controller.gradient_accumulator import GradientAccumulator
from enas_tf2.search_space.base import SearchSpace
from enas_tf2.data.specs import DataBundle
from enas_tf2.tasks.base import Task
from enas_tf2.runs.resume_point import ResumePoint
from enas_tf2.training.run_context import RunContext
from enas_tf2.training.search_steps import SearchSteps


class SearchState:
    """Builds and restores the state of one search run.

    Attributes used by the loop: `steps` (compiled steps), `checkpoint`, `step`/`epoch`/
    `controller_samples` counters, `resume` (position inside the epoch), `baseline`, `lr_fn`,
    `restored` (checkpoint path or None).
    """

    def __init__(self, ctx: RunContext, space: SearchSpace, task: Task, data: DataBundle,
                 controller_cfg: ControllerConfig, optim_cfg: OptimizerConfig,
                 steps_per_epoch: int, run_seed: int, objective=None):
        with ctx.scope():
            self.child = space.build_child(data.input_spec)
            self.controller = space.build_controller(controller_cfg)
            self.child_optimizer, lr = task.make_optimizer(steps_per_epoch)
            self.child_optimizer.build(self.child.trainable_variables)
            self.controller_optimizer = reinforce.make_optimizer(controller_cfg)
            self.controller_optimizer.build(self.controller.trainable_variables)
            self.accumulator = GradientAccumulator(self.controller.trainable_variables)
            self.baseline = tf.Variable(0.0, trainable=False, name="baseline")
            # (running variance of the advantage, samples seen): `reinforce.advantage_step`.
            self.advantage_state = tf.Variable([0.0, 0.0], trainable=False,
                                               name="advantage_state")
            self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
            self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
            self.controller_samples = tf.Variable(0, dtype=tf.int64, trainable=False,
                                                  name="controller_samples")
            task.create_state(self.child, data.global_batch)
        # Host-side bookkeeping, outside the scope: MultiWorkerMirroredStrategy would broadcast
        # the initial values and cannot broadcast its string variable.
        self.resume = ResumePoint()
        self.lr_fn = lambda: float(lr(self.child_optimizer.iterations - 1))
        self.steps = SearchSteps(ctx.strategy, task, self.child, self.controller,
                                 self.child_optimizer, self.controller_optimizer,
                                 self.accumulator, self.baseline, self.step, controller_cfg,
                                 optim_cfg, run_seed, objective,
                                 advantage_state=self.advantage_state)
        self.checkpoint = ctx.checkpoint(
            child=self.child, controller=self.controller, child_optimizer=self.child_optimizer,
            controller_optimizer=self.controller_optimizer, baseline=self.baseline,
            advantage_state=self.advantage_state, step=self.step, epoch=self.epoch,
            controller_samples=self.controller_samples,
            step_metrics=self.steps.metrics,
            **self.resume.items(), **task.checkpoint_items())
        self.restored = self.checkpoint.restore_latest()
