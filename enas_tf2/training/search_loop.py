"""The ENAS search: a Python outer loop over epochs around the compiled steps of `search_steps`.

Each epoch (ENAS_SPEC §3): child steps over the training split, a fresh architecture per minibatch;
then `controller_train_steps x controller_num_aggregate` controller samples (one Adam step per
`num_aggregate`); then, every `eval_every_epochs`, validation/test accuracy (a new architecture per
eval batch, as the original) and 10 sampled architectures with their rewards; then one checkpoint.
At the end the result is derived: `derive_num_samples` architectures are sampled and scored on the
same validation batch and the best is written to `arch.json`, next to the mean reward of as many
uniformly random architectures under the same shared weights (does the controller beat chance?).
"""

from __future__ import annotations

import math
import os
import time

import numpy as np
import tensorflow as tf

from enas_tf2.errors import EnasError
from enas_tf2.training.epoch_runner import accuracy, train_epoch
from enas_tf2.training.run_log import write_json
from enas_tf2.training.search_state import SearchState
from enas_tf2.training.search_steps import (CHILD_STREAM, CONTROLLER_STREAM, DERIVE_STREAM,
                                            EVAL_STREAM, seed_for)


class SearchLoop:
    """Runs (or resumes) a search described by configs; see `run`."""

    def __init__(self, space, data, data_cfg, controller_cfg, optim_cfg, run_cfg, strategy):
        self.space = space
        self.data = data
        self.ccfg = controller_cfg
        self.run_cfg = run_cfg
        self.strategy = strategy
        if data.valid is None or data.reward is None:
            raise EnasError("a search needs a validation split for the controller's reward: "
                            "use --valid_size > 0 (CIFAR-10) or a converted folder with a valid split")
        self.steps_per_epoch = math.ceil(data.counts["train"] / data_cfg.batch_size)
        if run_cfg.max_steps_per_epoch:
            self.steps_per_epoch = min(self.steps_per_epoch, run_cfg.max_steps_per_epoch)
        self.state = SearchState(space, data, controller_cfg, optim_cfg, run_cfg, strategy,
                                 self.steps_per_epoch, data_cfg.batch_size)
        self.log = self.state.log
        dist = strategy.experimental_distribute_dataset
        self.train_iter = iter(dist(data.train))
        self.reward_iter = iter(dist(data.reward))
        self.dist_valid = dist(data.valid)
        self.dist_test = dist(data.test) if data.test is not None else None

    # ---- phases ------------------------------------------------------------------------------
    def _child_phase(self, epoch: int) -> dict:
        st, cfg = self.state, self.run_cfg
        return train_epoch(
            lambda step: st.steps.child_train(self.train_iter, seed_for(CHILD_STREAM, cfg.seed, step)),
            step_var=st.step, steps=self.steps_per_epoch, epoch=epoch, num_epochs=cfg.num_epochs,
            log=self.log, log_every=cfg.log_every, images_per_step=st.global_batch,
            lr_fn=lambda: float(st.child_lr(st.child_optimizer.iterations - 1)),
            output_dir=cfg.output_dir, tag="child")

    def _controller_phase(self, epoch: int) -> dict:
        st, cfg, ccfg = self.state, self.run_cfg, self.ccfg
        rewards, entropies, records, op_counts = [], [], [], {}
        total = ccfg.train_steps * ccfg.num_aggregate
        for update in range(ccfg.train_steps):
            for _ in range(ccfg.num_aggregate):
                sample_id = int(st.controller_samples.numpy())
                out = st.steps.controller_sample(
                    self.reward_iter, seed_for(CONTROLLER_STREAM, cfg.seed, sample_id))
                st.controller_samples.assign_add(1)
                arch = self.space.arch_from_array(out["arch"].numpy())
                for name, n in arch.op_counts().items():
                    op_counts[name] = op_counts.get(name, 0) + n
                rewards.append(float(out["reward"]))
                entropies.append(float(out["entropy"]))
                records.append({"epoch": epoch, "kind": "controller", "tokens": arch.tokens(),
                                "reward": rewards[-1], "accuracy": float(out["accuracy"])})
                self.log.bar(f"epoch {epoch + 1} controller {len(rewards)}/{total} "
                             f"reward {rewards[-1]:.3f}")
            grad_norm = float(st.steps.controller_apply())
            if (update + 1) % max(1, cfg.log_every // ccfg.num_aggregate) == 0 \
                    or update + 1 == ccfg.train_steps:
                ops = sum(op_counts.values()) or 1
                hist = " ".join(f"{k} {100 * v / ops:.0f}%" for k, v in sorted(op_counts.items()))
                self.log.info(
                    f"epoch {epoch + 1} controller step {update + 1}/{ccfg.train_steps} "
                    f"reward {np.mean(rewards[-ccfg.num_aggregate:]):.4f} "
                    f"baseline {float(st.baseline.numpy()):.4f} "
                    f"entropy {np.mean(entropies[-ccfg.num_aggregate:]):.3f} |g| {grad_norm:.4f} "
                    f"ops: {hist}")
        self.log.archs(records)
        self.log.scalars(int(st.step.numpy()), {"reward": np.mean(rewards),
                                                "baseline": float(st.baseline.numpy()),
                                                "entropy": np.mean(entropies)}, "controller/")
        return {"reward_mean": float(np.mean(rewards)), "entropy": float(np.mean(entropies))}

    def _accuracy(self, dist_dataset, counter_base: int) -> float:
        seed = self.run_cfg.seed
        return accuracy(dist_dataset, lambda i, batch: self.state.steps.evaluate(
            batch, seed_for(EVAL_STREAM, seed, counter_base + i)), self.run_cfg.max_eval_batches)

    def _sample_and_score(self, num: int, batch, epoch: int, stream_base: int,
                          kind: str) -> list:
        rows = []
        for i in range(num):
            out = self.state.steps.sample(seed_for(DERIVE_STREAM, self.run_cfg.seed, stream_base + i))
            acc = float(self.state.steps.score(batch, out.arch))
            arch = self.space.arch_from_array(out.arch.numpy())
            rows.append({"epoch": epoch, "kind": kind, "tokens": arch.tokens(), "reward": acc,
                         "arch": arch})
        return rows

    # ---- outer loop --------------------------------------------------------------------------
    def run(self) -> dict:
        """Trains until `num_epochs`, resuming from the newest checkpoint; returns the arch.json."""
        st, cfg = self.state, self.run_cfg
        epoch = int(st.epoch.numpy())
        if epoch:
            self.log.info(f"resumed from {st.restored} at epoch {epoch} (step {int(st.step)})")
        while epoch < cfg.num_epochs:
            start = time.time()
            record = {"epoch": epoch}
            record.update(self._child_phase(epoch))
            if self.ccfg.training and epoch % self.ccfg.train_every == 0:
                record.update(self._controller_phase(epoch))
            if (epoch + 1) % cfg.eval_every_epochs == 0 or epoch + 1 == cfg.num_epochs:
                record["valid_acc"] = self._accuracy(self.dist_valid, epoch * 100_000)
                if self.dist_test is not None:
                    record["test_acc"] = self._accuracy(self.dist_test, epoch * 100_000 + 50_000)
                rows = self._sample_and_score(10, next(self.reward_iter), epoch,
                                              epoch * 1000, "epoch_sample")
                for row in rows:
                    self.log.info(f"  arch {row.pop('arch').tokens()}  reward {row['reward']:.4f}")
                self.log.archs(rows)
            epoch += 1
            st.epoch.assign(epoch)
            record.update(step=int(st.step.numpy()), baseline=float(st.baseline.numpy()),
                          seconds=round(time.time() - start, 2))
            record.setdefault("reward_mean", None)
            record.setdefault("entropy", None)
            record.setdefault("valid_acc", None)
            self.log.info("epoch {epoch} done: ".format(epoch=epoch) + ", ".join(
                f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}"
                for k, v in record.items() if k != "epoch"))
            self.log.scalars(int(st.step.numpy()), {k: record.get(k) for k in
                                                    ("valid_acc", "test_acc")}, "eval/")
            self.log.epoch(record)
            st.checkpoint.save(epoch)
            self.log.flush()
        return self.derive()

    def derive(self) -> dict:
        """Samples `derive_num_samples` archs, scores each on ONE validation batch, keeps the best."""
        st, cfg = self.state, self.run_cfg
        epoch = int(st.epoch.numpy())
        n = max(1, cfg.derive_num_samples)
        batch = next(iter(self.dist_valid))  # one fixed validation batch for every candidate
        rows = self._sample_and_score(n, batch, epoch, 10_000_000, "derive")
        random_rows = []
        for i in range(n):
            arch = self.space.random_arch(seed=cfg.seed * 100_003 + i)
            acc = float(st.steps.score(batch, tf.constant(arch.to_array())))
            random_rows.append({"epoch": epoch, "kind": "derive_random", "tokens": arch.tokens(),
                                "reward": acc})
        best = max(rows, key=lambda r: r["reward"])
        result = dict(best["arch"].to_json())
        result.update(reward=best["reward"], derive={
            "num_samples": n, "epoch": epoch,
            "controller_mean_reward": float(np.mean([r["reward"] for r in rows])),
            "random_mean_reward": float(np.mean([r["reward"] for r in random_rows])),
            "random_best_reward": float(max(r["reward"] for r in random_rows))})
        for row in rows:
            row.pop("arch")
        self.log.archs(rows + random_rows)
        d = result["derive"]
        self.log.info(f"derived {best['tokens']} reward {best['reward']:.4f}; mean reward "
                      f"controller {d['controller_mean_reward']:.4f} vs uniformly random "
                      f"{d['random_mean_reward']:.4f} over {n} samples on one validation batch")
        path = os.path.join(st.files_dir, "arch.json")
        write_json(path, result)
        self.log.info(f"wrote {path}")
        return result
