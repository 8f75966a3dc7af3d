"""`DropoutMasks`: every dropout mask of one language-model minibatch (docs/enas_reference.md §5.2).

All masks are inverted-dropout masks (kept entries are ``1 / keep``, dropped ones 0), drawn once
per minibatch and shared over time, as enas_lm draws them once per ``session.run``. A mask is None
when its rate is 0 (nothing to apply). The training path of both language models draws them with
`sample`; tests pass hand-made masks to check the arithmetic.
"""

from __future__ import annotations

from typing import NamedTuple, Optional, Tuple

import tensorflow as tf


def inverted_mask(shape, rate: float) -> Optional[tf.Tensor]:
    """``floor(u + keep) / keep`` with ``u ~ U[0, 1)``: 1/keep with probability keep, else 0;
    None when `rate` is 0."""
    if rate <= 0.0:
        return None
    keep = 1.0 - rate
    return tf.floor(tf.random.uniform(shape, dtype=tf.float32) + keep) / keep


class DropoutMasks(NamedTuple):
    """The masks of one minibatch (None = not applied).

    Attributes:
      word: ``[V]``, word-type dropout (drop_e): scales every occurrence of a word id, i.e. whole
        rows of the input embedding (the tied softmax keeps the undropped matrix, as enas_lm).
      embed: ``[B, E]``, embedding-unit dropout (drop_i), same for every time step.
      inputs: ``[B, E]``, the mask on x_t entering node 0 (drop_x), same for every time step.
      state: ``[B, H]``, the mask on every node's input state (drop_l): s_{t-1} into node 0 and
        n_prev into node k, same for every time step and node.
      output: ``[B, H]``, on the cell output before the softmax (drop_o), same for every step.
      weights: DropConnect (drop_w): ``[H, 2H]`` masks for the state half of node 0's weight, then
        one per searched node; None when drop_w is 0.
    """

    word: Optional[tf.Tensor] = None
    embed: Optional[tf.Tensor] = None
    inputs: Optional[tf.Tensor] = None
    state: Optional[tf.Tensor] = None
    output: Optional[tf.Tensor] = None
    weights: Optional[Tuple[tf.Tensor, ...]] = None

    @classmethod
    def sample(cls, config, vocab_size: int, batch_size, num_nodes: int) -> "DropoutMasks":
        """Draws the masks of one training minibatch for an `RnnConfig` (``batch_size`` may be a
        scalar tensor)."""
        e, h = config.embed_size, config.hidden_size
        weights = None
        if config.drop_w > 0:
            weights = tuple(inverted_mask([h, 2 * h], config.drop_w)
                            for _ in range(num_nodes + 1))
        return cls(word=inverted_mask([vocab_size], config.drop_e),
                   embed=inverted_mask([batch_size, e], config.drop_i),
                   inputs=inverted_mask([batch_size, e], config.drop_x),
                   state=inverted_mask([batch_size, h], config.drop_l),
                   output=inverted_mask([batch_size, h], config.drop_o),
                   weights=weights)
