"""The body of one weight-shared cell: any architecture row, one graph, only sampled ops computed.

`shared_cell` is a pure function of tensors (calibrated inputs, the cell's arch row and the weight
banks of `SharedCellWeights`), so one traced copy can serve several cells (see `MicroChild`).
Design choices, each measured on this CPU (SHARED_CHILD_NOTES.md and bench/README.md):

* Input selection reads the chosen node from a TensorList (`TensorListGetItem`): no stack/gather
  copy forward and a sparse gradient. Nodes are appended with `PushBack`, whose gradient is one
  `PopBack` (a `SetItem` gradient would write a dense zeros tensor per node).
* Op selection is one `tf.switch_case` per slot. Inside `tf.function` it is lowered to
  Switch/Merge, so untaken branches run no kernels. Weights are sliced from the banks INSIDE the
  branch, so untaken slots cost nothing forward; their gradient is zeros.
* Max pool uses the custom-gradient pool (fast oneDNN MaxPoolGrad even inside branches).
* Loose ends: only the unused nodes are gathered from the list and multiplied by their own rows
  of the 1x1 bank (one batched matmul, then a sum over nodes) -- the same maths as
  concat -> ReLU -> 1x1 conv, without a concat over all nodes or masked rows.

Reduction cells follow the paper (ENAS_SPEC §1.2 fixed mode), not the shipped search code
(pitfall P4 / ISSUE #48): the cell receives (h_{i-2}, h_{i-1}) at full resolution; ops reading
node 0 or 1 run with stride 2 (identity becomes a factorized reduction); nodes 2.. are at half
resolution; a loose end among nodes 0/1 is factorized-reduced before the output 1x1 conv.
"""

from __future__ import annotations

import tensorflow as tf
from tensorflow.python.ops import list_ops

from enas_tf2.layers.avg_pool import avg_pool_3x3
from enas_tf2.layers.batch_norm import fused_batch_norm
from enas_tf2.layers.factorized_reduction import factorized_reduction
from enas_tf2.layers.max_pool import max_pool_3x3
from enas_tf2.layers.sep_conv import sep_conv
from enas_tf2.search_space.micro import ops
from enas_tf2.search_space.micro.weight_banks import NORMAL_BANKS, REDUCTION_BANKS

NUM_INPUTS = 2   # nodes 0 and 1 of a cell are its inputs


def _sep_conv_from_bank(x, banks, kernel_size: int, slot: int, stride: int):
    """Sep conv of one slot: one slice per bank, unstacked into the two repetitions."""
    prefix = f"sep_{kernel_size}"
    depthwise = tf.unstack(banks[f"{prefix}_depthwise"][slot], num=2)
    pointwise = tf.unstack(banks[f"{prefix}_pointwise"][slot], num=2)
    gamma_1, beta_1, gamma_2, beta_2 = tf.unstack(
        tf.reshape(banks[f"{prefix}_bn"][slot], [4, -1]), num=4)
    return sep_conv(x, depthwise, pointwise, (gamma_1, gamma_2), (beta_1, beta_2), stride)


def _reduce_from_bank(x, kernel_bank, bn_bank, row: int):
    """Factorized reduction with row ``row`` of a [rows, 2, 1, 1, F, F/2] / [rows, 2, F] bank pair."""
    kernel_1, kernel_2 = tf.unstack(kernel_bank[row], num=2)
    gamma, beta = tf.unstack(bn_bank[row], num=2)
    return factorized_reduction(x, kernel_1, kernel_2, gamma, beta)


def _op_branches(x, banks, slot: int, stride: int):
    """The five candidate ops of one slot as zero-argument callables, indexed by op id."""
    branches = [None] * ops.NUM_OPS
    for op_id, k in ops.SEP_CONV_KERNEL_SIZE.items():
        branches[op_id] = (lambda k=k: _sep_conv_from_bank(x, banks, k, slot, stride))
    branches[ops.AVG_POOL_3X3] = lambda: avg_pool_3x3(x, stride)
    branches[ops.MAX_POOL_3X3] = lambda: max_pool_3x3(x, stride)
    if stride == 1:
        branches[ops.IDENTITY] = lambda: tf.identity(x)
    else:
        branches[ops.IDENTITY] = lambda: _reduce_from_bank(
            x, banks["identity_reduce_kernel"], banks["identity_reduce_bn"], slot)
    return branches


def _normal_slot(nodes, index, op, banks, slot: int, element_shape):
    x = list_ops.tensor_list_get_item(nodes, index, tf.float32, element_shape=element_shape)
    return tf.switch_case(op, _op_branches(x, banks, slot, 1))


def _reduction_slot(inputs, nodes, index, op, banks, slot: int, node_id: int, full_shape,
                    half_shape):
    """Stride-2 branches on input 0/1, stride-1 branches on the already reduced nodes 2.."""
    x_full = list_ops.tensor_list_get_item(inputs, tf.minimum(index, NUM_INPUTS - 1), tf.float32,
                                           element_shape=full_shape)
    branches = _op_branches(x_full, banks, slot, 2)
    if node_id == NUM_INPUTS:          # node 2 can only read the cell inputs
        return tf.switch_case(op, branches)
    x_half = list_ops.tensor_list_get_item(nodes, tf.maximum(index, NUM_INPUTS), tf.float32,
                                           element_shape=half_shape)
    branches += _op_branches(x_half, banks, slot, 1)
    reads_reduced_node = tf.cast(index >= NUM_INPUTS, tf.int32)
    return tf.switch_case(op + ops.NUM_OPS * reads_reduced_node, branches)


def _loose_end_output(nodes, loose, banks, element_shape):
    """concat(loose ends) -> ReLU -> 1x1 conv -> BN, computed as a sum of per-node matmuls."""
    gathered = list_ops.tensor_list_gather(nodes, loose, tf.float32, element_shape=element_shape)
    out_shape = tf.shape(gathered)[1:]
    channels = tf.shape(banks["out_kernel"])[-1]
    flat = tf.reshape(tf.nn.relu(gathered), [tf.shape(loose)[0], -1, channels])
    y = tf.reduce_sum(tf.matmul(flat, tf.gather(banks["out_kernel"], loose)), axis=0)
    gamma, beta = tf.unstack(banks["out_bn"], num=2)
    return fused_batch_norm(tf.reshape(y, out_shape), gamma, beta)


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
    names = REDUCTION_BANKS if reduction else NORMAL_BANKS
    banks = dict(zip(names, bank_tensors))
    num_nodes = num_cells + NUM_INPUTS
    tokens = tf.unstack(tf.reshape(arch_row, [4 * num_cells]), num=4 * num_cells)
    indices = tf.stack(tokens[0::2])
    # A node is a loose end when no node of the cell reads it (ENAS_SPEC §1.2).
    used = tf.reduce_max(tf.one_hot(indices, num_nodes, dtype=tf.int32), axis=0)
    loose = tf.cast(tf.reshape(tf.where(tf.equal(used, 0)), [-1]), tf.int32)

    full_shape = h1.shape
    nodes = list_ops.empty_tensor_list(element_shape=None, element_dtype=tf.float32)
    if reduction:
        inputs = list_ops.empty_tensor_list(element_shape=None, element_dtype=tf.float32)
        for h in (h0, h1):
            inputs = list_ops.tensor_list_push_back(inputs, h)
        half_shape = tf.TensorShape([full_shape[0], None if full_shape[1] is None else
                                     -(-full_shape[1] // 2), None if full_shape[2] is None else
                                     -(-full_shape[2] // 2), full_shape[3]])
        # Node j < 2 enters the output only if it is a loose end, then reduced to half size; the
        # placeholder keeps list positions equal to node ids and is never read otherwise.
        for j, h in enumerate((h0, h1)):
            reduced = tf.cond(
                tf.equal(used[j], 0),
                lambda h=h, j=j: _reduce_from_bank(
                    h, banks["loose_reduce_kernel"], banks["loose_reduce_bn"], j),
                lambda h=h: tf.zeros_like(h[:, ::2, ::2, :]))
            nodes = list_ops.tensor_list_push_back(nodes, reduced)
        element_shape = half_shape
    else:
        for h in (h0, h1):
            nodes = list_ops.tensor_list_push_back(nodes, h)
        element_shape = full_shape

    for node_id in range(NUM_INPUTS, num_nodes):
        base = 4 * (node_id - NUM_INPUTS)
        value = None
        for j in range(2):
            index, op = tokens[base + 2 * j], tokens[base + 2 * j + 1]
            slot = 2 * (node_id - NUM_INPUTS) + j
            if reduction:
                out = _reduction_slot(inputs, nodes, index, op, banks, slot, node_id,
                                      full_shape, half_shape)
            else:
                out = _normal_slot(nodes, index, op, banks, slot, element_shape)
            value = out if value is None else value + out
        nodes = list_ops.tensor_list_push_back(nodes, value)
    return _loose_end_output(nodes, loose, banks, element_shape)
