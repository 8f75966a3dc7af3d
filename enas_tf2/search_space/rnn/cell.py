"""`SharedRnnCell`: the weight-shared recurrent cell, for any architecture of the space."""

from __future__ import annotations

import keras
import tensorflow as tf

from enas_tf2.layers.list_tracking import track_items
from enas_tf2.search_space.rnn import functions
from enas_tf2.search_space.rnn.highway_kernel import highway_sequence


class SharedRnnCell(keras.layers.Layer):
    """The cell of the weight-shared child: the architecture is an int32 token tensor, so one
    trace serves every cell and every window length; only the sampled nodes' weights are used.

    Weights (docs/enas_reference.md §5.2), all uniform(±init_range):
      * ``w_prev``: node 0, rows ``[x; s]``: ``[E + H, 2H]`` (enas_lm, node 0 is always tanh);
        the original variant searches node 0's function, so it is a bank ``[4, E + H, 2H]``
        indexed by that function.
      * ``node_banks[k - 1]``: node k's bank ``[4 * k, H, 2H]``, row ``func * k + prev``: enas_lm's
        ``[4, k, H, 2H]`` bank indexed (func, prev), flattened on its first two axes so that one
        `tf.gather` selects a slice and the gradient stays sparse (IndexedSlices: the optimizer
        touches only the sampled slices).

    Call: ``outputs, last = cell(x, state, arch, state_mask=None, weight_masks=None)`` with `x`
    ``[B, T, E]`` (input dropout already applied), `state` ``[B, H]``, `arch` the token vector;
    returns the cell outputs ``[B, T, H]`` and the state after the last step. `state_mask`
    (``[B, H]``) and `weight_masks` (K + 1 DropConnect masks ``[H, 2H]``) are the training masks.

    Args:
      num_nodes: K.
      input_size: E, width of x_t.
      hidden_size: H.
      cell_variant: ``"enas_lm"`` or ``"original"`` (how `arch` is laid out, output rule).
      init_range: half-width of the uniform initialiser.
    """

    def __init__(self, num_nodes: int, input_size: int, hidden_size: int,
                 cell_variant: str = functions.ENAS_LM, init_range: float = 0.04, **kwargs):
        super().__init__(**kwargs)
        self.num_nodes = int(num_nodes)
        self.input_size = int(input_size)
        self.hidden_size = int(hidden_size)
        self.cell_variant = cell_variant
        self.init_range = float(init_range)

    def build(self, input_shape=None):
        """Creates node 0's weight (or bank) and the K node banks."""
        init = keras.initializers.RandomUniform(-self.init_range, self.init_range)
        e, h, f = self.input_size, self.hidden_size, functions.NUM_FUNCS
        shape = (e + h, 2 * h) if self.cell_variant == functions.ENAS_LM else (f, e + h, 2 * h)
        self.w_prev = self.add_weight(name="w_prev", shape=shape, initializer=init)
        self.node_banks = [self.add_weight(name=f"w_node_{k}", shape=(f * k, h, 2 * h),
                                           initializer=init)
                           for k in range(1, self.num_nodes + 1)]
        track_items(self, "node_banks", self.node_banks)

    # ---- the architecture tensor ---------------------------------------------------------------
    def decode(self, arch):
        """``(prev [K], funcs [K], func0, out_weights [K + 1])`` from the token vector; function
        ids canonical, `func0` a Python int when node 0 is fixed."""
        arch = tf.cast(arch, tf.int32)
        k = self.num_nodes
        if self.cell_variant == functions.ENAS_LM:
            prev, funcs, func0 = arch[0::2], arch[1::2], functions.TANH
            out_weights = tf.constant([0.0] + [1.0 / k] * k, tf.float32)
        else:
            table = tf.constant(functions.CANONICAL_FROM_ORIGINAL, tf.int32)
            prev = arch[1::2]
            funcs = tf.gather(table, arch[2::2])
            func0 = tf.gather(table, arch[0])
            # The output averages the loose ends: nodes no node reads (node 0 included).
            used = tf.reduce_max(tf.one_hot(prev, k + 1, dtype=tf.float32), axis=0)
            out_weights = (1.0 - used) / tf.reduce_sum(1.0 - used)
        return prev, funcs, func0, out_weights

    def selected_weights(self, arch):
        """``(w_prev [E + H, 2H], node_weights [K, H, 2H])``: the weights `arch` uses."""
        prev, funcs, func0, _ = self.decode(arch)
        w_prev = self.w_prev if isinstance(func0, int) else tf.gather(self.w_prev, func0)
        nodes = [tf.gather(bank, funcs[k - 1] * k + prev[k - 1])
                 for k, bank in enumerate(self.node_banks, start=1)]
        return w_prev, tf.stack(nodes)

    # ---- running ---------------------------------------------------------------------------
    def call(self, x, state, arch, state_mask=None, weight_masks=None):
        """Runs the cell over the window (see the class docstring)."""
        prev, funcs, func0, out_weights = self.decode(arch)
        w_prev, node_weights = self.selected_weights(arch)
        e = self.input_size
        w_x, w_state = w_prev[:e], w_prev[e:]
        if weight_masks is not None:
            w_state = w_state * weight_masks[0]
            node_weights = node_weights * tf.stack(weight_masks[1:])
        # Node 0's input half for every step in one matmul, time-major for the loop.
        x_t = tf.transpose(x, [1, 0, 2])
        xw = tf.reshape(tf.matmul(tf.reshape(x_t, [-1, e]), w_x),
                        [tf.shape(x_t)[0], -1, 2 * self.hidden_size])
        outputs, last = highway_sequence(xw, state, w_state, node_weights, prev, funcs, func0,
                                         out_weights, state_mask)
        return tf.transpose(outputs, [1, 0, 2]), last

    def get_config(self):
        """Constructor arguments, for Keras serialisation."""
        config = super().get_config()
        config.update(num_nodes=self.num_nodes, input_size=self.input_size,
                      hidden_size=self.hidden_size, cell_variant=self.cell_variant,
                      init_range=self.init_range)
        return config
