"""Forward-with-residuals and hand-written backward passes of the five micro ops.

Why hand-written: TF's automatic gradient of a `switch_case` (cond_v2) re-emits, from every branch,
an Optional for every intermediate of every other branch, and builds one gradient function per
branch. For 80 slots that dominated both tracing (about 1 s per slot) and the graph Grappler then
optimises. Here each op's forward branch returns its output plus the residuals its backward needs,
and the slot's custom gradient runs a second `switch_case` over these backward functions
(`enas_tf2.layers.branch_switch` with the tables of `branches.py`). Nothing is recomputed except
the 3x3 max pool, whose gradient needs the forward pool output on a direct edge to use oneDNN's
fast MaxPoolGrad.

The forward maths is exactly the layers' functional forms (`enas_tf2.layers`): same TF kernels
(ReLU, DepthwiseConv2dNative, Conv2D 1x1, FusedBatchNormV3 with batch statistics, eps 1e-5), which
the tests check against `SepConv`/`FactorizedReduction` and their automatic gradients.

Weight arguments are per-slot slices: a sep conv gets ``depthwise [2, k, k, F, 1]``,
``pointwise [2, 1, 1, F, F]`` and ``bn [2, 2, F]`` (repetition, gamma/beta, channel); a factorized
reduction gets ``kernel [2, 1, 1, F, F/2]`` (path) and ``bn [2, F]``.
"""

from __future__ import annotations

import tensorflow as tf
from tensorflow.python.ops import gen_nn_ops

from enas_tf2.layers.batch_norm import EPSILON
from enas_tf2.layers.factorized_reduction import combined_kernel

SEP_CONV_RESIDUALS = 12     # per repetition: ReLU out, depthwise out, pointwise out, 3 BN reserves
REDUCE_RESIDUALS = 5        # combined kernel, conv out, 3 BN reserves
_POOL_KSIZE = [1, 3, 3, 1]


def _strides(stride: int):
    return [1, stride, stride, 1]


def _bn_forward(x, gamma, beta, empty=None):
    # Batch statistics: the kernel ignores mean/variance inputs, which must be empty tensors.
    empty = tf.constant([], tf.float32) if empty is None else empty
    y, _, _, reserve_1, reserve_2, reserve_3 = gen_nn_ops.fused_batch_norm_v3(
        x, gamma, beta, empty, empty, epsilon=EPSILON, data_format="NHWC", is_training=True)
    return y, [reserve_1, reserve_2, reserve_3]


def _bn_backward(dy, x, gamma, reserves):
    dx, dgamma, dbeta, _, _ = gen_nn_ops.fused_batch_norm_grad_v3(
        dy, x, gamma, reserves[0], reserves[1], reserves[2], epsilon=EPSILON,
        data_format="NHWC", is_training=True)
    return dx, dgamma, dbeta


# ------------------------------------------------------------------ separable convolution
def sep_conv_forward(x, depthwise, pointwise, bn, stride: int):
    """{ReLU -> depthwise -> pointwise -> BN} x 2; returns ``(y, 12 residuals)``."""
    residuals, empty = [], tf.constant([], tf.float32)
    # tf.unstack is one op per weight; indexing would add a StridedSlice + 3 constants per piece.
    depthwise, pointwise = tf.unstack(depthwise, num=2), tf.unstack(pointwise, num=2)
    gammas_betas = tf.unstack(tf.reshape(bn, [4, -1]), num=4)
    for rep in range(2):
        relu = tf.nn.relu(x)
        dw = gen_nn_ops.depthwise_conv2d_native(
            relu, depthwise[rep], _strides(stride if rep == 0 else 1), "SAME")
        pw = gen_nn_ops.conv2d(dw, pointwise[rep], [1, 1, 1, 1], "SAME")
        x, reserves = _bn_forward(pw, gammas_betas[2 * rep], gammas_betas[2 * rep + 1], empty)
        residuals += [relu, dw, pw] + reserves
    return x, residuals


SEP_CONV_SAVED = 8   # per repetition: pre-BN gradient, depthwise-output gradient, d gamma, d beta


def sep_conv_backward_input(dy, residuals, depthwise, pointwise, bn, stride: int):
    """``(dx, saved)``: the input gradient of `sep_conv_forward` and the 8 tensors
    `sep_conv_backward_weights` needs. Split from the weight gradients so that ``dx`` reaches the
    previous slot's backward without waiting for the filter-gradient kernels."""
    saved = [None] * SEP_CONV_SAVED
    depthwise, pointwise = tf.unstack(depthwise, num=2), tf.unstack(pointwise, num=2)
    gammas = tf.unstack(bn[:, 0], num=2)
    for rep in (1, 0):
        relu, _, pw = residuals[6 * rep: 6 * rep + 3]
        reserves = residuals[6 * rep + 3: 6 * rep + 6]
        d_pre_bn, d_gamma, d_beta = _bn_backward(dy, pw, gammas[rep], reserves)
        d_dw_out = gen_nn_ops.conv2d_backprop_input(
            tf.shape(residuals[6 * rep + 1]), pointwise[rep], d_pre_bn, [1, 1, 1, 1], "SAME")
        d_relu = gen_nn_ops.depthwise_conv2d_native_backprop_input(
            tf.shape(relu), depthwise[rep], d_dw_out, _strides(stride if rep == 0 else 1), "SAME")
        saved[4 * rep: 4 * rep + 4] = [d_pre_bn, d_dw_out, d_gamma, d_beta]
        dy = gen_nn_ops.relu_grad(d_relu, relu)
    return dy, saved


def sep_conv_backward_weights(residuals, saved, depthwise, pointwise, bn, stride: int):
    """``(d_depthwise, d_pointwise, d_bn)`` of `sep_conv_forward` from `sep_conv_backward_input`'s
    ``saved`` tensors."""
    d_dw, d_pw, d_bn = [None, None], [None, None], [None] * 4
    for rep in (0, 1):
        relu, dw = residuals[6 * rep], residuals[6 * rep + 1]
        d_pre_bn, d_dw_out, d_bn[2 * rep], d_bn[2 * rep + 1] = saved[4 * rep: 4 * rep + 4]
        d_pw[rep] = gen_nn_ops.conv2d_backprop_filter(
            dw, tf.shape(pointwise)[1:], d_pre_bn, [1, 1, 1, 1], "SAME")
        d_dw[rep] = gen_nn_ops.depthwise_conv2d_native_backprop_filter(
            relu, tf.shape(depthwise)[1:], d_dw_out, _strides(stride if rep == 0 else 1), "SAME")
    return tf.stack(d_dw), tf.stack(d_pw), tf.reshape(tf.stack(d_bn), tf.shape(bn))


def sep_conv_backward(dy, residuals, depthwise, pointwise, bn, stride: int):
    """Gradients ``(dx, d_depthwise, d_pointwise, d_bn)`` of `sep_conv_forward` (both halves)."""
    dx, saved = sep_conv_backward_input(dy, residuals, depthwise, pointwise, bn, stride)
    return (dx,) + sep_conv_backward_weights(residuals, saved, depthwise, pointwise, bn, stride)


# ------------------------------------------------------------------ factorized reduction
def reduce_forward(x, kernel, bn):
    """Factorized reduction (stride 2) as one 2x2 conv (`layers.factorized_paths`)."""
    kernel_1, kernel_2 = tf.unstack(kernel, num=2)
    combined = combined_kernel(kernel_1, kernel_2)
    paths = gen_nn_ops.conv2d(x, combined, [1, 2, 2, 1], "SAME")
    gamma, beta = tf.unstack(bn, num=2)
    y, reserves = _bn_forward(paths, gamma, beta)
    return y, [combined, paths] + reserves


REDUCE_SAVED = 3     # gradient of the conv output, d gamma, d beta


def reduce_backward_input(dy, x, residuals, kernel, bn):
    """``(dx, saved)`` of `reduce_forward`; ``saved`` feeds `reduce_backward_weights`."""
    del kernel   # the combined 2x2 kernel is a residual
    combined, paths = residuals[0], residuals[1]
    d_paths, d_gamma, d_beta = _bn_backward(dy, paths, tf.unstack(bn, num=2)[0], residuals[2:5])
    dx = gen_nn_ops.conv2d_backprop_input(tf.shape(x), combined, d_paths, [1, 2, 2, 1], "SAME")
    return dx, [d_paths, d_gamma, d_beta]


def reduce_backward_weights(x, residuals, saved):
    """``(d_kernel, d_bn)`` of `reduce_forward` from `reduce_backward_input`'s ``saved``."""
    d_paths, d_gamma, d_beta = saved
    d_combined = gen_nn_ops.conv2d_backprop_filter(x, tf.shape(residuals[0]), d_paths,
                                                   [1, 2, 2, 1], "SAME")
    # Only taps (0, 0) / first half and (1, 1) / second half are weights.
    d_1, d_2 = tf.split(tf.stack([d_combined[0, 0], d_combined[1, 1]]), 2, axis=-1)
    return tf.stack([d_1[0], d_2[1]])[:, None, None], tf.stack([d_gamma, d_beta])


def reduce_backward(dy, x, residuals, kernel, bn):
    """Gradients ``(dx, d_kernel, d_bn)`` of `reduce_forward` (both halves)."""
    dx, saved = reduce_backward_input(dy, x, residuals, kernel, bn)
    return (dx,) + reduce_backward_weights(x, residuals, saved)


# ------------------------------------------------------------------ pools
def avg_pool_forward(x, stride: int):
    """3x3 SAME average pool (no residuals needed)."""
    return gen_nn_ops.avg_pool(x, _POOL_KSIZE, _strides(stride), "SAME"), []


def avg_pool_backward(dy, x, stride: int):
    return gen_nn_ops.avg_pool_grad(tf.shape(x), dy, _POOL_KSIZE, _strides(stride), "SAME")


def max_pool_forward(x, stride: int):
    """3x3 SAME max pool (no residuals: the backward recomputes the pool, see module doc)."""
    return gen_nn_ops.max_pool(x, _POOL_KSIZE, _strides(stride), "SAME"), []


def max_pool_backward(dy, x, stride: int):
    y_again = gen_nn_ops.max_pool(x, _POOL_KSIZE, _strides(stride), "SAME")
    return gen_nn_ops.max_pool_grad(x, y_again, dy, _POOL_KSIZE, _strides(stride), "SAME")
