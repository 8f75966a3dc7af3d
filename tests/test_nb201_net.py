"""The fixed NAS-Bench-201 network against an independent re-statement of the benchmark's
``TinyNetwork`` (stem, 3 x N cells, two ResNet reduction blocks, BN-ReLU-pool-linear head)."""

import numpy as np
import pytest
import tensorflow as tf

from enas_tf2.search_space.nb201.arch import Nb201Arch
from enas_tf2.search_space.nb201.net import Nb201Net

# Trainable parameters of one edge op at width c (ReLU-conv-BN: kernel, gamma, beta).
EDGE_PARAMS = {
    "none": lambda c: 0, "skip_connect": lambda c: 0, "avg_pool_3x3": lambda c: 0,
    "nor_conv_1x1": lambda c: c * c + 2 * c, "nor_conv_3x3": lambda c: 9 * c * c + 2 * c,
}


def benchmark_param_count(op_names, C, N, classes=10, in_channels=3):
    """What the benchmark's network has, written from its definition (not from our code)."""
    stem = 9 * in_channels * C + 2 * C
    cells = sum(N * sum(EDGE_PARAMS[name](c) for name in op_names) for c in (C, 2 * C, 4 * C))

    def resnet_block(cin, cout):     # conv_a (3x3 s2) + BN, conv_b (3x3) + BN, shortcut 1x1 conv
        return 9 * cin * cout + 2 * cout + 9 * cout * cout + 2 * cout + cin * cout
    head = 2 * 4 * C + 4 * C * classes + classes      # lastact BN, linear with bias
    return stem + cells + resnet_block(C, 2 * C) + resnet_block(2 * C, 4 * C) + head


def _net(names, C=16, N=5, classes=10, size=32):
    from enas_tf2.search_space.nb201 import ops
    arch = Nb201Arch(tuple(ops.op_id(n) for n in names))
    net = Nb201Net(arch, out_filters=C, num_layers=N, num_classes=classes)
    net.build((None, size, size, 3))
    return net


@pytest.mark.parametrize("names", [
    ["nor_conv_3x3"] * 6, ["skip_connect"] * 6, ["none"] * 6, ["avg_pool_3x3"] * 6,
    ["nor_conv_3x3", "nor_conv_3x3", "nor_conv_3x3", "skip_connect", "nor_conv_3x3",
     "nor_conv_1x1"],
])
@pytest.mark.parametrize("C, N", [(16, 5), (8, 2)])
def test_parameter_count_matches_the_benchmark_network(names, C, N):
    net = _net(names, C, N)
    assert net.count_params_trainable() == benchmark_param_count(names, C, N)


def test_shapes_any_image_size_and_none_cells_output_zeros():
    net = _net(["nor_conv_1x1"] * 6, C=4, N=1, classes=3, size=19)
    logits = net(tf.random.normal([2, 19, 19, 3]), training=True)
    assert logits.shape == (2, 3)
    # All-none cells pass zeros on: the logits are the head's bias whatever the image.
    dead = _net(["none"] * 6, C=4, N=1, classes=3, size=16)
    dead.head.bias.assign([0.5, -1.0, 2.0])
    out = dead(tf.random.normal([3, 16, 16, 3]), training=False).numpy()
    np.testing.assert_allclose(out, np.tile([0.5, -1.0, 2.0], (3, 1)), atol=1e-6)


def test_cell_computes_node_sums_of_its_edges():
    """Node j = sum_i op_ij(node i) for a cell of skips and pools, checked by hand."""
    from enas_tf2.search_space.nb201.cell import Nb201Cell
    from enas_tf2.search_space.nb201 import ops
    arch = Nb201Arch.from_tokens("|skip_connect~0|+|avg_pool_3x3~0|skip_connect~1|+"
                                 "|none~0|skip_connect~1|avg_pool_3x3~2|")
    cell = Nb201Cell(arch.ops, 2)
    cell.build((None, 5, 5, 2))
    x = tf.random.normal([1, 5, 5, 2])
    pool = lambda t: tf.nn.avg_pool2d(t, 3, 1, "SAME")  # noqa: E731
    n1 = x
    n2 = pool(x) + n1
    n3 = n1 + pool(n2)
    np.testing.assert_allclose(cell(x).numpy(), n3.numpy(), rtol=1e-6, atol=1e-6)
    assert ops.NUM_EDGES == 6


def test_keras_round_trip_and_relu_taps():
    net = _net(["nor_conv_3x3", "avg_pool_3x3", "nor_conv_1x1", "skip_connect", "none",
                "nor_conv_3x3"], C=4, N=1, size=16)
    clone = Nb201Net.from_config(net.get_config())
    assert clone.get_config() == net.get_config() and clone.arch == net.arch
    taps = net.relu_inputs(tf.random.normal([2, 16, 16, 3]))
    # 3 conv edges per cell x 3 cells + 2 per reduction block x 2 + 1 in the head.
    assert len(taps) == 3 * 3 + 2 * 2 + 1
