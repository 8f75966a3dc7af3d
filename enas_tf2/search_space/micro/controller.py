"""`MicroController`: the micro space's decision sequence on the shared LSTM machinery (§2.3)."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from enas_tf2.configs.base import ControllerConfig
from enas_tf2.controller.decisions import shape_logits
from enas_tf2.controller.policy_controller import PolicyController
from enas_tf2.controller.policy_output import PolicyOutput
from enas_tf2.controller.rollout import Rollout
from enas_tf2.errors import EnasError
from enas_tf2.search_space.micro import ops
from enas_tf2.search_space.micro.arch import NUM_INPUT_NODES, TOKENS_PER_NODE, MicroArch

# Initial value of the learned op-logit bias: strongly favours the two separable convolutions at
# the start of the search (the original's [10, 10, 0, 0, 0]).
OP_BIAS_INIT = tuple(10.0 if op in ops.SEP_CONV_OPS else 0.0 for op in range(ops.NUM_OPS))
# Fixed bias added after the tanh in the normal cell only: the original nudges normal cells
# towards convolutions and away from pooling/identity ([+.25, +.25, -.25, -.25, -.25]).
NORMAL_CELL_OP_BIAS = tuple(0.25 if op in ops.SEP_CONV_OPS else -0.25
                            for op in range(ops.NUM_OPS))


class MicroController(PolicyController):
    """The micro-space LSTM policy (docs/enas_reference.md §2.3).

    Two passes with the same weights, the normal cell then the reduction cell; the reduction pass
    starts from the normal pass's final LSTM state. Per pass: two LSTM steps on ``g_emb`` for the
    cell inputs (zero anchors, keys ``W1 h``); then per node, two index decisions (attention over
    the node's predecessors; the next input is the chosen node's anchor), two op decisions
    (``h W_soft + b_soft`` → temperature → ``(tanh_constant / op_tanh_reduce) tanh`` → fixed
    normal-cell bias; the next input is the op's embedding) and one more step whose output is the
    node's anchor. Decisions are made in the order idx1, idx2, op1, op2 and emitted as idx1, op1,
    idx2, op2. Entropy is the full categorical entropy of every decision.

    Call: ``controller(seed=s)`` samples, ``controller(arch=a)`` scores an int32
    ``[2, num_cells, 4]`` tensor (or a `MicroArch`); both return a `PolicyOutput`.

    Args:
      num_cells: searched nodes per cell (``child_num_cells``).
      config: the controller settings.
      op_tanh_reduce: op logits use ``tanh_constant / op_tanh_reduce`` (`MicroConfig`).
    """

    entropy_mode = "full"

    def __init__(self, num_cells: int, config: ControllerConfig = ControllerConfig(),
                 op_tanh_reduce: float = 1.0, **kwargs):
        kwargs.setdefault("name", "micro_controller")
        super().__init__(config, **kwargs)
        if isinstance(num_cells, bool) or not isinstance(num_cells, (int, np.integer)) \
                or num_cells < 1:
            raise EnasError(f"num_cells must be an integer >= 1, got {num_cells!r}")
        self.num_cells = int(num_cells)
        cfg = config
        self.temperature = cfg.temperature
        self.index_tanh = cfg.tanh_constant
        self.op_tanh_reduce = float(op_tanh_reduce)
        self.op_tanh = None if cfg.tanh_constant is None else cfg.tanh_constant / op_tanh_reduce

    @property
    def arch_shape(self):
        """``(2, num_cells, 4)``: normal/reduction cell x node x (idx1, op1, idx2, op2)."""
        return (2, self.num_cells, TOKENS_PER_NODE)

    def build_decision_weights(self):
        """Op embeddings ``W_emb`` [5, S], op softmax ``W_soft`` [S, 5] and bias ``b_soft`` [1, 5]."""
        s, init = self.lstm_size, self.uniform_initializer()
        self.w_emb = self.add_weight(name="w_emb", shape=(ops.NUM_OPS, s), initializer=init)
        self.w_soft = self.add_weight(name="w_soft", shape=(s, ops.NUM_OPS), initializer=init)
        self.b_soft = self.add_weight(
            name="b_soft", shape=(1, ops.NUM_OPS),
            initializer=keras.initializers.Constant(np.array([OP_BIAS_INIT], np.float32)))

    def arch_to_tensor(self, arch) -> tf.Tensor:
        """Accepts a `MicroArch` as well as an int32 ``[2, num_cells, 4]`` tensor."""
        if isinstance(arch, MicroArch):
            arch = arch.to_array()
        return super().arch_to_tensor(arch)

    def run_policy(self, rollout: Rollout, arch) -> PolicyOutput:
        """Both cell passes; `arch` (scoring) supplies every decision, else they are sampled."""
        states = self.lstm.initial_state()
        cells = []
        for cell_id in range(2):
            forced = None if arch is None else arch[cell_id]
            # The fixed op bias is part of the normal cell's policy only (use_bias in the original).
            op_bias = NORMAL_CELL_OP_BIAS if cell_id == 0 else None
            nodes, states = self._cell_pass(rollout, states, forced, op_bias)
            cells.append(nodes)
        return rollout.output(tf.stack(cells))

    def _cell_pass(self, rollout, states, forced, op_bias):
        """One cell: returns its ``[num_cells, 4]`` tokens and the final LSTM states."""
        inputs = self.g_emb
        anchors, keys = [], []
        for _ in range(NUM_INPUT_NODES):
            h, states = self.lstm(inputs, states)
            # Cell inputs have no controller state of their own: zero anchors, but real keys.
            anchors.append(tf.zeros_like(h))
            keys.append(self.attention.key(h))
        nodes = []
        for node in range(self.num_cells):
            tokens = [None] * TOKENS_PER_NODE
            for column in (0, 2):                       # index_1, index_2
                h, states = self.lstm(inputs, states)
                logits = shape_logits(self.attention(tf.concat(keys, 0), h),
                                      self.temperature, self.index_tanh)
                choice = rollout.decide(logits, None if forced is None else forced[node, column])
                tokens[column] = choice
                inputs = tf.reshape(tf.gather(tf.concat(anchors, 0), choice), [1, -1])
            for column in (1, 3):                       # op_1, op_2
                h, states = self.lstm(inputs, states)
                logits = tf.reshape(tf.matmul(h, self.w_soft) + self.b_soft, [-1])
                logits = shape_logits(logits, self.temperature, self.op_tanh)
                if op_bias is not None:
                    logits = logits + tf.constant(op_bias, tf.float32)
                choice = rollout.decide(logits, None if forced is None else forced[node, column])
                tokens[column] = choice
                inputs = tf.reshape(tf.gather(self.w_emb, choice), [1, -1])
            h, states = self.lstm(inputs, states)
            anchors.append(h)
            keys.append(self.attention.key(h))
            inputs = self.g_emb
            nodes.append(tf.stack(tokens))
        return tf.stack(nodes), states

    def sample_arch(self, seed) -> MicroArch:
        """Eager convenience for deriving: the `MicroArch` sampled from `seed`."""
        return MicroArch.from_array(self(seed=seed).arch.numpy())

    def get_config(self):
        """Keras config: the base fields plus `num_cells`."""
        config = super().get_config()
        config["num_cells"] = self.num_cells
        config["op_tanh_reduce"] = self.op_tanh_reduce
        return config
