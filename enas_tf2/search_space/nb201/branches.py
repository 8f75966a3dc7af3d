"""The NAS-Bench-201 edge's branch table for `enas_tf2.layers.branch_switch` (weight-shared child).

One branch per op id (`ops.py`), channels unchanged, stride 1:

* ``none``: zeros (and a zero input gradient);
* ``skip_connect``: identity;
* ``nor_conv_1x1`` / ``nor_conv_3x3``: ReLU -> conv (no bias) -> batch-statistics BN;
* ``avg_pool_3x3``: 3x3 average pool, SAME, padding not counted.

An edge hands the switch its weight slices in `EDGE_WEIGHTS` order: ``conv_1`` [1, 1, C, C],
``conv_3`` [3, 3, C, C], ``bn_1`` [2, C] and ``bn_3`` [2, C] (gamma, beta of the BN after each
conv). A branch returns gradients only for the weights it reads; `branch_switch` fills the rest
with zeros, so the weights of the ops an edge did not sample get exactly zero gradients.
"""

from __future__ import annotations

import dataclasses

import tensorflow as tf
from tensorflow.python.ops import gen_nn_ops

from enas_tf2.layers.batch_norm import batch_norm_backward, batch_norm_forward
from enas_tf2.search_space.nb201 import ops

EDGE_WEIGHTS = ("conv_1", "conv_3", "bn_1", "bn_3")
_KERNEL_AT = {1: 0, 3: 1}
_BN_AT = {1: 2, 3: 3}
_ONE = [1, 1, 1, 1]
_POOL = [1, 3, 3, 1]


@dataclasses.dataclass(frozen=True)
class Nb201Branch:
    """One op ``op`` of an edge, with its hand-written backward."""
    op: int

    @property
    def num_residuals(self) -> int:
        return 5 if self.op in ops.CONV_OPS else 0   # ReLU out, conv out, 3 BN reserves

    def forward(self, x, weights):
        if self.op == ops.NONE:
            return tf.zeros_like(x), []
        if self.op == ops.SKIP_CONNECT:
            return tf.identity(x), []
        if self.op == ops.AVG_POOL_3X3:
            return gen_nn_ops.avg_pool(x, _POOL, _ONE, "SAME"), []
        k = ops.KERNEL_SIZE[self.op]
        r = tf.nn.relu(x)
        c = gen_nn_ops.conv2d(r, weights[_KERNEL_AT[k]], _ONE, "SAME")
        gamma, beta = tf.unstack(weights[_BN_AT[k]], num=2)
        y, reserves = batch_norm_forward(c, gamma, beta)
        return y, [r, c] + reserves

    def backward(self, dy, x, residuals, weights):
        if self.op == ops.NONE:
            return tf.zeros_like(x), {}
        if self.op == ops.SKIP_CONNECT:
            return dy, {}
        if self.op == ops.AVG_POOL_3X3:
            return gen_nn_ops.avg_pool_grad(tf.shape(x), dy, _POOL, _ONE, "SAME"), {}
        k = ops.KERNEL_SIZE[self.op]
        r, c, reserves = residuals[0], residuals[1], residuals[2:5]
        kernel, bn = weights[_KERNEL_AT[k]], weights[_BN_AT[k]]
        d_c, d_gamma, d_beta = batch_norm_backward(dy, c, bn[0], reserves)
        d_kernel = gen_nn_ops.conv2d_backprop_filter(r, tf.shape(kernel), d_c, _ONE, "SAME")
        d_r = gen_nn_ops.conv2d_backprop_input(tf.shape(r), kernel, d_c, _ONE, "SAME")
        return gen_nn_ops.relu_grad(d_r, r), {_KERNEL_AT[k]: d_kernel,
                                              _BN_AT[k]: tf.stack([d_gamma, d_beta])}


# The five ops in op-id order: `branch_switch(op, x, weights, NB201_TABLE)`.
NB201_TABLE = tuple(Nb201Branch(op) for op in range(ops.NUM_OPS))
