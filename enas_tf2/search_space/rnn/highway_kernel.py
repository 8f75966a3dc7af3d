"""The recurrence of an ENAS RNN cell over a whole window, with a hand-written gradient.

Used by the weight-shared child, whose architecture is a tensor: one trace serves every
architecture and every window length (the time loop is a `tf.while_loop` over a None axis).
Letting autodiff differentiate such a loop with runtime node/function choices costs about twice a
static cell (every intermediate is pushed to a per-iteration stack, the runtime selections get
dense scatter gradients); the gradient below stores four tensors per node and step, walks the
window backwards once, and computes all weight gradients after the loop as one batched matmul
over ``T * B`` rows (bigger, faster matmuls than per-step ones).

Cell maths (docs/enas_reference.md §1.3, enas_lm): with ``m`` the state dropout mask,
  node 0:  ``[h, c] = x_t W_x + (s_{t-1} m) W_s``,  ``n_0 = s_{t-1} + σ(c) (f_0(h) - s_{t-1})``
  node k:  ``[h, c] = (n_p m) W_k`` with ``p = prev_k``,  ``n_k = n_p + σ(c) (f_k(h) - n_p)``
  output:  ``s_t = Σ_j out_weights[j] n_j``.
The caller computes ``x_t W_x`` for all steps at once (one big matmul, differentiated by
autodiff) and passes it in as `xw`.
"""

from __future__ import annotations

import tensorflow as tf

from enas_tf2.search_space.rnn import functions


def _activation_and_slope(h, func):
    """``(f(h), f'(h))`` for a canonical function id (Python int or int32 scalar tensor)."""
    def tanh():
        a = tf.tanh(h)
        return a, 1.0 - a * a

    def relu():
        return tf.nn.relu(h), tf.cast(h > 0.0, h.dtype)

    def sigmoid():
        a = tf.sigmoid(h)
        return a, a * (1.0 - a)

    def identity():
        return h, tf.ones_like(h)

    branches = [None] * functions.NUM_FUNCS
    branches[functions.TANH], branches[functions.RELU] = tanh, relu
    branches[functions.SIGMOID], branches[functions.IDENTITY] = sigmoid, identity
    if isinstance(func, int):
        return branches[func]()
    # Lowered to Switch/Merge inside tf.function: only the chosen branch runs.
    return tf.switch_case(func, branches)


def _add_to_chosen(values, index, delta):
    """``values`` with ``delta`` added to ``values[index]`` (``index`` an int32 scalar).

    One lowered `tf.cond` per entry: an entry that is not chosen passes through as soon as it
    exists, without waiting for ``delta``, and nothing is copied. The `tensor_scatter_nd_add`
    this replaces copied all K + 1 node gradients for every node of every step and chained
    every node's backward behind every later node's (kernel forward + backward 164 -> 129 ms,
    T = 35, B = 64, H = 200, K = 9; bench/README.md, RNN child).
    """
    return [tf.cond(tf.equal(index, j), lambda v=value: v + delta, lambda v=value: v)
            for j, value in enumerate(values)]


def highway_sequence(xw, s0, w_state, node_weights, prev, funcs, func0, out_weights,
                     state_mask=None):
    """Runs the cell over ``T`` steps; returns ``(outputs [T, B, H], last_state [B, H])``.

    Args:
      xw: ``[T, B, 2H]`` node 0's input half for every step (time-major).
      s0: ``[B, H]`` the state before the window.
      w_state: ``[H, 2H]`` node 0's state half (DropConnect already applied).
      node_weights: ``[K, H, 2H]`` the K searched nodes' weights (the sampled slices).
      prev: int32 ``[K]``, node k's input node (0..k-1).
      funcs: int32 ``[K]``, canonical function ids of nodes 1..K.
      func0: node 0's canonical function id (Python int when fixed, else an int32 scalar).
      out_weights: float ``[K + 1]``, the output's weight of every node (constants: no gradient).
      state_mask: ``[B, H]`` drop_l mask or None.

    Gradients flow to `xw`, `s0`, `w_state` and `node_weights`.
    """
    num_nodes = int(node_weights.shape[0])

    def masked(v):
        return v if state_mask is None else v * state_mask

    @tf.custom_gradient
    def run(xw, s0, w_state, node_weights):
        steps = tf.shape(xw)[0]
        weights = tf.unstack(node_weights, num_nodes)
        arrays = [tf.TensorArray(xw.dtype, size=steps) for _ in range(5)]

        def step(t, s, nodes_ta, keep_ta, slope_ta, gate_ta, out_ta):
            # Per node, store what the backward pass multiplies with: the node values (inputs of
            # the weight gradients), 1 - g, g f'(h) and (f(h) - p) g (1 - g).
            h, c = tf.split(xw[t] + tf.matmul(masked(s), w_state), 2, axis=1)
            nodes, keeps, slopes, gates = [], [], [], []
            inputs = s
            for k in range(num_nodes + 1):
                if k > 0:
                    # A lowered switch copies nothing (a gather over the stacked nodes copies
                    # them all; measured about 10 % slower for the whole cell).
                    inputs = tf.switch_case(prev[k - 1],
                                            [(lambda j=j: nodes[j]) for j in range(k)])
                    h, c = tf.split(tf.matmul(masked(inputs), weights[k - 1]), 2, axis=1)
                a, slope = _activation_and_slope(h, func0 if k == 0 else funcs[k - 1])
                g = tf.sigmoid(c)
                keep = 1.0 - g
                diff = a - inputs
                nodes.append(inputs + g * diff)
                keeps.append(keep)
                slopes.append(g * slope)
                gates.append(diff * g * keep)
            stacked = tf.stack(nodes)
            out = tf.tensordot(out_weights, stacked, 1)
            return (t + 1, out, nodes_ta.write(t, stacked), keep_ta.write(t, tf.stack(keeps)),
                    slope_ta.write(t, tf.stack(slopes)), gate_ta.write(t, tf.stack(gates)),
                    out_ta.write(t, out))

        _, last, nodes_ta, keep_ta, slope_ta, gate_ta, out_ta = tf.while_loop(
            lambda t, *_: t < steps, step, (tf.constant(0), s0, *arrays))
        outputs = out_ta.stack()
        node_values, keep_all = nodes_ta.stack(), keep_ta.stack()     # [T, K+1, B, H]
        slope_all, gate_all = slope_ta.stack(), gate_ta.stack()

        def grad(d_outputs, d_last):
            transposed = [tf.transpose(w) for w in [w_state] + weights]
            # An output the loss does not use may arrive as None.
            d_outputs = tf.zeros_like(outputs) if d_outputs is None else d_outputs
            d_last = tf.zeros_like(s0) if d_last is None else d_last

            def back(i, ds, d_ta):
                t = steps - 1 - i
                ds = ds + d_outputs[t]
                # d(loss)/d(node j), seeded by the output mean, filled from the last node back:
                # node k only feeds nodes > k, so its total is complete when k is reached.
                d_nodes = tf.unstack(out_weights[:, None, None] * ds[None], num_nodes + 1)
                keep = tf.unstack(keep_all[t], num_nodes + 1)
                slope = tf.unstack(slope_all[t], num_nodes + 1)
                gate = tf.unstack(gate_all[t], num_nodes + 1)
                d_ht = [None] * (num_nodes + 1)
                for k in range(num_nodes, -1, -1):
                    dn = d_nodes[k]
                    d_ht[k] = tf.concat([dn * slope[k], dn * gate[k]], axis=1)
                    d_in = dn * keep[k] + masked(tf.matmul(d_ht[k], transposed[k]))
                    if k == 0:
                        ds = d_in
                    else:
                        d_nodes = _add_to_chosen(d_nodes[:k], prev[k - 1], d_in)
                return i + 1, ds, d_ta.write(t, tf.stack(d_ht))

            _, d_s0, d_ta = tf.while_loop(
                lambda i, *_: i < steps, back,
                (tf.constant(0), tf.convert_to_tensor(d_last), tf.TensorArray(xw.dtype, steps)))
            d_ht_all = d_ta.stack()                                     # [T, K+1, B, 2H]
            # Inputs of every node at every step: s_{t-1} for node 0, n_prev for node k.
            s_prev = tf.concat([s0[None], outputs[:-1]], axis=0)[:, None]
            node_inputs = tf.concat([s_prev, tf.gather(node_values, prev, axis=1)], axis=1)
            if state_mask is not None:
                node_inputs = node_inputs * state_mask
            hidden = tf.shape(s0)[1]
            rows = tf.reshape(tf.transpose(node_inputs, [1, 0, 2, 3]),
                              [num_nodes + 1, -1, hidden])
            d_rows = tf.reshape(tf.transpose(d_ht_all, [1, 0, 2, 3]),
                                [num_nodes + 1, -1, 2 * hidden])
            d_weights = tf.matmul(rows, d_rows, transpose_a=True)      # [K+1, H, 2H]
            return d_ht_all[:, 0], d_s0, d_weights[0], d_weights[1:]

        return (outputs, last), grad

    return run(xw, s0, w_state, node_weights)
