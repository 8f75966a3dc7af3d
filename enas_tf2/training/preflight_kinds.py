"""The kinds of steps a search or a final training performs, each timed at the real batch size
with the loop's own compiled functions, and how often an epoch performs it.

Every timing reads a result back to the host (as the loops do for their logs), so asynchronous
execution cannot hide work. Data comes from fresh iterators over the loop's datasets: the run's own
iterators are not advanced.
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Callable, List

import numpy as np
import tensorflow as tf

from enas_tf2.training.search_steps import CONTROLLER_STREAM, DERIVE_STREAM, EVAL_STREAM, seed_for
from enas_tf2.training.search_loop import EPOCH_SAMPLES

# Timed calls of each kind after the first (compiling) one.
TIMED_CALLS = 3


@dataclasses.dataclass
class StepKind:
    """One kind of step: its steady seconds per call and calls per epoch.

    ``phase`` says when it runs: "train" every epoch, "controller" on controller epochs, "eval" on
    evaluated epochs, "end" once at the end of the run (per_epoch then counts those calls).
    """
    name: str
    phase: str
    seconds: float
    per_epoch: float
    compile_seconds: float = 0.0


def _timed(call: Callable[[], None], calls: int = TIMED_CALLS):
    """``(first call seconds, mean seconds of the next `calls` calls)``."""
    start = time.perf_counter()
    call()
    first = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(calls):
        call()
    return first, (time.perf_counter() - start) / calls


def _kind(name: str, phase: str, per_epoch: float, call: Callable[[], None],
          calls: int = TIMED_CALLS) -> StepKind:
    first, steady = _timed(call, calls)
    return StepKind(name, phase, steady, float(per_epoch), max(0.0, first - steady))


def _read(stats: dict) -> dict:
    """Statistics read back to the host (waits for the step, as the loops' reads do)."""
    return {key: float(value) for key, value in stats.items()}


def eval_batches(data, split: str, batch_size: int, cap: int) -> int:
    """Batches of one evaluation pass over `split` (its cardinality, else the data facts)."""
    dataset = getattr(data, split)
    if dataset is None:
        return 0
    count = int(dataset.cardinality().numpy())
    if count < 0:
        info = data.info or {}
        if f"{split}_steps" in info:
            count = int(info[f"{split}_steps"])
        else:
            count = int(math.ceil((info.get("counts") or {}).get(split, batch_size) / batch_size))
    return min(count, cap) if cap else count


def _child_chunks(loop, steps_fn: Callable[[int], None], metrics) -> StepKind:
    """Child training steps, `steps_per_loop` per compiled call, as the loop runs them."""
    chunk = max(1, min(loop.run_cfg.steps_per_loop, loop.steps_per_epoch))

    def call():
        steps_fn(chunk)
        metrics.read_and_reset()        # the loop reads these at each log point

    first, steady = _timed(call, 2)
    return StepKind("child step" if hasattr(loop, "state") else "training step", "train",
                    steady / chunk, float(loop.steps_per_epoch), max(0.0, first - steady))


def search_kinds(loop) -> List[StepKind]:
    """Times every kind of step of a `SearchLoop`."""
    st, cfg, ccfg = loop.state, loop.run_cfg, loop.ccfg
    steps, seed = st.steps, cfg.seed
    dist = loop.ctx.strategy.experimental_distribute_dataset
    train_it, reward_it = iter(dist(loop.data.train)), iter(dist(loop.data.reward))
    rows = max(1, cfg.steps_per_loop)
    if loop.random:
        archs = tf.constant(np.stack([loop.space.random_arch(i).to_array() for i in range(rows)]))

        def run_chunk(n):
            steps.train_loop_archs(train_it, tf.constant(n), archs)
    else:
        def run_chunk(n):
            steps.train_loop(train_it, tf.constant(n))
    kinds = [_child_chunks(loop, run_chunk, steps.metrics)]
    counter = iter(range(1_000_000_000, 2_000_000_000))
    if not loop.random and ccfg.training:
        def sample():
            out = steps.controller_sample(reward_it, seed_for(CONTROLLER_STREAM, seed,
                                                              next(counter)))
            float(out["reward"])
        kinds.append(_kind("controller sample", "controller",
                           ccfg.train_steps * ccfg.num_aggregate, sample))
        kinds.append(_kind("controller update", "controller", ccfg.train_steps,
                           lambda: float(steps.controller_apply())))
    batch_size = getattr(loop.cfg.data, "eval_batch_size", loop.data.global_batch)
    num_eval = sum(eval_batches(loop.data, split, batch_size, cfg.max_eval_batches)
                   for split in ("valid", "test"))
    valid = next(iter(dist(loop.data.valid)))
    reward_batch = next(reward_it)
    arch = steps.sample(seed_for(DERIVE_STREAM, seed, 999_999_999)).arch
    if loop.random:
        def evaluate():
            _read(steps.score(valid, arch))
    else:
        def evaluate():
            _read(steps.evaluate(valid, seed_for(EVAL_STREAM, seed, next(counter))))
    kinds.append(_kind("evaluation batch", "eval", num_eval, evaluate))
    derive_batches = max(1, cfg.derive_eval_batches)
    kinds.append(_kind("architecture scoring batch", "eval", EPOCH_SAMPLES * derive_batches,
                       lambda: _read(steps.score(reward_batch, arch))))
    # Derive: derive_num_samples controller samples and as many random ones, each scored on the
    # same validation batches (the random strategy scores only the random ones).
    candidates = max(1, cfg.derive_num_samples) * (1 if loop.random else 2)
    kinds.append(_kind("derive scoring batch", "end", candidates * derive_batches,
                       lambda: _read(steps.score(valid, arch))))
    return kinds


def final_kinds(loop) -> List[StepKind]:
    """Times every kind of step of a `FinalLoop`."""
    cfg = loop.run_cfg
    dist = loop.ctx.strategy.experimental_distribute_dataset
    train_it = iter(dist(loop.data.train))

    def run_chunk(n):
        loop.steps.train_loop(train_it, tf.constant(n))
    kinds = [_child_chunks(loop, run_chunk, loop.steps.metrics)]
    split = "valid" if loop.data.valid is not None else "test"
    dataset = getattr(loop.data, split)
    if dataset is None:
        return kinds
    batch_size = getattr(loop.cfg.data, "eval_batch_size", loop.data.global_batch)
    per_pass = eval_batches(loop.data, split, batch_size, cfg.max_eval_batches)
    batch = next(iter(dist(dataset)))

    kinds.append(_kind("evaluation batch", "eval", per_pass,
                       lambda: _read(loop.steps.evaluate(batch))))
    if loop.data.test is not None:
        test_pass = eval_batches(loop.data, "test", batch_size, cfg.max_eval_batches)
        kinds.append(StepKind("final test batch", "end", kinds[-1].seconds, float(test_pass)))
    return kinds
