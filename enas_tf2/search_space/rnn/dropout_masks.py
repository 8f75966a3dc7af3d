"""`DropoutMasks`: every dropout mask of one language-model minibatch (docs/enas_reference.md §5.2).

All masks are inverted-dropout masks (kept entries are ``1 / keep``, dropped ones 0), drawn once
per minibatch and shared over time, as enas_lm draws them once per ``session.run``. A mask is None
when its rate is 0 (nothing to apply). The training path of both language models draws them with
`sample`; tests pass hand-made masks to check the arithmetic.

The draws are stateless (`stream_seed`): a function of the model's seed, its saved count of
training calls, the replica and a fixed salt per mask (`SALTS`, the weight masks after them), so
a run resumed from a checkpoint draws the masks of the uninterrupted run.
"""

from __future__ import annotations

from typing import NamedTuple, Optional, Tuple

import tensorflow as tf

from enas_tf2.layers.stream_seed import stream_seed

# One salt per mask, fixed here (not by the order of the draws); DropConnect mask k has
# ``WEIGHTS_SALT + k``.
SALTS = {"word": 0, "embed": 1, "inputs": 2, "state": 3, "output": 4}
WEIGHTS_SALT = 5


def inverted_mask(shape, rate: float, seed) -> Optional[tf.Tensor]:
    """``floor(u + keep) / keep`` with ``u ~ U[0, 1)`` drawn statelessly from the int ``[2]``
    tensor `seed`: 1/keep with probability keep, else 0; None when `rate` is 0."""
    if rate <= 0.0:
        return None
    keep = 1.0 - rate
    uniform = tf.random.stateless_uniform(shape, seed, dtype=tf.float32)
    return tf.floor(uniform + keep) / keep


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
    def sample(cls, config, vocab_size: int, batch_size, num_nodes: int, seed: int,
               counter) -> "DropoutMasks":
        """Draws the masks of one training minibatch for an `RnnConfig` (``batch_size`` may be a
        scalar tensor) from the model's `seed` and its count of training calls `counter` (read
        before it is advanced): the same (seed, counter, replica) give the same masks."""
        e, h = config.embed_size, config.hidden_size

        def mask(shape, rate, salt):
            return inverted_mask(shape, rate, stream_seed(seed, counter, salt))

        weights = None
        if config.drop_w > 0:
            weights = tuple(mask([h, 2 * h], config.drop_w, WEIGHTS_SALT + k)
                            for k in range(num_nodes + 1))
        return cls(word=mask([vocab_size], config.drop_e, SALTS["word"]),
                   embed=mask([batch_size, e], config.drop_i, SALTS["embed"]),
                   inputs=mask([batch_size, e], config.drop_x, SALTS["inputs"]),
                   state=mask([batch_size, h], config.drop_l, SALTS["state"]),
                   output=mask([batch_size, h], config.drop_o, SALTS["output"]),
                   weights=weights)
