"""`MacroController`: the macro space's decision sequence on the shared LSTM machinery (§2.2)."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from enas_tf2.configs.base import ControllerConfig
from enas_tf2.controller.decisions import shape_logits
from enas_tf2.controller.policy_controller import PolicyController
from enas_tf2.controller.policy_output import PolicyOutput
from enas_tf2.controller.rollout import Rollout
from enas_tf2.errors import EnasError
from enas_tf2.search_space.macro import ops


class MacroController(PolicyController):
    """The macro-space LSTM policy (docs/enas_reference.md §2.2).

    Per layer ``i``: an LSTM step whose output gives the op logits ``h W_soft`` (temperature,
    then ``tanh_constant * tanh``; the next input is the op's embedding ``W_emb[op]``); a second
    LSTM step whose output is the layer's anchor ``a_i``; for ``i > 0``, ``i`` independent skip
    bits with two-way logits ``[-q_j, q_j]`` (same shaping), ``q_j`` the attention score of
    anchor ``a_j``, and the next input ``(sum_j bit_j a_j) / (1 + sum_j bit_j)``; for ``i = 0``
    the next input is ``g_emb``. Bit ``j`` attends to the controller's anchor of layer ``j``
    while in the network it adds ``prev[j]`` (the stem for j = 0, else layer ``j-1``'s output):
    the original's off-by-one, reproduced (docs/enas_reference.md §1.1, P7). Entropy is the
    sampled-choice term ``p (-log p)`` of every decision.

    Skip penalty (added to the controller loss, not the reward): per layer ``i > 0``,
    ``KL_i = sum_jk P_jk log(P_jk / t_k)`` with ``P = sigmoid`` (element-wise) of the shaped
    two-way logits and ``t = [1 - skip_target, skip_target]``; the penalty is the mean of
    ``KL_i`` over the ``L - 1`` layers that have skips. `PolicyOutput.aux_loss` is
    ``skip_weight`` times that penalty (already weighted).

    Call: ``controller(seed=s)`` samples, ``controller(arch=a)`` scores an int32 ``[L, L]``
    tensor (`MacroArch.to_array` layout); both return a `PolicyOutput`.

    Args:
      num_layers: L (``child_num_layers``).
      config: the controller settings (LSTM, temperature, tanh constant, ...).
      skip_target: rho of the skip penalty.
      skip_weight: weight of the skip penalty in `aux_loss`.
    """

    entropy_mode = "sampled"

    def __init__(self, num_layers: int, config: ControllerConfig = ControllerConfig(),
                 skip_target: float = 0.4, skip_weight: float = 0.8, **kwargs):
        kwargs.setdefault("name", "macro_controller")
        super().__init__(config, **kwargs)
        if isinstance(num_layers, bool) or not isinstance(num_layers, (int, np.integer)) \
                or num_layers < 1:
            raise EnasError(f"num_layers must be an integer >= 1, got {num_layers!r}")
        if not 0.0 < skip_target < 1.0:
            raise EnasError(f"skip_target must be in (0, 1), got {skip_target}")
        self.num_layers = int(num_layers)
        self.skip_target = float(skip_target)
        self.skip_weight = float(skip_weight)
        self.temperature = config.temperature
        self.tanh_constant = config.tanh_constant

    @property
    def arch_shape(self):
        """``(L, L)``: row i = op, skip bits of layer i, zero padding."""
        return (self.num_layers, self.num_layers)

    def build_decision_weights(self):
        """Op embeddings ``W_emb`` [6, S] and op softmax ``W_soft`` [S, 6] (no bias in macro)."""
        s, init = self.lstm_size, self.uniform_initializer()
        self.w_emb = self.add_weight(name="w_emb", shape=(ops.NUM_OPS, s), initializer=init)
        self.w_soft = self.add_weight(name="w_soft", shape=(s, ops.NUM_OPS), initializer=init)

    def run_policy(self, rollout: Rollout, arch) -> PolicyOutput:
        """All layers; `arch` (scoring) supplies every decision, else they are sampled."""
        states = self.lstm.initial_state()
        targets = tf.constant([1.0 - self.skip_target, self.skip_target], tf.float32)
        inputs = self.g_emb
        anchors, keys, rows, kls = [], [], [], []
        for i in range(self.num_layers):
            h, states = self.lstm(inputs, states)
            logits = shape_logits(tf.reshape(tf.matmul(h, self.w_soft), [-1]),
                                  self.temperature, self.tanh_constant)
            op = rollout.decide(logits, None if arch is None else arch[i, 0])
            inputs = tf.reshape(tf.gather(self.w_emb, op), [1, -1])

            h, states = self.lstm(inputs, states)
            if i > 0:
                scores = self.attention(tf.concat(keys, 0), h)                # [i]
                logits = shape_logits(tf.stack([-scores, scores], axis=1),
                                      self.temperature, self.tanh_constant)    # [i, 2]
                bits = rollout.decide(logits, None if arch is None else arch[i, 1:i + 1])
                probs = tf.sigmoid(logits)
                kls.append(tf.reduce_sum(probs * tf.math.log(probs / targets)))
                on = tf.cast(tf.reshape(bits, [1, i]), tf.float32)
                inputs = tf.matmul(on, tf.concat(anchors, 0)) / (1.0 + tf.reduce_sum(on))
                padding = tf.zeros([self.num_layers - 1 - i], tf.int32)
                rows.append(tf.concat([tf.reshape(op, [1]), bits, padding], 0))
            else:
                inputs = self.g_emb
                padding = tf.zeros([self.num_layers - 1], tf.int32)
                rows.append(tf.concat([tf.reshape(op, [1]), padding], 0))
            anchors.append(h)
            keys.append(self.attention.key(h))
        penalty = tf.add_n(kls) / len(kls) if kls else tf.constant(0.0, tf.float32)
        return rollout.output(tf.stack(rows), aux_loss=self.skip_weight * penalty)

    def skip_rate(self, arch) -> tf.Tensor:
        """Skips on / ``L(L-1)/2`` of an int32 ``[L, L]`` architecture tensor (the original's
        logged skip rate; 0 when L = 1)."""
        possible = self.num_layers * (self.num_layers - 1) // 2
        total = tf.reduce_sum(tf.cast(arch[:, 1:], tf.float32))
        return total / possible if possible else tf.constant(0.0, tf.float32)

    def get_config(self):
        """Keras config: the base fields plus the macro arguments."""
        config = super().get_config()
        config.update(num_layers=self.num_layers, skip_target=self.skip_target,
                      skip_weight=self.skip_weight)
        return config
