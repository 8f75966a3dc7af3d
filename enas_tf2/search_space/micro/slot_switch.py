"""One slot of a weight-shared cell: a `switch_case` over the five ops with a hand-written gradient.

A slot computes ``op(x)`` for the op id chosen at run time, as two shape-agnostic traced functions,
each one `switch_case` over the op kinds (lowered to Switch/Merge, so untaken branches run no
kernels): the forward returns the op's output plus its residuals packed in one TensorList
(`slot_kernels.py`); the backward returns the input gradient and the weight gradients (zeros for
untaken ops). A `tf.custom_gradient` in the calling graph wires the two, so TF never
differentiates a `switch_case` itself (that is what made tracing slow, see `slot_kernels.py`).

All slots with the same branch list share the same two functions (4 branch lists in a network:
normal slot, node-2 reduction slot, later reduction slot, loose-input reduction), so the 80+ slots
cost a handful of traces. The functions are marked ``_noinline``: TF optimises and instantiates
each once instead of inlining 80 copies into the step graph (first run 8 s vs 51 s, measured in
bench/README.md).
"""

from __future__ import annotations

import threading

import tensorflow as tf
from tensorflow.python.ops import list_ops

from enas_tf2.search_space.micro import ops
from enas_tf2.search_space.micro import slot_kernels as kernels

# Per-slot weight slices in the order a slot receives them; groups name their positions.
SLOT_WEIGHTS = ("sep_3_depthwise", "sep_3_pointwise", "sep_3_bn",
                "sep_5_depthwise", "sep_5_pointwise", "sep_5_bn",
                "identity_reduce_kernel", "identity_reduce_bn")
_GROUPS = {"sep_3": (0, 1, 2), "sep_5": (3, 4, 5), "reduce": (6, 7)}
_OP_KINDS = {ops.SEP_CONV_3X3: "sep_3", ops.SEP_CONV_5X5: "sep_5", ops.AVG_POOL_3X3: "avg",
             ops.MAX_POOL_3X3: "max", ops.IDENTITY: "identity"}


def branch_specs(stride: int):
    """``(kind, stride)`` for the five ops in op-id order; identity at stride 2 is a reduction."""
    specs = []
    for op_id in range(ops.NUM_OPS):
        kind = _OP_KINDS[op_id]
        specs.append(("reduce" if kind == "identity" and stride == 2 else kind, stride))
    return specs


def _group(kind, weights):
    return [weights[i] for i in _GROUPS[kind]]


def _forward(kind, stride, x, weights):
    """(output, residuals) of one op kind."""
    if kind in ("sep_3", "sep_5"):
        return kernels.sep_conv_forward(x, *_group(kind, weights), stride)
    if kind == "reduce":
        return kernels.reduce_forward(x, *_group(kind, weights))
    if kind == "avg":
        return kernels.avg_pool_forward(x, stride)
    if kind == "max":
        return kernels.max_pool_forward(x, stride)
    if kind == "zero":
        # tf.zeros of the computed shape: slicing x first cost a 20 ms strided copy per step.
        n, h, w, c = tf.unstack(tf.shape(x), num=4)
        return tf.zeros(tf.stack([n, (h + 1) // 2, (w + 1) // 2, c])), []
    return tf.identity(x), []


def _backward(kind, stride, dy, x, residuals, weights):
    """(dx, {weight position: gradient}) of one op kind (missing positions get zeros)."""
    if kind in ("sep_3", "sep_5"):
        dx, *grads = kernels.sep_conv_backward(dy, residuals, *_group(kind, weights), stride)
    elif kind == "reduce":
        dx, *grads = kernels.reduce_backward(dy, x, residuals, *_group(kind, weights))
    elif kind == "avg":
        return kernels.avg_pool_backward(dy, x, stride), {}
    elif kind == "max":
        return kernels.max_pool_backward(dy, x, stride), {}
    elif kind == "zero":
        return tf.zeros_like(x), {}
    else:
        return dy, {}
    return dx, dict(zip(_GROUPS[kind], grads))


def _to_list(tensors):
    """Packs a branch's residuals into ONE TensorList (no copies), so a single variant crosses
    the Merge/_Retval/_Arg/Switch nodes between the two functions instead of up to 12 tensors
    (the executor visits those nodes on every call, also for untaken branches)."""
    handle = list_ops.empty_tensor_list(element_shape=None, element_dtype=tf.float32)
    for tensor in tensors:
        handle = list_ops.tensor_list_push_back(handle, tensor)
    return handle


def _from_list(handle, count):
    return [list_ops.tensor_list_get_item(handle, i, tf.float32) for i in range(count)]


# How many residuals each op kind hands to its backward.
_RESIDUAL_COUNTS = {"sep_3": kernels.SEP_CONV_RESIDUALS, "sep_5": kernels.SEP_CONV_RESIDUALS,
                    "reduce": kernels.REDUCE_RESIDUALS, "avg": 0, "max": 0, "zero": 0,
                    "identity": 0}


class _SlotFunctions:
    """The forward and backward traced functions of one branch list (see the module doc)."""

    def __init__(self, specs, weight_ranks):
        self.present = [i for i, rank in enumerate(weight_ranks) if rank is not None]
        index = tf.TensorSpec([], tf.int32)
        nhwc = tf.TensorSpec([None] * 4, tf.float32)
        weight_specs = [tf.TensorSpec([None] * weight_ranks[i], tf.float32) for i in self.present]

        def full(ws):
            weights = [None] * len(weight_ranks)
            for i, tensor in zip(self.present, ws):
                weights[i] = tensor
            return weights

        def forward(index, x, *ws):
            weights = full(ws)

            def branch(spec):
                y, residuals = _forward(*spec, x, weights)
                return y, _to_list(residuals)
            return tf.switch_case(index, [(lambda s=s: branch(s)) for s in specs])

        def backward(index, dy, x, residuals, *ws):
            weights = full(ws)

            def branch(spec):
                stored = _from_list(residuals, _RESIDUAL_COUNTS[spec[0]])
                dx, grads = _backward(*spec, dy, x, stored, weights)
                return [dx] + [grads.get(i, tf.zeros_like(weights[i])) for i in self.present]
            return tf.switch_case(index, [(lambda s=s: branch(s)) for s in specs])

        def function(fn, signature):
            return tf.function(fn, input_signature=signature, autograph=False,
                               experimental_attributes={"_noinline": True})

        self.forward = function(forward, [index, nhwc] + weight_specs)
        self.backward = function(
            backward, [index, nhwc, nhwc, tf.TensorSpec([], tf.variant)] + weight_specs)

    def trace_counts(self):
        return (self.forward.experimental_get_tracing_count(),
                self.backward.experimental_get_tracing_count())


_SLOT_FUNCTIONS = {}
_SLOT_FUNCTIONS_LOCK = threading.Lock()   # MirroredStrategy traces replicas in threads


def switch_op(index, x, weights, specs):
    """``specs[index]`` applied to ``x``, through the shared traced slot functions.

    Args:
        index: int32 scalar tensor choosing the branch.
        x: the slot's input, NHWC.
        weights: per-slot weight slices in ``SLOT_WEIGHTS`` order, None where the slot has none.
        specs: per branch ``(kind, stride)``, kinds as in `branch_specs` plus ``"zero"`` (a zero
            tensor of half size) for the loose-input reduction.

    Returns:
        The op's output; its static shape is unknown (the functions are shape-agnostic), the
        caller sets it.
    """
    ranks = tuple(None if w is None else w.shape.rank for w in weights)
    key = (tuple(specs), ranks)
    with _SLOT_FUNCTIONS_LOCK:
        if key not in _SLOT_FUNCTIONS:
            _SLOT_FUNCTIONS[key] = _SlotFunctions(specs, ranks)
    fns = _SLOT_FUNCTIONS[key]
    present = [weights[i] for i in fns.present]

    @tf.custom_gradient
    def run(index, x, *ws):
        y, residuals = fns.forward(index, x, *ws)

        def grad(dy):
            grads = fns.backward(index, dy, x, residuals, *ws)
            return [None] + list(grads)

        return y, grad

    return run(index, x, *present)


def slot_trace_counts() -> dict:
    """How often each shared slot function has been traced (tests check it stays at one)."""
    with _SLOT_FUNCTIONS_LOCK:
        return {key: fns.trace_counts() for key, fns in _SLOT_FUNCTIONS.items()}


def half_shape(shape: tf.TensorShape) -> tf.TensorShape:
    """Static NHWC shape after a stride-2 SAME op (ceil of each spatial size)."""
    return tf.TensorShape([shape[0]] + [None if d is None else -(-d // 2) for d in shape[1:3]]
                          + [shape[3]])
