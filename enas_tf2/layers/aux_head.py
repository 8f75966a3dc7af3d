"""The auxiliary classifier of the micro final network (docs/enas_reference.md §1.2 "Aux head", §4.4).

ReLU → 5x5 average pool, stride 3, VALID → 1x1 conv to 128 → BN → ReLU → conv whose kernel covers
the whole remaining feature map, to 768 → BN → ReLU → global average pool → dense (no bias).

Deviations from the original, all deliberate:
* the pooled map is capped at 2x2 (average-pooled down further when larger). On CIFAR (an 8x8 map) the pool
  gives 2x2 anyway, so nothing changes there; on large images the original's "kernel = whole
  remaining map" grew with the image (31.8 M parameters for the head alone at 224 px), while
  here the head has the same 0.49 M parameters at every image size.
* its weights are trained (and L2-regularised like every other weight): the original left them out
  of the optimizer's variable list, so a frozen random head back-propagated into the backbone
  (pitfall P3); NASNet, which ENAS copies here, trains it.
* the full-size conv uses VALID padding (one output position) where the original used SAME. The
  parameter count is identical; SAME made the conv's cost grow with the square of the feature-map
  area (≈300x more work at 224-pixel inputs) and mostly convolved zero padding.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from enas_tf2.errors import EnasError
from enas_tf2.layers.batch_norm import BatchNorm

POOL_SIZE, POOL_STRIDE = 5, 3
PROJ_FILTERS, HIDDEN_FILTERS = 128, 768
MAX_POOLED = 2  # the pooled map a CIFAR-10 net has; larger maps are averaged down to it


@keras.saving.register_keras_serializable(package="enas_tf2")
class AuxHead(keras.layers.Layer):
    """Auxiliary logits from an intermediate NHWC feature map (at least 5x5).

    Args:
      num_classes: number of logits.

    Call: ``head(x, training=...)`` → ``[B, num_classes]`` logits. BN uses batch statistics when
    training (the only time the head runs in ENAS) and moving statistics otherwise.
    """

    def __init__(self, num_classes: int, **kwargs):
        super().__init__(**kwargs)
        if num_classes < 1:
            raise EnasError(f"num_classes must be positive, got {num_classes}")
        self.num_classes = int(num_classes)
        self.proj_bn = BatchNorm(name="proj_bn")
        self.hidden_bn = BatchNorm(name="hidden_bn")

    def build(self, input_shape):
        _, height, width, channels = input_shape
        if height is None or width is None or min(height, width) < POOL_SIZE:
            raise EnasError(f"the auxiliary head needs a feature map of at least {POOL_SIZE}x"
                            f"{POOL_SIZE} pixels after the second reduction, got {height}x{width}; "
                            f"use larger images or turn off --child_use_aux_heads")
        first = ((height - POOL_SIZE) // POOL_STRIDE + 1, (width - POOL_SIZE) // POOL_STRIDE + 1)
        pooled = tuple(min(MAX_POOLED, side) for side in first)
        # A second VALID average pool with stride p // 2 and window p - stride maps p -> 2 exactly.
        strides = tuple(max(1, side // MAX_POOLED) for side in first)
        self._second_pool = None if first == pooled else (
            tuple(side - stride if side > MAX_POOLED else 1 for side, stride in zip(first, strides)),
            tuple(stride if side > MAX_POOLED else 1 for side, stride in zip(first, strides)))
        init = keras.initializers.HeNormal()
        self.proj_kernel = self.add_weight(shape=(1, 1, channels, PROJ_FILTERS), initializer=init,
                                           name="proj_kernel")
        self.hidden_kernel = self.add_weight(shape=pooled + (PROJ_FILTERS, HIDDEN_FILTERS),
                                             initializer=init, name="hidden_kernel")
        self.logits_kernel = self.add_weight(shape=(HIDDEN_FILTERS, self.num_classes),
                                             initializer=init, name="logits_kernel")
        self.proj_bn.build((input_shape[0],) + pooled + (PROJ_FILTERS,))
        self.hidden_bn.build((input_shape[0], 1, 1, HIDDEN_FILTERS))

    def call(self, x, training=None):
        x = tf.nn.avg_pool2d(tf.nn.relu(x), POOL_SIZE, POOL_STRIDE, "VALID")
        if self._second_pool is not None:
            x = tf.nn.avg_pool2d(x, self._second_pool[0], self._second_pool[1], "VALID")
        x = tf.nn.conv2d(x, self.proj_kernel, strides=1, padding="SAME")
        x = tf.nn.relu(self.proj_bn(x, training=training))
        x = tf.nn.conv2d(x, self.hidden_kernel, strides=1, padding="VALID")
        x = tf.nn.relu(self.hidden_bn(x, training=training))
        x = tf.reduce_mean(x, axis=[1, 2])
        return tf.matmul(x, self.logits_kernel)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_classes)

    def get_config(self):
        config = super().get_config()
        config.update(num_classes=self.num_classes)
        return config
