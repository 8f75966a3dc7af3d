"""Shared layers: hand-computed values, the functional forms, gradients and get_config."""

import numpy as np
import pytest
import tensorflow as tf

from enas_tf2.errors import EnasError
from enas_tf2.layers import (BatchNorm, ClassifierHead, ConvBn, FactorizedReduction, Pool3x3,
                             SepConv, avg_pool_3x3,
                             factorized_paths, max_pool_3x3, sep_conv)


def _x(shape, seed=0):
    return tf.constant(np.random.default_rng(seed).normal(size=shape), tf.float32)


def test_batch_norm_batch_statistics_by_hand():
    # One channel holding 0..7: mean 3.5, biased variance 5.25.
    x = tf.reshape(tf.range(8, dtype=tf.float32), [2, 2, 2, 1])
    bn = BatchNorm(batch_stats_only=True)
    y = bn(x, training=False)          # search mode: batch statistics even when not training
    expected = (np.arange(8) - 3.5) / np.sqrt(5.25 + 1e-5)
    np.testing.assert_allclose(y.numpy().ravel(), expected, rtol=1e-5)
    assert len(bn.weights) == 2        # gamma, beta; no moving statistics


def test_batch_norm_moving_statistics_by_hand():
    x = tf.reshape(tf.range(8, dtype=tf.float32), [2, 2, 2, 1])
    bn = BatchNorm()
    bn(x, training=True)
    # moving = 0.9 * moving + 0.1 * batch; the variance is Bessel-corrected (42 / 7 = 6).
    np.testing.assert_allclose(bn.moving_mean.numpy(), [0.35], rtol=1e-6)
    np.testing.assert_allclose(bn.moving_variance.numpy(), [0.9 + 0.1 * 6.0], rtol=1e-6)
    # Inference uses the moving values: (x - 0.35) / sqrt(1.5 + eps).
    y = bn(x, training=False)
    np.testing.assert_allclose(y.numpy().ravel(), (np.arange(8) - 0.35) / np.sqrt(1.5 + 1e-5),
                               rtol=1e-5)
    assert len(bn.non_trainable_weights) == 2
    with pytest.raises(EnasError, match="momentum"):
        BatchNorm(momentum=1.0)


def test_factorized_reduction_paths_by_hand():
    # Identity-like 1x1 kernels (C=1 -> 1 per path): path 1 reads the even pixels, path 2 the
    # pixel one down/right of them (zero past the border).
    x = tf.reshape(tf.range(25, dtype=tf.float32), [1, 5, 5, 1])
    ones = tf.ones([1, 1, 1, 1])
    y = factorized_paths(x, ones, 2.0 * ones).numpy()[0]
    grid = np.arange(25, dtype=np.float32).reshape(5, 5)
    np.testing.assert_array_equal(y[..., 0], grid[::2, ::2])
    shifted = np.zeros((5, 5), np.float32)
    shifted[:4, :4] = grid[1:, 1:]
    np.testing.assert_array_equal(y[..., 1], 2.0 * shifted[::2, ::2])
    layer = FactorizedReduction(6)
    assert layer(_x([2, 5, 7, 3]), training=True).shape == (2, 3, 4, 6)
    with pytest.raises(EnasError, match="even"):
        FactorizedReduction(5)


def test_factorized_reduction_stride_one_is_conv_bn():
    layer = FactorizedReduction(4, strides=1, batch_stats_only=True)
    x = _x([2, 5, 5, 3])
    y = layer(x)
    conv = tf.nn.conv2d(x, layer.kernel, 1, "SAME")
    mean, var = tf.nn.moments(conv, axes=[0, 1, 2])
    np.testing.assert_allclose(y, (conv - mean) / tf.sqrt(var + 1e-5), rtol=1e-4, atol=1e-4)


def test_sep_conv_layer_equals_functional_form_and_strides():
    layer = SepConv(6, 5, strides=2, batch_stats_only=True)
    x = _x([2, 9, 8, 4])
    y = layer(x)
    assert y.shape == (2, 5, 4, 6)
    want = sep_conv(x, [layer.depthwise_1, layer.depthwise_2],
                    [layer.pointwise_1, layer.pointwise_2],
                    [layer.bn_1.gamma, layer.bn_2.gamma], [layer.bn_1.beta, layer.bn_2.beta], 2)
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)
    # The first repetition reads ReLU(x): making negative inputs more negative changes nothing.
    np.testing.assert_allclose(layer(tf.where(x < 0, 3.0 * x, x)), y, rtol=1e-5, atol=1e-5)
    assert len(layer.trainable_weights) == 8
    with pytest.raises(EnasError, match="strides"):
        SepConv(4, 3, strides=3)


def test_relu_conv_bn_by_hand():
    x = tf.constant([-3.0, -1.0, 0.5, 1.0, 2.0, -2.0, 4.0, 0.0], shape=[2, 2, 2, 1])
    layer = ConvBn(1, batch_stats_only=True)
    layer.build(x.shape)
    layer.kernel.assign([[[[2.0]]]])
    conv = 2.0 * np.maximum(x.numpy().ravel(), 0.0)            # ReLU, then the 1x1 conv
    expected = (conv - conv.mean()) / np.sqrt(conv.var() + 1e-5)
    np.testing.assert_allclose(layer(x).numpy().ravel(), expected, rtol=1e-5)


def test_avg_pool_excludes_padding_and_max_pool_values():
    x = tf.reshape(tf.range(16, dtype=tf.float32), [1, 4, 4, 1])
    y = avg_pool_3x3(x, 1).numpy()[0, :, :, 0]
    assert y[0, 0] == pytest.approx((0 + 1 + 4 + 5) / 4)      # corner: 4 real pixels
    assert y[1, 1] == pytest.approx(np.mean([0, 1, 2, 4, 5, 6, 8, 9, 10]))
    # SAME with stride 2 on 4 pixels pads one row/column at the bottom/right only, so the
    # windows are rows/cols {0, 1, 2} and {2, 3}.
    m = max_pool_3x3(x, 2).numpy()[0, :, :, 0]
    np.testing.assert_array_equal(m, [[10, 11], [14, 15]])
    assert Pool3x3("avg", 2)(x).shape == (1, 2, 2, 1)
    assert Pool3x3("max", 1)(x).shape == (1, 4, 4, 1)


def test_max_pool_gradient_override_inside_branches_of_nested_functions():
    """The recomputing gradient works where tf.custom_gradient failed (switch_case in a
    nested tf.function) and equals the built-in gradient."""
    x = _x([2, 6, 6, 3])

    @tf.function(autograph=False)
    def inner(x, index):
        return tf.switch_case(index, [lambda: max_pool_3x3(x, 2), lambda: avg_pool_3x3(x, 2)])

    @tf.function(autograph=False)
    def grads(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = inner(x, tf.constant(0))
            loss = tf.reduce_sum(y * y)
        return tape.gradient(loss, x)

    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.nn.max_pool2d(x, 3, 2, "SAME")
        loss = tf.reduce_sum(y * y)
    np.testing.assert_allclose(grads(x), tape.gradient(loss, x), rtol=1e-6)


def test_classifier_head_dropout_only_in_training():
    head = ClassifierHead(10, keep_prob=0.5)
    x = _x([64, 4, 4, 8])
    y = head(x, training=False)
    assert y.shape == (64, 10)
    np.testing.assert_allclose(head(x, training=False), y)
    # Hand check: ReLU -> mean over H, W -> matmul.
    np.testing.assert_allclose(
        y, tf.reduce_mean(tf.nn.relu(x), axis=[1, 2]) @ head.kernel, rtol=1e-5, atol=1e-6)
    tf.random.set_seed(1)
    assert not np.allclose(head(x, training=True), y)
    with pytest.raises(EnasError, match="keep_prob"):
        ClassifierHead(10, keep_prob=0.0)


def test_stem_output_shape():
    stem = ConvBn(12, kernel_size=3, relu_first=False, batch_stats_only=True)
    assert stem(_x([2, 9, 7, 3])).shape == (2, 9, 7, 12)


@pytest.mark.parametrize("layer", [
    BatchNorm(batch_stats_only=True, momentum=0.8), SepConv(8, 5, 2), FactorizedReduction(6, 1),
    ConvBn(4, batch_stats_only=True), ConvBn(9, kernel_size=3, relu_first=False),
    Pool3x3("max", 2), Pool3x3("avg", 1),
    ClassifierHead(7, keep_prob=0.9)], ids=lambda layer: type(layer).__name__)
def test_get_config_round_trips(layer):
    config = layer.get_config()
    assert type(layer).from_config(config).get_config() == config
