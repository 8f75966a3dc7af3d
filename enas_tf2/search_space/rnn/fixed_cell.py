"""`FixedRnnCell`: the recurrent cell of one fixed architecture (Python-int wiring)."""

from __future__ import annotations

import keras
import tensorflow as tf

from enas_tf2.layers.list_tracking import track_items
from enas_tf2.search_space.rnn import functions
from enas_tf2.search_space.rnn.arch import RnnArch

_ACTIVATIONS = {functions.TANH: tf.tanh, functions.RELU: tf.nn.relu,
                functions.SIGMOID: tf.sigmoid, functions.IDENTITY: tf.identity}


class FixedRnnCell(keras.layers.Layer):
    """The cell of the fixed language model: only its own nodes, wired with Python ints, plain
    autodiff through a `tf.while_loop` over the (None) time axis.

    Maths as docs/enas_reference.md §1.3 / `highway_kernel`: node 0 ``[h, c] = x_t W_x + (s m) W_s``, node k
    ``[h, c] = (n_prev m) W_k``, each ``n = p + σ(c) (f(h) - p)``; the output is the mean of
    `arch.output_nodes()`.

    Weights: ``w_prev`` ``[E + H, 2H]`` (rows x then s) and ``node_weights[k - 1]`` ``[H, 2H]``,
    uniform(±init_range).

    Call: ``outputs, last = cell(x, state, state_mask=None, weight_masks=None)`` as
    `SharedRnnCell` without the architecture argument.

    Args:
      arch: the `RnnArch` (either variant).
      input_size: E.
      hidden_size: H.
      init_range: half-width of the uniform initialiser.
    """

    def __init__(self, arch: RnnArch, input_size: int, hidden_size: int,
                 init_range: float = 0.05, **kwargs):
        super().__init__(**kwargs)
        self.arch = arch
        self.input_size = int(input_size)
        self.hidden_size = int(hidden_size)
        self.init_range = float(init_range)

    def build(self, input_shape=None):
        """Creates node 0's weight and one ``[H, 2H]`` weight per node."""
        init = keras.initializers.RandomUniform(-self.init_range, self.init_range)
        e, h = self.input_size, self.hidden_size
        self.w_prev = self.add_weight(name="w_prev", shape=(e + h, 2 * h), initializer=init)
        self.node_weights = [self.add_weight(name=f"w_node_{k}", shape=(h, 2 * h),
                                             initializer=init)
                             for k in range(1, self.arch.num_nodes + 1)]
        track_items(self, "node_weights", self.node_weights)

    def call(self, x, state, state_mask=None, weight_masks=None):
        """Runs the cell over the window; returns ``(outputs [B, T, H], last [B, H])``."""
        arch, e = self.arch, self.input_size
        w_x, w_state = self.w_prev[:e], self.w_prev[e:]
        node_weights = list(self.node_weights)
        if weight_masks is not None:
            w_state = w_state * weight_masks[0]
            node_weights = [w * m for w, m in zip(node_weights, weight_masks[1:])]
        activations = [_ACTIVATIONS[arch.node0_activation()]] + [
            _ACTIVATIONS[a] for a in arch.activations()]
        prevs = [None] + [node.prev for node in arch.nodes]
        outputs_ids = arch.output_nodes()
        x_t = tf.transpose(x, [1, 0, 2])
        steps = tf.shape(x_t)[0]
        xw = tf.reshape(tf.matmul(tf.reshape(x_t, [-1, e]), w_x),
                        [steps, -1, 2 * self.hidden_size])

        def masked(v):
            return v if state_mask is None else v * state_mask

        def step(t, s, out_ta):
            h, c = tf.split(xw[t] + tf.matmul(masked(s), w_state), 2, axis=1)
            nodes = [s + tf.sigmoid(c) * (activations[0](h) - s)]
            for k in range(1, arch.num_nodes + 1):
                p = nodes[prevs[k]]
                h, c = tf.split(tf.matmul(masked(p), node_weights[k - 1]), 2, axis=1)
                nodes.append(p + tf.sigmoid(c) * (activations[k](h) - p))
            out = tf.add_n([nodes[j] for j in outputs_ids]) / float(len(outputs_ids))
            return t + 1, out, out_ta.write(t, out)

        _, last, out_ta = tf.while_loop(lambda t, *_: t < steps, step,
                                        (tf.constant(0), state,
                                         tf.TensorArray(x.dtype, size=steps)))
        return tf.transpose(out_ta.stack(), [1, 0, 2]), last

    def get_config(self):
        """Constructor arguments; the architecture as its token string."""
        config = super().get_config()
        config.update(arch=self.arch.tokens(), cell_variant=self.arch.cell_variant,
                      input_size=self.input_size, hidden_size=self.hidden_size,
                      init_range=self.init_range)
        return config

    @classmethod
    def from_config(cls, config):
        """Inverse of `get_config`."""
        config = dict(config)
        config["arch"] = RnnArch.from_tokens(config.pop("arch"), config.pop("cell_variant"))
        return cls(**config)
