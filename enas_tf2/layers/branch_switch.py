"""A run-time branch choice (`tf.switch_case`) with a hand-written gradient, traced once per table.

The weight-shared children pick, per slot or layer, one of several ops at run time. TF's automatic
gradient of a `switch_case` (cond_v2) re-emits every branch's intermediates as Optionals in every
other branch and builds one gradient function per branch: for ~80 slots that dominated tracing
(about 1 s per slot) and the graph Grappler then optimises (bench/README.md, micro child).

Here a branch is a *spec* object that knows its own maths (see `BranchSpec`):

* ``forward(x, weights) -> (y, residuals)``: the output plus every tensor its backward needs;
* ``backward(dy, x, residuals, weights) -> (dx, {weight position: gradient})``;
* ``num_residuals``: how many residuals the forward returns.

A *branch table* is a hashable tuple of specs. `branch_switch` runs the table through two
shape-agnostic traced functions, each ONE `switch_case` over the branches (lowered to Switch/Merge
inside `tf.function`, so untaken branches run no kernels): the forward returns the chosen
branch's output and its residuals packed in one TensorList; the backward returns the input
gradient and the gradient of every weight (zeros for weights the chosen branch does not read). A
`tf.custom_gradient` in the calling graph wires the two, so TF never differentiates a
`switch_case` itself.

All calls with the same table (and the same weight ranks) share the two functions, so a network
of many slots costs one trace per table. The functions are marked ``_noinline``: TF optimises and
instantiates each once instead of inlining one copy per call into the step graph (first run 8 s
vs 51 s for the micro child, bench/README.md).
"""

from __future__ import annotations

import threading
from typing import Dict, List, Optional, Protocol, Sequence, Tuple

import tensorflow as tf
from tensorflow.python.ops import list_ops


class BranchSpec(Protocol):
    """One branch of a table: hashable (frozen dataclass), with its forward and backward maths.

    ``weights`` is the full weight list of the call, in the caller's order, with None where the
    call has no such weight; a branch reads only the positions it owns.
    """

    num_residuals: int

    def forward(self, x: tf.Tensor, weights: Sequence[Optional[tf.Tensor]]
                ) -> Tuple[tf.Tensor, List[tf.Tensor]]:
        """``(y, residuals)`` with exactly ``num_residuals`` residual tensors."""

    def backward(self, dy: tf.Tensor, x: tf.Tensor, residuals: List[tf.Tensor],
                 weights: Sequence[Optional[tf.Tensor]]) -> Tuple[tf.Tensor, Dict[int, tf.Tensor]]:
        """``(dx, {weight position: gradient})``; positions left out get zero gradients."""


def _to_list(tensors):
    """Packs residuals into ONE TensorList (no copies): a single variant crosses the
    Merge/_Retval/_Arg/Switch nodes between the two functions instead of up to a dozen tensors
    (the executor visits those nodes on every call, also for untaken branches)."""
    handle = list_ops.empty_tensor_list(element_shape=None, element_dtype=tf.float32)
    for tensor in tensors:
        handle = list_ops.tensor_list_push_back(handle, tensor)
    return handle


def _from_list(handle, count):
    return [list_ops.tensor_list_get_item(handle, i, tf.float32) for i in range(count)]


class _TableFunctions:
    """The forward and backward traced functions of one branch table (see the module doc)."""

    def __init__(self, table, weight_ranks):
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
                y, residuals = spec.forward(x, weights)
                return y, _to_list(residuals)
            return tf.switch_case(index, [(lambda s=s: branch(s)) for s in table])

        def backward(index, dy, x, residuals, *ws):
            weights = full(ws)

            def branch(spec):
                stored = _from_list(residuals, spec.num_residuals)
                dx, grads = spec.backward(dy, x, stored, weights)
                return [dx] + [grads[i] if i in grads else tf.zeros_like(weights[i])
                               for i in self.present]
            return tf.switch_case(index, [(lambda s=s: branch(s)) for s in table])

        def function(fn, signature):
            return tf.function(fn, input_signature=signature, autograph=False,
                               experimental_attributes={"_noinline": True})

        self.forward = function(forward, [index, nhwc] + weight_specs)
        self.backward = function(
            backward, [index, nhwc, nhwc, tf.TensorSpec([], tf.variant)] + weight_specs)

    def trace_counts(self):
        return (self.forward.experimental_get_tracing_count(),
                self.backward.experimental_get_tracing_count())


_TABLES = {}
_TABLES_LOCK = threading.Lock()   # MirroredStrategy traces replicas in threads


def branch_switch(index, x, weights: Sequence[Optional[tf.Tensor]], table: Tuple) -> tf.Tensor:
    """``table[index]`` applied to ``x`` with its hand-written gradient.

    Args:
        index: int32 scalar tensor choosing the branch.
        x: the input, float32 NHWC.
        weights: the call's weight tensors in the caller's fixed order, None where absent; every
            present weight gets a gradient (zeros when the chosen branch does not read it).
        table: hashable tuple of `BranchSpec` objects.

    Returns:
        The chosen branch's output. Its static shape is unknown (the functions are
        shape-agnostic); the caller sets it.
    """
    ranks = tuple(None if w is None else w.shape.rank for w in weights)
    key = (table, ranks)
    with _TABLES_LOCK:
        if key not in _TABLES:
            _TABLES[key] = _TableFunctions(table, ranks)
    fns = _TABLES[key]
    present = [weights[i] for i in fns.present]

    @tf.custom_gradient
    def run(index, x, *ws):
        y, residuals = fns.forward(index, x, *ws)

        def grad(dy):
            grads = fns.backward(index, dy, x, residuals, *ws)
            return [None] + list(grads)

        return y, grad

    return run(index, x, *present)


def trace_counts() -> dict:
    """``{(table, weight ranks): (forward traces, backward traces)}`` of every table used so far
    (tests check each stays at one)."""
    with _TABLES_LOCK:
        return {key: fns.trace_counts() for key, fns in _TABLES.items()}
