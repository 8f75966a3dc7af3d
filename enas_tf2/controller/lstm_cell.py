"""`StackedLSTM`: the controller's bias-free LSTM, one step per call (docs/enas_reference.md §2.1)."""

from __future__ import annotations

import keras
import tensorflow as tf

from enas_tf2.layers.list_tracking import track_items


class StackedLSTM(keras.layers.Layer):
    """A stack of LSTM cells without biases, advanced one step per call.

    Layer ``l`` computes gates ``[x, h_prev] @ W_l`` (``W_l``: ``2S x 4S``) split in the order
    i, f, o, g; ``c = sigmoid(i) * tanh(g) + sigmoid(f) * c_prev``, ``h = sigmoid(o) * tanh(c)``.
    Inputs must be ``units`` wide: ENAS embeds every controller input (start token, op embedding,
    anchor) in the hidden size. Weights are uniform(-init_range, init_range), as the original.

    Args:
      units: hidden size S.
      num_layers: stacked cells (all ENAS scripts use 1).
      init_range: half-width of the uniform initialiser.

    Call: ``h_top, new_states = lstm(inputs, states)`` with `inputs` ``[batch, S]`` and `states` a
    tuple of ``(c, h)`` pairs, one per layer (see `initial_state`).
    """

    def __init__(self, units: int, num_layers: int = 1, init_range: float = 0.1, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)
        self.num_layers = int(num_layers)
        self.init_range = float(init_range)

    def build(self, input_shape=None):
        """Creates one ``[2S, 4S]`` kernel per layer; the input shape is implied by `units`."""
        init = keras.initializers.RandomUniform(-self.init_range, self.init_range)
        self.kernels = [
            self.add_weight(name=f"layer_{i}_kernel", shape=(2 * self.units, 4 * self.units),
                            initializer=init)
            for i in range(self.num_layers)]
        track_items(self, "kernels", self.kernels)

    def initial_state(self, batch_size: int = 1):
        """All-zero ``(c, h)`` pairs, one per layer, for a batch of `batch_size` rollouts."""
        zeros = tf.zeros([batch_size, self.units], self.compute_dtype)
        return tuple((zeros, zeros) for _ in range(self.num_layers))

    def call(self, inputs, states):
        """Advances every layer one step; returns the top layer's h and the new states."""
        x = inputs
        new_states = []
        for kernel, (c_prev, h_prev) in zip(self.kernels, states):
            gates = tf.matmul(tf.concat([x, h_prev], axis=1), kernel)
            i, f, o, g = tf.split(gates, 4, axis=1)
            c = tf.sigmoid(i) * tf.tanh(g) + tf.sigmoid(f) * c_prev
            x = tf.sigmoid(o) * tf.tanh(c)
            new_states.append((c, x))
        return x, tuple(new_states)

    def get_config(self):
        """Constructor arguments, for Keras serialisation."""
        config = super().get_config()
        config.update(units=self.units, num_layers=self.num_layers, init_range=self.init_range)
        return config
