"""The classifier head: [ReLU ->] global avg pool -> dropout -> dense, no bias.

Micro (docs/enas_reference.md §1.2) has the ReLU; macro (§1.1) pools the last layer's BN output
directly (``relu_first=False``).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from enas_tf2.errors import EnasError


class ClassifierHead(keras.layers.Layer):
    """[ReLU ->] global average pool -> dropout (keep ``keep_prob``, training only) -> logits.

    Args:
        num_classes: number of logits.
        keep_prob: dropout keep probability; 1.0 disables dropout.
        relu_first: apply a ReLU before pooling (micro: yes; macro: no).

    Dropout is active only for ``training=True``. (The original search code forced training mode
    everywhere, so its reward/eval passes also dropped units; callers that want that pass
    ``training=True``.)
    """

    def __init__(self, num_classes: int, keep_prob: float = 1.0, relu_first: bool = True,
                 **kwargs):
        super().__init__(**kwargs)
        if not 0.0 < keep_prob <= 1.0:
            raise EnasError(f"keep_prob must be in (0, 1], got {keep_prob}")
        if num_classes < 1:
            raise EnasError(f"num_classes must be positive, got {num_classes}")
        self.num_classes = int(num_classes)
        self.keep_prob = float(keep_prob)
        self.relu_first = bool(relu_first)

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.num_classes),
                                      initializer=keras.initializers.HeNormal(), name="kernel")

    def call(self, x, training=None):
        if self.relu_first:
            x = tf.nn.relu(x)
        x = tf.reduce_mean(x, axis=[1, 2])
        if training and self.keep_prob < 1.0:
            x = tf.nn.dropout(x, rate=1.0 - self.keep_prob)
        return tf.matmul(x, self.kernel)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_classes)

    def get_config(self):
        config = super().get_config()
        config.update(num_classes=self.num_classes, keep_prob=self.keep_prob,
                      relu_first=self.relu_first)
        return config
