"""Final training of one architecture from scratch (the original's `*_final.sh` runs), generic
over (task, space).

Model selection is honest (pitfall P9): with a validation split, the best-validation weights are kept
in `OUTPUT_DIR/best/` and the test set is evaluated ONCE at the end, with those weights. Without a
validation split (``--valid_size=0``, all training images, as the original) there is nothing to
select on; the test set is then evaluated every `eval_every_epochs` like the original and the final
weights are the result.

Writes the run-folder contract read by `enas-export`: `run_config.json` (space, arch, space
config, task, data facts, parameter count), `ckpt/` (all state, for resume) and `best/` (model).
"""

from __future__ import annotations

import dataclasses
import os

import keras
import numpy as np
import tensorflow as tf

from enas_tf2.configs.base import ExperimentConfig
from enas_tf2.search_space.base import Arch, SearchSpace
from enas_tf2.tasks.base import Task
from enas_tf2.training.epoch_loop import run_epochs
from enas_tf2.training.final_steps import FinalSteps
from enas_tf2.runs.resume_point import IntervalSaver, ResumePoint
from enas_tf2.training.run_context import RunContext
from enas_tf2.training.train_phase import PhaseSpec, evaluate_split, train_phase


def count_params(model: keras.Model) -> int:
    """Number of trainable parameters of a built model (what ``model.summary()`` reports as
    "Trainable params")."""
    return int(sum(int(np.prod(v.shape)) for v in model.trainable_weights))


class FinalLoop:
    """Trains (or resumes) the fixed network of `arch`; see `run`."""

    def __init__(self, cfg: ExperimentConfig, space: SearchSpace, task: Task, arch: Arch,
                 ctx: RunContext):
        self.cfg, self.task, self.ctx, self.run_cfg, self.space = cfg, task, ctx, cfg.run, space
        run_cfg, strategy = cfg.run, ctx.strategy
        self.data = task.build_data(strategy.num_replicas_in_sync)
        self.steps_per_epoch = self.data.steps_per_epoch
        if run_cfg.max_steps_per_epoch:
            self.steps_per_epoch = min(self.steps_per_epoch, run_cfg.max_steps_per_epoch)
        if run_cfg.mixed_precision:
            keras.mixed_precision.set_global_policy("mixed_float16")
        with ctx.scope():
            self.net = space.build_fixed(arch, self.data.input_spec,
                                         total_steps=run_cfg.num_epochs * self.steps_per_epoch)
            sgd, lr = task.make_optimizer(self.steps_per_epoch)
            if run_cfg.mixed_precision:
                # Keras clips each replica's part here (before the all-reduce).
                if cfg.optim.grad_clip == "global":
                    sgd.global_clipnorm = cfg.optim.grad_bound or None
                elif cfg.optim.grad_clip == "per_tensor":
                    sgd.clipnorm = cfg.optim.grad_bound or None
                self.optimizer = keras.optimizers.LossScaleOptimizer(sgd)
            else:
                self.optimizer = sgd
            self.optimizer.build(self.net.trainable_variables)
            self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
            self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
            self.best_score = tf.Variable(float("nan"), trainable=False, name="best_valid_score")
            task.create_state(self.net, self.data.global_batch)
        # Host-side bookkeeping, outside the scope (see `SearchState`).
        self.resume = ResumePoint()
        self.lr_fn = lambda: float(lr(sgd.iterations - 1))
        self.steps = FinalSteps(strategy, task, self.net, self.optimizer, cfg.optim,
                                run_cfg.jit_compile)
        self.checkpoint = ctx.checkpoint(model=self.net, optimizer=self.optimizer,
                                         step=self.step, epoch=self.epoch,
                                         best_valid_score=self.best_score,
                                         step_metrics=self.steps.metrics,
                                         **self.resume.items(), **task.checkpoint_items())
        self.best = ctx.checkpoint("best", max_to_keep=1, model=self.net)
        self.restored = self.checkpoint.restore_latest()
        self.log = ctx.open_log(int(self.epoch.numpy()))
        for line in space.describe_stages(self.data.input_spec, fixed=True):  # stage sizes
            self.log.info(line)
        self.saver = IntervalSaver(self.checkpoint, self.resume, self.log,
                                   run_cfg.checkpoint_every_steps,
                                   run_cfg.checkpoint_every_seconds)
        dist = strategy.experimental_distribute_dataset
        # The stream continues at the batches already drawn (exact resume, `resume_point`).
        self.train_iter = iter(dist(self.data.train_from(int(self.step.numpy()))))
        self.dist_valid = dist(self.data.valid) if self.data.valid is not None else None
        self.dist_test = dist(self.data.test) if self.data.test is not None else None
        self.short = task.metrics.train_metric
        self.num_params = count_params(self.net)
        if ctx.is_chief:
            ctx.write_json("run_config.json", {
                "search_space": space.name, "task": task.name, "arch": arch.to_json(),
                "space_config": dataclasses.asdict(space.config), "data": self.data.info,
                "num_params": self.num_params})
        if ctx.is_chief:
            self._render(arch)
        self.log.info(f"{space.name} net {arch.tokens()}: {self.num_params:,} trainable "
                      f"parameters (model.summary()'s 'Trainable params': every weight that "
                      f"trains, training-only heads such as the auxiliary head included)")

    def _render(self, arch) -> None:
        """arch.png / arch.svg in the run folder (a drawing problem is logged, never fatal)."""
        from enas_tf2.render import render_arch_files
        try:
            render_arch_files(arch, self.ctx.output_dir)
        except Exception as err:  # pylint: disable=broad-except
            self.log.info(f"warning: could not draw the architecture: {err}")

    def _score(self, dist_dataset) -> float:
        """The task's score of the net's CURRENT weights (callers decide which weights: inside
        ``task.eval_weights()`` the averaged ones once averaging has started)."""
        self.task.reset_state()
        return evaluate_split(dist_dataset, lambda i, batch: self.steps.evaluate(batch),
                              self.task.score, self.run_cfg.max_eval_batches)

    def _better(self, score: float) -> bool:
        best = float(self.best_score.numpy())
        if best != best:   # NaN: nothing kept yet
            return True
        return score > best if self.task.metrics.higher_is_better else score < best

    def _run_epoch(self, epoch: int) -> dict:
        cfg = self.run_cfg
        if self.resume.steps_done == 0:     # else: a resumed epoch, carried state restored
            self.task.reset_state()
        spec = PhaseSpec(epoch=epoch, num_epochs=cfg.num_epochs, steps=self.steps_per_epoch,
                         steps_per_loop=max(1, cfg.steps_per_loop), log_every=cfg.log_every,
                         examples_per_step=self.data.examples_per_step,
                         output_dir=cfg.output_dir)

        def chunk(n):
            self.steps.train_loop(self.train_iter, tf.constant(n))
            self.step.assign_add(n)

        record = train_phase(chunk, self.steps.metrics, spec, log=self.log,
                             task_metrics=self.task.metrics,
                             global_step=lambda: int(self.step.numpy()), lr_fn=self.lr_fn,
                             resume=self.resume, loss_terms=lambda: self.task.loss_terms,
                             after_chunk=lambda n: self.saver.after_steps(
                                 n, f"epoch {epoch + 1}, step {self.resume.steps_done}"))
        if (epoch + 1) % cfg.eval_every_epochs == 0 or epoch + 1 == cfg.num_epochs:
            if self.dist_valid is not None:
                # `best/` keeps exactly the weights that were scored (averaged ones, once a task
                # averages), so the final test score and the export use them too.
                with self.task.eval_weights():
                    score = self._score(self.dist_valid)
                    if self._better(score):
                        self.best_score.assign(score)
                        self.best.save(epoch + 1)
                record[f"valid_{self.short}"] = score
                if self.task.observe_validation(score):
                    record["averaging"] = True
            elif self.dist_test is not None:
                with self.task.eval_weights():
                    record[f"test_{self.short}"] = self._score(self.dist_test)
        return record

    def run(self) -> dict:
        """Trains until `num_epochs`; returns the final record (test score once at the end)."""
        if self.restored:
            self.log.info(f"resumed from {self.restored} at epoch {int(self.epoch.numpy())} "
                          f"(step {int(self.step.numpy())}, {self.resume.steps_done} steps into "
                          f"epoch {int(self.epoch.numpy()) + 1})")
        run_epochs(self._run_epoch, epoch_var=self.epoch, num_epochs=self.run_cfg.num_epochs,
                   saver=self.saver, log=self.log,
                   extra=lambda: {"step": int(self.step.numpy())},
                   eval_keys=(f"valid_{self.short}", f"test_{self.short}"))
        return self._finish()

    def _learned_nothing(self) -> str:
        """The search report's at-chance check on this run's per-epoch training metric (accuracy
        near 1/classes, perplexity near the vocabulary size): a warning text, or ""."""
        from enas_tf2.json_file import read_jsonl
        from enas_tf2.report.health import chance_of, child_at_chance
        metrics = self.task.metrics
        rows = read_jsonl(os.path.join(self.ctx.output_dir, "progress.jsonl"))
        values = [r.get(f"child_{self.short}") for r in rows if isinstance(r, dict)]
        chance = chance_of(metrics.score, dataclasses.asdict(self.data.input_spec))
        found = child_at_chance(values, chance, metrics.higher_is_better)
        return found.message.replace("the child's", "the network's") if found else ""

    def _finish(self) -> dict:
        result = {"epochs": int(self.epoch.numpy()), "num_params": self.num_params}
        chosen = self.dist_valid is not None and self.best.latest
        if chosen:
            # Report test once, with the weights chosen (and scored) on validation.
            self.best.checkpoint.restore(self.best.latest).expect_partial()
            result[f"best_valid_{self.short}"] = float(self.best_score.numpy())
        if self.dist_test is not None:
            if chosen:
                result[f"test_{self.short}"] = self._score(self.dist_test)
            else:
                with self.task.eval_weights():
                    result[f"test_{self.short}"] = self._score(self.dist_test)
        warning = self._learned_nothing()
        if warning:
            result["warnings"] = [warning]
            self.log.info(f"warning: {warning}")
        path = self.ctx.write_json("result.json", result) if self.ctx.is_chief else None
        self.log.info(f"final result: {result}" + (f" (written to {path})" if path else ""))
        return result
