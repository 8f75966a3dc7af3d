"""The body of one weight-shared cell: any architecture row, one graph, only sampled ops computed.

`shared_cell` is a pure function of tensors (calibrated inputs, the cell's arch row and the weight
banks of `SharedCellWeights`), so one traced copy can serve several cells (see `MicroChild`).
Design choices, each measured on this CPU (SHARED_CHILD_NOTES.md and bench/README.md):

* Input selection reads the chosen node from a TensorList (`TensorListGetItem`): no stack/gather
  copy forward and a sparse gradient. Nodes are appended with `PushBack`, whose gradient is one
  `PopBack` (a `SetItem` gradient would write a dense zeros tensor per node).
* Op selection is one `tf.switch_case` per slot (lowered to Switch/Merge inside `tf.function`,
  so untaken branches run no kernels), with a hand-written gradient: a second `switch_case` over
  the ops' backward functions (`slot_switch.py`, `slot_kernels.py` explain why). Untaken ops get
  zero gradients.
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

import tensorflow as tf
from tensorflow.python.ops import list_ops

from enas_tf2.layers.batch_norm import fused_batch_norm
from enas_tf2.search_space.micro import ops
from enas_tf2.search_space.micro.slot_switch import (SLOT_WEIGHTS, branch_specs, half_shape,
                                                     switch_op)
from enas_tf2.search_space.micro.weight_banks import NORMAL_BANKS, REDUCTION_BANKS

NUM_INPUTS = 2   # nodes 0 and 1 of a cell are its inputs


def _loose_end_output(nodes, loose, banks, element_shape):
    """concat(loose ends) -> ReLU -> 1x1 conv -> BN, reading only the loose-end nodes.

    The gathered ``[k, N, H, W, F]`` nodes are laid out as the channel concat ``[N, H, W, k*F]``
    and convolved with their own rows of the 1x1 bank: oneDNN's 1x1 conv is several times faster
    here than a batched per-node matmul (116 ms per step, measured), and it is what the static
    network runs after its concat.
    """
    gathered = list_ops.tensor_list_gather(nodes, loose, tf.float32, element_shape=element_shape)
    shape = tf.shape(gathered)
    kernel = banks["out_kernel"]
    num_nodes, channels = tf.shape(kernel)[0], tf.shape(kernel)[-1]
    concat = tf.reshape(tf.transpose(tf.nn.relu(gathered), [1, 2, 3, 0, 4]),
                        [shape[1], shape[2], shape[3], shape[0] * shape[4]])
    # Rows by a one-hot matmul rather than tf.gather: the bank then gets a dense gradient, not
    # IndexedSlices that optimizers and gradient clipping would have to densify anyway.
    rows = tf.matmul(tf.one_hot(loose, num_nodes), tf.reshape(kernel, [num_nodes, -1]))
    y = tf.nn.conv2d(concat, tf.reshape(rows, [1, 1, -1, channels]), 1, "SAME")
    gamma, beta = tf.unstack(banks["out_bn"], num=2)
    return fused_batch_norm(y, gamma, beta)


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
              for name in SLOT_WEIGHTS if name in banks}
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
        element_shape = half_shape(full_shape)
    else:
        for h in (h0, h1):
            nodes = list_ops.tensor_list_push_back(nodes, h)
        element_shape = full_shape

    for node_id in range(NUM_INPUTS, num_nodes):
        value = None
        for j in range(2):
            slot = 2 * (node_id - NUM_INPUTS) + j
            index, op = tokens[2 * slot], tokens[2 * slot + 1]
            weights = [slices[name][slot] if name in slices else None for name in SLOT_WEIGHTS]
            if not reduction:
                x = list_ops.tensor_list_get_item(nodes, index, tf.float32,
                                                  element_shape=element_shape)
                out = switch_op(op, [x], weights, branch_specs(1, 0))
            else:
                x_full = list_ops.tensor_list_get_item(
                    inputs, tf.minimum(index, NUM_INPUTS - 1), tf.float32,
                    element_shape=full_shape)
                specs = branch_specs(2, 0)
                candidates = [x_full]
                branch = op
                if node_id > NUM_INPUTS:   # node 2 can only read the cell inputs
                    candidates.append(list_ops.tensor_list_get_item(
                        nodes, tf.maximum(index, NUM_INPUTS), tf.float32,
                        element_shape=element_shape))
                    specs += branch_specs(1, 1)
                    branch = op + ops.NUM_OPS * tf.cast(index >= NUM_INPUTS, tf.int32)
                out = switch_op(branch, candidates, weights, specs)
            value = out if value is None else value + out
        nodes = list_ops.tensor_list_push_back(nodes, value)
    return _loose_end_output(nodes, loose, banks, element_shape)
