"""The auxiliary head keeps the CIFAR-10 shape of the original and a size-independent cost."""

import numpy as np
import pytest
import tensorflow as tf

from enas_tf2.layers.aux_head import AuxHead

# 1x1 conv C->128, BN(128) gamma/beta, 2x2 conv 128->768, BN(768) gamma/beta, dense 768->10.
EXPECTED = 32 * 128 + 2 * 128 + 2 * 2 * 128 * 768 + 2 * 768 + 768 * 10


@pytest.mark.parametrize("height,width", [(8, 8), (56, 56), (13, 18), (9, 9)])
def test_parameters_do_not_grow_with_the_image(height, width):
    head = AuxHead(10)
    head.build((None, height, width, 32))
    x = tf.random.normal((2, height, width, 32), seed=1)
    with tf.GradientTape() as tape:
        logits = head(x, training=True)
        loss = tf.reduce_sum(logits)
    grads = tape.gradient(loss, head.trainable_variables)
    assert logits.shape == (2, 10)
    assert sum(int(np.prod(v.shape)) for v in head.trainable_variables) == EXPECTED
    assert all(g is not None for g in grads)


def test_cifar_map_uses_the_original_pool_only():
    head = AuxHead(10)
    head.build((None, 8, 8, 4))
    x = tf.reshape(tf.range(2 * 8 * 8 * 4, dtype=tf.float32), (2, 8, 8, 4))
    pooled = tf.nn.avg_pool2d(tf.nn.relu(x), 5, 3, "VALID")
    assert pooled.shape[1:3] == (2, 2) and head._second_pool is None
