"""The weight-shared nb201 child computes the fixed benchmark network of the sampled cell: same
logits and, for every weight, the gradient autodiff gives for that fixed net; the weights of the
ops an edge did not sample get exactly zero; one trace serves every cell."""

import numpy as np
import pytest
import tensorflow as tf

from enas_tf2.search_space.nb201 import ops
from enas_tf2.search_space.nb201.arch import Nb201Arch
from enas_tf2.search_space.nb201.cell import edge_layer_name
from enas_tf2.search_space.nb201.child import Nb201Child
from enas_tf2.search_space.nb201.net import Nb201Net

C, N, SIZE, CLASSES = 4, 2, 8, 5
# Every op appears; node 3 reads a none edge and a pool edge.
ARCH = Nb201Arch.from_tokens("|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+"
                             "|skip_connect~0|none~1|nor_conv_3x3~2|")


def _pairs(child, net, arch):
    """(child tensor, fixed-net variable) pairs holding the same parameter, and the child rows
    no fixed parameter corresponds to (bank variable, rows): the unsampled ops."""
    pairs, unsampled = [], []
    for a, b in ((child.stem, net.stem), (child.reduce_0, net.reduce_0),
                 (child.reduce_1, net.reduce_1), (child.head, net.head)):
        assert len(a.weights) == len(b.trainable_weights)
        pairs += [(u, v) for u, v in zip(a.weights, b.trainable_weights)]
    for k in range(3 * N):
        cell = getattr(net, f"cell_{k}")
        for size in (1, 3):
            kernel = getattr(child, f"cell_{k}_conv_{size}")
            bn = getattr(child, f"cell_{k}_bn_{size}")
            used = []
            for e, op in enumerate(arch.ops):
                if op in ops.CONV_OPS and ops.KERNEL_SIZE[op] == size:
                    layer = getattr(cell, edge_layer_name(e))
                    pairs += [((kernel, e), layer.kernel), ((bn, e, 0), layer.bn.gamma),
                              ((bn, e, 1), layer.bn.beta)]
                    used.append(e)
            unused = [e for e in range(ops.NUM_EDGES) if e not in used]
            unsampled += [(kernel, unused), (bn, unused)]
    return pairs, unsampled


def _value(ref):
    if isinstance(ref, tuple):
        var, *index = ref
        return var[tuple(index)]
    return ref


def _grad_of(ref, child_vars, grads):
    var, *index = ref if isinstance(ref, tuple) else (ref,)
    grad = grads[[id(v) for v in child_vars].index(id(var))]
    return tf.convert_to_tensor(grad)[tuple(index)] if index else tf.convert_to_tensor(grad)


@pytest.fixture(scope="module")
def models():
    tf.random.set_seed(0)
    child = Nb201Child(out_filters=C, num_layers=N, num_classes=CLASSES)
    child.build((None, SIZE, SIZE, 3))
    net = Nb201Net(ARCH, out_filters=C, num_layers=N, num_classes=CLASSES)
    net.build((None, SIZE, SIZE, 3))
    pairs, unsampled = _pairs(child, net, ARCH)
    for ref, var in pairs:          # the fixed net gets the child's weights
        var.assign(_value(ref))
    for v in child.trainable_variables:   # non-trivial BN scales/offsets and head bias
        if "bn" in v.path or "bias" in v.path:
            v.assign(v + tf.random.normal(v.shape, stddev=0.3, seed=1))
    for ref, var in pairs:
        var.assign(_value(ref))
    return child, net, pairs, unsampled


def _loss(logits):
    weights = tf.reshape(tf.range(logits.shape[0] * CLASSES, dtype=tf.float32) % 7 - 3.0,
                         logits.shape)
    return tf.reduce_sum(tf.sin(logits) * weights)


def test_child_gradients_equal_autodiff_of_the_fixed_net(models):
    child, net, pairs, unsampled = models
    images = tf.random.normal([6, SIZE, SIZE, 3], seed=2)
    with tf.GradientTape() as tape:
        child_logits = child(images, arch=tf.constant(ARCH.to_array()), training=True)
        child_loss = _loss(child_logits)
    child_vars = child.trainable_variables
    child_grads = tape.gradient(child_loss, child_vars)
    assert all(g is not None for g in child_grads)
    with tf.GradientTape() as tape:
        net_loss = _loss(net(images, training=True))
    net_grads = tape.gradient(net_loss, net.trainable_variables)
    by_var = {id(v): g for v, g in zip(net.trainable_variables, net_grads)}

    np.testing.assert_allclose(child_loss.numpy(), net_loss.numpy(), rtol=1e-4, atol=1e-4)
    assert len(pairs) == len(net.trainable_variables)
    for ref, var in pairs:
        np.testing.assert_allclose(_grad_of(ref, child_vars, child_grads).numpy(),
                                   by_var[id(var)].numpy(), rtol=2e-3, atol=2e-4,
                                   err_msg=var.path)
    for var, rows in unsampled:       # ops not sampled: exactly zero, not merely small
        grad = _grad_of(var, child_vars, child_grads).numpy()
        assert np.all(grad[rows] == 0.0), var.path
    # And the sampled rows really moved (the comparison above is not between zeros).
    assert np.abs(_grad_of((child.cell_0_conv_3, 0), child_vars, child_grads)).sum() > 0


def test_one_trace_for_every_cell(models):
    child = models[0]
    images = tf.random.normal([2, SIZE, SIZE, 3])

    @tf.function
    def step(arch):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(child(images, arch=arch, training=True))
        return tape.gradient(loss, child.trainable_variables)

    outputs = [step(tf.constant(Nb201Arch.random(s).to_array())) for s in range(4)]
    assert step.experimental_get_tracing_count() == 1
    assert not np.allclose(outputs[0][-2].numpy(), outputs[1][-2].numpy())
