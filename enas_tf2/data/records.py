"""The TFRecord layout shared by the converter (writer) and the input pipeline (reader).

One `tf.train.Example` per image. The image stays ENCODED (JPEG/PNG bytes as converted), so a
shard costs what the files cost on disk and decoding happens per batch in `tf.data`, never in RAM
for the whole dataset.
"""

import tensorflow as tf

ENCODED = "image/encoded"   # bytes: JPEG or PNG
FORMAT = "image/format"     # bytes: b"jpeg" or b"png"
LABEL = "image/label"       # int64 class id, 0 <= id < num_classes (ids in labels.json)
HEIGHT = "image/height"     # int64, height of the encoded image
WIDTH = "image/width"       # int64, width of the encoded image

FEATURES = {
    ENCODED: tf.io.FixedLenFeature([], tf.string),
    FORMAT: tf.io.FixedLenFeature([], tf.string, default_value=b"jpeg"),
    LABEL: tf.io.FixedLenFeature([], tf.int64),
    HEIGHT: tf.io.FixedLenFeature([], tf.int64),
    WIDTH: tf.io.FixedLenFeature([], tf.int64),
}

SPLITS = ("train", "valid", "test")


def shard_name(split: str, index: int, num_shards: int) -> str:
    """File name of one shard, e.g. ``train-00000-of-00004.tfrecord``."""
    return f"{split}-{index:05d}-of-{num_shards:05d}.tfrecord"


def _bytes(value: bytes) -> tf.train.Feature:
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))


def _int(value: int) -> tf.train.Feature:
    return tf.train.Feature(int64_list=tf.train.Int64List(value=[int(value)]))


def encode_example(encoded: bytes, fmt: str, label: int, height: int, width: int) -> bytes:
    """Serialises one image record."""
    example = tf.train.Example(features=tf.train.Features(feature={
        ENCODED: _bytes(encoded),
        FORMAT: _bytes(fmt.encode()),
        LABEL: _int(label),
        HEIGHT: _int(height),
        WIDTH: _int(width),
    }))
    return example.SerializeToString()


def parse_example(serialized: tf.Tensor) -> dict:
    """Parses one serialised record (graph-safe; use inside `Dataset.map`)."""
    return tf.io.parse_single_example(serialized, FEATURES)
