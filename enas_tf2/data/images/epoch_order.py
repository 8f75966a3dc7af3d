"""Endless shuffled streams that can start at ANY position: the data half of exact resume.

A run's checkpoint stores how many batches each endless stream has handed out (the training and
reward streams), not the `tf.data` iterator (a `tf.distribute` iterator cannot be saved). For the
resumed stream to continue exactly where the killed one stopped, element ``p`` of a stream must be
a pure function of ``(seed, p)``:

* pass ``e = p // count`` is one permutation of the split, chosen by ``(seed, e)`` alone;
* element ``p`` carries ``p`` itself, which seeds its augmentation (`pipeline.train_batches`).

In-memory splits (CIFAR-10 arrays) are permuted with `tf.random.experimental.index_shuffle`, so
seeking is free. Streamed TFRecord shards cannot be indexed: pass ``e`` shuffles the shard order
and a bounded record buffer with seeds from ``(seed, e)``, and a resumed stream skips the
already-used records of its current pass as raw bytes (one read of at most one pass, no decoding).
"""

from __future__ import annotations

from typing import Callable

import tensorflow as tf

# Positions run up to here ("endless" for any real run).
_MAX_POSITION = 2 ** 62


def _pass_seed(seed: int, epoch) -> tf.Tensor:
    """The int64 ``[2]`` seed of pass `epoch` (a tensor) of a stream seeded with `seed`."""
    return tf.stack([tf.constant(seed, tf.int64), tf.cast(epoch, tf.int64)])


def shuffled_positions(count: int, seed: int, start: int = 0) -> tf.data.Dataset:
    """``(position, index)`` pairs from `start` on: every pass of `count` positions visits each
    index in ``[0, count)`` once, in the pass's own seeded order."""
    if count < 1:
        raise ValueError(f"a stream needs at least one element, got count={count}")
    last = tf.constant(count - 1, tf.int64)

    def index_of(position):
        epoch, offset = position // count, position % count
        return position, tf.random.experimental.index_shuffle(offset, _pass_seed(seed, epoch),
                                                              last)

    return tf.data.Dataset.range(start, _MAX_POSITION).map(index_of)


def pass_seed_int(seed: int, epoch) -> tf.Tensor:
    """A scalar int64 seed for `tf.data` ops (shuffle) of pass `epoch`: distinct per pass."""
    return tf.cast(seed, tf.int64) * 1_000_003 + tf.cast(epoch, tf.int64)


def record_passes(make_pass: Callable[[tf.Tensor], tf.data.Dataset], count: int,
                  start: int = 0) -> tf.data.Dataset:
    """``(position, record)`` pairs from `start` on, where pass ``e`` is ``make_pass(e)`` (a
    deterministic, seeded dataset of the split's `count` records)."""
    if count < 1:
        raise ValueError(f"a stream needs at least one element, got count={count}")
    first, skip = divmod(int(start), int(count))
    records = tf.data.Dataset.range(first, _MAX_POSITION).flat_map(make_pass).skip(skip)
    return tf.data.Dataset.zip(tf.data.Dataset.range(start, _MAX_POSITION), records)
