"""Language-model datasets from PTB id streams (ENAS_SPEC §5.2): what `LanguageModelTask` hands
to the loops.

Every element is ``{"tokens": int32 [B, T + 1]}``: ``tokens[:, :-1]`` are the inputs and
``tokens[:, 1:]`` their next-word targets, cut from ``B`` parallel rows of the stream (`batchify`),
consecutive elements continuing the same rows (so a carried state stays meaningful).

* train: infinite; epoch ``e`` is one pass over the rows in a known, fixed number of windows
  (`DataBundle.steps_per_epoch`); with ``variable_length`` each window's length is drawn from
  enas_lm's distribution (`ptb.sample_window_length`) with a generator seeded by ``(seed, e)``,
  then all lengths of the epoch are rescaled together so the pass ends exactly at the end of the
  rows. (enas_lm instead stops when the pointer reaches the end, so its step count varies per
  epoch; the rescale changes lengths by about 1 %, see `epoch_windows`.)
* valid / test: one ordered pass of ``(rows - 1) // bptt`` fixed windows (the ragged tail is
  skipped, as enas_lm).
* reward: the validation windows cycled forever, i.e. "the next sequential validation batch".

Under ``tf.distribute`` with one worker (`MirroredStrategy`, `OneDeviceStrategy`), distribute the
global datasets with ``strategy.experimental_distribute_dataset``: each global batch is split
into contiguous row blocks, replica r always getting rows ``[r * B / R, (r + 1) * B / R)``, so
every replica carries its own rows' state. The datasets set ``AutoShardPolicy.OFF``: sharding by
*elements* (the DATA policy) would give workers different windows. With several workers use
`per_worker_dataset` (below) with ``strategy.distribute_datasets_from_function`` instead.
"""

from __future__ import annotations

import math
from typing import Tuple

import numpy as np
import tensorflow as tf

from enas_tf2.data.specs import DataBundle, TokenSpec
from enas_tf2.data.text import ptb
from enas_tf2.data.text.config import TextDataConfig
from enas_tf2.errors import EnasError

# The training dataset counts epochs up to here ("infinite" for any real run).
_MAX_EPOCHS = 2 ** 40


def expected_window_length(bptt: int) -> float:
    """Mean of enas_lm's window length before the end-of-data cap (exact up to the grid): base
    ``bptt`` w.p. 0.95 else ``bptt / 2``, plus 5 z with z ~ N(0, 1) truncated to [-2, 2], then
    truncated to an integer and clipped to ``[1, bptt + 20]`` (`ptb.sample_window_length`)."""
    z = np.linspace(-2.0, 2.0, 40001)
    density = np.exp(-0.5 * z * z)
    density /= density.sum()
    mean = 0.0
    for prob, base in ((ptb.LONG_WINDOW_PROB, float(bptt)), (1 - ptb.LONG_WINDOW_PROB, bptt / 2)):
        lengths = np.clip(np.trunc(base + ptb.LENGTH_STDDEV * z), 1, bptt + ptb.MAX_EXTRA_LENGTH)
        mean += prob * float((density * lengths).sum())
    return mean


def train_steps_per_epoch(row_length: int, bptt: int, variable_length: bool) -> int:
    """Windows per training pass over rows of `row_length` ids (each window needs one more id
    for its targets): ``(row_length - 1) // bptt`` fixed windows, or the pass length divided by
    the expected variable window length, rounded."""
    span = row_length - 1
    if not variable_length:
        return max(1, span // bptt)
    return max(1, min(span, int(round(span / expected_window_length(bptt)))))


def epoch_windows(row_length: int, bptt: int, num_steps: int, rng: np.random.Generator
                  ) -> Tuple[np.ndarray, np.ndarray]:
    """``(starts, lengths)`` of one variable-length training epoch: `num_steps` windows that
    cover ids ``0 .. row_length - 2`` (inputs) exactly once, in order.

    Lengths are drawn with `ptb.sample_window_length`, then scaled by the common factor
    ``(row_length - 1) / sum(lengths)`` (about 1 +- 0.01 for a PTB epoch) with cumulative
    rounding, so they sum exactly to the pass length; every window keeps at least one id.
    """
    span = row_length - 1
    if num_steps > span:
        raise EnasError(f"{num_steps} windows do not fit in rows of {row_length} ids")
    raw = np.array([ptb.sample_window_length(bptt, rng) for _ in range(num_steps)], np.float64)
    ends = np.rint(np.cumsum(raw) * span / raw.sum()).astype(np.int64)
    ends[-1] = span
    index = np.arange(num_steps)
    # Strictly increasing ends (every window >= 1 id) that still leave room for the rest.
    ends = np.maximum.accumulate(ends - index) + index
    ends = np.minimum(ends, span - (num_steps - 1) + index)
    starts = np.concatenate([[0], ends[:-1]])
    return starts, ends - starts


def _windows_dataset(batched: np.ndarray, starts, lengths) -> tf.data.Dataset:
    data = tf.constant(batched, tf.int32)
    return tf.data.Dataset.from_tensor_slices((starts, lengths)).map(
        lambda start, length: {"tokens": data[:, start:start + length + 1]})


def _no_auto_shard(dataset: tf.data.Dataset) -> tf.data.Dataset:
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
    return dataset.with_options(options)


def train_dataset(batched: np.ndarray, bptt: int, variable_length: bool, seed: int,
                  first_epoch: int = 0) -> tf.data.Dataset:
    """Infinite training windows of `batched` ``[B, L]`` rows, epoch after epoch from
    `first_epoch` (a resumed run passes its epoch to get the same windows)."""
    row_length = batched.shape[1]
    steps = train_steps_per_epoch(row_length, bptt, variable_length)
    data = tf.constant(batched, tf.int32)
    if not variable_length:
        starts = np.arange(steps, dtype=np.int64) * bptt
        one_epoch = _windows_dataset(batched, starts, np.full(steps, bptt, np.int64))
        return _no_auto_shard(one_epoch.repeat().prefetch(2))

    def windows_of(epoch):
        def draw(e):
            return epoch_windows(row_length, bptt, steps, np.random.default_rng([seed, int(e)]))
        starts, lengths = tf.numpy_function(draw, [epoch], [tf.int64, tf.int64], stateful=False)
        starts.set_shape([steps])
        lengths.set_shape([steps])
        return tf.data.Dataset.from_tensor_slices((starts, lengths))

    dataset = tf.data.Dataset.range(first_epoch, _MAX_EPOCHS).flat_map(windows_of).map(
        lambda start, length: {"tokens": data[:, start:start + length + 1]})
    return _no_auto_shard(dataset.prefetch(2))


def eval_dataset(batched: np.ndarray, bptt: int, repeat: bool = False) -> tf.data.Dataset:
    """The ordered fixed-length windows of `batched` (one pass, or cycled when `repeat`)."""
    steps = (batched.shape[1] - 1) // bptt
    if steps < 1:
        raise EnasError(f"rows of {batched.shape[1]} ids are too short for one window of "
                        f"{bptt} (lower the batch size or bptt)")
    dataset = _windows_dataset(batched, np.arange(steps, dtype=np.int64) * bptt,
                               np.full(steps, bptt, np.int64))
    return _no_auto_shard((dataset.repeat() if repeat else dataset).prefetch(2))


def per_worker_dataset(dataset: tf.data.Dataset, input_context) -> tf.data.Dataset:
    """This input pipeline's per-replica batches of a GLOBAL-batch dataset, for
    ``strategy.distribute_datasets_from_function(lambda ctx: per_worker_dataset(ds, ctx))``
    (needed with several workers; works with one).

    Replica r (global id) always gets rows ``[r * B / R, (r + 1) * B / R)``: pipeline w emits,
    per global batch, the blocks of its L = R / W local replicas in order, which the
    distribution hands to its local replicas round-robin.
    """
    replicas = input_context.num_replicas_in_sync
    local = replicas // input_context.num_input_pipelines
    first = input_context.input_pipeline_id * local

    def blocks(batch):
        tokens = batch["tokens"]
        rows = tf.shape(tokens)[0] // replicas
        mine = tokens[first * rows:(first + local) * rows]
        return tf.data.Dataset.from_tensor_slices(
            {"tokens": tf.reshape(mine, [local, rows, tf.shape(tokens)[1]])})

    return dataset.flat_map(blocks)


def build_lm_data(cfg: TextDataConfig, num_replicas: int = 1, first_epoch: int = 0
                  ) -> DataBundle:
    """Reads PTB from ``cfg.data_path`` and builds the `DataBundle` (EnasError on bad input:
    missing files, batch sizes not divisible by `num_replicas`, rows too short)."""
    for name in ("batch_size", "eval_batch_size", "test_batch_size"):
        if getattr(cfg, name) % num_replicas:
            raise EnasError(f"text {name}={getattr(cfg, name)} must be a multiple of the "
                            f"{num_replicas} replicas (each replica carries whole rows)")
    corpus = ptb.load_ptb(cfg.data_path)
    train_rows = ptb.batchify(corpus.train, cfg.batch_size)
    valid_rows = ptb.batchify(corpus.valid, cfg.eval_batch_size)
    test_rows = ptb.batchify(corpus.test, cfg.test_batch_size)
    steps = train_steps_per_epoch(train_rows.shape[1], cfg.bptt, cfg.variable_length)
    span = train_rows.shape[1] - 1 if cfg.variable_length else steps * cfg.bptt
    info = {
        "corpus": "ptb", "vocab_size": len(corpus.vocab),
        "tokens": {"train": int(corpus.train.size), "valid": int(corpus.valid.size),
                   "test": int(corpus.test.size)},
        "bptt": cfg.bptt, "variable_length": cfg.variable_length,
        "batch_size": cfg.batch_size, "eval_batch_size": cfg.eval_batch_size,
        "test_batch_size": cfg.test_batch_size,
        "valid_steps": (valid_rows.shape[1] - 1) // cfg.bptt,
        "test_steps": (test_rows.shape[1] - 1) // cfg.bptt,
        # The id -> word table, so a finished run can be exported to score raw text
        # (`tasks/language_model/serving.py`) without the corpus at hand.
        "vocab": list(corpus.vocab),
    }
    valid_steps = info["valid_steps"]

    def train_at(batches: int) -> tf.data.Dataset:
        # Epoch e's windows depend on (seed, e) only: start at the right epoch, skip the
        # windows already used (cheap: a window is a slice of the in-memory rows).
        epoch, offset = divmod(int(batches), steps)
        return train_dataset(train_rows, cfg.bptt, cfg.variable_length, cfg.seed,
                             first_epoch + epoch).skip(offset)

    def reward_at(batches: int) -> tf.data.Dataset:
        return eval_dataset(valid_rows, cfg.bptt, repeat=True).skip(int(batches) % valid_steps)

    return DataBundle(
        train=train_at(0),
        valid=eval_dataset(valid_rows, cfg.bptt),
        test=eval_dataset(test_rows, cfg.bptt),
        reward=reward_at(0), train_at=train_at, reward_at=reward_at,
        input_spec=TokenSpec(vocab_size=len(corpus.vocab)),
        steps_per_epoch=steps, global_batch=cfg.batch_size,
        examples_per_step=int(math.ceil(cfg.batch_size * span / steps)),
        info=info)
