"""MacroNet, the fixed macro network: parameter counts by formula (docs/enas_reference.md §4.6),
an independent forward pass, the `fixed_ops` compat switch and Keras serialisation."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from enas_tf2.errors import EnasError
from enas_tf2.search_space.macro.arch import MacroArch
from enas_tf2.search_space.macro.net import MacroNet
from test_macro_arch import PUBLISHED_ROWS

COVERING = MacroArch.from_tokens("1  4 1  0 0 1  5 1 0 1  3 1 1 0 1  2 0 1 1 0 1")


def _formula(rows, filters, classes, mode):
    """Trainable weights of the fixed network, layer by layer (BN gamma/beta, no biases)."""
    layers = len(rows)
    pools = (layers // 3 - 1, 2 * (layers // 3) - 1)
    c = filters
    total = 3 * 3 * 3 * c + 2 * c                                  # stem conv + BN
    for i, (op, *skips) in enumerate(rows):
        total += c * c + 2 * c                                     # ReLU -> 1x1 -> BN
        k = 3 if op in (0, 1) else 5
        if op in (0, 2) or (op in (1, 3) and mode == "original"):
            total += k * k * c * c + 2 * c                         # kxk conv + BN
        elif op in (1, 3):
            total += k * k * c + c * c + 2 * c                     # depthwise + pointwise + BN
        if i > 0:
            total += (sum(skips) + 1) * c * c + 2 * c              # concat -> 1x1 -> BN
        if i in pools:                                             # reduce stem + outputs 0..i
            total += (i + 2) * (c * 2 * c + 2 * 2 * c)             # two 1x1 halves + BN
            c *= 2
    return total + c * classes                                     # dense, no bias


def _rows(arch):
    return [(layer.op, *layer.skips) for layer in arch.layers]


def _trainable(net):
    return sum(int(np.prod(v.shape)) for v in net.trainable_variables)


def test_published_final_net_parameter_count_original_mode():
    """cifar10_macro_final.sh: 24 layers, F=96, ops 1/3 as regular convs: about 42.6 M."""
    arch = MacroArch.from_tokens(PUBLISHED_ROWS)
    net = MacroNet(arch, out_filters=96, num_classes=10, keep_prob=0.5, fixed_ops="original")
    net.build((None, 32, 32, 3))
    expected = _formula(_rows(arch), 96, 10, "original")
    assert _trainable(net) == expected
    assert round(expected / 1e6, 1) == 42.6


def test_parameter_counts_small_nets_both_modes():
    arch = MacroArch.from_tokens(PUBLISHED_ROWS)
    rows = [list(map(int, r.split())) for r in PUBLISHED_ROWS.strip().splitlines()]
    assert _rows(arch) == [tuple(r) for r in rows]
    for mode in ("original", "as_named"):
        net = MacroNet(arch, out_filters=8, num_classes=10, fixed_ops=mode)
        net.build((None, 32, 32, 3))
        assert _trainable(net) == _formula(rows, 8, 10, mode), mode
    net = MacroNet(COVERING, out_filters=6, num_classes=7)
    net.build((None, 13, 11, 3))
    assert _trainable(net) == _formula(_rows(COVERING), 6, 7, "as_named")


def test_original_mode_refuses_pools_and_builds_separable_as_regular_conv():
    with pytest.raises(EnasError, match="layer 1 uses avg_pool_3x3.*as_named") as info:
        MacroNet(COVERING, out_filters=4, num_classes=3, fixed_ops="original")
    assert "\n" not in str(info.value)
    arch = MacroArch.from_tokens("1 3 0")
    original = MacroNet(arch, out_filters=4, num_classes=3, fixed_ops="original")
    original.build((None, 8, 8, 3))
    assert tuple(original.layer_1.op_layer.kernel.shape) == (5, 5, 4, 4)
    named = MacroNet(arch, out_filters=4, num_classes=3)
    named.build((None, 8, 8, 3))
    assert tuple(named.layer_1.op_layer.depthwise_1.shape) == (5, 5, 4, 1)
    with pytest.raises(EnasError, match="fixed_ops"):
        MacroNet(arch, out_filters=4, num_classes=3, fixed_ops="paper")
    with pytest.raises(EnasError, match="MacroArch"):
        MacroNet("1 3 0", out_filters=4, num_classes=3)


# ---- an independent inference pass (moving statistics still at 0 / 1) ------------------------
def _bn(x, bn):
    return (x - bn.moving_mean) / tf.sqrt(bn.moving_variance + 1e-5) * bn.gamma + bn.beta


def _conv_bn(x, layer, relu=True):
    x = tf.nn.relu(x) if relu else x
    return _bn(tf.nn.conv2d(x, layer.kernel, 1, "SAME"), layer.bn)


def _reduce(x, layer):
    path_1 = x[:, ::2, ::2, :]
    path_2 = tf.pad(x, [[0, 0], [0, 1], [0, 1], [0, 0]])[:, 1:, 1:, :][:, ::2, ::2, :]
    y = tf.concat([tf.nn.conv2d(path_1, layer.kernel_1, 1, "SAME"),
                   tf.nn.conv2d(path_2, layer.kernel_2, 1, "SAME")], axis=-1)
    return _bn(y, layer.bn)


def _independent_logits(net, images, arch):
    prev = [_conv_bn(images, net.stem, relu=False)]
    for i, layer in enumerate(arch.layers):
        fixed = getattr(net, f"layer_{i}")
        y = _conv_bn(prev[-1], fixed.inp_conv)
        if layer.op in (4, 5):
            pool = tf.nn.avg_pool2d if layer.op == 4 else tf.nn.max_pool2d
            y = pool(tf.nn.relu(y), 3, 1, "SAME")
        elif layer.op in (1, 3):
            sep = fixed.op_layer
            y = tf.nn.depthwise_conv2d(tf.nn.relu(y), sep.depthwise_1, [1, 1, 1, 1], "SAME")
            y = _bn(tf.nn.conv2d(y, sep.pointwise_1, 1, "SAME"), sep.bn_1)
        else:
            y = _conv_bn(y, fixed.op_layer)
        if i > 0:
            chosen = [prev[j] for j, bit in enumerate(layer.skips) if bit]
            y = _conv_bn(tf.concat(chosen + [y], axis=-1), fixed.skip_conv)
        prev.append(y)
        if i in arch.pool_layers:
            prev = [_reduce(p, getattr(net, f"reduce_{i}_{j}")) for j, p in enumerate(prev)]
    return tf.reduce_mean(prev[-1], axis=[1, 2]) @ net.head.kernel


def test_inference_equals_an_independent_forward_on_an_odd_image_size():
    net = MacroNet(COVERING, out_filters=6, num_classes=5, keep_prob=0.5)
    net.build((None, 13, 11, 3))
    rng = np.random.default_rng(0)
    for weight in net.weights:        # non-trivial BN parameters and moving statistics
        if "moving_variance" in weight.path:
            weight.assign(rng.uniform(0.5, 2.0, weight.shape).astype("float32"))
        elif "gamma" in weight.path or "moving_mean" in weight.path or "beta" in weight.path:
            weight.assign(rng.normal(0.0, 0.5, weight.shape).astype("float32"))
    images = tf.constant(rng.normal(size=(3, 13, 11, 3)), tf.float32)
    logits = net(images, training=False)
    assert logits.shape == (3, 5)
    np.testing.assert_allclose(logits, _independent_logits(net, images, COVERING),
                               rtol=1e-4, atol=1e-4)
    # Training: dropout and batch statistics; the moving statistics move.
    before = net.layer_0.inp_conv.bn.moving_mean.numpy()
    assert net(images, training=True).shape == (3, 5)
    assert not np.allclose(net.layer_0.inp_conv.bn.moving_mean.numpy(), before)


def test_config_round_trip_and_keras_file(tmp_path):
    net = MacroNet(COVERING, out_filters=4, num_classes=3, keep_prob=0.8)
    net.build((None, 9, 7, 3))
    config = net.get_config()
    assert config["arch"] == COVERING.tokens()
    clone = MacroNet.from_config(config)
    assert clone.get_config() == config
    clone.build((None, 9, 7, 3))
    clone.set_weights(net.get_weights())
    images = tf.random.stateless_normal([2, 9, 7, 3], seed=[1, 2])
    np.testing.assert_allclose(clone(images), net(images), rtol=1e-6)
    path = str(tmp_path / "macro.keras")
    net.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded(images), net(images), rtol=1e-6)


def test_checkpoint_holds_every_weight(tmp_path):
    net = MacroNet(COVERING, out_filters=4, num_classes=3)
    net.build((None, 8, 8, 3))
    path = tf.train.Checkpoint(model=net).save(str(tmp_path / "ckpt"))
    saved = [n for n, _ in tf.train.list_variables(path) if n.startswith("model/")]
    assert len(saved) == len(net.weights)


def test_space_refuses_other_layer_counts_and_builds_the_compat_net():
    from enas_tf2.search_space.macro.config import MacroConfig
    from enas_tf2.search_space.registry import get_space
    from enas_tf2.data.specs import ImageSpec
    space = get_space("macro", MacroConfig(num_layers=6, out_filters=4, fixed_ops="original"))
    assert space.task == "image_classification" and space.num_branches == 6
    with pytest.raises(EnasError, match="has 2 layers but --child_num_layers=6"):
        space.arch_from_tokens("1 3 0")
    with pytest.raises(EnasError, match="avg_pool_3x3"):
        space.build_fixed(COVERING, ImageSpec(9, 9, 3), total_steps=1)
    arch = space.arch_from_tokens("1  3 1  0 0 1  2 1 0 1  3 1 1 0 1  2 0 1 1 0 1")
    net = space.build_fixed(arch, ImageSpec(9, 9, 3), total_steps=1)
    assert _trainable(net) == _formula(_rows(arch), 4, 3, "original")
