"""Per-replica accuracy counting shared by the search and final-training steps."""

import tensorflow as tf


def count_correct(logits, labels) -> tf.Tensor:
    """Number of examples whose arg-max logit is the label (float32 scalar, summable)."""
    hits = tf.equal(tf.argmax(logits, -1, output_type=tf.int32), tf.cast(labels, tf.int32))
    return tf.reduce_sum(tf.cast(hits, tf.float32))
