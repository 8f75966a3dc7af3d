"""`RnnController`: the PTB cell sampler on the shared LSTM machinery (docs/enas_reference.md §2.1, §2.4)."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from enas_tf2.configs.base import ControllerConfig
from enas_tf2.controller.decisions import shape_logits
from enas_tf2.controller.policy_controller import PolicyController
from enas_tf2.controller.policy_output import PolicyOutput
from enas_tf2.controller.rollout import Rollout
from enas_tf2.errors import EnasError
from enas_tf2.search_space.rnn import functions
from enas_tf2.search_space.rnn.arch import RnnArch

# Both samplers subtract (k - j)^2 / RECENCY_DIVISOR from the logit of node j when node k picks its
# input: a prior towards recent nodes (deep, chain-like cells), applied after temperature/tanh.
RECENCY_DIVISOR = 6.0
# The chosen anchor is fed back divided by (ANCHOR_OFFSET + distance): far inputs feed in weaker.
ANCHOR_OFFSET = 0.1


class RnnController(PolicyController):
    """The RNN-cell LSTM policy (docs/enas_reference.md §2.4), in the enas_lm or the original variant.

    enas_lm (default): node 0 is fixed and its anchor is a zero vector (zero key too). For each
    searched node k = 1..K: one LSTM step gives h (node k's anchor); the prev logits are the
    attention scores of the anchors of nodes 0..k-1 against h, then temperature, then
    ``tanh_constant * tanh``, then the recency prior; the next input is the chosen anchor divided
    by ``0.1 + (k - prev)``. A second LSTM step gives the function logits ``h W_emb^T`` (tied with
    the function embeddings), shaped the same way; the next input is ``W_emb[func]``. Tokens
    ``prev_1 func_1 ... prev_K func_K``.

    original: node 0 is searched too and has a real anchor (its first LSTM output); node 0 makes
    no prev decision (its next input is ``g_emb``); function logits come from a separate
    ``W_soft`` (S x 4). Tokens ``func_0 prev_1 func_1 ...`` (2K + 1). All four functions are
    sampled (the original HEAD script's controller sampled only tanh/ReLU, pitfall P5).

    Entropy is the "sampled" variant ``p * -log p`` of each chosen value; no auxiliary loss.

    Args:
      num_nodes: K, the searched nodes (enas_lm search: 9).
      config: LSTM size, init range (enas_lm: 64, 0.01), temperature 5, tanh constant 2.25.
      cell_variant: ``"enas_lm"`` or ``"original"``.
    """

    entropy_mode = "sampled"

    def __init__(self, num_nodes: int, config: ControllerConfig = ControllerConfig(),
                 cell_variant: str = functions.ENAS_LM, **kwargs):
        kwargs.setdefault("name", "rnn_controller")
        super().__init__(config, **kwargs)
        if isinstance(num_nodes, bool) or not isinstance(num_nodes, (int, np.integer)) \
                or num_nodes < 1:
            raise EnasError(f"num_nodes must be an integer >= 1, got {num_nodes!r}")
        if cell_variant not in functions.VARIANTS:
            raise EnasError(f"unknown RNN cell variant {cell_variant!r}; choose one of "
                            f"{', '.join(functions.VARIANTS)}")
        self.num_nodes = int(num_nodes)
        self.cell_variant = cell_variant
        self.temperature = config.temperature
        self.tanh_constant = config.tanh_constant

    @property
    def arch_shape(self):
        """``(2K,)`` (enas_lm) or ``(2K + 1,)`` (original): the token vector."""
        return (RnnArch.num_tokens_for(self.num_nodes, self.cell_variant),)

    def build_decision_weights(self):
        """Function embeddings ``W_emb`` [4, S]; the original variant adds ``W_soft`` [S, 4]."""
        s, init = self.lstm_size, self.uniform_initializer()
        self.w_emb = self.add_weight(name="w_emb", shape=(functions.NUM_FUNCS, s),
                                     initializer=init)
        if self.cell_variant == functions.ORIGINAL:
            self.w_soft = self.add_weight(name="w_soft", shape=(s, functions.NUM_FUNCS),
                                          initializer=init)

    def arch_to_tensor(self, arch) -> tf.Tensor:
        """Accepts an `RnnArch` of this controller's variant as well as a token vector."""
        if isinstance(arch, RnnArch):
            if arch.cell_variant != self.cell_variant:
                raise EnasError(f"{self.name} scores {self.cell_variant} cells, got a "
                                f"{arch.cell_variant} architecture")
            arch = arch.to_array()
        return super().arch_to_tensor(arch)

    # ---- decisions ---------------------------------------------------------------------------
    def _prev_decision(self, rollout, keys, anchors, h, node, forced):
        """Node `node` picks its input among nodes 0..node-1; returns the choice and next input."""
        logits = shape_logits(self.attention(tf.concat(keys, 0), h), self.temperature,
                              self.tanh_constant)
        distance = tf.cast(node - tf.range(node), tf.float32)
        logits = logits - distance * distance / RECENCY_DIVISOR
        prev = rollout.decide(logits, forced)
        scale = ANCHOR_OFFSET + tf.cast(node - prev, tf.float32)
        inputs = tf.reshape(tf.gather(tf.concat(anchors, 0), prev), [1, -1]) / scale
        return prev, inputs

    def _func_decision(self, rollout, h, forced):
        """One activation choice; returns it and the next input (its embedding)."""
        if self.cell_variant == functions.ORIGINAL:
            logits = tf.matmul(h, self.w_soft)
        else:
            logits = tf.matmul(h, self.w_emb, transpose_b=True)
        logits = shape_logits(tf.reshape(logits, [-1]), self.temperature, self.tanh_constant)
        func = rollout.decide(logits, forced)
        return func, tf.reshape(tf.gather(self.w_emb, func), [1, -1])

    def run_policy(self, rollout: Rollout, arch) -> PolicyOutput:
        """Walks all decisions; `arch` (scoring) supplies them, else they are sampled."""
        def forced(i):
            return None if arch is None else arch[i]

        states = self.lstm.initial_state()
        inputs = self.g_emb
        tokens = []
        if self.cell_variant == functions.ORIGINAL:
            h, states = self.lstm(inputs, states)
            anchors, keys = [h], [self.attention.key(h)]
            h, states = self.lstm(self.g_emb, states)
            func, inputs = self._func_decision(rollout, h, forced(0))
            tokens.append(func)
            offset = 1
        else:
            zero = tf.zeros([1, self.lstm_size], tf.float32)
            anchors, keys = [zero], [zero]
            offset = 0
        for node in range(1, self.num_nodes + 1):
            at = offset + 2 * (node - 1)
            h, states = self.lstm(inputs, states)
            prev, inputs = self._prev_decision(rollout, keys, anchors, h, node, forced(at))
            anchors.append(h)
            keys.append(self.attention.key(h))
            h, states = self.lstm(inputs, states)
            func, inputs = self._func_decision(rollout, h, forced(at + 1))
            tokens += [prev, func]
        return rollout.output(tf.stack(tokens))

    def sample_arch(self, seed) -> RnnArch:
        """Eager convenience for deriving: the `RnnArch` sampled from `seed`."""
        return RnnArch.from_array(self(seed=seed).arch.numpy(), self.cell_variant)

    def get_config(self):
        """Keras config: the base fields plus `num_nodes` and `cell_variant`."""
        config = super().get_config()
        config.update(num_nodes=self.num_nodes, cell_variant=self.cell_variant)
        return config
