"""The ENAS search: a Python outer loop over epochs around the compiled steps of `search_steps`,
generic over (task, space).

Each epoch (docs/enas_reference.md §3): child steps over the training split, a fresh architecture per minibatch;
then, on epochs whose 1-based number is a multiple of `controller_train_every` (the original
counts epochs finished), `controller_train_steps x controller_num_aggregate` controller samples
(one Adam step per `num_aggregate`); then, every `eval_every_epochs`, the validation/test score (a
new architecture per eval batch, as the original) and 10 sampled architectures, each scored on the
same `derive_eval_batches` reward batches; then one checkpoint. At the end the result is derived:
`derive_num_samples` architectures are sampled and scored on the same `derive_eval_batches`
validation batches and the best is written to `arch.json`, next to as many uniformly random
architectures scored on those same batches (does the controller beat chance? the per-batch
difference and its spread say how sure that is).

``controller.warmup_epochs`` (the ``enas_plus`` recipe): the first epochs train the shared
weights as the random strategy does, and the controller samples and trains from the next one.

``search_strategy="random"`` is the paper's search-disabled control: every child step, evaluation
and sample uses a uniformly random architecture drawn on the host (`SearchSpace.random_arch`), no
controller is trained, and derive keeps the best of `derive_num_samples` random architectures.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import List

import numpy as np
import tensorflow as tf

from enas_tf2.configs.base import ExperimentConfig
from enas_tf2.cost.derive_costs import arch_cost_json, derive_cost_block
from enas_tf2.cost.objective import build_objective
from enas_tf2.errors import EnasError
from enas_tf2.search_space.base import SearchSpace
from enas_tf2.tasks.base import Task
from enas_tf2.training.arch_scoring import ArchScorer
from enas_tf2.training.epoch_loop import run_epochs
from enas_tf2.runs.resume_point import IntervalSaver
from enas_tf2.training.run_context import RunContext
from enas_tf2.training.search_state import SearchState
from enas_tf2.training.search_steps import (CHILD_STREAM, CONTROLLER_STREAM, DERIVE_STREAM,
                                            EVAL_STREAM, RANDOM_STREAM, host_seed, seed_for)
from enas_tf2.training.train_phase import PhaseSpec, evaluate_split, train_phase

SEARCH_STRATEGIES = ("controller", "random")
EPOCH_SAMPLES = 10   # architectures sampled and scored at the end of each evaluated epoch


class SearchLoop:
    """Runs (or resumes) a search described by an `ExperimentConfig`; see `run`."""

    def __init__(self, cfg: ExperimentConfig, space: SearchSpace, task: Task, ctx: RunContext):
        self.cfg, self.space, self.task, self.ctx = cfg, space, task, ctx
        self.run_cfg, self.ccfg = cfg.run, cfg.controller
        if cfg.run.search_strategy not in SEARCH_STRATEGIES:
            raise EnasError(f"unknown --search_strategy={cfg.run.search_strategy!r}; choose one "
                            f"of {', '.join(SEARCH_STRATEGIES)}")
        self.random = cfg.run.search_strategy == "random"
        self.data = task.build_data(ctx.strategy.num_replicas_in_sync)
        if self.data.valid is None or self.data.reward is None:
            raise EnasError("a search needs a validation split for the controller's reward: "
                            "use --valid_size > 0 (CIFAR-10) or a converted folder with a "
                            "valid split")
        # The controller's reward: the task's, or accuracy under a cost target (enas_tf2.cost).
        self.objective = build_objective(cfg.objective, space, self.data.input_spec)
        self.steps_per_epoch = self.data.steps_per_epoch
        if self.run_cfg.max_steps_per_epoch:
            self.steps_per_epoch = min(self.steps_per_epoch, self.run_cfg.max_steps_per_epoch)
        self.state = SearchState(ctx, space, task, self.data, cfg.controller, cfg.optim,
                                 self.steps_per_epoch, self.run_cfg.seed,
                                 self.objective if self.objective.active else None)
        resume = self.state.resume
        self.log = ctx.open_log(int(self.state.epoch.numpy()),
                                resume.saved_archs_rows if self.state.restored else None)
        for line in space.describe_stages(self.data.input_spec):   # stem, size of each stage
            self.log.info(line)
        self.scorer = ArchScorer(self.state.steps.score, task,
                                 self.objective if self.objective.active else None)
        if self.objective.active:
            self.log.info(self.objective.describe())
        ctx.write_json("experiment.json", cfg.to_json())   # what `enas-arch rank` rebuilds
        if self.random:
            self.log.info("search strategy: random (uniformly random architectures train the "
                          "shared weights; the controller is not trained)")
        elif cfg.controller.warmup_epochs:
            self.log.info(f"warm-up: the first {cfg.controller.warmup_epochs} epoch(s) train the "
                          f"shared weights on uniformly random architectures, no controller")
        metrics = task.metrics
        self.short = metrics.train_metric          # "acc" / "ppl": record keys valid_<short>
        dist = ctx.strategy.experimental_distribute_dataset
        # The streams continue at the batches already drawn (exact resume, `resume_point`).
        self.train_iter = iter(dist(self.data.train_from(int(self.state.step.numpy()))))
        self.reward_iter = iter(dist(self.data.reward_from(
            int(self.state.resume.reward_batches.numpy()))))
        self.saver = IntervalSaver(self.state.checkpoint, resume, self.log,
                                   cfg.run.checkpoint_every_steps,
                                   cfg.run.checkpoint_every_seconds)
        self.dist_valid = dist(self.data.valid)
        self.dist_test = dist(self.data.test) if self.data.test is not None else None

    # ---- phases ------------------------------------------------------------------------------
    def _child_phase(self, epoch: int) -> dict:
        st, cfg = self.state, self.run_cfg
        if st.resume.steps_done == 0:      # else: a resumed epoch, carried state restored
            self.task.reset_state()
        spec = PhaseSpec(epoch=epoch, num_epochs=cfg.num_epochs, steps=self.steps_per_epoch,
                         steps_per_loop=max(1, cfg.steps_per_loop), log_every=cfg.log_every,
                         examples_per_step=self.data.examples_per_step,
                         output_dir=cfg.output_dir)
        if self.random or self._warming_up(epoch):
            def run_chunk(n):
                st.steps.train_loop_archs(self.train_iter, tf.constant(n),
                                          self._random_archs(n, spec.steps_per_loop))
        else:
            def run_chunk(n):
                st.steps.train_loop(self.train_iter, tf.constant(n))
        return train_phase(run_chunk, st.steps.metrics, spec, log=self.log,
                           task_metrics=self.task.metrics,
                           global_step=lambda: int(st.step.numpy()), lr_fn=st.lr_fn,
                           resume=st.resume, loss_terms=lambda: self.task.loss_terms,
                           after_chunk=lambda n: self.saver.after_steps(
                               n, f"epoch {epoch + 1}, step {st.resume.steps_done}"))

    def _warming_up(self, epoch: int) -> bool:
        """True during the first `warmup_epochs` (0-based `epoch`): the shared weights train on
        uniformly random architectures and the controller is neither used nor trained, so it
        starts on weights that rank every op fairly instead of those it happened to pick."""
        return epoch < self.ccfg.warmup_epochs

    def _random_archs(self, num: int, rows: int) -> tf.Tensor:
        """Uniformly random architectures of the next `num` child steps, seeded by their global
        step, stacked and padded to `rows` (a fixed shape: one trace for every chunk)."""
        first = int(self.state.step.numpy())
        arrays = [self.space.random_arch(host_seed(CHILD_STREAM, self.run_cfg.seed,
                                                   first + i)).to_array() for i in range(num)]
        arrays += [arrays[-1]] * (rows - num)
        return tf.constant(np.stack(arrays))

    def _draw(self, stream: int, counter: int):
        """``(arch tensor, Arch)``: sampled from the controller, or uniformly random with the
        random strategy (and always for `RANDOM_STREAM`)."""
        if self.random or stream == RANDOM_STREAM:
            arch = self.space.random_arch(host_seed(stream, self.run_cfg.seed, counter))
            return tf.constant(arch.to_array()), arch
        out = self.state.steps.sample(seed_for(stream, self.run_cfg.seed, counter))
        return out.arch, self.space.arch_from_array(out.arch.numpy())

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
                st.resume.reward_batches.assign_add(1)
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
                    f"entropy {np.mean(entropies[-ccfg.num_aggregate:]):.3f} |g| {grad_norm:.3g} "
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
        if self.random:
            def eval_fn(i, batch):
                return self.state.steps.score(batch, self._draw(EVAL_STREAM, counter_base + i)[0])
        else:
            def eval_fn(i, batch):
                return self.state.steps.evaluate(batch, seed_for(EVAL_STREAM, seed,
                                                                 counter_base + i))
        return evaluate_split(dist_dataset, eval_fn, self.task.score,
                              self.run_cfg.max_eval_batches)

    def _sample_and_score(self, num: int, batches: List, epoch: int, stream: int,
                          stream_base: int, kind: str) -> list:
        """`num` architectures drawn from `stream` (`_draw`), each scored on all `batches`."""
        rows = []
        for i in range(num):
            tensor, arch = self._draw(stream, stream_base + i)
            rows.append({"epoch": epoch, "kind": kind, "tokens": arch.tokens(),
                         **self.scorer.score(tensor, batches), "arch": arch})
        return rows

    def _eval_batch_count(self) -> int:
        return max(1, self.run_cfg.derive_eval_batches)

    def derive_batches(self) -> List:
        """The first `derive_eval_batches` validation batches: what derive scores on."""
        return list(itertools.islice(iter(self.dist_valid), self._eval_batch_count()))

    def draw(self, counter: int):
        """``(arch tensor, Arch)`` of this search's strategy (a controller sample, or uniformly
        random), seeded by `counter` on the derive stream (`enas-arch rank`)."""
        return self._draw(DERIVE_STREAM, counter)

    def _run_epoch(self, epoch: int) -> dict:
        cfg = self.run_cfg
        record = self.state.resume.finished_record()   # None unless resumed after the phases
        if record is None:
            record = self._child_phase(epoch)
            record.update(reward_mean=None, entropy=None)
            # The original trains the controller when (finished epochs) % train_every == 0,
            # i.e. after the train_every-th, 2*train_every-th... epoch (1-based), never after
            # the first.
            if not self.random and self.ccfg.training and not self._warming_up(epoch) \
                    and (epoch + 1) % self.ccfg.train_every == 0:
                record.update(self._controller_phase(epoch))
            self.state.resume.finish_phases(record)
            self.saver.after_phase(f"epoch {epoch + 1}, after the controller")
        record[f"valid_{self.short}"] = None
        if (epoch + 1) % cfg.eval_every_epochs == 0 or epoch + 1 == cfg.num_epochs:
            record[f"valid_{self.short}"] = self._score_split(self.dist_valid, epoch * 100_000)
            if self.dist_test is not None:
                record[f"test_{self.short}"] = self._score_split(self.dist_test,
                                                                 epoch * 100_000 + 50_000)
            batches = [next(self.reward_iter) for _ in range(self._eval_batch_count())]
            self.state.resume.reward_batches.assign_add(len(batches))
            rows = self._sample_and_score(EPOCH_SAMPLES, batches, epoch + 1, DERIVE_STREAM,
                                          epoch * 1000, "epoch_sample")
            pick = max if self.task.metrics.higher_is_better else min
            self.log.arch_image(pick(rows, key=lambda r: r["score"])["arch"],
                                int(self.state.step.numpy()))
            self.log.info(f"{EPOCH_SAMPLES} sampled architectures, each scored on the same "
                          f"{len(batches)} reward batch(es):")
            for row in rows:
                row.pop("batch_rewards")
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
                          f"(step {int(st.step.numpy())}, {st.resume.steps_done} steps into "
                          f"epoch {int(st.epoch.numpy()) + 1})")
        run_epochs(self._run_epoch, epoch_var=st.epoch, num_epochs=self.run_cfg.num_epochs,
                   saver=self.saver, log=self.log,
                   extra=lambda: {"step": int(st.step.numpy()),
                                  "baseline": float(st.baseline.numpy())},
                   eval_keys=(f"valid_{self.short}", f"test_{self.short}"))
        return self.derive()

    def compare(self, batches: List, num: int, epoch: int):
        """The derive comparison on `batches`: ``(candidates, random_rows, block)``.

        With the controller strategy, `num` controller samples (the candidates) and `num`
        uniformly random architectures are scored on the same batches; with the random strategy
        the candidates ARE the `num` random architectures. `block` is the arch.json ``derive``
        object: means, spreads over architectures and the per-batch paired difference."""
        random_rows = self._sample_and_score(num, batches, epoch, RANDOM_STREAM, 0,
                                             "derive_random")
        rows = [] if self.random else self._sample_and_score(num, batches, epoch, DERIVE_STREAM,
                                                             10_000_000, "derive")
        metrics = self.task.metrics
        pick = max if metrics.higher_is_better else min
        block = {"strategy": self.run_cfg.search_strategy, "num_samples": num, "epoch": epoch,
                 "eval_batches": len(batches), "score": metrics.score,
                 "higher_is_better": metrics.higher_is_better,
                 **self.scorer.summary(rows, "controller"),
                 **self.scorer.summary(random_rows, "random"),
                 "random_best_score": float(pick(r["score"] for r in random_rows)),
                 **self.scorer.paired_difference(rows, random_rows)}
        return (random_rows if self.random else rows), random_rows, block

    def derive(self) -> dict:
        """Scores `derive_num_samples` candidates on the same `derive_eval_batches` validation
        batches, keeps the best (by the task's score direction), writes arch.json."""
        st, cfg = self.state, self.run_cfg
        epoch = int(st.epoch.numpy())
        n = max(1, cfg.derive_num_samples)
        rows, random_rows, block = self.compare(self.derive_batches(), n, epoch)
        pick = max if self.task.metrics.higher_is_better else min
        best = (max(rows, key=self.objective.rank_key) if self.objective.active
                else pick(rows, key=lambda r: r["score"]))
        result = dict(best["arch"].to_json())
        result.update(score=best["score"], reward=best["reward"], derive=block)
        cost = arch_cost_json(self.objective, best["arch"])
        if cost is not None:
            result["cost"] = cost
            block["cost"] = derive_cost_block(self.objective, rows,
                                              [] if self.random else random_rows)
            self.log.info(f"cost of the derived architecture: {cost['params']:,} parameters, "
                          f"{cost['macs_m']} M multiply-adds" + (
                              f", {cost['latency_ms']:.3f} ms predicted" if "latency_ms" in cost
                              else ""))
        logged = random_rows if self.random else rows + random_rows
        self.log.archs([{k: v for k, v in r.items() if k not in ("arch", "batch_rewards")}
                        for r in logged])
        self._log_derive(best, block)
        path = self.ctx.write_json("arch.json", result)
        self.log.info(f"wrote {path}")
        self._write_report()
        return result

    def _log_derive(self, best: dict, d: dict) -> None:
        name, n, k = d["score"], d["num_samples"], d["eval_batches"]
        self.log.info(f"derived {best['tokens']} {name} {best['score']:.4f} (best of {n} "
                      f"{'uniformly random' if self.random else 'controller'} samples, each "
                      f"scored on the same {k} validation batch(es))")
        if self.random:
            self.log.info(f"mean reward of the random architectures {d['random_mean_reward']:.4f}"
                          f" (std over architectures {d['random_reward_std'] or 0:.4f})")
            return
        sem = d["reward_diff_sem"]
        self.log.info(f"mean reward: controller {d['controller_mean_reward']:.4f} vs uniformly "
                      f"random {d['random_mean_reward']:.4f} ({n} each, same {k} batches); "
                      f"difference {d['reward_diff_mean']:+.4f}" +
                      (f" +- {sem:.4f} (standard error over the batches)" if sem else ""))

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
