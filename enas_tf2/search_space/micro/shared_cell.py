"""The body of one weight-shared cell: any architecture row, one graph, only sampled ops computed.

`shared_cell` is a pure function of tensors (calibrated inputs, the cell's arch row and the weight
banks of `SharedCellWeights`), so one traced copy can serve several cells (see `MicroChild`).
Design choices, each measured on this CPU (SHARED_CHILD_NOTES.md and bench/README.md):

* Input selection reads the chosen node from a TensorList (`TensorListGetItem`): no stack/gather
  copy forward and a sparse gradient. Nodes are appended with `PushBack`, whose gradient is one
  `PopBack` (a `SetItem` gradient would write a dense zeros tensor per node).
* Op selection is one `tf.switch_case` per slot (lowered to Switch/Merge inside `tf.function`,
  so untaken branches run no kernels), with a hand-written gradient: a second `switch_case` over
  the ops' backward functions (`slot_kernels.py` explains why). Untaken ops get zero gradients.
* Banks are unstacked once per cell into per-slot slices: the gradient of a bank is then one
  `Pack` of the small per-slot gradients, instead of a bank-sized dense tensor per slot.
* Loose ends: only the unused nodes are gathered from the list and multiplied by their own rows
  of the 1x1 bank (one batched matmul, then a sum over nodes) -- the same maths as
  concat -> ReLU -> 1x1 conv, without a concat over all nodes or masked rows.

Reduction cells follow the paper (ENAS_SPEC §1.2 fixed mode), not the shipped search code
(pitfall P4 / ISSUE #48): the cell receives (h_{i-2}, h_{i-1}) at full resolution; ops reading
node 0 or 1 run with stride 2 (identity becomes a factorized reduction); nodes 2.. are at half
resolution; a loose end among nodes 0/1 is factorized-reduced before the output 1x1 conv.
"""

from __future__ import annotations

import threading

import tensorflow as tf
from tensorflow.python.ops import list_ops

from enas_tf2.layers.batch_norm import fused_batch_norm
from enas_tf2.search_space.micro import ops
from enas_tf2.search_space.micro import slot_kernels as kernels
from enas_tf2.search_space.micro.weight_banks import NORMAL_BANKS, REDUCTION_BANKS

NUM_INPUTS = 2   # nodes 0 and 1 of a cell are its inputs
# Per-slot weight slices in the order a slot receives them; groups name their positions.
_SLOT_WEIGHTS = ("sep_3_depthwise", "sep_3_pointwise", "sep_3_bn",
                 "sep_5_depthwise", "sep_5_pointwise", "sep_5_bn",
                 "identity_reduce_kernel", "identity_reduce_bn")
_GROUPS = {"sep_3": (0, 1, 2), "sep_5": (3, 4, 5), "reduce": (6, 7)}
_OP_KINDS = {ops.SEP_CONV_3X3: "sep_3", ops.SEP_CONV_5X5: "sep_5", ops.AVG_POOL_3X3: "avg",
             ops.MAX_POOL_3X3: "max", ops.IDENTITY: "identity"}


def _branch_specs(stride: int, input_pos: int):
    """(input position, kind, stride) for the five ops; identity at stride 2 is a reduction."""
    specs = []
    for op_id in range(ops.NUM_OPS):
        kind = _OP_KINDS[op_id]
        if kind == "identity" and stride == 2:
            kind = "reduce"
        specs.append((input_pos, kind, stride))
    return specs


def _forward(kind, x, weights, stride):
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
        return tf.zeros_like(x[:, ::2, ::2, :]), []
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
        weights: list of per-slot weight slices (positions as in ``_SLOT_WEIGHTS``), None where
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
    """Runs `_switch_op_body` through one traced function per slot signature.

    All slots with the same branch list share ONE traced, shape-agnostic function (4 in a
    network: normal slot, node-2 and later reduction slots, loose-input reduction), so the 80+
    slots cost a handful of traces and TF builds each backward function once. The functions are
    marked ``_noinline``: TF then optimises and instantiates each one once instead of inlining
    80 copies into the step graph (measured first run 8 s vs 51 s, bench/README.md).
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
            shape = _half(shape)
        shapes.append(shape)
    result = shapes[0]
    for shape in shapes[1:]:
        result = result.most_specific_compatible_shape(shape)
    return result


def _pack_forward(y, residuals):
    return [y] + kernels.pad_residuals(residuals)


def _loose_end_output(nodes, loose, banks, element_shape):
    """concat(loose ends) -> ReLU -> 1x1 conv -> BN, computed as a sum of per-node matmuls."""
    gathered = list_ops.tensor_list_gather(nodes, loose, tf.float32, element_shape=element_shape)
    out_shape = tf.shape(gathered)[1:]
    channels = tf.shape(banks["out_kernel"])[-1]
    flat = tf.reshape(tf.nn.relu(gathered), [tf.shape(loose)[0], -1, channels])
    # Rows by a one-hot matmul rather than tf.gather: the bank then gets a dense gradient, not
    # IndexedSlices that optimizers and gradient clipping would have to densify anyway.
    kernel = banks["out_kernel"]
    rows = tf.reshape(tf.matmul(tf.one_hot(loose, tf.shape(kernel)[0]),
                                tf.reshape(kernel, [tf.shape(kernel)[0], -1])),
                      [-1, channels, channels])
    y = tf.reduce_sum(tf.matmul(flat, rows), axis=0)
    gamma, beta = tf.unstack(banks["out_bn"], num=2)
    return fused_batch_norm(tf.reshape(y, out_shape), gamma, beta)


def _half(shape):
    return tf.TensorShape([shape[0]] + [None if d is None else -(-d // 2) for d in shape[1:3]]
                          + [shape[3]])


def shared_cell(h0, h1, arch_row, *bank_tensors, num_cells: int, reduction: bool):
    """Runs one searched cell for the architecture row ``arch_row``.

    Args:
        h0, h1: the calibrated cell inputs, NHWC with F channels and the same spatial size.
        arch_row: int32 ``[num_cells, 4]`` (index_1, op_1, index_2, op_2 per node 2..).
        *bank_tensors: the banks in ``SharedCellWeights.bank_names()`` order.
        num_cells: searched nodes per cell.
        reduction: paper reduction cell (output at half resolution) or normal cell.

    Returns:
        The cell output, NHWC with F channels (half the spatial size for a reduction cell).
    """
    banks = dict(zip(REDUCTION_BANKS if reduction else NORMAL_BANKS, bank_tensors))
    num_slots, num_nodes = 2 * num_cells, num_cells + NUM_INPUTS
    slices = {name: tf.unstack(banks[name], num=num_slots)
              for name in _SLOT_WEIGHTS if name in banks}
    tokens = tf.unstack(tf.reshape(arch_row, [4 * num_cells]), num=4 * num_cells)
    # A node is a loose end when no node of the cell reads it (ENAS_SPEC §1.2).
    used = tf.reduce_max(tf.one_hot(tf.stack(tokens[0::2]), num_nodes, dtype=tf.int32), axis=0)
    loose = tf.cast(tf.reshape(tf.where(tf.equal(used, 0)), [-1]), tf.int32)

    full_shape = h1.shape
    nodes = list_ops.empty_tensor_list(element_shape=None, element_dtype=tf.float32)
    if reduction:
        inputs = list_ops.empty_tensor_list(element_shape=None, element_dtype=tf.float32)
        loose_kernels = tf.unstack(banks["loose_reduce_kernel"], num=2)
        loose_bns = tf.unstack(banks["loose_reduce_bn"], num=2)
        for j, h in enumerate((h0, h1)):
            inputs = list_ops.tensor_list_push_back(inputs, h)
            # Node j < 2 enters the output only as a loose end, factorized-reduced to half size;
            # otherwise a zero placeholder keeps list positions equal to node ids (never read).
            reduced = switch_op(tf.cast(tf.equal(used[j], 0), tf.int32), [h],
                                [None] * 6 + [loose_kernels[j], loose_bns[j]],
                                [(0, "zero", 2), (0, "reduce", 2)])
            nodes = list_ops.tensor_list_push_back(nodes, reduced)
        element_shape = _half(full_shape)
    else:
        for h in (h0, h1):
            nodes = list_ops.tensor_list_push_back(nodes, h)
        element_shape = full_shape

    for node_id in range(NUM_INPUTS, num_nodes):
        value = None
        for j in range(2):
            slot = 2 * (node_id - NUM_INPUTS) + j
            index, op = tokens[2 * slot], tokens[2 * slot + 1]
            weights = [slices[name][slot] if name in slices else None for name in _SLOT_WEIGHTS]
            if not reduction:
                x = list_ops.tensor_list_get_item(nodes, index, tf.float32,
                                                  element_shape=element_shape)
                out = switch_op(op, [x], weights, _branch_specs(1, 0))
            else:
                x_full = list_ops.tensor_list_get_item(
                    inputs, tf.minimum(index, NUM_INPUTS - 1), tf.float32,
                    element_shape=full_shape)
                specs = _branch_specs(2, 0)
                candidates = [x_full]
                branch = op
                if node_id > NUM_INPUTS:   # node 2 can only read the cell inputs
                    candidates.append(list_ops.tensor_list_get_item(
                        nodes, tf.maximum(index, NUM_INPUTS), tf.float32,
                        element_shape=element_shape))
                    specs += _branch_specs(1, 1)
                    branch = op + ops.NUM_OPS * tf.cast(index >= NUM_INPUTS, tf.int32)
                out = switch_op(branch, candidates, weights, specs)
            value = out if value is None else value + out
        nodes = list_ops.tensor_list_push_back(nodes, value)
    return _loose_end_output(nodes, loose, banks, element_shape)
