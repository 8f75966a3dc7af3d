"""`RnnLanguageModel`: what the weight-shared child and the fixed language model share."""

from __future__ import annotations

import dataclasses
from typing import Optional

import keras
import tensorflow as tf

from enas_tf2.search_space.rnn.config import RnnConfig
from enas_tf2.search_space.rnn.dropout_masks import DropoutMasks

# Default of `seed` (any fixed int: a rerun must draw the same masks).
DEFAULT_SEED = 0x524E4E4D   # "RNNM"


class RnnLanguageModel(keras.Model):
    """Embedding -> recurrent cell -> softmax over the vocabulary, with every dropout and
    regulariser of the corrected recipe (docs/enas_reference.md §5.2). Subclasses own ``self.cell`` and say
    which weights the weight decay covers.

    Calling convention (both subclasses): ``logits, new_state = model(tokens, state, ...,
    training=...)`` with `tokens` int ``[B, T]`` (any T, one trace), `state` float32 ``[B, H]``
    (`initial_state` gives zeros), `logits` float32 ``[B, T, V]``. The caller carries
    `new_state` to the next window of the same rows (truncated BPTT: stop its gradient).

    With ``training=True`` the call draws fresh dropout masks (stateless draws from ``seed`` and
    the model's saved count of training calls ``dropout_step``, which the call advances; see
    `DropoutMasks`: a resumed run draws the masks of the uninterrupted run) and registers its
    regularisation penalty with Keras' ``add_loss``: read it as ``sum(model.losses)`` right after
    the call (the list is replaced at every call; ``training=False`` leaves it empty). The penalty is
    ``weight_decay * sum(w^2)`` over `decayed_weights` + ``alpha * mean(h^2)`` +
    ``beta * mean((h_t - h_{t-1})^2)`` on the cell outputs h before output dropout, computed on
    this call's rows (under a strategy: one replica's share; see `tasks.language_model`).

    The model computes in float32 whatever the global mixed-precision policy says.

    Args:
      vocab_size: V.
      config: the `RnnConfig` (sizes, dropouts, init range, regularisers).
      seed: seed of the dropout masks.
    """

    def __init__(self, vocab_size: int, config: RnnConfig, seed: int = DEFAULT_SEED, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.vocab_size = int(vocab_size)
        self.rnn_config = config
        self.seed = int(seed)

    def build(self, input_shape=None):
        """Creates the embedding (and untied softmax) and the cell's weights."""
        c = self.rnn_config
        init = keras.initializers.RandomUniform(-c.init_range, c.init_range)
        self.embedding = self.add_weight(name="embedding", shape=(self.vocab_size, c.embed_size),
                                         initializer=init)
        if not c.tie_weights:
            self.softmax_w = self.add_weight(name="softmax_w",
                                             shape=(c.hidden_size, self.vocab_size),
                                             initializer=init)
            self.softmax_b = self.add_weight(name="softmax_b", shape=(self.vocab_size,),
                                             initializer="zeros")
        self.cell.build()
        # Training calls that drew masks (saved with the weights, so a resumed run continues the
        # mask stream). Aggregation "none": "only_first_replica" would sync the replicas in the
        # middle of the forward pass, and one replica's add_loss penalty then leaked into the
        # other's `losses` (see `stream_seed`).
        self.dropout_step = self.add_weight(
            name="dropout_step", shape=(), dtype="int64", initializer="zeros",
            trainable=False, aggregation="none")

    def get_build_config(self):
        """What `build` depends on (no input shape: the sizes come from the config); non-empty,
        so Keras deserialisation calls `build_from_config`."""
        return {"vocab_size": self.vocab_size}

    def build_from_config(self, config):
        """Re-creates the weights when Keras deserialises the model."""
        self.build()

    # ---- pieces ------------------------------------------------------------------------------
    def initial_state(self, batch_size) -> tf.Tensor:
        """The all-zero state ``[batch_size, H]`` a stream starts from (and is reset to)."""
        return tf.zeros([batch_size, self.rnn_config.hidden_size], tf.float32)

    def sample_masks(self, batch_size) -> DropoutMasks:
        """Fresh training masks for one minibatch of `batch_size` rows; advances
        ``dropout_step``."""
        step = tf.identity(self.dropout_step.value)   # a copy: read before the increment
        self.dropout_step.assign_add(1)
        return DropoutMasks.sample(self.rnn_config, self.vocab_size, batch_size,
                                   self.rnn_config.num_nodes, self.seed, step)

    def run_cell(self, x, state, arch, masks: DropoutMasks):
        """The subclass's cell over the window: ``(outputs [B, T, H], last [B, H])``."""
        raise NotImplementedError

    def decayed_weights(self, arch) -> list:
        """The weights the weight decay covers (tensors or variables)."""
        raise NotImplementedError

    def features(self, tokens, state, arch=None, training=False,
                 masks: Optional[DropoutMasks] = None):
        """``(top, hidden, new_state)``: the cell outputs after output dropout (what the softmax
        reads), before it (what the activation regularisers read), and the last state. `masks`
        replaces the random training masks (tests); it is ignored unless `training`."""
        tokens = tf.cast(tokens, tf.int32)
        x = tf.gather(self.embedding, tokens)
        if training:
            masks = masks if masks is not None else self.sample_masks(tf.shape(tokens)[0])
        else:
            masks = DropoutMasks()
        if masks.word is not None:
            # Same as dropping rows of the embedding matrix, without touching the whole matrix.
            x = x * tf.gather(masks.word, tokens)[..., None]
        for mask in (masks.embed, masks.inputs):
            if mask is not None:
                x = x * mask[:, None]
        hidden, new_state = self.run_cell(x, state, arch, masks)
        top = hidden if masks.output is None else hidden * masks.output[:, None]
        return top, hidden, new_state

    def project(self, top) -> tf.Tensor:
        """Logits ``[B, T, V]``: ``top E^T`` (tied) or ``top W + b``."""
        shape = tf.shape(top)
        flat = tf.reshape(top, [-1, self.rnn_config.hidden_size])
        if self.rnn_config.tie_weights:
            logits = tf.matmul(flat, self.embedding, transpose_b=True)
        else:
            logits = tf.matmul(flat, self.softmax_w) + self.softmax_b
        return tf.reshape(logits, [shape[0], shape[1], self.vocab_size])

    def penalty(self, hidden, arch=None) -> tf.Tensor:
        """The regularisation terms of one training window (float32 scalar)."""
        c = self.rnn_config
        total = tf.constant(0.0, tf.float32)
        if c.weight_decay > 0:
            total += c.weight_decay * tf.add_n(
                [tf.reduce_sum(tf.square(w)) for w in self.decayed_weights(arch)])
        if c.alpha > 0:
            total += c.alpha * tf.reduce_mean(tf.square(hidden))
        if c.beta > 0:
            # A one-step window has no consecutive pair: the term is 0, not a NaN mean.
            change = tf.square(hidden[:, 1:] - hidden[:, :-1])
            count = tf.maximum(tf.cast(tf.size(change), tf.float32), 1.0)
            total += c.beta * tf.reduce_sum(change) / count
        return total

    def forward(self, tokens, state, arch=None, training=False, masks=None):
        """``(logits, new_state)``; registers the penalty when training (see the class doc)."""
        top, hidden, new_state = self.features(tokens, state, arch, training, masks)
        if training:
            self.add_loss(self.penalty(hidden, arch))
        return self.project(top), new_state

    def get_config(self):
        """Keras config: the vocabulary size and the `RnnConfig` as a dict."""
        config = super().get_config()
        config.update(vocab_size=self.vocab_size, config=dataclasses.asdict(self.rnn_config),
                      seed=self.seed)
        return config
