"""`RnnChild`: the weight-shared language model that serves every sampled cell (docs/enas_reference.md §5.2)."""

from __future__ import annotations

import tensorflow as tf

from enas_tf2.search_space.rnn.cell import SharedRnnCell
from enas_tf2.search_space.rnn.config import RnnConfig
from enas_tf2.search_space.rnn.dropout_masks import DropoutMasks
from enas_tf2.search_space.rnn.lm_base import RnnLanguageModel


class RnnChild(RnnLanguageModel):
    """Weight-shared LM: ``logits, new_state = child(tokens, state, arch, training=...)``.

    `arch` is the controller's int32 token vector (2K, or 2K + 1 for the original variant); one
    `tf.function` trace serves every architecture and every window length. Embedding, dropouts,
    tied softmax and penalty as `RnnLanguageModel`; the cell is a `SharedRnnCell`, whose
    hand-written gradient gives sparse gradients to the node banks (only sampled slices move).

    Weight decay covers node 0's weight and the sampled node slices, not the embedding, as
    enas_lm's search (which, by a quirk, skipped node 1's slice and summed w^4 / 2; here every
    sampled slice and w^2).

    Call ``build()`` (e.g. under ``strategy.scope()``) to create every variable before tracing.

    Args:
      vocab_size: V.
      config: the `RnnConfig`.
    """

    def __init__(self, vocab_size: int, config: RnnConfig = RnnConfig(), **kwargs):
        kwargs.setdefault("name", "rnn_child")
        super().__init__(vocab_size, config, **kwargs)
        self.cell = SharedRnnCell(config.num_nodes, config.embed_size, config.hidden_size,
                                  config.cell_variant, config.init_range,
                                  dtype=self.dtype_policy, name="cell")

    def call(self, tokens, state, arch, training=False):
        """``(logits [B, T, V], new_state [B, H])`` for the cell `arch`."""
        return self.forward(tokens, state, arch, training)

    def run_cell(self, x, state, arch, masks: DropoutMasks):
        arch = tf.convert_to_tensor(arch, tf.int32)
        return self.cell(x, state, arch, state_mask=masks.state, weight_masks=masks.weights)

    def decayed_weights(self, arch) -> list:
        w_prev, node_weights = self.cell.selected_weights(arch)
        return [w_prev, node_weights]

    @classmethod
    def from_config(cls, config):
        """Inverse of `get_config`."""
        config = dict(config)
        config["config"] = RnnConfig(**config["config"])
        return cls(**config)
