"""The fixed micro network: parameter count vs the per-op formula, stride-2 reductions, drop path."""

import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from enas_tf2.errors import EnasError
from enas_tf2.layers.drop_path import DropPath
from enas_tf2.search_space.micro.arch import MicroArch
from enas_tf2.search_space.micro.net import MicroNet

PUBLISHED = MicroArch.from_tokens("0 2 0 0 0 4 0 1 0 4 1 1 1 0 0 1 0 2 1 1 "
                                  "1 0 1 0 0 3 0 2 1 1 3 1 1 0 0 4 0 3 1 1")
# Published normal cell + a reduction cell that never reads input 1 (a loose end that must be
# factorized-reduced before the concat) and uses identity/max/avg on the inputs.
LOOSE_INPUT = MicroArch.from_tokens("0 2 0 0 0 4 0 1 0 4 1 1 1 0 0 1 0 2 1 1 "
                                    "0 4 0 3 2 0 0 1 3 2 2 4 0 0 4 1 5 3 0 2")


# ---- the per-op parameter formula (docs/enas_reference.md §1.2, §1.4, §4.6), written independently ---------
def _bn(c):                      # gamma + beta (moving statistics are not trainable)
    return 2 * c


def _conv1x1_bn(c_in, f):        # calibration "ReLU -> 1x1 -> BN" and "layer_base"
    return c_in * f + _bn(f)


def _factorized_reduction(c_in, f):   # two 1x1 convs to f/2 each, then BN
    return 2 * c_in * (f // 2) + _bn(f)


def _sep_conv(k, f):             # {depthwise kxk + pointwise 1x1 + BN} twice, F channels in and out
    return 2 * (k * k * f + f * f + _bn(f))


def _loose_ends(nodes):
    used = {i for n in nodes for i in (n[0], n[2])}
    return [j for j in range(len(nodes) + 2) if j not in used]


def _cell_params(nodes, reduction, c0, c1, size0, size1, f):
    p = 0
    if size0 != size1:
        p += _factorized_reduction(c0, f)
    elif c0 != f:
        p += _conv1x1_bn(c0, f)
    if c1 != f:
        p += _conv1x1_bn(c1, f)
    p += _conv1x1_bn(f, f)                         # layer_base
    for node in nodes:
        for index, op in ((node[0], node[1]), (node[2], node[3])):
            if op in (0, 1):
                p += _sep_conv(3 if op == 0 else 5, f)
            elif op == 4 and reduction and index < 2:   # identity with stride 2
                p += _factorized_reduction(f, f)
    loose = _loose_ends(nodes)
    p += sum(_factorized_reduction(f, f) for j in loose if reduction and j < 2)
    return p, len(loose) * f


def formula_params(arch, num_layers, out_filters, num_classes, image_size, aux):
    """(backbone + classifier, aux head) trainable parameter counts."""
    f = out_filters
    total = 3 * 3 * 3 * 3 * f + _bn(3 * f)         # stem
    reductions = (num_layers // 3, 2 * (num_layers // 3) + 1)
    prev = [(3 * f, image_size), (3 * f, image_size)]
    aux_params = 0
    for layer in range(num_layers + 2):
        reduction = layer in reductions
        f *= 2 if reduction else 1
        (c0, s0), (c1, s1) = prev
        p, c_out = _cell_params(arch.reduce if reduction else arch.normal, reduction,
                                c0, c1, s0, s1, f)
        total += p
        prev = [prev[1], (c_out, -(-s1 // 2) if reduction else s1)]
        if aux and layer == reductions[1] + 1:
            pooled = (prev[1][1] - 5) // 3 + 1
            aux_params = (c_out * 128 + _bn(128) + pooled * pooled * 128 * 768 + _bn(768)
                          + 768 * num_classes)
    return total + prev[1][0] * num_classes, aux_params


def _count(variables):
    return sum(int(np.prod(v.shape)) for v in variables)


@pytest.mark.parametrize("aux", [False, True])
def test_published_arch_params_at_micro_final_settings(aux):
    net = MicroNet(PUBLISHED, num_layers=15, num_cells=5, out_filters=36, num_classes=10,
                   keep_prob=0.8, drop_path_keep_prob=0.6, use_aux_heads=aux, total_steps=1000)
    net.build((None, 32, 32, 3))
    backbone, aux_head = formula_params(PUBLISHED, 15, 36, 10, 32, aux)
    assert _count(net.trainable_variables) == backbone + aux_head
    if aux:
        assert _count(net.aux_head.trainable_variables) == aux_head
    # The formula reproduces docs/enas_reference.md §4.6's derived figures (≈3.89 M, aux head ≈0.49 M).
    assert round(backbone / 1e4) == 389
    if aux:
        assert round(aux_head / 1e4) == 49


def test_params_with_a_loose_input_in_the_reduction_cell():
    assert _loose_ends(LOOSE_INPUT.reduce) == [1, 6]
    net = MicroNet(LOOSE_INPUT, num_layers=3, num_cells=5, out_filters=8, num_classes=7,
                   use_aux_heads=True)
    net.build((None, 32, 32, 3))
    backbone, aux_head = formula_params(LOOSE_INPUT, 3, 8, 7, 32, True)
    assert _count(net.trainable_variables) == backbone + aux_head


def test_reduction_cells_really_stride_two():
    tf.random.set_seed(0)
    net = MicroNet(LOOSE_INPUT, num_layers=3, num_cells=5, out_filters=8, num_classes=7,
                   keep_prob=0.5, drop_path_keep_prob=0.6, use_aux_heads=True, total_steps=10)
    images = tf.random.normal([2, 32, 32, 3])
    net.build(images.shape)
    assert net.reduction_indices == (1, 3)
    x = net.stem(images, training=False)
    prev, shapes = [x, x], []
    for cell in net.cells:
        prev = [prev[1], cell(prev, training=False)]
        shapes.append(tuple(prev[1].shape))
    # normal 5 loose ends, reduce 2 (nodes 1 and 6) -> 2F channels; F doubles at each reduction.
    assert shapes == [(2, 32, 32, 40), (2, 16, 16, 32), (2, 16, 16, 80), (2, 8, 8, 64),
                      (2, 8, 8, 160)]
    # Ops on inputs 0/1 of a reduction cell carry stride 2, ops on later nodes stride 1.
    reduce_cell = net.cells[1]
    strides = [getattr(op, "strides", None) for op in reduce_cell.slot_ops]
    assert strides == [2, 2, 1, 2, 1, None, 2, 1, 1, 2]
    logits = net(images, training=False)
    assert logits.shape == (2, 7)
    np.testing.assert_allclose(logits, net(images, training=False))     # eval is deterministic
    train_logits, aux_logits = net(images, training=True, step=3)
    assert train_logits.shape == (2, 7) and aux_logits.shape == (2, 7)


def test_drop_path_schedule_reaches_keep_prob_at_last_cell_and_step():
    """docs/enas_reference.md §11 check 4, plus hand-computed intermediate values of the §4.4 formula."""
    dp, layers, steps = 0.6, 15, 630 * 347
    net = MicroNet(PUBLISHED, num_layers=layers, num_cells=5, out_filters=4, num_classes=10,
                   drop_path_keep_prob=dp, total_steps=steps)
    last = net.cells[-1].drop_path
    assert last.cell_index == layers + 1
    assert float(last.keep_prob(steps - 1)) == pytest.approx(dp, abs=1e-6)
    assert float(last.keep_prob(10 * steps)) == pytest.approx(dp, abs=1e-6)   # capped at 1
    first = net.cells[0].drop_path
    # cell 0: kp_cell = 1 - 1/17 * 0.4; at step 0: 1 - (1/steps) * (1 - kp_cell).
    assert float(first.keep_prob(0)) == pytest.approx(1 - (1 / steps) * (0.4 / 17), abs=1e-7)
    middle = net.cells[8].drop_path
    assert float(middle.keep_prob(steps // 2 - 1)) == pytest.approx(1 - 0.5 * 9 / 17 * 0.4,
                                                                    abs=1e-6)


def test_drop_path_masks_whole_examples_and_keeps_the_mean():
    layer = DropPath(0.5, cell_index=3, total_cells=4, total_steps=100)   # kp = 0.5 at the end
    x = tf.ones([4000, 2, 2, 3])
    assert layer(x, step=99, training=False) is x
    tf.random.set_seed(1)
    y = layer(x, step=99, training=True).numpy()
    per_example = y.reshape(4000, -1)
    # Each example is either dropped (0) or kept and divided by kp (2), as a whole.
    assert np.all((per_example == 0) | (per_example == 2.0))
    assert np.all(per_example.min(axis=1) == per_example.max(axis=1))
    assert abs(per_example[:, 0].mean() - 1.0) < 0.06   # 4000 Bernoulli(0.5) draws: sd 0.016
    assert DropPath(1.0, 0, 4, 100)(x, step=0, training=True) is x


def test_every_weight_gets_a_gradient_including_the_aux_head():
    tf.random.set_seed(2)
    net = MicroNet(PUBLISHED, num_layers=1, num_cells=5, out_filters=4, num_classes=3,
                   keep_prob=0.8, drop_path_keep_prob=0.7, use_aux_heads=True, total_steps=5)
    images = tf.random.normal([4, 32, 32, 3])
    net.build(images.shape)
    with tf.GradientTape() as tape:
        logits, aux_logits = net(images, training=True, step=tf.constant(2, tf.int64))
        loss = tf.reduce_sum(logits ** 2) + 0.4 * tf.reduce_sum(aux_logits ** 2)
    grads = tape.gradient(loss, net.trainable_variables)
    missing = [v.path for v, g in zip(net.trainable_variables, grads) if g is None]
    assert not missing
    aux_paths = {v.path for v in net.aux_head.trainable_variables}
    assert any(float(tf.reduce_max(tf.abs(g))) > 0 for v, g in
               zip(net.trainable_variables, grads) if v.path in aux_paths)


def test_config_round_trip_and_checkpoint_covers_every_variable(tmp_path):
    tf.random.set_seed(3)
    net = MicroNet(LOOSE_INPUT, num_layers=1, num_cells=5, out_filters=4, num_classes=3,
                   use_aux_heads=True)
    images = tf.random.normal([2, 32, 32, 3])
    net.build(images.shape)
    net(images, training=True)                       # moves BN statistics off their init
    config = net.get_config()
    assert config["arch"] == LOOSE_INPUT.tokens()
    twin = MicroNet.from_config(config)
    twin.build(images.shape)
    assert twin.arch == LOOSE_INPUT
    # tf.train.Checkpoint must reach every variable (it does not follow Keras' tracked lists).
    path = tf.train.Checkpoint(model=net).write(str(tmp_path / "ckpt"))
    status = tf.train.Checkpoint(model=twin).read(path)
    status.assert_existing_objects_matched()
    assert len(twin.weights) == len(net.weights)
    np.testing.assert_array_equal(twin(images, training=False), net(images, training=False))


def test_bad_construction_and_own_drop_path_step():
    with pytest.raises(EnasError, match="num_cells=4"):
        MicroNet(PUBLISHED, num_layers=3, num_cells=4, out_filters=8, num_classes=10)
    with pytest.raises(EnasError, match="even out_filters"):
        MicroNet(PUBLISHED, num_layers=3, num_cells=5, out_filters=7, num_classes=10)
    with pytest.raises(EnasError, match="at least 5x5"):
        MicroNet(PUBLISHED, num_layers=3, num_cells=5, out_filters=4, num_classes=10,
                 use_aux_heads=True).build((None, 16, 16, 3))
    net = MicroNet(PUBLISHED, num_layers=1, num_cells=5, out_filters=4, num_classes=10,
                   drop_path_keep_prob=0.6, total_steps=10)
    net.build((None, 32, 32, 3))
    # Without step=, training calls count themselves (no loop has to know about drop path);
    # inference calls and calls with an explicit step leave the count alone.
    for _ in range(3):
        net(tf.zeros([1, 32, 32, 3]), training=True)
    net(tf.zeros([1, 32, 32, 3]), training=False)
    net(tf.zeros([1, 32, 32, 3]), training=True, step=7)
    assert int(net.drop_path_step.numpy()) == 3


# Needs its own process: logical CPU devices must be configured before TensorFlow initialises.
_MIRRORED_SCRIPT = """
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import numpy as np
from enas_tf2.search_space.micro.arch import MicroArch
from enas_tf2.search_space.micro.net import MicroNet
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
with strategy.scope():
    net = MicroNet(sys_arch, 1, 5, 4, 3, 0.8, 0.6, True, 10)
    net.build((None, 32, 32, 3))
tf.random.set_seed(0)
# The two replicas see very different halves (offset 3): unsynchronised statistics would differ.
images = tf.random.normal([8, 32, 32, 3]) + tf.repeat([0.0, 3.0], 4)[:, None, None, None]
dist = strategy.experimental_distribute_dataset(tf.data.Dataset.from_tensors(images))

@tf.function
def step(batch):
    return strategy.run(lambda x: net(x, training=True, step=tf.constant(1, tf.int64))[0],
                        args=(batch,))

for batch in dist:
    step(batch)
for bn in (net.stem.bn, net.cells[-1].layer_base.bn):
    for var in (bn.moving_mean, bn.moving_variance):
        copies = [v.numpy() for v in var.value.values]
        assert len(copies) == 2 and np.array_equal(copies[0], copies[1]), var.path
# Stem BN: the average of the replicas' updates = 0.1 * mean over the whole global batch.
stem_out = tf.nn.conv2d(images, net.stem.kernel, 1, "SAME")
np.testing.assert_allclose(net.stem.bn.moving_mean.value.values[0].numpy(),
                           0.1 * tf.reduce_mean(stem_out, [0, 1, 2]).numpy(), atol=1e-5)
print("OK")
"""


def test_moving_statistics_stay_identical_across_mirrored_replicas():
    script = _MIRRORED_SCRIPT.replace("sys_arch", f"MicroArch.from_tokens({PUBLISHED.tokens()!r})")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip().endswith("OK"), proc.stderr[-3000:]
