"""`PolicyOutput`: what every controller returns, whichever search space it samples."""

from __future__ import annotations

from typing import NamedTuple

import tensorflow as tf


class PolicyOutput(NamedTuple):
    """One architecture and its REINFORCE statistics (a NamedTuple, so `tf.nest` and
    `strategy.run` pass it through unchanged).

    Attributes:
      arch: int32 tensor in the search space's layout (micro: ``[2, num_cells, 4]``).
      log_prob: float32 scalar, sum over all decisions of ``log p(choice)`` (differentiable).
      entropy: float32 scalar, sum of the per-decision entropy terms (the space decides which
        variant, docs/enas_reference.md §2.2/§2.3); used only for reward shaping.
      aux_loss: float32 scalar added to the controller loss with its own weight (the macro skip
        penalty, docs/enas_reference.md §2.2); 0 for spaces without one.
    """

    arch: tf.Tensor
    log_prob: tf.Tensor
    entropy: tf.Tensor
    aux_loss: tf.Tensor
