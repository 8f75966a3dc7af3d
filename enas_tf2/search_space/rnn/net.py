"""`RnnLM`: the fixed language model of one cell, for final training and export (§5.2)."""

from __future__ import annotations

import keras

from enas_tf2.errors import EnasError
from enas_tf2.search_space.rnn.arch import RnnArch
from enas_tf2.search_space.rnn.config import RnnConfig
from enas_tf2.search_space.rnn.dropout_masks import DropoutMasks
from enas_tf2.search_space.rnn.fixed_cell import FixedRnnCell
from enas_tf2.search_space.rnn.lm_base import RnnLanguageModel


@keras.saving.register_keras_serializable(package="enas_tf2")
class RnnLM(RnnLanguageModel):
    """Fixed LM of `arch`: ``logits, new_state = lm(tokens, state, training=...)``.

    Embedding, dropouts, softmax and penalty as `RnnLanguageModel`; the cell is a `FixedRnnCell`
    (only this cell's weights). Weight decay covers every trainable weight (enas_lm's final
    training). `get_config` carries the token string, so ``keras.saving`` round-trips it.

    Args:
      arch: the `RnnArch` (either variant; its K must equal ``config.num_nodes`` and its variant
        ``config.cell_variant``).
      vocab_size: V.
      config: the `RnnConfig`.
    """

    def __init__(self, arch: RnnArch, vocab_size: int, config: RnnConfig = RnnConfig(),
                 **kwargs):
        kwargs.setdefault("name", "rnn_lm")
        super().__init__(vocab_size, config, **kwargs)
        if not isinstance(arch, RnnArch):
            raise EnasError(f"RnnLM takes an RnnArch, got {type(arch).__name__}")
        if arch.num_nodes != config.num_nodes or arch.cell_variant != config.cell_variant:
            raise EnasError(f"the architecture is a {arch.cell_variant} cell with "
                            f"{arch.num_nodes} nodes but the RNN config says "
                            f"{config.cell_variant} with num_nodes={config.num_nodes}")
        self.arch = arch
        self.cell = FixedRnnCell(arch, config.embed_size, config.hidden_size, config.init_range,
                                 dtype=self.dtype_policy, name="cell")

    def call(self, tokens, state, training=False):
        """``(logits [B, T, V], new_state [B, H])``."""
        return self.forward(tokens, state, None, training)

    def run_cell(self, x, state, arch, masks: DropoutMasks):
        return self.cell(x, state, state_mask=masks.state, weight_masks=masks.weights)

    def decayed_weights(self, arch) -> list:
        return list(self.trainable_weights)

    def get_config(self):
        """Keras config: the base fields plus the architecture's tokens and variant."""
        config = super().get_config()
        config.update(arch=self.arch.tokens(), cell_variant=self.arch.cell_variant)
        return config

    @classmethod
    def from_config(cls, config):
        """Inverse of `get_config`."""
        config = dict(config)
        config["config"] = RnnConfig(**config["config"])
        config["arch"] = RnnArch.from_tokens(config.pop("arch"), config.pop("cell_variant"))
        return cls(**config)
