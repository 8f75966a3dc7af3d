"""Everything a search holds: models, optimizers, REINFORCE state, counters — built under
`strategy.scope()` and gathered in one `tf.train.Checkpoint` (orbit's rule: all state in one place).
"""

from __future__ import annotations

import os

import keras
import tensorflow as tf

from enas_tf2.controller import reinforce
from enas_tf2.controller.gradient_accumulator import GradientAccumulator
from enas_tf2.training.checkpointing import RunCheckpoint, prepare_output_dir
from enas_tf2.training.lr_schedule import make_child_lr_schedule
from enas_tf2.training.run_log import RunLog
from enas_tf2.training.search_steps import SearchSteps
from enas_tf2.training.strategy import task_info


class SearchState:
    """Builds and restores the state of one search run.

    Attributes used by the loop: `steps` (compiled steps), `checkpoint`, `log`, `step`/`epoch`/
    `controller_samples` counters, `baseline`, `child_lr`, `files_dir` (where this task writes).
    """

    def __init__(self, space, data, controller_cfg, optim_cfg, run_cfg, strategy,
                 steps_per_epoch: int, global_batch: int):
        self.is_chief, worker = task_info(strategy)
        prepare_output_dir(run_cfg.output_dir, run_cfg.reset_output_dir, self.is_chief)
        self.files_dir = run_cfg.output_dir if self.is_chief else os.path.join(
            run_cfg.output_dir, f"worker-{worker}")
        os.makedirs(self.files_dir, exist_ok=True)
        self.global_batch = global_batch
        height, width, _ = data.image_shape
        with strategy.scope():
            self.child = space.build_child()
            self.child.build((None, height, width, 3))
            self.controller = space.build_controller()
            self.controller.build()
            self.child_lr = make_child_lr_schedule(optim_cfg, steps_per_epoch)
            self.child_optimizer = keras.optimizers.SGD(
                learning_rate=self.child_lr, momentum=optim_cfg.momentum,
                nesterov=optim_cfg.nesterov)
            self.child_optimizer.build(self.child.trainable_variables)
            self.controller_optimizer = reinforce.make_optimizer(controller_cfg)
            self.controller_optimizer.build(self.controller.trainable_variables)
            self.accumulator = GradientAccumulator(self.controller.trainable_variables)
            self.baseline = tf.Variable(0.0, trainable=False, name="baseline")
            self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
            self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
            self.controller_samples = tf.Variable(0, dtype=tf.int64, trainable=False,
                                                  name="controller_samples")
        self.checkpoint = RunCheckpoint(
            os.path.join(run_cfg.output_dir, "ckpt"), self.is_chief, worker,
            run_cfg.keep_checkpoints, child=self.child, controller=self.controller,
            child_optimizer=self.child_optimizer, controller_optimizer=self.controller_optimizer,
            baseline=self.baseline, step=self.step, epoch=self.epoch,
            controller_samples=self.controller_samples)
        self.restored = self.checkpoint.restore_latest()
        self.log = RunLog(run_cfg.output_dir, self.is_chief, resume_epoch=int(self.epoch.numpy()))
        self.steps = SearchSteps(strategy, self.child, self.controller, self.child_optimizer,
                                 self.controller_optimizer, self.accumulator, self.baseline,
                                 controller_cfg, optim_cfg, global_batch)
