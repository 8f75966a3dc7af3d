"""`RankStudy`: trains K architectures of a finished search standalone for a few short epochs and
measures how well the shared-weight reward ranks them (Kendall's tau).

The K architectures are drawn from the search's own strategy (the trained controller, or uniform
for ``--search_strategy=random``), distinct, each scored under the restored shared weights on the
same `derive_eval_batches` validation batches as derive. Each is then trained from scratch with
the search's own data, network size and optimizer settings (final training on the same
validation split, the same seed for every architecture) and its best validation score is kept.
A tau near 0 says the shared weights do not rank architectures the way training them does, in
which case no controller can learn much from their rewards (Sciuto et al. 2019, Yu et al. 2020).

The search folder is only read: the search is restored in a scratch folder that links to its
checkpoint files (restoring opens a run's log and rewrites its bookkeeping files, which must not
happen to the run being analysed), and everything the study writes goes to `out_dir`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import tempfile
from typing import Callable, Dict, Iterator, List

from enas_tf2.errors import EnasError
from enas_tf2.json_file import write_json
from enas_tf2.ranking.experiment_file import read_experiment
from enas_tf2.ranking.kendall import kendall_tau

RANK_COUNTER = 30_000_000    # derive-stream counters of the rank draws (derive uses 10_000_000)
MAX_DRAWS_PER_ARCH = 20      # draws allowed per wanted distinct architecture


class RankStudy:
    """One rank-correlation study of the search in `run_dir` (see the module docstring).

    Args:
      run_dir: a search folder (its ``experiment.json`` and checkpoint).
      num_archs: K, distinct architectures to train (>= 3).
      epochs: standalone training epochs per architecture.
      max_steps_per_epoch, max_eval_batches: caps for short runs (0 = the search's own).
      log: where progress lines go.
      out_dir: where ``rank.json`` and the standalone runs go (default ``RUN_DIR/rank``).
    """

    def __init__(self, run_dir: str, num_archs: int, epochs: int, max_steps_per_epoch: int = 0,
                 max_eval_batches: int = 0, log: Callable[[str], None] = print,
                 out_dir: str = ""):
        if num_archs < 3 or epochs < 1:
            raise EnasError(f"enas-arch rank needs --archs >= 3 and --epochs >= 1, got "
                            f"--archs={num_archs} --epochs={epochs}")
        self.run_dir, self.num_archs, self.epochs = run_dir, int(num_archs), int(epochs)
        self.max_steps, self.max_eval = int(max_steps_per_epoch), int(max_eval_batches)
        self.log = log
        self.out_dir = out_dir or os.path.join(run_dir, "rank")
        self.cfg = read_experiment(run_dir)

    def _search(self, scratch: str):
        from enas_tf2.api import _prepare
        from enas_tf2.training.run_context import RunContext
        from enas_tf2.training.search_loop import SearchLoop
        run = dataclasses.replace(self.cfg.run, output_dir=scratch, reset_output_dir=False)
        cfg = self.cfg.replace(run=run)
        strategy, space, task = _prepare(cfg)
        loop = SearchLoop(cfg, space, task, RunContext(run, strategy))
        if loop.state.restored is None:
            raise EnasError(f"{self.run_dir}/ckpt holds no checkpoint of the search to rank")
        return loop

    def _draw_distinct(self, loop) -> List:
        archs, seen = [], set()
        for counter in range(self.num_archs * MAX_DRAWS_PER_ARCH):
            tensor, arch = loop.draw(RANK_COUNTER + counter)
            if arch.tokens() not in seen:
                seen.add(arch.tokens())
                archs.append((tensor, arch))
                if len(archs) == self.num_archs:
                    return archs
        raise EnasError(f"the search's policy gave only {len(archs)} distinct architectures in "
                        f"{self.num_archs * MAX_DRAWS_PER_ARCH} draws; ask for fewer --archs")

    def _standalone(self, space, arch, index: int, strategy) -> Dict:
        import keras
        from enas_tf2.tasks.registry import get_task
        from enas_tf2.training.final_loop import FinalLoop
        from enas_tf2.training.run_context import RunContext
        run = dataclasses.replace(
            self.cfg.run, output_dir=os.path.join(self.out_dir, f"arch_{index}"),
            reset_output_dir=True, num_epochs=self.epochs,
            max_steps_per_epoch=self.max_steps or self.cfg.run.max_steps_per_epoch,
            max_eval_batches=self.max_eval or self.cfg.run.max_eval_batches)
        cfg = self.cfg.replace(run=run, controller=dataclasses.replace(self.cfg.controller,
                                                                       training=False))
        task = get_task(cfg.task, cfg.data, cfg.optim, final=True)
        keras.utils.set_random_seed(cfg.run.seed)     # the same start for every architecture
        loop = FinalLoop(cfg, space, task, arch, RunContext(run, strategy))
        metrics = loop.run()
        short = task.metrics.train_metric
        return {"standalone_valid": metrics.get(f"best_valid_{short}"),
                "standalone_test": metrics.get(f"test_{short}"), "num_params": loop.num_params}

    def run(self) -> Dict:
        """Scores, trains and correlates; writes and returns ``OUT_DIR/rank.json``."""
        with _read_only_mirror(self.run_dir) as scratch:
            return self._run(self._search(scratch))

    def _run(self, loop) -> Dict:
        metrics = loop.task.metrics
        batches = loop.derive_batches()
        rows = []
        for tensor, arch in self._draw_distinct(loop):
            shared = loop.scorer.score(tensor, batches)
            rows.append({"tokens": arch.tokens(), "shared_reward": shared["reward"],
                         "shared_score": shared["score"], "arch": arch})
        self.log(f"{len(rows)} distinct architectures scored under the shared weights on "
                 f"{len(batches)} validation batch(es); training each for {self.epochs} epoch(s)")
        for i, row in enumerate(rows):
            row.update(self._standalone(loop.space, row.pop("arch"), i, loop.ctx.strategy))
            self.log(f"arch {i + 1}/{len(rows)}: shared reward {row['shared_reward']:.4f}, "
                     f"standalone valid {metrics.score} {row['standalone_valid']:.4f}")
        sign = 1.0 if metrics.higher_is_better else -1.0   # rank "better" the same way
        corr = kendall_tau([r["shared_reward"] for r in rows],
                           [sign * r["standalone_valid"] for r in rows])
        result = {"run_dir": self.run_dir, "strategy": self.cfg.run.search_strategy,
                  "num_archs": len(rows), "epochs": self.epochs,
                  "max_steps_per_epoch": self.max_steps or self.cfg.run.max_steps_per_epoch,
                  "eval_batches": len(batches), "score": metrics.score,
                  "higher_is_better": metrics.higher_is_better, "kendall_tau": corr["tau"],
                  "p_value_normal_approx": corr["p_value"], "rows": rows}
        os.makedirs(self.out_dir, exist_ok=True)
        write_json(os.path.join(self.out_dir, "rank.json"), result)
        return result


@contextlib.contextmanager
def _read_only_mirror(run_dir: str) -> Iterator[str]:
    """A scratch folder holding a copy of `run_dir`'s ``experiment.json`` and checkpoint index,
    with links to its checkpoint files (read only by a restore), removed afterwards."""
    scratch = tempfile.mkdtemp(prefix="enas-rank-")
    try:
        source = os.path.join(os.path.abspath(run_dir), "ckpt")
        os.makedirs(os.path.join(scratch, "ckpt"))
        shutil.copy(os.path.join(run_dir, "experiment.json"), scratch)
        for name in (os.listdir(source) if os.path.isdir(source) else ()):
            target = os.path.join(scratch, "ckpt", name)
            if name == "checkpoint":
                shutil.copy(os.path.join(source, name), target)   # a restore may rewrite it
            else:
                os.symlink(os.path.join(source, name), target)
        yield scratch
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
