"""Oracle mode on NAS-Bench-201: the search ALGORITHM without child training, in seconds.

``oracle``: the project's controller (`Nb201Controller`) samples a cell, its reward is the
table's true accuracy / 100 (plus the usual entropy bonus) and the REINFORCE step of
`controller/reinforce.py` (moving-average baseline, `GradientAccumulator` over
``num_aggregate`` samples, Adam) trains it, exactly the algorithm of a real search with a
perfect evaluator instead of shared weights. ``oracle_random``: uniformly random cells, the
control. Both report the best true accuracy among the first k samples (what the NAS-Bench-201
paper reports for random search with perfect evaluation).

This is the only search code that reads the truth table; the table lookup runs inside the
compiled step (a constant vector of the 15,625 accuracies indexed by the cell's base-5 code).
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional

import numpy as np

from enas_tf2.configs.base import ControllerConfig
from enas_tf2.errors import EnasError
from enas_tf2.ranking.nb201_table import Nb201Table
from enas_tf2.search_space.nb201 import ops
from enas_tf2.search_space.nb201.arch import Nb201Arch

ORACLE_STRATEGIES = ("oracle", "oracle_random")
_PLACES = np.array([ops.NUM_OPS ** (ops.NUM_EDGES - 1 - e) for e in range(ops.NUM_EDGES)])


def cell_code(arch: Nb201Arch) -> int:
    """The cell's base-5 code (edge 0 most significant): a position in a dense vector, NOT the
    benchmark's index."""
    return int(np.dot(arch.to_array(), _PLACES))


def truth_vector(table: Nb201Table) -> np.ndarray:
    """float32 ``[15625]``: true accuracy / 100 of every cell at its `cell_code`."""
    vector = np.zeros(ops.NUM_ARCHS, np.float32)
    for arch in Nb201Arch.all_archs():
        vector[cell_code(arch)] = table.accuracy(arch) / 100.0
    return vector


def top1_at(accuracies: List[float], k: int) -> Optional[float]:
    """Best of the first `k` values (None when fewer were drawn)."""
    return max(accuracies[:k]) if len(accuracies) >= k else None


class OracleSearch:
    """One oracle run on `table`; `run()` returns the per-sample records and the summary.

    Args:
      table: the truth table.
      strategy: ``oracle`` (controller + REINFORCE) or ``oracle_random``.
      num_samples: cells to draw.
      seed: the run's seed (controller sampling / random cells).
      controller_config: the controller and REINFORCE settings (lr, num_aggregate, ...).
      log: called with progress lines.
    """

    def __init__(self, table: Nb201Table, strategy: str = "oracle", num_samples: int = 500,
                 seed: int = 0, controller_config: Optional[ControllerConfig] = None,
                 log: Callable[[str], None] = lambda line: None):
        if strategy not in ORACLE_STRATEGIES:
            raise EnasError(f"unknown oracle strategy {strategy!r}; choose one of "
                            f"{', '.join(ORACLE_STRATEGIES)}")
        if num_samples < 1:
            raise EnasError(f"an oracle run needs at least 1 sample, got {num_samples}")
        self.table, self.strategy = table, strategy
        self.num_samples, self.seed = int(num_samples), int(seed)
        self.ccfg = controller_config or ControllerConfig()
        self.log = log

    def _random_codes(self) -> List[Nb201Arch]:
        from enas_tf2.training.search_steps import RANDOM_STREAM, host_seed
        return [Nb201Arch.random(host_seed(RANDOM_STREAM, self.seed, i))
                for i in range(self.num_samples)]

    def _controller_archs(self) -> List[Nb201Arch]:
        import keras
        import tensorflow as tf

        from enas_tf2.controller import reinforce
        from enas_tf2.search_space.registry import get_space
        from enas_tf2.training.search_steps import CONTROLLER_STREAM, seed_for

        keras.utils.set_random_seed(self.seed)   # the controller's initial weights
        ccfg = self.ccfg
        controller = get_space("nb201").build_controller(ccfg)
        variables = controller.trainable_variables
        optimizer = reinforce.make_optimizer(ccfg)
        optimizer.build(variables)
        accumulator = reinforce.GradientAccumulator(variables)
        baseline = tf.Variable(0.0, trainable=False)
        state = tf.Variable([0.0, 0.0], trainable=False)   # `reinforce.advantage_step`
        truth = tf.constant(truth_vector(self.table))
        places = tf.constant(_PLACES, tf.int32)

        @tf.function
        def sample(seed):
            # The REINFORCE step of `SearchSteps._controller_sample` with the table as reward.
            with tf.GradientTape() as tape:
                out = controller(seed=seed)
                value = tf.gather(truth, tf.reduce_sum(out.arch * places))
                reward = reinforce.reward(value, tf.stop_gradient(out.entropy),
                                          ccfg.entropy_weight)
                advantage, new_baseline, variance = reinforce.advantage_step(
                    reward, baseline, state[0], state[1], ccfg)
                loss = reinforce.policy_loss(out.log_prob, advantage) + out.aux_loss
            baseline.assign(new_baseline)
            state.assign(tf.stack([variance, state[1] + 1.0]))
            grads = tape.gradient(loss, variables)
            accumulator.add([tf.zeros_like(v) if g is None else g
                             for g, v in zip(grads, variables)])
            return out.arch

        @tf.function
        def apply():
            optimizer.apply(accumulator.mean(), variables)
            accumulator.reset()

        archs = []
        for i in range(self.num_samples):
            archs.append(Nb201Arch.from_array(
                sample(seed_for(CONTROLLER_STREAM, self.seed, i)).numpy()))
            if ccfg.training and (i + 1) % max(1, ccfg.num_aggregate) == 0:
                apply()
        return archs

    def run(self) -> Dict[str, Any]:
        """``{"strategy", "seed", "num_samples", "samples": [{"tokens", "true_acc"}],
        "top1_at": {k: best of the first k}, "best": the best cell's truth block}``."""
        archs = (self._random_codes() if self.strategy == "oracle_random"
                 else self._controller_archs())
        accs = [self.table.accuracy(a) for a in archs]
        best = int(np.argmax(accs))
        marks = sorted({k for k in (10, 100, 500, self.num_samples) if k <= self.num_samples})
        result = {"strategy": self.strategy, "seed": self.seed, "num_samples": self.num_samples,
                  "samples": [{"tokens": a.tokens(), "true_acc": v} for a, v in zip(archs, accs)],
                  "top1_at": {str(k): top1_at(accs, k) for k in marks},
                  "best": {"tokens": archs[best].tokens(), "sample": best,
                           **self.table.truth(archs[best])},
                  "arch": archs[best]}
        tenth = max(1, self.num_samples // 10)
        self.log(f"{self.strategy} seed {self.seed}: {self.num_samples} samples, mean true "
                 f"accuracy first {tenth} {np.mean(accs[:tenth]):.2f}, last {tenth} "
                 f"{np.mean(accs[-tenth:]):.2f}; best {accs[best]:.2f} "
                 f"({archs[best].tokens()})")
        return result
