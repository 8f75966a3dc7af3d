"""One slot of a weight-shared cell: a `switch_case` over the five ops with a hand-written gradient.

A slot computes ``op(x)`` for the op id chosen at run time. Forward, each branch returns the op's
output plus a fixed-length list of residuals (`slot_kernels.py`); the custom gradient is a second
`switch_case` over the ops' backward functions. Untaken ops run no kernels and receive zero
gradients. Only this module and `shared_cell.py` translate op ids into branches.

All slots with the same branch list share ONE traced, shape-agnostic `tf.function` (4 kinds in a
network: normal slot, node-2 reduction slot, later reduction slot, loose-input reduction), so the
80+ slots of the network cost a handful of traces and TF builds each backward function once. The
functions are marked ``_noinline``: TF then optimises and instantiates each one once instead of
inlining 80 copies into the step graph (first run 8 s vs 51 s, measured; bench/README.md).
"""

from __future__ import annotations

import threading

import tensorflow as tf

from enas_tf2.search_space.micro import ops
from enas_tf2.search_space.micro import slot_kernels as kernels

# Per-slot weight slices in the order a slot receives them; groups name their positions.
SLOT_WEIGHTS = ("sep_3_depthwise", "sep_3_pointwise", "sep_3_bn",
                "sep_5_depthwise", "sep_5_pointwise", "sep_5_bn",
                "identity_reduce_kernel", "identity_reduce_bn")
_GROUPS = {"sep_3": (0, 1, 2), "sep_5": (3, 4, 5), "reduce": (6, 7)}
_OP_KINDS = {ops.SEP_CONV_3X3: "sep_3", ops.SEP_CONV_5X5: "sep_5", ops.AVG_POOL_3X3: "avg",
             ops.MAX_POOL_3X3: "max", ops.IDENTITY: "identity"}


def branch_specs(stride: int, input_pos: int):
    """(input position, kind, stride) for the five ops; identity at stride 2 is a reduction."""
    specs = []
    for op_id in range(ops.NUM_OPS):
        kind = _OP_KINDS[op_id]
        if kind == "identity" and stride == 2:
            kind = "reduce"
        specs.append((input_pos, kind, stride))
    return specs


def _forward(kind, x, weights, stride):
    """(output, residuals) of one op kind."""
    if kind in ("sep_3", "sep_5"):
        dw, pw, bn = (weights[i] for i in _GROUPS[kind])
        return kernels.sep_conv_forward(x, dw, pw, bn, stride)
    if kind == "reduce":
        kernel, bn = (weights[i] for i in _GROUPS[kind])
        return kernels.reduce_forward(x, kernel, bn)
    if kind == "avg":
        return kernels.avg_pool_forward(x, stride)
    if kind == "max":
        return kernels.max_pool_forward(x, stride)
    if kind == "zero":
        # tf.zeros of the computed shape: slicing x first cost a 20 ms strided copy per step.
        n, h, w, c = tf.unstack(tf.shape(x), num=4)
        return tf.zeros(tf.stack([n, (h + 1) // 2, (w + 1) // 2, c])), []
    return tf.identity(x), []


def _backward(kind, dy, x, residuals, weights, stride):
    """(dx, {weight position: gradient}) of one op."""
    if kind in ("sep_3", "sep_5"):
        positions = _GROUPS[kind]
        dx, *grads = kernels.sep_conv_backward(dy, residuals, *(weights[i] for i in positions),
                                               stride)
        return dx, dict(zip(positions, grads))
    if kind == "reduce":
        positions = _GROUPS[kind]
        dx, *grads = kernels.reduce_backward(dy, x, residuals, *(weights[i] for i in positions))
        return dx, dict(zip(positions, grads))
    if kind == "avg":
        return kernels.avg_pool_backward(dy, x, stride), {}
    if kind == "max":
        return kernels.max_pool_backward(dy, x, stride), {}
    if kind == "zero":
        return tf.zeros_like(x), {}
    return dy, {}


def _switch_op_body(index, inputs, weights, specs):
    """``specs[index]`` applied to its input, with a hand-written gradient (see module doc).

    Args:
        index: int32 scalar tensor choosing the branch.
        inputs: list of candidate input tensors (branches name theirs by position).
        weights: list of per-slot weight slices (positions as in ``SLOT_WEIGHTS``), None where
            the slot has no such weight.
        specs: per branch ``(input position, kind, stride)``.
    """
    num_inputs = len(inputs)
    present = [i for i, w in enumerate(weights) if w is not None]

    @tf.custom_gradient
    def run(index, *args):
        xs = args[:num_inputs]
        ws = [None] * len(weights)
        for i, tensor in zip(present, args[num_inputs:]):
            ws[i] = tensor
        outs = tf.switch_case(index, [
            (lambda s=s: _pack_forward(*_forward(s[1], xs[s[0]], ws, s[2]))) for s in specs])
        y, residuals = outs[0], outs[1:]

        def grad(dy):
            def backward(spec):
                pos, kind, stride = spec
                dx, dws = _backward(kind, dy, xs[pos], residuals, ws, stride)
                d_inputs = [dx if i == pos else tf.zeros_like(x) for i, x in enumerate(xs)]
                return d_inputs + [dws.get(i, tf.zeros_like(ws[i])) for i in present]
            grads = tf.switch_case(index, [(lambda s=s: backward(s)) for s in specs])
            return [None] + list(grads)

        return y, grad

    return run(index, *inputs, *(weights[i] for i in present))


_SLOT_FUNCTIONS = {}
_SLOT_FUNCTIONS_LOCK = threading.Lock()   # MirroredStrategy traces replicas in threads


def switch_op(index, inputs, weights, specs):
    """``specs[index]`` applied to its chosen input, through the shared traced slot function.

    Args:
        index: int32 scalar tensor choosing the branch.
        inputs: candidate input tensors (NHWC); each spec names its input by position.
        weights: per-slot weight slices in ``SLOT_WEIGHTS`` order, None where the slot has none.
        specs: per branch ``(input position, kind, stride)``, kinds as in `branch_specs` plus
            ``"zero"`` (a zero tensor of half size) for the loose-input reduction.
    """
    present = tuple(i for i, w in enumerate(weights) if w is not None)
    key = (tuple(specs), len(inputs), present)
    with _SLOT_FUNCTIONS_LOCK:
        if key not in _SLOT_FUNCTIONS:
            _SLOT_FUNCTIONS[key] = _make_slot_function(len(inputs), [
                weights[i].shape.rank if i in present else None for i in range(len(weights))],
                specs)
    out = _SLOT_FUNCTIONS[key](index, *inputs, *(weights[i] for i in present))
    out.set_shape(_output_shape(inputs, specs))
    return out


def _make_slot_function(num_inputs, weight_ranks, specs):
    """A shape-agnostic tf.function for one slot signature (see `switch_op`)."""
    present = [i for i, rank in enumerate(weight_ranks) if rank is not None]
    signature = ([tf.TensorSpec([], tf.int32)]
                 + [tf.TensorSpec([None] * 4, tf.float32)] * num_inputs
                 + [tf.TensorSpec([None] * weight_ranks[i], tf.float32) for i in present])

    def body(index, *args):
        ws = [None] * len(weight_ranks)
        for i, tensor in zip(present, args[num_inputs:]):
            ws[i] = tensor
        return _switch_op_body(index, list(args[:num_inputs]), ws, specs)

    return tf.function(body, input_signature=signature, autograph=False,
                       experimental_attributes={"_noinline": True})


def _output_shape(inputs, specs):
    """Static output shape when all branches agree (they do; this restores it after the call)."""
    shapes = []
    for pos, kind, stride in specs:
        shape = inputs[pos].shape
        if stride == 2:
            shape = half_shape(shape)
        shapes.append(shape)
    result = shapes[0]
    for shape in shapes[1:]:
        result = result.most_specific_compatible_shape(shape)
    return result


def _pack_forward(y, residuals):
    return [y] + kernels.pad_residuals(residuals)


def slot_trace_counts() -> dict:
    """How often each shared slot function has been traced (tests check it stays at one)."""
    with _SLOT_FUNCTIONS_LOCK:
        return {key: fn.experimental_get_tracing_count() for key, fn in _SLOT_FUNCTIONS.items()}


def half_shape(shape: tf.TensorShape) -> tf.TensorShape:
    """Static NHWC shape after a stride-2 SAME op (ceil of each spatial size)."""
    return tf.TensorShape([shape[0]] + [None if d is None else -(-d // 2) for d in shape[1:3]]
                          + [shape[3]])
