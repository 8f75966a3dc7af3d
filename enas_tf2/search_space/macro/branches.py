"""The macro space's branch table for `enas_tf2.layers.branch_switch` (search mode, §1.1 of
docs/enas_reference.md).

Every branch starts with its OWN 1x1 conv (F -> F) + BN + ReLU, then:

* conv kxk (ops 0, 2): kxk conv F -> F, BN, ReLU;
* separable kxk (ops 1, 3): depthwise kxk, pointwise 1x1 F -> F, BN, ReLU;
* pools (ops 4, 5): 3x3 average / max pool, stride 1, SAME.

BN uses batch statistics with eps 1e-5 everywhere. This deviates from the original in one place:
its search-mode conv branches use eps 1e-3 in the BN after the kxk op (docs/enas_reference.md
§1.1, "BN(eps 1e-3)"); the eps changes only channels whose batch variance is near 1e-3. The forward returns the residuals the
hand-written backward needs; nothing is recomputed except the max pool, whose gradient needs the
forward pool output on a direct edge to get oneDNN's fast MaxPoolGrad (`layers/max_pool.py`).

A layer hands the switch its weight slices in `LAYER_WEIGHTS` order:

================  ==================  ====================================================
name              shape               read by
================  ==================  ====================================================
inp_kernel        [6, 1, 1, F, F]     branch b's 1x1 conv is row b
inp_bn            [6, 2, F]           branch b's BN after the 1x1 conv (gamma, beta)
conv_3, conv_5    [k, k, F, F]        ops 0, 2
sep_3_*, sep_5_*  [k, k, F, 1],       ops 1, 3 (depthwise, pointwise)
                  [1, 1, F, F]
out_bn            [4, 2, F]           the BN after the kxk op of op id 0..3
================  ==================  ====================================================

Gradients of the row-stacked weights are dense tensors with only the chosen branch's row set.
"""

from __future__ import annotations

import dataclasses

import tensorflow as tf
from tensorflow.python.ops import gen_nn_ops

from enas_tf2.layers.batch_norm import batch_norm_backward, batch_norm_forward
from enas_tf2.search_space.macro import ops

LAYER_WEIGHTS = ("inp_kernel", "inp_bn", "conv_3", "conv_5", "sep_3_depthwise",
                 "sep_3_pointwise", "sep_5_depthwise", "sep_5_pointwise", "out_bn")
_INP_KERNEL, _INP_BN, _OUT_BN = 0, 1, 8
_CONV = {3: 2, 5: 3}
_SEP = {3: (4, 5), 5: (6, 7)}
_ONE = [1, 1, 1, 1]
_POOL = [1, 3, 3, 1]


def _row_gradient(grad, row: int, rows: int, stacked):
    """A dense gradient shaped like `stacked` (`rows` rows; its static sizes are unknown inside
    the shape-agnostic switch) with `grad` in `row` and zeros elsewhere: one Pad op."""
    padding = [[row, rows - 1 - row]] + [[0, 0]] * (stacked.shape.rank - 1)
    return tf.pad(grad[None], padding)


@dataclasses.dataclass(frozen=True)
class MacroBranch:
    """One macro op ``op`` (id in `ops.py`): 1x1 conv + BN + ReLU, then the op."""
    op: int

    @property
    def num_residuals(self) -> int:
        if self.op in ops.POOL_OPS:
            return 5          # 1x1 out, 3 BN reserves, ReLU out
        extra = 1 if self.op in ops.SEP_CONV_OPS else 0
        return 10 + extra     # + [depthwise out] + kxk out, 3 BN reserves, output

    def forward(self, x, weights):
        gamma_1, beta_1 = tf.unstack(weights[_INP_BN][self.op], num=2)
        c1 = gen_nn_ops.conv2d(x, weights[_INP_KERNEL][self.op], _ONE, "SAME")
        n1, reserves_1 = batch_norm_forward(c1, gamma_1, beta_1)
        r1 = tf.nn.relu(n1)
        residuals = [c1] + reserves_1 + [r1]
        if self.op == ops.AVG_POOL_3X3:
            return gen_nn_ops.avg_pool(r1, _POOL, _ONE, "SAME"), residuals
        if self.op == ops.MAX_POOL_3X3:
            return gen_nn_ops.max_pool(r1, _POOL, _ONE, "SAME"), residuals
        k = ops.KERNEL_SIZE[self.op]
        if self.op in ops.SEP_CONV_OPS:
            depthwise, pointwise = (weights[i] for i in _SEP[k])
            d = gen_nn_ops.depthwise_conv2d_native(r1, depthwise, _ONE, "SAME")
            c2 = gen_nn_ops.conv2d(d, pointwise, _ONE, "SAME")
            residuals.append(d)
        else:
            c2 = gen_nn_ops.conv2d(r1, weights[_CONV[k]], _ONE, "SAME")
        gamma_2, beta_2 = tf.unstack(weights[_OUT_BN][self.op], num=2)
        n2, reserves_2 = batch_norm_forward(c2, gamma_2, beta_2)
        y = tf.nn.relu(n2)
        return y, residuals + [c2] + reserves_2 + [y]

    @property
    def num_saved(self) -> int:
        """Tensors `backward_input` hands `backward_weights`."""
        if self.op in ops.POOL_OPS:
            return 3          # d c1, d gamma_1, d beta_1
        return 7 if self.op in ops.SEP_CONV_OPS else 6   # + d c2, d gamma_2, d beta_2 [, d d]

    def backward(self, dy, x, residuals, weights):
        dx, saved = self.backward_input(dy, x, residuals, weights)
        return dx, self.backward_weights(x, residuals, saved, weights)

    def backward_input(self, dy, x, residuals, weights):
        """``(dx, saved)``: the input gradient, and the gradients `backward_weights` needs. Split
        so that ``dx`` does not wait for the filter-gradient kernels (`layers.branch_switch`)."""
        c1, reserves_1, r1 = residuals[0], residuals[1:4], residuals[4]
        saved = []
        if self.op == ops.AVG_POOL_3X3:
            d_r1 = gen_nn_ops.avg_pool_grad(tf.shape(r1), dy, _POOL, _ONE, "SAME")
        elif self.op == ops.MAX_POOL_3X3:
            pooled = gen_nn_ops.max_pool(r1, _POOL, _ONE, "SAME")
            d_r1 = gen_nn_ops.max_pool_grad(r1, pooled, dy, _POOL, _ONE, "SAME")
        else:
            k = ops.KERNEL_SIZE[self.op]
            rest = residuals[5:]
            d, rest = (rest[0], rest[1:]) if self.op in ops.SEP_CONV_OPS else (None, rest)
            c2, reserves_2, y = rest[0], rest[1:4], rest[4]
            gamma_2 = weights[_OUT_BN][self.op][0]
            d_c2, d_gamma_2, d_beta_2 = batch_norm_backward(
                gen_nn_ops.relu_grad(dy, y), c2, gamma_2, reserves_2)
            saved = [d_c2, d_gamma_2, d_beta_2]
            if d is not None:
                dw_at, pw_at = _SEP[k]
                d_d = gen_nn_ops.conv2d_backprop_input(tf.shape(d), weights[pw_at], d_c2, _ONE,
                                                       "SAME")
                d_r1 = gen_nn_ops.depthwise_conv2d_native_backprop_input(
                    tf.shape(r1), weights[dw_at], d_d, _ONE, "SAME")
                saved.append(d_d)
            else:
                d_r1 = gen_nn_ops.conv2d_backprop_input(tf.shape(r1), weights[_CONV[k]], d_c2,
                                                        _ONE, "SAME")
        gamma_1 = weights[_INP_BN][self.op][0]
        d_c1, d_gamma_1, d_beta_1 = batch_norm_backward(
            gen_nn_ops.relu_grad(d_r1, r1), c1, gamma_1, reserves_1)
        dx = gen_nn_ops.conv2d_backprop_input(tf.shape(x), weights[_INP_KERNEL][self.op], d_c1,
                                              _ONE, "SAME")
        return dx, [d_c1, d_gamma_1, d_beta_1] + saved

    def backward_weights(self, x, residuals, saved, weights):
        """``{weight position: gradient}`` from `backward_input`'s ``saved`` tensors."""
        d_c1, d_gamma_1, d_beta_1 = saved[:3]
        kernel_1 = weights[_INP_KERNEL][self.op]
        d_kernel_1 = gen_nn_ops.conv2d_backprop_filter(x, tf.shape(kernel_1), d_c1, _ONE, "SAME")
        grads = {_INP_KERNEL: _row_gradient(d_kernel_1, self.op, ops.NUM_OPS,
                                            weights[_INP_KERNEL]),
                 _INP_BN: _row_gradient(tf.stack([d_gamma_1, d_beta_1]), self.op, ops.NUM_OPS,
                                        weights[_INP_BN])}
        if self.op in ops.POOL_OPS:
            return grads
        d_c2, d_gamma_2, d_beta_2 = saved[3:6]
        grads[_OUT_BN] = _row_gradient(tf.stack([d_gamma_2, d_beta_2]), self.op,
                                       len(ops.CONV_OPS), weights[_OUT_BN])
        r1, k = residuals[4], ops.KERNEL_SIZE[self.op]
        if self.op in ops.SEP_CONV_OPS:
            d, d_d = residuals[5], saved[6]
            dw_at, pw_at = _SEP[k]
            grads[pw_at] = gen_nn_ops.conv2d_backprop_filter(
                d, tf.shape(weights[pw_at]), d_c2, _ONE, "SAME")
            grads[dw_at] = gen_nn_ops.depthwise_conv2d_native_backprop_filter(
                r1, tf.shape(weights[dw_at]), d_d, _ONE, "SAME")
        else:
            kernel = weights[_CONV[k]]
            grads[_CONV[k]] = gen_nn_ops.conv2d_backprop_filter(
                r1, tf.shape(kernel), d_c2, _ONE, "SAME")
        return grads


# The six ops in op-id order: `branch_switch(op, x, weights, MACRO_TABLE)`.
MACRO_TABLE = tuple(MacroBranch(op) for op in range(ops.NUM_OPS))
