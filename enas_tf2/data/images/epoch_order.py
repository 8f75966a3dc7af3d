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


def shuffled_pass(dataset: tf.data.Dataset, buffer: int, seed: int, epoch) -> tf.data.Dataset:
    """`dataset` (one pass, any length) shuffled in blocks of `buffer` elements, in an order
    that depends on ``(seed, epoch)`` only: each element gets a stateless random key and every
    block is sorted by it. Memory stays at one block, like `Dataset.shuffle`'s buffer;
    `Dataset.shuffle` itself cannot be used here: with a seed that is a tensor (the pass number
    is one) and TensorFlow's global seed 0 it fails to build."""
    key_seed = _pass_seed(seed, epoch)

    def keyed(index, element):
        key = tf.random.stateless_uniform([], tf.random.experimental.stateless_fold_in(
            key_seed, index))
        return key, element

    def sort_block(keys, elements):
        order = tf.argsort(keys)
        return tf.nest.map_structure(lambda e: tf.gather(e, order), elements)

    blocks = dataset.enumerate().map(keyed).batch(max(1, int(buffer)))
    return blocks.map(sort_block).unbatch()


def shuffled_files(files, seed: int, epoch) -> tf.data.Dataset:
    """The file names `files` in the order of pass `epoch` (a permutation seeded by both)."""
    names = tf.constant(list(files))
    order = tf.random.experimental.index_shuffle(
        tf.range(len(files), dtype=tf.int64), _pass_seed(seed, epoch),
        tf.constant(len(files) - 1, tf.int64))
    return tf.data.Dataset.from_tensor_slices(tf.gather(names, order))


def record_passes(make_pass: Callable[[tf.Tensor], tf.data.Dataset], count: int,
                  start: int = 0) -> tf.data.Dataset:
    """``(position, record)`` pairs from `start` on, where pass ``e`` is ``make_pass(e)`` (a
    deterministic, seeded dataset of the split's `count` records)."""
    if count < 1:
        raise ValueError(f"a stream needs at least one element, got count={count}")
    first, skip = divmod(int(start), int(count))
    records = tf.data.Dataset.range(first, _MAX_POSITION).flat_map(make_pass).skip(skip)
    return tf.data.Dataset.zip(tf.data.Dataset.range(start, _MAX_POSITION), records)
