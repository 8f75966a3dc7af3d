"""Pure functions for one categorical decision of a controller (docs/enas_reference.md §2.1-§2.4).

Every function takes logits of shape ``[..., num_choices]``; leading axes are independent
decisions (e.g. the macro space's ``i`` skip bits, logits ``[i, 2]``) and results keep them.
"""

from __future__ import annotations

from typing import Optional

import tensorflow as tf


def shape_logits(logits, temperature: Optional[float] = None,
                 tanh_constant: Optional[float] = None) -> tf.Tensor:
    """The original post-processing: ``logits / temperature`` then ``tanh_constant * tanh(.)``.

    Either step is skipped when its setting is None (the original's "not set"). The tanh bounds
    the logits to ``±tanh_constant``, which keeps the policy from collapsing early.
    """
    logits = tf.convert_to_tensor(logits, tf.float32)
    if temperature is not None:
        logits = logits / temperature
    if tanh_constant is not None:
        logits = tanh_constant * tf.tanh(logits)
    return logits


def sample_decision(logits, seed) -> tf.Tensor:
    """Draws one choice per decision with a stateless RNG: int32 of shape ``logits.shape[:-1]``.

    Stateless so that the same `seed` gives the same choice on every replica and worker, which is
    how all of them agree on one architecture without communicating.
    """
    logits = tf.convert_to_tensor(logits, tf.float32)
    flat = tf.reshape(logits, [-1, tf.shape(logits)[-1]])
    draws = tf.random.stateless_categorical(flat, 1, seed=seed, dtype=tf.int32)
    return tf.reshape(draws, tf.shape(logits)[:-1])


def decision_log_prob(logits, choice) -> tf.Tensor:
    """``log softmax(logits)[choice]`` per decision (the negative of the original's stored nll)."""
    return -tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=tf.cast(choice, tf.int32), logits=tf.convert_to_tensor(logits, tf.float32))


def categorical_entropy(logits) -> tf.Tensor:
    """Full entropy ``-sum_k p_k log p_k`` per decision (the micro controller's variant)."""
    log_p = tf.nn.log_softmax(tf.convert_to_tensor(logits, tf.float32))
    return -tf.reduce_sum(tf.exp(log_p) * log_p, axis=-1)


def sampled_entropy(logits, choice) -> tf.Tensor:
    """``p(choice) * (-log p(choice))`` per decision: the macro/PTB "entropy" term, which only
    looks at the sampled choice (docs/enas_reference.md §2.2, pitfall P7)."""
    log_p = decision_log_prob(logits, choice)
    return -tf.exp(log_p) * log_p
