"""`Nb201Controller`: the NAS-Bench-201 decision sequence on the shared LSTM machinery."""

from __future__ import annotations

import tensorflow as tf

from enas_tf2.configs.base import ControllerConfig
from enas_tf2.controller.decisions import shape_logits
from enas_tf2.controller.policy_controller import PolicyController
from enas_tf2.controller.policy_output import PolicyOutput
from enas_tf2.controller.rollout import Rollout
from enas_tf2.search_space.nb201 import ops


class Nb201Controller(PolicyController):
    """The LSTM policy over the six edge decisions (the ENAS op decision of docs/enas_reference.md
    §2.3, without index decisions: the cell's wiring is fixed).

    Per edge, in `ops.EDGES` order: one LSTM step (the first on ``g_emb``), op logits
    ``h W_soft + b_soft`` -> temperature -> ``tanh_constant * tanh``; the next input is the chosen
    op's embedding ``W_emb[op]``. Entropy is the full categorical entropy of every decision.

    Call: ``controller(seed=s)`` samples, ``controller(arch=a)`` scores an int32 ``[6]`` tensor
    (`Nb201Arch.to_array`); both return a `PolicyOutput`.
    """

    entropy_mode = "full"

    def __init__(self, config: ControllerConfig = ControllerConfig(), **kwargs):
        kwargs.setdefault("name", "nb201_controller")
        super().__init__(config, **kwargs)
        self.temperature = config.temperature
        self.tanh_constant = config.tanh_constant

    @property
    def arch_shape(self):
        """``(6,)``: one op id per edge."""
        return (ops.NUM_EDGES,)

    def build_decision_weights(self):
        """Op embeddings ``W_emb`` [5, S], op softmax ``W_soft`` [S, 5] and bias ``b_soft``."""
        s, init = self.lstm_size, self.uniform_initializer()
        self.w_emb = self.add_weight(name="w_emb", shape=(ops.NUM_OPS, s), initializer=init)
        self.w_soft = self.add_weight(name="w_soft", shape=(s, ops.NUM_OPS), initializer=init)
        self.b_soft = self.add_weight(name="b_soft", shape=(1, ops.NUM_OPS), initializer="zeros")

    def run_policy(self, rollout: Rollout, arch) -> PolicyOutput:
        """The six edges; `arch` (scoring) supplies every decision, else they are sampled."""
        states = self.lstm.initial_state()
        inputs = self.g_emb
        chosen = []
        for edge in range(ops.NUM_EDGES):
            h, states = self.lstm(inputs, states)
            logits = shape_logits(tf.reshape(tf.matmul(h, self.w_soft) + self.b_soft, [-1]),
                                  self.temperature, self.tanh_constant)
            op = rollout.decide(logits, None if arch is None else arch[edge])
            chosen.append(op)
            inputs = tf.reshape(tf.gather(self.w_emb, op), [1, -1])
        return rollout.output(tf.stack(chosen))
