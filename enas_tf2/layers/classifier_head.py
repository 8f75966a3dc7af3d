"""The classifier head: [ReLU ->] global avg pool -> dropout -> dense, no bias.

Micro (docs/enas_reference.md §1.2) has the ReLU; macro (§1.1) pools the last layer's BN output
directly (``relu_first=False``).

The dropout masks are stateless draws (`stream_seed`): a function of the layer's ``seed``, its
saved count of training calls ``dropout_step``, the replica and nothing else, so a run resumed from
a checkpoint drops the same units as the uninterrupted run.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from enas_tf2.errors import EnasError
from enas_tf2.layers.stream_seed import stream_seed

# Default of `seed`: distinct from the other layers' defaults (`DropPath`, the RNN models), so
# layers left at their defaults never share a random stream.
DEFAULT_SEED = 0x48454144   # "HEAD"


class ClassifierHead(keras.layers.Layer):
    """[ReLU ->] global average pool -> dropout (keep ``keep_prob``, training only) -> logits.

    Args:
        num_classes: number of logits.
        keep_prob: dropout keep probability; 1.0 disables dropout.
        relu_first: apply a ReLU before pooling (micro: yes; macro: no).
        seed: seed of the dropout masks (see the module doc).

    Dropout is active only for ``training=True``; each such call draws a fresh mask and advances
    the non-trainable int64 weight ``dropout_step`` (saved in checkpoints); inference calls draw
    nothing and leave it alone. (The original search code forced training mode everywhere, so
    its reward/eval passes also dropped units; callers that want that pass ``training=True``.)
    """

    def __init__(self, num_classes: int, keep_prob: float = 1.0, relu_first: bool = True,
                 seed: int = DEFAULT_SEED, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 < keep_prob <= 1.0:
            raise EnasError(f"keep_prob must be in (0, 1], got {keep_prob}")
        if num_classes < 1:
            raise EnasError(f"num_classes must be positive, got {num_classes}")
        self.num_classes = int(num_classes)
        self.keep_prob = float(keep_prob)
        self.relu_first = bool(relu_first)
        self.seed = int(seed)

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.num_classes),
                                      initializer=keras.initializers.HeNormal(), name="kernel")
        # Training calls that drew a mask. Created even without dropout, so the weights (and
        # checkpoints) do not depend on keep_prob. See `stream_seed` for the aggregation.
        self.dropout_step = self.add_weight(
            name="dropout_step", shape=(), dtype="int64", initializer="zeros",
            trainable=False, aggregation="none")

    def call(self, x, training=None):
        if self.relu_first:
            x = tf.nn.relu(x)
        x = tf.reduce_mean(x, axis=[1, 2])
        if training and self.keep_prob < 1.0:
            step = tf.identity(self.dropout_step.value)   # a copy: read before the increment
            self.dropout_step.assign_add(1)
            x = tf.nn.experimental.stateless_dropout(x, rate=1.0 - self.keep_prob,
                                                     seed=stream_seed(self.seed, step))
        return tf.matmul(x, self.kernel)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_classes)

    def get_config(self):
        config = super().get_config()
        config.update(num_classes=self.num_classes, keep_prob=self.keep_prob,
                      relu_first=self.relu_first, seed=self.seed)
        return config
