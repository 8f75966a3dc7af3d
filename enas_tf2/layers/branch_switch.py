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

When every branch of a table also splits its backward (``backward_input`` -> ``(dx, saved)``
and ``backward_weights`` -> ``{position: gradient}``, ``num_saved``), the backward is two
functions: the input gradient first, then the weight gradients from the saved tensors. A call
returns only when all its outputs are ready, so with one backward function ``dx`` waited for the
filter-gradient kernels; split, ``dx`` flows on to the previous slot while the weight
gradients run beside it, as they do in a static graph.

All calls with the same table (and the same weight ranks) share the two functions, so a network
of many slots costs one trace per table. The functions are marked ``_noinline``: TF optimises and
instantiates each once instead of inlining one copy per call into the step graph (first run 8 s
vs 51 s for the micro child, bench/README.md).
"""

from __future__ import annotations

import threading
from typing import Dict, List, Optional, Protocol, Sequence, Tuple

import tensorflow as tf
from tensorflow.python.ops import cond_v2, list_ops


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


def _switch(index, branches, lower: bool):
    """``branches[index]()`` as one Case op; ``lower`` turns it into Switch/Merge nodes."""
    # cond_v2 is what tf.switch_case calls; only there can the lowering be chosen.
    return cond_v2.indexed_case(index, branches, lower_using_switch_merge=lower)


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

    def __init__(self, table, weight_ranks, split, lower):
        self.present = [i for i, rank in enumerate(weight_ranks) if rank is not None]
        index = tf.TensorSpec([], tf.int32)
        nhwc = tf.TensorSpec([None] * 4, tf.float32)
        weight_specs = [tf.TensorSpec([None] * weight_ranks[i], tf.float32) for i in self.present]

        def full(ws):
            weights = [None] * len(weight_ranks)
            for i, tensor in zip(self.present, ws):
                weights[i] = tensor
            return weights

        # Each body computes one branch ``spec`` from the call's arguments (index excluded).
        def forward(spec, x, *ws):
            y, residuals = spec.forward(x, full(ws))
            return y, _to_list(residuals)

        def backward(spec, dy, x, residuals, *ws):
            weights = full(ws)
            stored = _from_list(residuals, spec.num_residuals)
            dx, grads = spec.backward(dy, x, stored, weights)
            return [dx] + [grads[i] if i in grads else tf.zeros_like(weights[i])
                           for i in self.present]

        def backward_input(spec, dy, x, residuals, *ws):
            stored = _from_list(residuals, spec.num_residuals)
            dx, saved = spec.backward_input(dy, x, stored, full(ws))
            return dx, _to_list(saved)

        def backward_weights(spec, x, residuals, saved, *ws):
            weights = full(ws)
            grads = spec.backward_weights(x, _from_list(residuals, spec.num_residuals),
                                          _from_list(saved, spec.num_saved), weights)
            return [grads[i] if i in grads else tf.zeros_like(weights[i]) for i in self.present]

        def function(fn, signature):
            return tf.function(fn, input_signature=signature, autograph=False,
                               experimental_attributes={"_noinline": True})

        def switched(body, signature):
            """One function ``(index, *args)`` running ``body(table[index], *args)``."""
            if lower:
                return function(lambda index, *args: _switch(
                    index, [(lambda s=s: body(s, *args)) for s in table], True), signature)
            # Not lowered: TF instantiates a Case op's branch functions without its oneDNN
            # rewrite (plain Eigen kernels, 2x slower here), so each branch only calls its own
            # shared function, which is instantiated like any other call.
            bodies = [function(lambda *args, s=s: body(s, *args), signature[1:]) for s in table]
            return function(lambda index, *args: _switch(
                index, [(lambda b=b: b(*args)) for b in bodies], False), signature)

        variant = tf.TensorSpec([], tf.variant)
        self.forward = switched(forward, [index, nhwc] + weight_specs)
        self.split = split and bool(self.present)
        if self.split:
            self.backward_input = switched(backward_input, [index, nhwc, nhwc, variant]
                                           + weight_specs)
            self.backward_weights = switched(backward_weights, [index, nhwc, variant, variant]
                                             + weight_specs)
            self.backward = None
        else:
            self.backward = switched(backward, [index, nhwc, nhwc, variant] + weight_specs)

    def gradients(self, index, dy, x, residuals, ws):
        """``[dx] + weight gradients`` of one call (one or two backward function calls)."""
        if not self.split:
            return list(self.backward(index, dy, x, residuals, *ws))
        dx, saved = self.backward_input(index, dy, x, residuals, *ws)
        return [dx] + list(self.backward_weights(index, x, residuals, saved, *ws))

    def trace_counts(self):
        backwards = ((self.backward,) if not self.split else
                     (self.backward_input, self.backward_weights))
        return tuple(fn.experimental_get_tracing_count() for fn in (self.forward,) + backwards)


# Split backwards where the table supports them (module doc). A switch for benchmarks; the
# gradients are the same either way.
SPLIT_BACKWARD = True

# Switch/Merge lowering of each function's Case op (TF's default inside tf.function), or not.
# Lowered, the executor visits every node of every untaken branch as dead on each call (micro
# step: 40k node visits, 15k live); not lowered, only the chosen branch's function runs (18k
# visits) but through two more function calls per slot, which cost more than the dead visits
# saved (single-thread CPU ratio to the static model 1.128 vs 1.086, bench/README.md). A switch
# for benchmarks; the maths is the same either way.
LOWER_SWITCH = True

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
    split = SPLIT_BACKWARD and all(hasattr(spec, "backward_weights") for spec in table)
    key = (table, ranks, split, LOWER_SWITCH)
    with _TABLES_LOCK:
        if key not in _TABLES:
            _TABLES[key] = _TableFunctions(table, ranks, split, LOWER_SWITCH)
    fns = _TABLES[key]
    present = [weights[i] for i in fns.present]

    @tf.custom_gradient
    def run(index, x, *ws):
        y, residuals = fns.forward(index, x, *ws)

        def grad(dy):
            return [None] + fns.gradients(index, dy, x, residuals, ws)

        return y, grad

    return run(index, x, *present)


def trace_counts() -> dict:
    """``{(table, weight ranks): (forward traces, backward traces...)}`` of every table used so
    far, one count per traced function (tests check each stays at one)."""
    with _TABLES_LOCK:
        return {key[:2]: fns.trace_counts() for key, fns in _TABLES.items()}
