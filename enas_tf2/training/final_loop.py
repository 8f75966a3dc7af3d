"""Final training of one architecture from scratch (the original's `*_final.sh` runs).

Model selection is honest (pitfall P9): with a validation split, the best-validation weights are kept
in `OUTPUT_DIR/best/` and the test set is evaluated ONCE at the end, with those weights. With
`--valid_size=0` (all training images, as the original) there is nothing to select on; the test set
is then evaluated every `eval_every_epochs` like the original and the final weights are the result.

Writes the run-directory contract read by `enas-export`: `run_config.json` (space, arch, child
config, data constants), `ckpt/` (all state, for resume) and `best/` (model only).
"""

from __future__ import annotations

import dataclasses
import math
import os
import time

import keras
import tensorflow as tf

from enas_tf2.training.checkpointing import RunCheckpoint, prepare_output_dir
from enas_tf2.training.epoch_runner import accuracy, train_epoch
from enas_tf2.training.final_steps import FinalSteps
from enas_tf2.training.lr_schedule import make_child_lr_schedule
from enas_tf2.training.run_log import RunLog, write_json
from enas_tf2.training.strategy import task_info


class FinalLoop:
    """Trains (or resumes) the fixed network of `arch`; see `run`."""

    def __init__(self, space, arch, data, data_cfg, child_cfg, optim_cfg, run_cfg, strategy):
        self.data, self.run_cfg, self.strategy = data, run_cfg, strategy
        self.is_chief, worker = task_info(strategy)
        prepare_output_dir(run_cfg.output_dir, run_cfg.reset_output_dir, self.is_chief)
        self.steps_per_epoch = math.ceil(data.counts["train"] / data_cfg.batch_size)
        if run_cfg.max_steps_per_epoch:
            self.steps_per_epoch = min(self.steps_per_epoch, run_cfg.max_steps_per_epoch)
        self.global_batch = data_cfg.batch_size
        if run_cfg.mixed_precision:
            keras.mixed_precision.set_global_policy("mixed_float16")
        h, w, _ = data.image_shape
        with strategy.scope():
            self.net = space.build_fixed(arch, total_steps=run_cfg.num_epochs * self.steps_per_epoch)
            self.net.build((None, h, w, 3))
            self.lr = make_child_lr_schedule(optim_cfg, self.steps_per_epoch)
            sgd = keras.optimizers.SGD(
                learning_rate=self.lr, momentum=optim_cfg.momentum, nesterov=optim_cfg.nesterov,
                global_clipnorm=(optim_cfg.grad_bound or None) if run_cfg.mixed_precision else None)
            self.optimizer = keras.optimizers.LossScaleOptimizer(sgd) \
                if run_cfg.mixed_precision else sgd
            self.optimizer.build(self.net.trainable_variables)
            self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
            self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
            self.best_acc = tf.Variable(-1.0, trainable=False, name="best_valid_acc")
        self.sgd = sgd
        self.checkpoint = RunCheckpoint(
            os.path.join(run_cfg.output_dir, "ckpt"), self.is_chief, worker,
            run_cfg.keep_checkpoints, model=self.net, optimizer=self.optimizer, step=self.step,
            epoch=self.epoch, best_valid_acc=self.best_acc)
        self.best = RunCheckpoint(os.path.join(run_cfg.output_dir, "best"), self.is_chief, worker,
                                  1, model=self.net)
        self.restored = self.checkpoint.restore_latest()
        self.log = RunLog(run_cfg.output_dir, self.is_chief, int(self.epoch.numpy()))
        self.steps = FinalSteps(strategy, self.net, self.optimizer, optim_cfg,
                                child_cfg.aux_weight, self.global_batch, run_cfg.jit_compile)
        dist = strategy.experimental_distribute_dataset
        self.train_iter = iter(dist(data.train))
        self.dist_valid = dist(data.valid) if data.valid is not None else None
        self.dist_test = dist(data.test) if data.test is not None else None
        if self.is_chief:
            write_json(os.path.join(run_cfg.output_dir, "run_config.json"), {
                "search_space": space.name, "arch": arch.to_json(),
                "child": dataclasses.asdict(child_cfg),
                "data": {"image_size": list(data.image_shape[:2]), "mean": list(data.mean),
                         "std": list(data.std), "class_names": list(data.class_names),
                         "num_classes": data.num_classes},
                "num_params": int(sum(v.numpy().size for v in self.net.trainable_variables))})
        self.log.info(f"{space.name} net {arch.tokens()}: "
                      f"{sum(v.numpy().size for v in self.net.trainable_variables):,} parameters")

    def _accuracy(self, dist_dataset) -> float:
        return accuracy(dist_dataset, lambda i, batch: self.steps.evaluate(batch),
                        self.run_cfg.max_eval_batches)

    def run(self) -> dict:
        """Trains until `num_epochs`; returns the final record (test accuracy once at the end)."""
        cfg = self.run_cfg
        epoch = int(self.epoch.numpy())
        if self.restored:
            self.log.info(f"resumed from {self.restored} at epoch {epoch}")
        while epoch < cfg.num_epochs:
            start = time.time()
            record = {"epoch": epoch}
            record.update(train_epoch(
                lambda step: self.steps.train(self.train_iter), step_var=self.step,
                steps=self.steps_per_epoch, epoch=epoch, num_epochs=cfg.num_epochs, log=self.log,
                log_every=cfg.log_every, images_per_step=self.global_batch,
                lr_fn=lambda: float(self.lr(self.sgd.iterations - 1)), output_dir=cfg.output_dir))
            if (epoch + 1) % cfg.eval_every_epochs == 0 or epoch + 1 == cfg.num_epochs:
                if self.dist_valid is not None:
                    record["valid_acc"] = self._accuracy(self.dist_valid)
                    if record["valid_acc"] > float(self.best_acc.numpy()):
                        self.best_acc.assign(record["valid_acc"])
                        self.best.save(epoch + 1)
                elif self.dist_test is not None:
                    record["test_acc"] = self._accuracy(self.dist_test)
            epoch += 1
            self.epoch.assign(epoch)
            record.update(step=int(self.step.numpy()), seconds=round(time.time() - start, 2))
            self.log.info(f"epoch {epoch} done: " + ", ".join(
                f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}"
                for k, v in record.items() if k != "epoch"))
            self.log.scalars(int(self.step.numpy()), {k: record.get(k) for k in
                                                      ("valid_acc", "test_acc")}, "eval/")
            self.log.epoch(record)
            self.checkpoint.save(epoch)
            self.log.flush()
        return self._finish()

    def _finish(self) -> dict:
        result = {"epochs": int(self.epoch.numpy())}
        if self.dist_valid is not None and self.best.latest:
            # Report test once, with the weights chosen on validation.
            self.best.checkpoint.restore(self.best.latest).expect_partial()
            result["best_valid_acc"] = float(self.best_acc.numpy())
        if self.dist_test is not None:
            result["test_acc"] = self._accuracy(self.dist_test)
        path = os.path.join(self.run_cfg.output_dir, "result.json")
        if self.is_chief:
            write_json(path, result)
        self.log.info(f"final result: {result} (written to {path})")
        return result
