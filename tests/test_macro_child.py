"""The weight-shared MacroChild: exact maths vs an independent static model, gradients, one trace."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from enas_tf2.errors import EnasError
from enas_tf2.layers import branch_switch
from enas_tf2.search_space.macro import skip_sum
from enas_tf2.search_space.macro.arch import MacroArch
from enas_tf2.search_space.macro.branches import MACRO_TABLE
from enas_tf2.search_space.macro.child import MacroChild

# Six layers (pool layers 1 and 3), every op once, skips to the stem and to reduced outputs.
COVERING = MacroArch.from_tokens("1  4 1  0 0 1  5 1 0 1  3 1 1 0 1  2 0 1 1 0 1")
LAYERS, FILTERS, HEIGHT, WIDTH = 6, 4, 13, 11
EPS = 1e-5


def _child(height=HEIGHT, width=WIDTH, **overrides):
    kwargs = dict(num_layers=LAYERS, out_filters=FILTERS, num_classes=5, keep_prob=1.0)
    kwargs.update(overrides)
    child = MacroChild(**kwargs)
    child.build((None, height, width, 3))
    return child


def _images(height=HEIGHT, width=WIDTH, batch=4, seed=0):
    return tf.random.stateless_normal([batch, height, width, 3], seed=[seed, 1])


# ---- an independent static network of ONE arch, plain TF ops (docs/enas_reference.md §1.1) ---
def _bn(x, gamma, beta):
    mean, var = tf.nn.moments(x, axes=[0, 1, 2])
    return (x - mean) / tf.sqrt(var + EPS) * gamma + beta


def _conv(x, kernel):
    return tf.nn.conv2d(x, kernel, 1, "SAME")


def _factorized_reduction(x, kernel, bn):
    """§1.4: even pixels | pixels shifted by one (zero past the border), 1x1 convs, concat, BN."""
    path_1 = x[:, ::2, ::2, :]
    path_2 = tf.pad(x, [[0, 0], [0, 1], [0, 1], [0, 0]])[:, 1:, 1:, :][:, ::2, ::2, :]
    y = tf.concat([_conv(path_1, kernel[0]), _conv(path_2, kernel[1])], axis=-1)
    return _bn(y, bn[0], bn[1])


def _static_op(op, x, w, i):
    h = tf.nn.relu(_bn(_conv(x, w["inp_kernel"][i, op]), *tf.unstack(w["inp_bn"][i, op])))
    if op == 4:
        return tf.nn.avg_pool2d(h, 3, 1, "SAME")
    if op == 5:
        return tf.nn.max_pool2d(h, 3, 1, "SAME")
    k = 3 if op in (0, 1) else 5
    if op in (1, 3):
        y = tf.nn.depthwise_conv2d(h, w[f"sep_{k}_depthwise"][i], [1, 1, 1, 1], "SAME")
        y = _conv(y, w[f"sep_{k}_pointwise"][i])
    else:
        y = _conv(h, w[f"conv_{k}"][i])
    return tf.nn.relu(_bn(y, *tf.unstack(w["out_bn"][i, op])))


def _static_logits(w, images, arch: MacroArch):
    """`w` maps the child's variable names to independent copies; wiring with Python ints."""
    prev = [_bn(_conv(images, w["stem/kernel"]), w["stem/bn/gamma"], w["stem/bn/beta"])]
    pools = [LAYERS // 3 - 1, 2 * (LAYERS // 3) - 1]
    for i, layer in enumerate(arch.layers):
        y = _static_op(layer.op, prev[-1], w, i)
        if i > 0:
            y = tf.add_n([y] + [prev[j] for j, bit in enumerate(layer.skips) if bit])
            y = _bn(y, w["skip_bn"][i - 1, 0], w["skip_bn"][i - 1, 1])
        prev.append(y)
        if i in pools:
            n = pools.index(i)
            prev = [_factorized_reduction(x, w[f"reduce_{n}_kernel"][j], w[f"reduce_{n}_bn"][j])
                    for j, x in enumerate(prev)]
    return tf.reduce_mean(prev[-1], axis=[1, 2]) @ w["head/kernel"]


def _name(variable):
    return variable.path.split("/", 1)[1]


def _loss(logits):
    weights = tf.reshape(tf.range(1.0, 1.0 + tf.size(logits, tf.float32)), logits.shape)
    return tf.reduce_sum(tf.sin(weights) * logits) + tf.reduce_sum(tf.square(logits))


@pytest.mark.parametrize("arch", [COVERING, MacroArch.random(LAYERS, seed=3)],
                         ids=["covering", "random"])
def test_matches_an_independent_static_model_forward_and_backward(arch):
    child = _child()
    images, arch_tensor = _images(), tf.constant(arch.to_array())
    variables = child.trainable_variables
    copies = {_name(v): tf.Variable(v.numpy()) for v in variables}

    @tf.function(autograph=False)
    def shared():
        with tf.GradientTape() as tape:
            logits = child(images, arch_tensor, training=True)
            loss = _loss(logits)
        return logits, tape.gradient(loss, variables)

    with tf.GradientTape() as tape:
        want_logits = _static_logits(copies, images, arch)
        loss = _loss(want_logits)
    want = tape.gradient(loss, [copies[_name(v)] for v in variables])
    got_logits, got = shared()
    np.testing.assert_allclose(got_logits, want_logits, rtol=1e-4, atol=1e-4)
    for v, g, w in zip(variables, got, want):
        assert g is not None and isinstance(g, tf.Tensor), v.path    # dense, never None
        w = np.zeros(v.shape, np.float32) if w is None else tf.convert_to_tensor(w).numpy()
        scale = max(float(np.abs(w).max()), 1e-3)
        np.testing.assert_allclose(g.numpy() / scale, w / scale, atol=2e-4, err_msg=v.path)


def _untaken(arch):
    """(variable name, index) of every slice the arch does not read."""
    slices = []
    for i, layer in enumerate(arch.layers):
        slices += [("inp_kernel", (i, op)) for op in range(6) if op != layer.op]
        slices += [("inp_bn", (i, op)) for op in range(6) if op != layer.op]
        slices += [("out_bn", (i, op)) for op in range(4) if op != layer.op]
        for name, op in (("conv_3", 0), ("sep_3_depthwise", 1), ("sep_3_pointwise", 1),
                         ("conv_5", 2), ("sep_5_depthwise", 3), ("sep_5_pointwise", 3)):
            if op != layer.op:
                slices.append((name, (i,)))
    return slices


def test_untaken_branches_are_not_computed_and_get_exactly_zero_gradients():
    child = _child()
    images, arch_tensor = _images(), tf.constant(COVERING.to_array())
    clean = child(images, arch_tensor, training=True).numpy()
    by_name = {_name(v): v for v in child.trainable_variables}
    # Poison every slice the arch does not use: a computed untaken branch would spread NaN.
    for name, index in _untaken(COVERING):
        value = by_name[name].numpy()
        value[index] = np.nan
        by_name[name].assign(value)
    variables = child.trainable_variables

    @tf.function(autograph=False)
    def grads():
        with tf.GradientTape() as tape:
            loss = _loss(child(images, arch_tensor, training=True))
        return tape.gradient(loss, variables)

    got = {_name(v): g.numpy() for v, g in zip(variables, grads())}
    np.testing.assert_allclose(child(images, arch_tensor, training=True), clean, rtol=1e-6)
    assert all(np.all(np.isfinite(g)) for g in got.values())
    for name, index in _untaken(COVERING):
        assert np.all(got[name][index] == 0.0), (name, index)
    # The sampled slices do get gradients: layer 0 is sep 3x3, layer 2 conv 3x3.
    assert np.any(got["sep_3_depthwise"][0] != 0) and np.any(got["conv_3"][2] != 0)
    assert np.any(got["inp_kernel"][3, 5] != 0)                  # layer 3's max-pool branch


def test_one_trace_serves_many_archs():
    child = _child()
    images, labels = _images(), tf.constant([0, 1, 2, 3])
    optimizer = keras.optimizers.SGD(0.01, momentum=0.9, nesterov=True)
    optimizer.build(child.trainable_variables)
    traces = []

    @tf.function
    def train_step(arch):
        traces.append(1)
        with tf.GradientTape() as tape:
            logits = child(images, arch, training=True)
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits))
            loss += 1e-4 * child.l2_loss()
        grads = tape.gradient(loss, child.trainable_variables)
        optimizer.apply_gradients(zip(grads, child.trainable_variables))
        return loss

    archs = [MacroArch.random(LAYERS, seed=s).to_array() for s in range(8)]
    losses = [float(train_step(tf.constant(archs[0])))]
    switch_traces, sum_traces = branch_switch.trace_counts(), skip_sum.trace_counts()
    losses += [float(train_step(tf.constant(a))) for a in archs[1:]]
    assert len(traces) == 1 and all(np.isfinite(losses))
    assert branch_switch.trace_counts() == switch_traces
    # Only the macro table's functions: other tests in the process may have traced other tables
    # (e.g. a micro child run forward only) and those counts say nothing about this child.
    macro = [counts for (table, _), counts in switch_traces.items() if table == MACRO_TABLE]
    assert macro and {count for counts in macro for count in counts} == {1}
    assert skip_sum.trace_counts() == sum_traces == (1, 1)


@pytest.mark.parametrize("layers,height,width", [(6, 32, 32), (6, 7, 5), (2, 9, 8), (1, 6, 6)])
def test_output_shapes(layers, height, width):
    child = _child(height, width, num_layers=layers)
    arch = MacroArch.random(layers, seed=1, skip_prob=1.0)
    logits = child(_images(height, width, batch=2), tf.constant(arch.to_array()))
    assert logits.shape == (2, 5) and np.all(np.isfinite(logits))


def test_dropout_only_in_training_and_batch_statistics_in_both_modes():
    images, arch = _images(), tf.constant(COVERING.to_array())
    child = _child(keep_prob=0.5)
    no_dropout = _child(keep_prob=1.0)
    no_dropout.set_weights(child.get_weights())
    evaluated = child(images, arch, training=False)
    np.testing.assert_allclose(no_dropout(images, arch, training=True), evaluated, rtol=1e-5)
    tf.random.set_seed(0)
    assert not np.allclose(child(images, arch, training=True), evaluated)
    alone = child(images[:2], arch, training=False)     # batch statistics: depends on the batch
    assert not np.allclose(alone, evaluated[:2], atol=1e-3)
    # No BN moving statistics: the only non-trainable weight is the head's dropout-seed count.
    assert [v.path.split("/", 1)[1] for v in child.non_trainable_variables] == [
        "head/dropout_step"]


def test_l2_checkpoint_config_and_bad_arguments(tmp_path):
    child = _child()
    expected = sum(float(np.sum(np.square(v.numpy()))) for v in child.trainable_variables)
    assert float(child.l2_loss()) == pytest.approx(expected, rel=1e-5)
    path = tf.train.Checkpoint(model=child).save(str(tmp_path / "ckpt"))
    saved = [n for n, _ in tf.train.list_variables(path) if n.startswith("model/")]
    assert len(saved) == len(child.weights)
    config = child.get_config()
    assert MacroChild.from_config(config).get_config() == config
    with pytest.raises(EnasError, match="out_filters"):
        MacroChild(out_filters=5)
    with pytest.raises(EnasError, match="NHWC"):
        MacroChild(num_layers=3, out_filters=4).build((None, 12, 12))


def test_float32_even_under_a_mixed_precision_policy():
    previous = keras.mixed_precision.dtype_policy()
    keras.mixed_precision.set_dtype_policy("mixed_float16")
    try:
        child = _child()
        logits = child(_images(), tf.constant(COVERING.to_array()), training=True)
    finally:
        keras.mixed_precision.set_dtype_policy(previous)
    assert logits.dtype == tf.float32
    assert {v.dtype for v in child.trainable_variables} == {"float32"}


_MIRRORED_SCRIPT = """
import json, numpy as np, tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from enas_tf2.search_space.macro.arch import MacroArch
from enas_tf2.search_space.macro.child import MacroChild
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
with strategy.scope():
    child = MacroChild(num_layers=6, out_filters=4, keep_prob=0.9)
    child.build((None, 13, 11, 3))
    optimizer = tf.keras.optimizers.SGD(0.05, momentum=0.9)
    optimizer.build(child.trainable_variables)
traces = []
images = tf.random.stateless_normal([8, 13, 11, 3], seed=[0, 1])
labels = tf.constant([0, 1, 2, 3, 4, 5, 6, 7])
dataset = strategy.experimental_distribute_dataset(
    tf.data.Dataset.from_tensors((images, labels)).repeat())
@tf.function
def step(batch, arch):
    def replica(images, labels):
        traces.append(1)
        with tf.GradientTape() as tape:
            logits = child(images, arch, training=True)
            loss = tf.nn.compute_average_loss(
                tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits),
                global_batch_size=8)
        grads = tape.gradient(loss, child.trainable_variables)
        optimizer.apply_gradients(zip(grads, child.trainable_variables))
        return loss
    return strategy.reduce("SUM", strategy.run(replica, args=batch), axis=None)
batches = iter(dataset)
losses = [float(step(next(batches), tf.constant(MacroArch.random(6, s).to_array())))
          for s in range(3)]
max_diff = max(float(np.max(np.abs(a - b))) for a, b in (
    [r.numpy() for r in strategy.experimental_local_results(v.value)]
    for v in child.trainable_variables))
print(json.dumps({"traces": len(traces), "max_replica_diff": max_diff, "losses": losses}))
"""


@pytest.mark.slow
def test_mirrored_strategy_one_trace_and_identical_replicas():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    out = subprocess.run([sys.executable, "-c", _MIRRORED_SCRIPT], capture_output=True,
                         text=True, env=env, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["traces"] == 2        # one trace of the replica function per replica
    assert result["max_replica_diff"] == 0.0
    assert all(np.isfinite(result["losses"]))
