"""`ResNetBlock`: the benchmark's residual reduction block between stages (a ResNet basic block).

``ReLU -> conv3x3 stride 2 -> BN -> ReLU -> conv3x3 -> BN``, plus the shortcut ``avgpool 2x2
stride 2 -> conv1x1`` (no BN), summed. Used unchanged by the fixed net and the weight-shared
child (which passes ``batch_stats_only=True``).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from enas_tf2.layers.batch_norm import BatchNorm
from enas_tf2.layers.conv_bn import ConvBn

# PyTorch's padding=1 on both sides: with TF's SAME a stride-2 conv on an even side would pad only
# bottom/right and sample other pixels than the benchmark's network.
_PAD_1 = [[0, 0], [1, 1], [1, 1], [0, 0]]


class ResNetBlock(keras.layers.Layer):
    """Stride-2 residual block to `filters` channels (halves each side, rounding up).

    Args:
      filters: output channels.
      batch_stats_only: BN mode (see `BatchNorm`): True in the weight-shared child.
    """

    def __init__(self, filters: int, batch_stats_only: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.batch_stats_only = bool(batch_stats_only)
        self.bn_a = BatchNorm(batch_stats_only=batch_stats_only, name="bn_a")
        self.conv_b = ConvBn(filters, kernel_size=3, relu_first=True,
                             batch_stats_only=batch_stats_only, name="conv_b")

    def build(self, input_shape):
        c_in = input_shape[-1]
        he = keras.initializers.HeNormal()
        self.kernel_a = self.add_weight(shape=(3, 3, c_in, self.filters), initializer=he,
                                        name="kernel_a")
        self.kernel_short = self.add_weight(shape=(1, 1, c_in, self.filters), initializer=he,
                                            name="kernel_short")
        out = self.compute_output_shape(input_shape)
        self.bn_a.build(out)
        self.conv_b.build(out)
        self.built = True

    def forward(self, x, training=None, taps=None):
        """The block's output; when `taps` is a list, the input of each ReLU is appended (for
        zero-cost scores, which read every ReLU's activation pattern)."""
        if taps is not None:
            taps.append(x)
        a = tf.nn.conv2d(tf.pad(tf.nn.relu(x), _PAD_1), self.kernel_a, strides=2,
                         padding="VALID")
        a = self.bn_a(a, training=training)
        if taps is not None:
            taps.append(a)
        b = self.conv_b(a, training=training)
        # SAME: an odd side pools its last row alone (no padding counted), matching conv_a's size.
        short = tf.nn.avg_pool2d(x, 2, 2, "SAME")
        short = tf.nn.conv2d(short, self.kernel_short, strides=1, padding="VALID")
        return b + short

    def call(self, x, training=None):
        return self.forward(x, training)

    def compute_output_shape(self, input_shape):
        n, h, w = tuple(input_shape[:3])
        return (n, None if h is None else -(-h // 2), None if w is None else -(-w // 2),
                self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(filters=self.filters, batch_stats_only=self.batch_stats_only)
        return config
