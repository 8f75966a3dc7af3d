"""`Nb201Head`: the benchmark's classifier: BN -> ReLU -> global average pool -> dense (bias)."""

from __future__ import annotations

import keras
import tensorflow as tf

from enas_tf2.layers.batch_norm import BatchNorm


class Nb201Head(keras.layers.Layer):
    """``lastact`` (BN, ReLU), global pooling and the linear classifier, with a bias as in the
    benchmark (the ENAS heads have none).

    Args:
      num_classes: number of logits.
      batch_stats_only: BN mode (True in the weight-shared child).
    """

    def __init__(self, num_classes: int, batch_stats_only: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = int(num_classes)
        self.batch_stats_only = bool(batch_stats_only)
        self.bn = BatchNorm(batch_stats_only=batch_stats_only, name="bn")

    def build(self, input_shape):
        self.bn.build(input_shape)
        self.kernel = self.add_weight(shape=(input_shape[-1], self.num_classes),
                                      initializer="glorot_uniform", name="kernel")
        self.bias = self.add_weight(shape=(self.num_classes,), initializer="zeros", name="bias")
        self.built = True

    def forward(self, x, training=None, taps=None):
        """Logits; `taps` as in `ResNetBlock.forward`."""
        x = self.bn(x, training=training)
        if taps is not None:
            taps.append(x)
        x = tf.reduce_mean(tf.nn.relu(x), axis=[1, 2])
        return tf.matmul(x, self.kernel) + self.bias

    def call(self, x, training=None):
        return self.forward(x, training)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_classes)

    def get_config(self):
        config = super().get_config()
        config.update(num_classes=self.num_classes, batch_stats_only=self.batch_stats_only)
        return config
