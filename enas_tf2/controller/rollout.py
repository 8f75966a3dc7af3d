"""`Rollout`: walks a controller's decision sequence once, sampling or replaying each decision.

A space's controller only computes logits and feeds choices back into its LSTM; this object
decides (stateless sample or teacher-forced value), and sums log-probabilities and entropies, so
the micro, macro and RNN controllers share the sampling/scoring logic instead of copying it.
"""

from __future__ import annotations

from typing import Optional

import tensorflow as tf

from enas_tf2.controller import decisions
from enas_tf2.controller.policy_output import PolicyOutput

ENTROPY_MODES = ("full", "sampled")


class Rollout:
    """One pass over the decisions of a policy.

    Args:
      seed: int32/int64 tensor of shape [2] to SAMPLE; None to SCORE given decisions.
      entropy: "full" (categorical entropy per decision, micro) or "sampled"
        (``p * -log p`` of the chosen value, macro/PTB).

    Decision ``k`` (in the order `decide` is called) samples with
    ``stateless_fold_in(seed, k)``, so the sequence is a pure function of the seed and the weights.
    """

    def __init__(self, seed=None, entropy: str = "full"):
        if entropy not in ENTROPY_MODES:
            raise ValueError(f"entropy must be one of {ENTROPY_MODES}, got {entropy!r}")
        self.seed = seed
        self.entropy_mode = entropy
        self.num_decisions = 0
        self.log_prob = tf.constant(0.0, tf.float32)
        self.entropy = tf.constant(0.0, tf.float32)

    @property
    def sampling(self) -> bool:
        """True when decisions are sampled from the seed, False when they are replayed."""
        return self.seed is not None

    def decide(self, logits, forced=None) -> tf.Tensor:
        """Returns the choice for `logits` (``[..., n]`` → int32 ``[...]``) and records its terms.

        `forced` is the value to replay; it is required when scoring and ignored when sampling.
        """
        k = self.num_decisions
        self.num_decisions += 1
        if self.sampling:
            choice = decisions.sample_decision(
                logits, tf.random.experimental.stateless_fold_in(self.seed, k))
        elif forced is None:
            raise ValueError(f"decision {k} has no forced value while scoring an architecture")
        else:
            choice = tf.cast(forced, tf.int32)
        self.log_prob += tf.reduce_sum(decisions.decision_log_prob(logits, choice))
        if self.entropy_mode == "full":
            self.entropy += tf.reduce_sum(decisions.categorical_entropy(logits))
        else:
            self.entropy += tf.reduce_sum(decisions.sampled_entropy(logits, choice))
        return choice

    def output(self, arch, aux_loss: Optional[tf.Tensor] = None) -> PolicyOutput:
        """Packs the architecture tensor with the accumulated log-probability and entropy."""
        aux = tf.constant(0.0, tf.float32) if aux_loss is None else tf.cast(aux_loss, tf.float32)
        return PolicyOutput(arch=tf.cast(arch, tf.int32), log_prob=self.log_prob,
                            entropy=self.entropy, aux_loss=aux)
