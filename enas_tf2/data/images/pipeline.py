"""The streaming ``tf.data`` input pipeline: `build_data(DataConfig) -> ImageData`.

Two sources feed the same tail: training images are resized and `augment_for_train`-ed, eval
images go through `preprocess_for_eval`, each in a parallel map, then batch and prefetch.
- ``dataset="cifar10"``: the in-memory uint8 arrays of `load_cifar10` (150 MB at most). Only the
  index order is shuffled, so every epoch is a full permutation and no second copy is buffered.
- ``dataset="tfrecord"``: an ``enas-convert`` folder, streamed shard by shard. Records stay
  encoded until the parallel map decodes them (with DCT downscaling, `image_decode`); the shuffle
  buffer holds encoded records and is capped in bytes, and nothing is cached, so memory does not
  grow with the number of records.
Every dataset gets ``AutoShardPolicy.DATA``: it works for any shard count and for multi-worker.
"""

from __future__ import annotations

import math
from typing import Dict, Optional, Tuple

import numpy as np
import tensorflow as tf

from enas_tf2.configs.base import DataConfig
from enas_tf2.data.images.augment import augment_for_train
from enas_tf2.data.images.cifar10 import load_cifar10
from enas_tf2.data.images.epoch_order import (record_passes, shuffled_files, shuffled_pass,
                                              shuffled_positions)
from enas_tf2.data.images.corrupt_records import read_shard, read_shards, scan_and_report
from enas_tf2.data.images.image_data import ImageData
from enas_tf2.data.images.image_decode import decode_record
from enas_tf2.data.images.preprocess import preprocess_for_eval, resize_images
from enas_tf2.data.images.record_source import (RecordSource, check_shards, explain_read_error,
                                         open_record_source)
from enas_tf2.errors import EnasError

__all__ = ["ImageData", "build_data", "preprocess_for_eval", "check_shards", "explain_read_error"]

AUTOTUNE = tf.data.AUTOTUNE
# Cap on the encoded bytes held by a training shuffle buffer: large enough to mix many shards
# (~700 flower JPEGs), small enough that RSS stays flat whatever the dataset size.
SHUFFLE_BUFFER_BYTES = 64 << 20
# Records whose normalisation is estimated when a manifest lacks it (hand-written shards).
NORMALIZATION_SAMPLE = 1000
CIFAR_SIZE = (32, 32)


def build_data(cfg: DataConfig) -> ImageData:
    """Builds the train/valid/test/reward datasets of ``cfg`` (see `ImageData`).

    ``cfg.dataset == "cifar10"``: ``data_path`` is a CIFAR-10 folder or its parent (see
    `load_cifar10`); the last ``valid_size`` training images are the validation split (0: none);
    images stay 32x32 unless ``image_size`` is given.
    ``cfg.dataset == "tfrecord"``: ``data_path`` is an ``enas-convert`` output folder; classes come
    from ``labels.json``, normalisation from ``manifest.json``. ``image_size`` defaults to the
    images' size when all training images share one size (e.g. converted CIFAR-10) and is required
    otherwise. ``shuffle_buffer`` caps the TFRecord training shuffle buffer (in records; it is
    also capped at `SHUFFLE_BUFFER_BYTES` of encoded records); CIFAR-10 always shuffles a full
    permutation of indices. Raises EnasError for bad settings or data.
    """
    if cfg.batch_size <= 0 or cfg.eval_batch_size <= 0:
        raise EnasError(f"batch sizes must be positive (batch_size={cfg.batch_size}, "
                        f"eval_batch_size={cfg.eval_batch_size})")
    if cfg.cutout_size < 0:
        raise EnasError(f"--child_cutout_size={cfg.cutout_size} must be 0 (off) or positive")
    image_size = cfg.image_size
    if cfg.dataset == "cifar10":
        return _build_cifar10(cfg, image_size)
    if cfg.dataset == "tfrecord":
        return _build_tfrecord(cfg, image_size)
    raise EnasError(f"unknown --dataset {cfg.dataset!r}: expected cifar10 or tfrecord")


# ---------------------------------------------------------------- shared tail


def finish(dataset: tf.data.Dataset, deterministic: bool) -> tf.data.Dataset:
    """Prefetch plus the options every dataset gets (DATA auto-sharding, determinism)."""
    dataset = dataset.prefetch(AUTOTUNE)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    options.deterministic = deterministic
    return dataset.with_options(options)


def train_batches(elements: tf.data.Dataset, cfg: DataConfig, image_size, mean, std,
                   load_fn) -> tf.data.Dataset:
    """Training batches from ``elements``: ``(position, raw)`` pairs of an endless shuffled
    stream (`epoch_order`); ``load_fn(raw) -> (image [h, w, 3] in pixel units, int32 label)``.
    Each image is resized and then `augment_for_train`-ed with the seed ``[cfg.seed, position]``,
    so a batch is a pure function of the seed and its position in the stream (exact resume).
    The parallel map keeps the order for the same reason."""
    base_seed = tf.constant(cfg.seed, tf.int64)

    def per_image(index, raw):
        image, label = load_fn(raw)
        image = tf.ensure_shape(resize_images(image, image_size, keep_dtype=True), [*image_size, 3])
        seed = tf.stack([base_seed, index])
        return augment_for_train(image, seed, mean, std, cfg.cutout_size), label

    dataset = elements.map(per_image, num_parallel_calls=AUTOTUNE, deterministic=True)
    dataset = dataset.batch(cfg.batch_size, drop_remainder=True)
    return finish(dataset, deterministic=True)


# ---------------------------------------------------------------- CIFAR-10 arrays


def _channel_stats(images: np.ndarray) -> Tuple[Tuple[float, ...], Tuple[float, ...]]:
    """Per-channel mean and population std in [0, 1] units, in chunks (no float64 copy of all)."""
    total = np.zeros(3)
    total_sq = np.zeros(3)
    for start in range(0, len(images), 4096):
        chunk = images[start:start + 4096].reshape(-1, 3).astype(np.float64) / 255.0
        total += chunk.sum(axis=0)
        total_sq += (chunk ** 2).sum(axis=0)
    count = images.shape[0] * images.shape[1] * images.shape[2]
    mean = total / count
    std = np.sqrt(np.maximum(total_sq / count - mean ** 2, 0.0))
    return tuple(float(m) for m in mean), tuple(float(s) for s in std)


def _build_cifar10(cfg: DataConfig, image_size) -> ImageData:
    arrays = load_cifar10(cfg.data_path)
    num_train_all = len(arrays.train_labels)
    if not 0 <= cfg.valid_size < num_train_all:
        raise EnasError(f"--valid_size={cfg.valid_size} must be in [0, {num_train_all}): the "
                        f"CIFAR-10 data in {cfg.data_path!r} has {num_train_all} training images")
    split = num_train_all - cfg.valid_size
    train_images, train_labels = arrays.train_images[:split], arrays.train_labels[:split]
    mean, std = _channel_stats(train_images)
    image_size = image_size or CIFAR_SIZE

    def constants(images, labels):
        # Captured once; uint8 stays uint8 (3 KiB per image) until an image is standardised.
        return tf.constant(images), tf.constant(labels.astype(np.int32))

    # Shuffling indices, not images, keeps one copy of the arrays and makes each epoch a full
    # permutation, like the original's queue over the whole array; a permutation per pass
    # (`shuffled_positions`) lets a resumed run start at any batch.
    def eval_batches(images_t, labels_t, batch_size, shuffle, start_batch=0):
        count = int(labels_t.shape[0])
        if shuffle:
            indices = shuffled_positions(count, cfg.seed + 1, start_batch * batch_size).map(
                lambda _, index: index)
        else:
            indices = tf.data.Dataset.range(count)
        batches = indices.batch(batch_size, drop_remainder=shuffle).map(
            lambda i: (preprocess_for_eval(tf.gather(images_t, i), image_size, mean, std),
                       tf.gather(labels_t, i)),
            num_parallel_calls=AUTOTUNE, deterministic=True)
        return finish(batches, deterministic=True)

    train_images_t, train_labels_t = constants(train_images, train_labels)

    def train_at(start_batch: int) -> tf.data.Dataset:
        return train_batches(
            shuffled_positions(split, cfg.seed, start_batch * cfg.batch_size), cfg, image_size,
            mean, std, lambda i: (tf.gather(train_images_t, i), tf.gather(train_labels_t, i)))

    valid = reward_at = None
    if cfg.valid_size:
        valid_t = constants(arrays.train_images[split:], arrays.train_labels[split:])
        valid = eval_batches(*valid_t, cfg.eval_batch_size, False)

        def reward_at(start_batch: int) -> tf.data.Dataset:
            return eval_batches(*valid_t, cfg.batch_size, True, start_batch)
    test = eval_batches(*constants(arrays.test_images, arrays.test_labels), cfg.eval_batch_size,
                        False)
    counts = {"train": split, "valid": cfg.valid_size, "test": len(arrays.test_labels)}
    return ImageData(train_at(0), valid, test, reward_at(0) if reward_at else None,
                     len(arrays.class_names), arrays.class_names,
                     (image_size[0], image_size[1], 3), counts, mean, std,
                     train_at=train_at, reward_at=reward_at)


# ---------------------------------------------------------------- TFRecord shards


def _records(source: RecordSource, split: str, shuffle: bool, seed: int,
             buffer_records: int = 0, skip_corrupt: bool = False,
             start: int = 0) -> tf.data.Dataset:
    """Serialised records of one split: in file order for one deterministic pass, or (`shuffle`)
    an endless stream of ``(position, record)`` pairs from position `start` whose pass ``e``
    interleaves the shards in an order seeded by ``(seed, e)`` and shuffles blocks of records
    the same way (`epoch_order`). A block holds at most ``buffer_records``
    (``--shuffle_buffer``) records and at most `SHUFFLE_BUFFER_BYTES` of them. `skip_corrupt`:
    a damaged record ends its shard instead of the run (`corrupt_records`)."""
    files = source.shards[split]
    if not shuffle:
        return read_shards(files, skip_corrupt)
    avg_bytes = max(1, source.bytes[split] // max(1, source.counts[split]))
    buffer = min(source.counts[split], SHUFFLE_BUFFER_BYTES // avg_bytes)
    if buffer_records > 0:
        buffer = min(buffer, buffer_records)
    buffer = max(1, buffer)

    def one_pass(epoch):
        records = shuffled_files(files, seed, epoch).interleave(
            lambda f: read_shard(f, skip_corrupt), cycle_length=min(len(files), 8),
            block_length=1, num_parallel_calls=AUTOTUNE, deterministic=True)
        return shuffled_pass(records, buffer, seed, epoch)

    return record_passes(one_pass, source.counts[split], start)


def _tfrecord_image_size(source: RecordSource, image_size) -> Tuple[int, int]:
    if image_size is not None:
        return image_size
    size_range = source.train_size_range
    if size_range and size_range[0][0] == size_range[0][1] and size_range[1][0] == size_range[1][1]:
        return size_range[0][0], size_range[1][0]
    detail = (f" (training images range from {size_range[0][0]}x{size_range[1][0]} to "
              f"{size_range[0][1]}x{size_range[1][1]})" if size_range else "")
    raise EnasError(f"--image_size is required for {source.root!r}: its images differ in size"
                    f"{detail}; pass e.g. --image_size=224 or --image_size=320x160")


def _estimate_normalization(source: RecordSource, image_size) -> Tuple[tuple, tuple]:
    """Mean/std of up to `NORMALIZATION_SAMPLE` training images at the target size (only for
    folders whose manifest lacks a ``normalization`` entry)."""
    def load(raw):
        image, _ = decode_record(raw, image_size)
        pixels = tf.reshape(resize_images(image, image_size), [-1, 3]) / 255.0
        return tf.reduce_sum(pixels, 0), tf.reduce_sum(pixels ** 2, 0), tf.shape(pixels)[0]

    dataset = _records(source, "train", False, 0).take(NORMALIZATION_SAMPLE).map(load, AUTOTUNE)
    total, total_sq, count = np.zeros(3), np.zeros(3), 0
    for s, sq, n in dataset.as_numpy_iterator():
        total, total_sq, count = total + s, total_sq + sq, count + int(n)
    mean = total / count
    std = np.sqrt(np.maximum(total_sq / count - mean ** 2, 1e-12))
    return tuple(float(m) for m in mean), tuple(float(s) for s in std)


def _build_tfrecord(cfg: DataConfig, image_size) -> ImageData:
    source = open_record_source(cfg.data_path)
    if cfg.skip_corrupt_records:
        scan_and_report(source)
    image_size = _tfrecord_image_size(source, image_size)
    if source.mean is not None:
        mean, std = source.mean, source.std
    else:
        mean, std = _estimate_normalization(source, image_size)
    if min(std) <= 0 or not all(math.isfinite(v) for v in mean + std):
        raise EnasError(f"normalisation of {source.root!r} is unusable (mean={mean}, std={std})")

    def load(raw):
        return decode_record(raw, image_size)

    def eval_batches(split, batch_size, shuffle, seed, start_batch=0):
        """One ordered pass (``shuffle=False``) or endless shuffled batches (reward) from
        batch `start_batch` on."""
        def preprocess(raw):
            image, label = load(raw)
            image = preprocess_for_eval(image, image_size, mean, std)
            return tf.ensure_shape(image, [*image_size, 3]), label
        records = _records(source, split, shuffle, seed, cfg.shuffle_buffer,
                           cfg.skip_corrupt_records, start_batch * batch_size)
        if shuffle:
            records = records.map(lambda _, raw: raw)
        batches = records.map(preprocess, num_parallel_calls=AUTOTUNE, deterministic=True)
        return finish(batches.batch(batch_size, drop_remainder=shuffle), True)

    def train_at(start_batch: int) -> tf.data.Dataset:
        return train_batches(_records(source, "train", True, cfg.seed, cfg.shuffle_buffer,
                                      cfg.skip_corrupt_records, start_batch * cfg.batch_size),
                             cfg, image_size, mean, std, load)

    datasets: Dict[str, Optional[tf.data.Dataset]] = {"valid": None, "test": None}
    for split in ("valid", "test"):
        if source.shards.get(split):
            datasets[split] = eval_batches(split, cfg.eval_batch_size, False, cfg.seed)
    reward_at = None
    if source.shards.get("valid"):
        def reward_at(start_batch: int) -> tf.data.Dataset:
            return eval_batches("valid", cfg.batch_size, True, cfg.seed + 1, start_batch)
    counts = {split: source.counts.get(split, 0) for split in ("train", "valid", "test")}
    return ImageData(train_at(0), datasets["valid"], datasets["test"],
                     reward_at(0) if reward_at else None, len(source.class_names),
                     source.class_names, (image_size[0], image_size[1], 3), counts, tuple(mean),
                     tuple(std), train_at=train_at, reward_at=reward_at)
