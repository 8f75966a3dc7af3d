"""The weight-shared MicroChild: one trace, only sampled ops, exact maths, gradients, shapes."""

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from enas_tf2.errors import EnasError
from enas_tf2.layers import (avg_pool_3x3, factorized_reduction, fused_batch_norm, max_pool_3x3,
                             sep_conv)
from enas_tf2.search_space.micro import ops
from enas_tf2.search_space.micro import shared_cell as shared_cell_module
from enas_tf2.layers import branch_switch
from enas_tf2.search_space.micro import slot_kernels
from enas_tf2.search_space.micro.arch import MicroArch
from enas_tf2.search_space.micro.child import MicroChild, reduction_cell_ids

# Every op at stride 1 and 2, identity as a factorized reduction, node 0 of the reduction cell a
# loose end (so it is reduced before the output conv) and two loose ends in the normal cell.
COVERING_ARCH = MicroArch.from_tokens(
    "0 0 1 1 2 2 0 3 3 4 1 0 4 1 2 3 0 2 3 4 "
    "1 4 1 1 2 0 1 3 3 2 2 4 1 2 4 1 5 3 3 0")
SMALL = dict(num_layers=3, num_cells=5, out_filters=4, num_classes=10)


def _child(height=12, width=12, **overrides):
    kwargs = dict(SMALL, keep_prob=1.0)
    kwargs.update(overrides)
    child = MicroChild(**kwargs)
    child.build((None, height, width, 3))
    return child


def _images(height=12, width=12, batch=4, seed=0):
    return tf.random.stateless_normal([batch, height, width, 3], seed=[seed, 1])


def _reference_logits(child, images, arch, training):
    """The child's network for ONE arch, written with the layers' functional forms + autodiff."""
    prev = cur = child.stem(images, training=training)
    for cell_id, reduction in enumerate(child._plan):
        h0, h1 = child._calibrate(cell_id, prev, cur, training)
        banks = {name: tf.convert_to_tensor(getattr(child.cell_weights[cell_id], name))
                 for name in child.cell_weights[cell_id].bank_names()}
        cell = "reduce" if reduction else "normal"
        values = [h0, h1]
        for node_id, node in enumerate(arch.cell(cell), start=2):
            total = 0.0
            for j, (index, op) in enumerate(((node.index_1, node.op_1),
                                             (node.index_2, node.op_2))):
                slot = 2 * (node_id - 2) + j
                stride = 2 if reduction and index < 2 else 1
                x = values[index]
                if op in ops.SEP_CONV_OPS:
                    prefix = f"sep_{ops.SEP_CONV_KERNEL_SIZE[op]}"
                    bn = banks[f"{prefix}_bn"][slot]
                    out = sep_conv(x, banks[f"{prefix}_depthwise"][slot],
                                   banks[f"{prefix}_pointwise"][slot], bn[:, 0], bn[:, 1], stride)
                elif op == ops.AVG_POOL_3X3:
                    out = avg_pool_3x3(x, stride)
                elif op == ops.MAX_POOL_3X3:
                    out = max_pool_3x3(x, stride)
                elif stride == 2:
                    kernel = banks["identity_reduce_kernel"][slot]
                    bn = banks["identity_reduce_bn"][slot]
                    out = factorized_reduction(x, kernel[0], kernel[1], bn[0], bn[1])
                else:
                    out = x
                total = total + out
            values.append(total)
        parts = []
        for j in arch.loose_ends(cell):
            value = values[j]
            if reduction and j < 2:
                kernel, bn = banks["loose_reduce_kernel"][j], banks["loose_reduce_bn"][j]
                value = factorized_reduction(value, kernel[0], kernel[1], bn[0], bn[1])
            parts.append(tf.nn.relu(value))
        kernel = tf.concat([banks["out_kernel"][j] for j in arch.loose_ends(cell)], axis=0)
        y = tf.nn.conv2d(tf.concat(parts, axis=-1), kernel[None, None], 1, "SAME")
        prev, cur = cur, fused_batch_norm(y, banks["out_bn"][0], banks["out_bn"][1])
    return child.head(cur, training=training)


def _grads(fn, variables):
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.square(fn()))
    return tape.gradient(loss, variables)


@pytest.mark.parametrize("arch", [COVERING_ARCH, MicroArch.random(5, seed=3)],
                         ids=["covering", "random"])
def test_matches_a_plain_network_of_the_arch_forward_and_backward(arch):
    child = _child()
    images = _images()
    arch_tensor = tf.constant(arch.to_array())
    variables = child.trainable_variables

    @tf.function(autograph=False)
    def step():
        return _grads(lambda: child(images, arch_tensor, training=True), variables)

    @tf.function(autograph=False)
    def reference():
        return _grads(lambda: _reference_logits(child, images, arch, True), variables)

    np.testing.assert_allclose(child(images, arch_tensor, training=True),
                               _reference_logits(child, images, arch, True),
                               rtol=1e-4, atol=1e-4)
    # The plain network never reads the weights of ops the arch does not use: None there.
    want_all = [tf.zeros_like(v) if g is None else tf.convert_to_tensor(g)
                for v, g in zip(variables, reference())]
    got_all = step()
    # Tolerance relative to the largest gradient: some gradients are exactly 0 up to float noise
    # (e.g. BN betas feeding only another BN), where a per-variable relative check is meaningless.
    scale = max(float(tf.reduce_max(tf.abs(g))) for g in want_all)
    for v, got, want in zip(variables, got_all, want_all):
        assert got is not None, v.path
        assert isinstance(got, tf.Tensor), v.path     # dense, no IndexedSlices
        np.testing.assert_allclose(got / scale, want / scale, atol=1e-5, err_msg=v.path)


# The merge-reads variant (experimental, off by default) failed once in five runs of this file
# on a loaded host, not reproduced alone: kept out of the default suite until understood.
@pytest.mark.parametrize("split,merge", [(False, False),
                                         pytest.param(True, True, marks=pytest.mark.slow)],
                         ids=["joined_backward", "split_backward_merge_reads"])
def test_the_benchmark_switches_keep_the_maths(monkeypatch, split, merge):
    """`branch_switch.SPLIT_BACKWARD` and `shared_cell.MERGE_READS` (issue 23) move work between
    functions, never change values or gradients."""
    monkeypatch.setattr(branch_switch, "SPLIT_BACKWARD", split)
    monkeypatch.setattr(shared_cell_module, "MERGE_READS", merge)
    test_matches_a_plain_network_of_the_arch_forward_and_backward(COVERING_ARCH)


def test_one_trace_serves_twenty_random_archs():
    child = _child()
    images, labels = _images(), tf.constant([0, 1, 2, 3])
    optimizer = tf.keras.optimizers.SGD(0.01, momentum=0.9, nesterov=True)
    optimizer.build(child.trainable_variables)
    traces = []

    @tf.function
    def train_step(arch):
        traces.append(1)
        with tf.GradientTape() as tape:
            logits = child(images, arch, training=True)
            loss = tf.reduce_mean(
                tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits))
            loss += 1e-4 * child.l2_loss()
        grads = tape.gradient(loss, child.trainable_variables)
        optimizer.apply_gradients(zip(grads, child.trainable_variables))
        return loss

    archs = [MicroArch.random(5, seed=s).to_array() for s in range(20)]
    assert len({a.tobytes() for a in archs}) == 20
    # The branch tables are process-wide: earlier tests may have traced some of them (e.g. a
    # forward-only pass), so count what THIS test's first step traced.
    before = branch_switch.trace_counts()
    losses = [float(train_step(tf.constant(archs[0])))]
    slot_traces = branch_switch.trace_counts()
    losses += [float(train_step(tf.constant(a))) for a in archs[1:]]
    assert len(traces) == 1
    assert branch_switch.trace_counts() == slot_traces      # no slot retraced for a new arch
    added = [now - was for key, counts in slot_traces.items()
             for now, was in zip(counts, before.get(key, (0,) * len(counts)))]
    assert set(added) <= {0, 1}      # the first step traces each slot function at most once
    assert slot_traces and all(counts[0] >= 1 for counts in slot_traces.values())
    assert all(np.isfinite(losses))


def _untaken_slices(arch):
    """(cell kind, bank name, row) of every weight slice the arch does not use."""
    unused = []
    for cell in ("normal", "reduce"):
        chosen = {}
        for node_id, node in enumerate(arch.cell(cell), start=2):
            for j, (index, op) in enumerate(((node.index_1, node.op_1),
                                             (node.index_2, node.op_2))):
                chosen[2 * (node_id - 2) + j] = (index, op)
        for slot, (index, op) in chosen.items():
            for sep_op, k in ops.SEP_CONV_KERNEL_SIZE.items():
                if op != sep_op:
                    unused += [(cell, f"sep_{k}_{part}", slot)
                               for part in ("depthwise", "pointwise", "bn")]
            if cell == "reduce" and not (op == ops.IDENTITY and index < 2):
                unused += [(cell, "identity_reduce_kernel", slot),
                           (cell, "identity_reduce_bn", slot)]
        if cell == "reduce":
            for j in (0, 1):
                if j not in arch.loose_ends("reduce"):
                    unused += [(cell, "loose_reduce_kernel", j), (cell, "loose_reduce_bn", j)]
    return unused


def test_untaken_ops_are_not_computed_and_get_zero_gradients():
    arch = COVERING_ARCH
    child = _child()
    images, arch_tensor = _images(), tf.constant(arch.to_array())
    clean = child(images, arch_tensor, training=True).numpy()
    # Poison every weight slice the arch does not use: a computed untaken op would spread NaN.
    poisoned = []
    for cell_id, reduction in enumerate(child._plan):
        weights = child.cell_weights[cell_id]
        for cell, name, row in _untaken_slices(arch):
            if (cell == "reduce") == reduction:
                bank = getattr(weights, name)
                value = bank.numpy()
                value[row] = np.nan
                bank.assign(value)
                poisoned.append((bank, row))
    assert poisoned
    variables = child.trainable_variables

    @tf.function(autograph=False)
    def grad_step():
        return _grads(lambda: child(images, arch_tensor, training=True), variables)

    grads = grad_step()
    np.testing.assert_allclose(child(images, arch_tensor, training=True), clean, rtol=1e-6)
    assert all(g is not None and np.all(np.isfinite(g)) for g in grads)
    by_var = {id(v): g for v, g in zip(variables, grads)}
    for bank, row in poisoned:
        assert np.all(by_var[id(bank)].numpy()[row] == 0.0), (bank.path, row)
    # ... and the used slices do get a gradient.
    sep = child.cell_weights[0].sep_3_pointwise
    assert np.any(by_var[id(sep)].numpy()[0] != 0.0)   # slot 0 of the normal cell is sep 3x3


@pytest.mark.parametrize("height,width", [(32, 32), (40, 24)])
def test_output_shapes(height, width):
    child = _child(height, width)
    logits = child(_images(height, width, batch=2), tf.constant(COVERING_ARCH.to_array()),
                   training=False)
    assert logits.shape == (2, 10)
    assert np.all(np.isfinite(logits))


@pytest.mark.parametrize("height,width", [(8, 6), (7, 5)])
def test_a_reduction_cell_halves_the_resolution(height, width):
    child = _child()
    weights = child.cell_weights[reduction_cell_ids(SMALL["num_layers"])[0]]
    h = tf.random.stateless_normal([2, height, width, weights.filters], seed=[1, 2])
    out = shared_cell_module.shared_cell(
        h, h, tf.constant(COVERING_ARCH.to_array()[1]), *weights.tensors(),
        num_cells=5, reduction=True)
    assert out.shape == (2, (height + 1) // 2, (width + 1) // 2, weights.filters)


def test_dropout_only_in_training_and_batch_statistics_in_both_modes():
    images, arch = _images(), tf.constant(COVERING_ARCH.to_array())
    child = _child(keep_prob=0.5)
    no_dropout = _child(keep_prob=1.0)
    no_dropout.set_weights(child.get_weights())
    evaluated = child(images, arch, training=False)
    np.testing.assert_allclose(child(images, arch, training=False), evaluated)
    # Eval = the same network without dropout, BN still on batch statistics.
    np.testing.assert_allclose(no_dropout(images, arch, training=True), evaluated, rtol=1e-5)
    tf.random.set_seed(0)
    assert not np.allclose(child(images, arch, training=True), evaluated)
    # Batch statistics: the first image's logits depend on the rest of the batch.
    alone = child(images[:2], arch, training=False)
    assert not np.allclose(alone, evaluated[:2], atol=1e-3)


def test_l2_loss_is_the_sum_of_squares_of_all_trainable_weights():
    child = _child()
    expected = sum(float(np.sum(np.square(v.numpy()))) for v in child.trainable_variables)
    assert float(child.l2_loss()) == pytest.approx(expected, rel=1e-5)
    # No BN moving statistics anywhere: the only non-trainable weight is the head's count of
    # training calls that seeds its dropout masks.
    assert [v.path.split("/", 1)[1] for v in child.non_trainable_variables] == [
        "head/dropout_step"]


def test_every_bank_layout_and_variable_count():
    child = _child()
    names = {v.path.split("/")[-1] for v in child.trainable_variables}
    assert {"sep_3_depthwise", "sep_5_pointwise", "identity_reduce_kernel",
            "loose_reduce_bn", "out_kernel"} <= names
    normal = child.cell_weights[0]
    assert tuple(normal.sep_5_depthwise.shape) == (10, 2, 5, 5, 4, 1)
    assert tuple(normal.out_kernel.shape) == (7, 4, 4)
    assert child.cell_weights[1].filters == 8   # F doubles at the first reduction cell


@pytest.mark.parametrize("kind,stride", [("sep_3", 1), ("sep_5", 2), ("reduce", 2),
                                         ("avg", 2), ("max", 1), ("max", 2)])
def test_hand_written_backward_matches_autodiff(kind, stride):
    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(size=(2, 7, 6, 4)), tf.float32)
    dy_shape = (2, 7, 6, 4) if stride == 1 else (2, 4, 3, 4)
    dy = tf.constant(rng.normal(size=dy_shape), tf.float32)
    k = 5 if kind == "sep_5" else 3
    weights = {"sep": [tf.constant(rng.normal(size=(2, k, k, 4, 1)), tf.float32),
                       tf.constant(rng.normal(size=(2, 1, 1, 4, 4)), tf.float32),
                       tf.constant(rng.normal(size=(2, 2, 4)) + 1.0, tf.float32)],
               "reduce": [tf.constant(rng.normal(size=(2, 1, 1, 4, 2)), tf.float32),
                          tf.constant(rng.normal(size=(2, 4)) + 1.0, tf.float32)]}
    if kind.startswith("sep"):
        ws = weights["sep"]
        y, res = slot_kernels.sep_conv_forward(x, *ws, stride)
        got = slot_kernels.sep_conv_backward(dy, res, *ws, stride)
        fn = lambda x, dw, pw, bn: sep_conv(x, dw, pw, bn[:, 0], bn[:, 1], stride)  # noqa: E731
    elif kind == "reduce":
        ws = weights["reduce"]
        y, res = slot_kernels.reduce_forward(x, *ws)
        got = slot_kernels.reduce_backward(dy, x, res, *ws)
        fn = lambda x, k, bn: factorized_reduction(x, k[0], k[1], bn[0], bn[1])  # noqa: E731
    else:
        ws = []
        forward = slot_kernels.avg_pool_forward if kind == "avg" else slot_kernels.max_pool_forward
        backward = (slot_kernels.avg_pool_backward if kind == "avg"
                    else slot_kernels.max_pool_backward)
        y, _ = forward(x, stride)
        got = (backward(dy, x, stride),)
        fn = lambda x: (avg_pool_3x3 if kind == "avg" else max_pool_3x3)(x, stride)  # noqa: E731
    with tf.GradientTape() as tape:
        tape.watch([x] + ws)
        want_y = fn(x, *ws)
    want = tape.gradient(want_y, [x] + ws, output_gradients=dy)
    np.testing.assert_allclose(y, want_y, rtol=1e-5, atol=1e-5)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-4)


def test_float32_even_under_a_mixed_precision_policy():
    previous = keras.mixed_precision.dtype_policy()
    keras.mixed_precision.set_dtype_policy("mixed_float16")
    try:
        child = _child()
        logits = child(_images(), tf.constant(COVERING_ARCH.to_array()), training=True)
    finally:
        keras.mixed_precision.set_dtype_policy(previous)
    assert logits.dtype == tf.float32
    assert {v.dtype for v in child.trainable_variables} == {"float32"}


def test_config_and_bad_arguments():
    child = MicroChild(**SMALL, keep_prob=0.8)
    config = child.get_config()
    assert MicroChild.from_config(config).get_config() == config
    with pytest.raises(EnasError, match="out_filters"):
        MicroChild(out_filters=5)
    with pytest.raises(EnasError, match="num_layers"):
        MicroChild(num_layers=0)
    with pytest.raises(EnasError, match="NHWC"):
        MicroChild(**SMALL).build((None, 12, 12))


_MIRRORED_SCRIPT = textwrap.dedent("""
    import json, numpy as np, tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from enas_tf2.search_space.micro.arch import MicroArch
    from enas_tf2.search_space.micro.child import MicroChild
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        child = MicroChild(num_layers=3, num_cells=5, out_filters=4, keep_prob=0.9)
        child.build((None, 12, 12, 3))
        optimizer = tf.keras.optimizers.SGD(0.05, momentum=0.9)
        optimizer.build(child.trainable_variables)
    traces = []
    images = tf.random.stateless_normal([8, 12, 12, 3], seed=[0, 1])
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
    for seed in range(3):
        step(next(batches), tf.constant(MicroArch.random(5, seed).to_array()))
    max_diff = max(float(np.max(np.abs(a - b))) for a, b in (
        [r.numpy() for r in strategy.experimental_local_results(v.value)]
        for v in child.trainable_variables))
    print(json.dumps({"traces": len(traces), "max_replica_diff": max_diff,
                      "replicas": strategy.num_replicas_in_sync}))
""")


@pytest.mark.slow
def test_mirrored_strategy_one_trace_and_identical_replicas():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    out = subprocess.run([sys.executable, "-c", _MIRRORED_SCRIPT], capture_output=True,
                         text=True, env=env, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["replicas"] == 2
    assert result["traces"] == 2        # one trace of the replica function per replica
    assert result["max_replica_diff"] == 0.0
