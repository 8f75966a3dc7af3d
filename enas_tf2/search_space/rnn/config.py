"""`RnnConfig`: the recurrent-cell language model's shape and regularisation (docs/enas_reference.md §5.2)."""

from __future__ import annotations

import dataclasses

from enas_tf2.errors import EnasError
from enas_tf2.search_space.rnn import functions

_RATES = ("drop_e", "drop_i", "drop_x", "drop_l", "drop_o", "drop_w")


@dataclasses.dataclass(frozen=True)
class RnnConfig:
    """RNN space settings, for the weight-shared child and the fixed language model alike.

    Defaults are enas_lm's search values (``search.py``/``child.py``); `enas_lm_final` returns the
    values of its final training (``fixed_lib.py``). Dropout settings are RATES (dropped fraction),
    as in enas_lm, not keep probabilities.

    Attributes:
      cell_variant: ``"enas_lm"`` (fixed tanh node 0, output = mean of all searched nodes) or
        ``"original"`` (searched node-0 activation, output = mean of the loose ends, the 2D-1 token
        encoding of melodyguan/enas). Both are trained with the corrected recipe (no BN).
      num_nodes: K, the searched (prev, func) nodes after node 0 (enas_lm search: 9 controller
        steps; the published cell has 8). For the original encoding the depth D is K + 1.
      embed_size, hidden_size: word embedding and cell width (enas_lm: equal, tied softmax).
      tie_weights: the softmax reuses the embedding matrix (logits = h E^T, no bias); requires
        embed_size == hidden_size. Untied: a separate ``[hidden, vocab]`` softmax matrix and bias.
      drop_e: word-type dropout: whole embedding rows (a word type is dropped everywhere in the
        batch).
      drop_i: embedding-unit dropout, one mask per sequence shared over time.
      drop_x: mask on the cell input x_t entering node 0, per sequence, shared over time.
      drop_l: mask on every node's input state (s_{t-1} into node 0, n_prev into node k), per
        sequence, shared over time and nodes.
      drop_o: mask on the cell output before the softmax, per sequence, shared over time.
      drop_w: DropConnect on the recurrent weights (the state half of node 0, every node weight).
      init_range: every weight is uniform(-init_range, init_range).
      weight_decay: ``weight_decay * sum(w^2)``; the fixed net decays every weight, the shared child
        node 0 and the sampled arc's weight slices (enas_lm search decays only the active arc).
      alpha: activation L2, ``alpha * mean(h_t^2)`` over the cell outputs (before drop_o).
      beta: slowness, ``beta * mean((h_t - h_{t-1})^2)`` over consecutive outputs in a window.
    """
    cell_variant: str = functions.ENAS_LM
    num_nodes: int = 9
    embed_size: int = 200
    hidden_size: int = 200
    tie_weights: bool = True
    drop_e: float = 0.10
    drop_i: float = 0.20
    drop_x: float = 0.75
    drop_l: float = 0.25
    drop_o: float = 0.75
    drop_w: float = 0.0
    init_range: float = 0.04
    weight_decay: float = 8e-7
    alpha: float = 0.0
    beta: float = 1.0

    def __post_init__(self):
        if self.cell_variant not in functions.VARIANTS:
            raise EnasError(f"cell_variant must be one of {', '.join(functions.VARIANTS)}, "
                            f"got {self.cell_variant!r}")
        for name in ("num_nodes", "embed_size", "hidden_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise EnasError(f"RNN {name} must be an integer >= 1, got {value!r}")
        for name in _RATES:
            if not 0.0 <= getattr(self, name) < 1.0:
                raise EnasError(f"RNN dropout rate {name} must be in [0, 1), "
                                f"got {getattr(self, name)!r}")
        if self.tie_weights and self.embed_size != self.hidden_size:
            raise EnasError(f"tied softmax weights need embed_size == hidden_size, got "
                            f"{self.embed_size} and {self.hidden_size}; untie or make them equal")
        for name in ("init_range", "weight_decay", "alpha", "beta"):
            if getattr(self, name) < 0:
                raise EnasError(f"RNN {name} must be >= 0, got {getattr(self, name)!r}")

    @classmethod
    def enas_lm_final(cls, **overrides) -> "RnnConfig":
        """enas_lm's final-training values (``fixed_lib.py``): hidden 800, its dropouts, init
        ±0.05, alpha 0.7, no slowness term; K = 8 nodes as the published cell."""
        values = dict(num_nodes=8, embed_size=800, hidden_size=800, drop_e=0.125, drop_i=0.175,
                      drop_x=0.725, drop_l=0.225, drop_o=0.75, drop_w=0.0, init_range=0.05,
                      weight_decay=8e-7, alpha=0.7, beta=0.0)
        values.update(overrides)
        return cls(**values)
