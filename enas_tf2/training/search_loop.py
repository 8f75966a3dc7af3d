"""The ENAS search: a Python outer loop over epochs around the compiled steps of `search_steps`,
generic over (task, space).

Each epoch (docs/enas_reference.md §3): child steps over the training split, a fresh architecture per minibatch;
then `controller_train_steps x controller_num_aggregate` controller samples (one Adam step per
`num_aggregate`); then, every `eval_every_epochs`, the validation/test score (a new architecture
per eval batch, as the original) and 10 sampled architectures with their rewards; then one
checkpoint. At the end the result is derived: `derive_num_samples` architectures are sampled and
scored on the same validation batches and the best is written to `arch.json`, next to the mean
score of as many uniformly random architectures under the same shared weights (does the
controller beat chance?).
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Dict, List

import numpy as np
import tensorflow as tf

from enas_tf2.configs.base import ExperimentConfig
from enas_tf2.errors import EnasError
from enas_tf2.search_space.base import SearchSpace
from enas_tf2.tasks.base import Task
from enas_tf2.training.epoch_loop import run_epochs
from enas_tf2.training.run_context import RunContext
from enas_tf2.training.search_state import SearchState
from enas_tf2.training.search_steps import (CONTROLLER_STREAM, DERIVE_STREAM, EVAL_STREAM,
                                            seed_for)
from enas_tf2.training.train_phase import PhaseSpec, evaluate_split, train_phase


class SearchLoop:
    """Runs (or resumes) a search described by an `ExperimentConfig`; see `run`."""

    def __init__(self, cfg: ExperimentConfig, space: SearchSpace, task: Task, ctx: RunContext):
        self.cfg, self.space, self.task, self.ctx = cfg, space, task, ctx
        self.run_cfg, self.ccfg = cfg.run, cfg.controller
        self.data = task.build_data(ctx.strategy.num_replicas_in_sync)
        if self.data.valid is None or self.data.reward is None:
            raise EnasError("a search needs a validation split for the controller's reward: "
                            "use --valid_size > 0 (CIFAR-10) or a converted folder with a "
                            "valid split")
        self.steps_per_epoch = self.data.steps_per_epoch
        if self.run_cfg.max_steps_per_epoch:
            self.steps_per_epoch = min(self.steps_per_epoch, self.run_cfg.max_steps_per_epoch)
        self.state = SearchState(ctx, space, task, self.data, cfg.controller, cfg.optim,
                                 self.steps_per_epoch, self.run_cfg.seed)
        self.log = ctx.open_log(int(self.state.epoch.numpy()))
        metrics = task.metrics
        self.short = metrics.train_metric          # "acc" / "ppl": record keys valid_<short>
        dist = ctx.strategy.experimental_distribute_dataset
        self.train_iter = iter(dist(self.data.train))
        self.reward_iter = iter(dist(self.data.reward))
        self.dist_valid = dist(self.data.valid)
        self.dist_test = dist(self.data.test) if self.data.test is not None else None

    # ---- phases ------------------------------------------------------------------------------
    def _child_phase(self, epoch: int) -> dict:
        st, cfg = self.state, self.run_cfg
        self.task.reset_state()
        spec = PhaseSpec(epoch=epoch, num_epochs=cfg.num_epochs, steps=self.steps_per_epoch,
                         steps_per_loop=max(1, cfg.steps_per_loop), log_every=cfg.log_every,
                         examples_per_step=self.data.examples_per_step,
                         output_dir=cfg.output_dir)
        return train_phase(lambda n: st.steps.train_loop(self.train_iter, tf.constant(n)),
                           st.steps.metrics, spec, log=self.log, task_metrics=self.task.metrics,
                           global_step=lambda: int(st.step.numpy()), lr_fn=st.lr_fn)

    def _controller_phase(self, epoch: int) -> dict:
        st, cfg, ccfg = self.state, self.run_cfg, self.ccfg
        rewards, entropies, records, hist = [], [], [], {}
        total = ccfg.train_steps * ccfg.num_aggregate
        for update in range(ccfg.train_steps):
            for _ in range(ccfg.num_aggregate):
                sample_id = int(st.controller_samples.numpy())
                self.task.reset_state()
                out = st.steps.controller_sample(
                    self.reward_iter, seed_for(CONTROLLER_STREAM, cfg.seed, sample_id))
                st.controller_samples.assign_add(1)
                arch = self.space.arch_from_array(out["arch"].numpy())
                for name, n in arch.histogram().items():
                    hist[name] = hist.get(name, 0) + n
                rewards.append(float(out["reward"]))
                entropies.append(float(out["entropy"]))
                records.append({"epoch": epoch + 1, "kind": "controller", "tokens": arch.tokens(),
                                "reward": rewards[-1],
                                self.task.metrics.score: float(out["score"])})
                self.log.bar(f"epoch {epoch + 1} controller {len(rewards)}/{total} "
                             f"reward {rewards[-1]:.3f}")
            grad_norm = float(st.steps.controller_apply())
            if (update + 1) % max(1, cfg.log_every // ccfg.num_aggregate) == 0 \
                    or update + 1 == ccfg.train_steps:
                ops = sum(hist.values()) or 1
                shares = " ".join(f"{k} {100 * v / ops:.0f}%" for k, v in sorted(hist.items()))
                self.log.info(
                    f"epoch {epoch + 1} controller step {update + 1}/{ccfg.train_steps} "
                    f"reward {np.mean(rewards[-ccfg.num_aggregate:]):.4f} "
                    f"baseline {float(st.baseline.numpy()):.4f} "
                    f"entropy {np.mean(entropies[-ccfg.num_aggregate:]):.3f} |g| {grad_norm:.4f} "
                    f"ops: {shares}")
        self.log.archs(records)
        self.log.scalars(int(st.step.numpy()), {"reward": np.mean(rewards),
                                                "baseline": float(st.baseline.numpy()),
                                                "entropy": np.mean(entropies)}, "controller/")
        return {"reward_mean": float(np.mean(rewards)), "entropy": float(np.mean(entropies)),
                "op_hist": hist}

    def _score_split(self, dist_dataset, counter_base: int) -> float:
        seed = self.run_cfg.seed
        self.task.reset_state()
        return evaluate_split(dist_dataset, lambda i, batch: self.state.steps.evaluate(
            batch, seed_for(EVAL_STREAM, seed, counter_base + i)), self.task.score,
            self.run_cfg.max_eval_batches)

    def _score_arch(self, arch_tensor, batches: List) -> Dict[str, float]:
        """The task's score and reward of one architecture, from statistics summed over the same
        fixed `batches`."""
        totals: Dict[str, float] = {}
        self.task.reset_state()
        for batch in batches:
            for key, value in self.state.steps.score(batch, arch_tensor).items():
                totals[key] = totals.get(key, 0.0) + float(value)
        reward = self.task.reward({k: tf.constant(v, tf.float32) for k, v in totals.items()})
        return {"score": self.task.score(totals), "reward": float(reward)}

    def _sample_and_score(self, num: int, batches: List, epoch: int, stream_base: int,
                          kind: str) -> list:
        rows = []
        for i in range(num):
            out = self.state.steps.sample(seed_for(DERIVE_STREAM, self.run_cfg.seed,
                                                   stream_base + i))
            arch = self.space.arch_from_array(out.arch.numpy())
            rows.append({"epoch": epoch, "kind": kind, "tokens": arch.tokens(),
                         **self._score_arch(out.arch, batches), "arch": arch})
        return rows

    def _run_epoch(self, epoch: int) -> dict:
        cfg = self.run_cfg
        record = self._child_phase(epoch)
        record.update(reward_mean=None, entropy=None)
        if self.ccfg.training and epoch % self.ccfg.train_every == 0:
            record.update(self._controller_phase(epoch))
        record[f"valid_{self.short}"] = None
        if (epoch + 1) % cfg.eval_every_epochs == 0 or epoch + 1 == cfg.num_epochs:
            record[f"valid_{self.short}"] = self._score_split(self.dist_valid, epoch * 100_000)
            if self.dist_test is not None:
                record[f"test_{self.short}"] = self._score_split(self.dist_test,
                                                                 epoch * 100_000 + 50_000)
            rows = self._sample_and_score(10, [next(self.reward_iter)], epoch + 1, epoch * 1000,
                                          "epoch_sample")
            pick = max if self.task.metrics.higher_is_better else min
            self.log.arch_image(pick(rows, key=lambda r: r["score"])["arch"],
                                int(self.state.step.numpy()))
            for row in rows:
                self.log.info(f"  arch {row.pop('arch').tokens()}  {self.task.metrics.score} "
                              f"{row['score']:.4f}")
            self.log.archs(rows)
        return record

    # ---- outer loop --------------------------------------------------------------------------
    def run(self) -> dict:
        """Trains until `num_epochs`, resuming from the newest checkpoint; returns the arch.json."""
        st = self.state
        if st.restored:
            self.log.info(f"resumed from {st.restored} at epoch {int(st.epoch.numpy())} "
                          f"(step {int(st.step.numpy())})")
        run_epochs(self._run_epoch, epoch_var=st.epoch, num_epochs=self.run_cfg.num_epochs,
                   checkpoint=st.checkpoint, log=self.log,
                   extra=lambda: {"step": int(st.step.numpy()),
                                  "baseline": float(st.baseline.numpy())},
                   eval_keys=(f"valid_{self.short}", f"test_{self.short}"))
        return self.derive()

    def derive(self) -> dict:
        """Samples `derive_num_samples` archs, scores each on the same `derive_eval_batches`
        validation batches, keeps the best (by the task's score direction)."""
        st, cfg = self.state, self.run_cfg
        epoch = int(st.epoch.numpy())
        n = max(1, cfg.derive_num_samples)
        batches = list(itertools.islice(iter(self.dist_valid), max(1, cfg.derive_eval_batches)))
        rows = self._sample_and_score(n, batches, epoch, 10_000_000, "derive")
        random_rows = []
        for i in range(n):
            arch = self.space.random_arch(seed=cfg.seed * 100_003 + i)
            random_rows.append({"epoch": epoch, "kind": "derive_random", "tokens": arch.tokens(),
                                **self._score_arch(tf.constant(arch.to_array()), batches)})
        metrics = self.task.metrics
        pick = max if metrics.higher_is_better else min
        best = pick(rows, key=lambda r: r["score"])

        def mean(table, key):
            return float(np.mean([r[key] for r in table]))
        result = dict(best["arch"].to_json())
        result.update(score=best["score"], reward=best["reward"], derive={
            "num_samples": n, "epoch": epoch, "eval_batches": len(batches),
            "score": metrics.score, "higher_is_better": metrics.higher_is_better,
            "controller_mean_score": mean(rows, "score"),
            "random_mean_score": mean(random_rows, "score"),
            "random_best_score": float(pick(r["score"] for r in random_rows)),
            "controller_mean_reward": mean(rows, "reward"),
            "random_mean_reward": mean(random_rows, "reward")})
        for row in rows:
            row.pop("arch")
        self.log.archs(rows + random_rows)
        d = result["derive"]
        self.log.info(f"derived {best['tokens']} {d['score']} {best['score']:.4f}; mean "
                      f"{d['score']} controller {d['controller_mean_score']:.4f} vs uniformly "
                      f"random {d['random_mean_score']:.4f} over {n} samples on "
                      f"{len(batches)} validation batch(es)")
        path = self.ctx.write_json("arch.json", result)
        self.log.info(f"wrote {path}")
        self._write_report()
        return result

    def _write_report(self) -> None:
        """arch.png/arch.svg, summary.json and report.html beside arch.json (chief only); the
        health warnings are logged. A report problem is logged, never fatal."""
        if not self.ctx.is_chief:
            return
        from enas_tf2.report import write_search_outputs
        metrics = self.task.metrics
        facts = dict(dataclasses.asdict(self.data.input_spec), score=metrics.score,
                     higher_is_better=metrics.higher_is_better, unit=metrics.unit,
                     examples_per_step=self.data.examples_per_step)
        try:
            write_search_outputs(self.ctx.output_dir, self.space.name, task=facts)
            self.log.info(f"wrote the search report {self.ctx.output_dir}/report.html")
        except Exception as err:  # pylint: disable=broad-except
            self.log.info(f"warning: could not write the search report: {err}")
