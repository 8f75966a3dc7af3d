"""`AnchorAttention`: scores earlier anchors as ``v^T tanh(W1 a_j + W2 h)`` (docs/enas_reference.md §2.1)."""

from __future__ import annotations

import keras
import tensorflow as tf


class AnchorAttention(keras.layers.Layer):
    """The additive attention the controllers use to pick earlier nodes/layers.

    The ``W1 a_j`` terms ("keys") do not depend on the current state, so the controllers store
    them once per anchor with `key` (as the original does) and `call` only adds ``W2 h``.

    Args:
      units: hidden size S (anchors, keys and the query are all S wide).
      init_range: half-width of the uniform initialiser.

    Call: ``scores = attention(keys, query)``: `keys` ``[n, S]`` (from `key`), `query` ``[1, S]``
    (the current LSTM output) → ``[n]`` unnormalised logits, one per anchor.
    """

    def __init__(self, units: int, init_range: float = 0.1, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)
        self.init_range = float(init_range)

    def build(self, input_shape=None):
        """Creates ``W1``, ``W2`` (``S x S``) and ``v`` (``S x 1``)."""
        init = keras.initializers.RandomUniform(-self.init_range, self.init_range)
        s = self.units
        self.w_1 = self.add_weight(name="w_1", shape=(s, s), initializer=init)
        self.w_2 = self.add_weight(name="w_2", shape=(s, s), initializer=init)
        self.v = self.add_weight(name="v", shape=(s, 1), initializer=init)

    def key(self, anchor):
        """``anchor @ W1`` (``[k, S]`` → ``[k, S]``): the stored attention key of an anchor."""
        return tf.matmul(anchor, self.w_1)

    def call(self, keys, query):
        """One score per key: ``v^T tanh(key_j + query @ W2)``."""
        hidden = tf.tanh(keys + tf.matmul(query, self.w_2))
        return tf.reshape(tf.matmul(hidden, self.v), [-1])

    def get_config(self):
        """Constructor arguments, for Keras serialisation."""
        config = super().get_config()
        config.update(units=self.units, init_range=self.init_range)
        return config
