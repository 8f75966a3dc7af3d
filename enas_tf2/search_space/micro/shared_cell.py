"""The body of one weight-shared cell: any architecture row, one graph, only sampled ops computed.

`shared_cell` is a pure function of tensors (calibrated inputs, the cell's arch row and the weight
banks of `SharedCellWeights`), so one traced copy can serve several cells (see `MicroChild`).
Design choices, each measured on this CPU (docs/shared_child_notes.md and bench/README.md):

* Input selection reads the chosen node from a TensorList (`TensorListGetItem`): no stack/gather
  copy forward and a sparse gradient. Nodes are appended with `PushBack`, whose gradient is one
  `PopBack` (a `SetItem` gradient would write a dense zeros tensor per node).
* Op selection is a `tf.switch_case` per slot (lowered to Switch/Merge inside `tf.function`, so
  untaken branches run no kernels) with a hand-written gradient: the generic
  `enas_tf2.layers.branch_switch` over micro's branch tables (`branches.py`, kernels in
  `slot_kernels.py`). Untaken ops get zero gradients.
* Banks are unstacked once per cell into per-slot slices: the gradient of a bank is then one
  `Pack` of the small per-slot gradients, instead of a bank-sized dense tensor per slot.
* Loose ends: only the unused nodes are gathered from the list, laid out as their channel concat
  and convolved with their own rows of the 1x1 bank -- concat -> ReLU -> 1x1 conv without a
  concat over all nodes or masked rows.

Reduction cells follow the paper (docs/enas_reference.md §1.2 fixed mode), not the shipped search code
(pitfall P4 / ISSUE #48): the cell receives (h_{i-2}, h_{i-1}) at full resolution; ops reading
node 0 or 1 run with stride 2 (identity becomes a factorized reduction); nodes 2.. are at half
resolution; a loose end among nodes 0/1 is factorized-reduced before the output 1x1 conv.
"""

from __future__ import annotations

import tensorflow as tf
from tensorflow.python.ops import gen_list_ops, list_ops

from enas_tf2.layers.batch_norm import fused_batch_norm
from enas_tf2.layers.branch_switch import branch_switch
from enas_tf2.search_space.micro import ops
from enas_tf2.search_space.micro.branches import (LOOSE_INPUT_TABLE, SLOT_WEIGHTS, branch_table,
                                                  half_shape)
from enas_tf2.search_space.micro.weight_banks import NORMAL_BANKS, REDUCTION_BANKS

NUM_INPUTS = 2   # nodes 0 and 1 of a cell are its inputs

# Experimental, off: forward reads through a lowered switch over the node tensors, whose Merge
# fires as soon as the CHOSEN node exists, instead of a read of the node list, which waits
# for every node appended before (the static graph runs node 3 beside node 2 when it reads
# only the cell inputs). The gradient still flows through the list. Off: on a quiet machine it
# measured no gain (wall ratio 1.109 vs 1.105, bench/README.md issue 23); same maths either way.
MERGE_READS = False


def _read_node(nodes, index, values, element_shape):
    """Node ``index`` of the list ``nodes`` (whose elements are ``values``)."""
    if not MERGE_READS:
        return list_ops.tensor_list_get_item(nodes, index, tf.float32,
                                             element_shape=element_shape)

    @tf.custom_gradient
    def read(nodes, index):
        x = tf.switch_case(index, [(lambda v=v: tf.identity(v)) for v in values])

        def grad(dx):   # what TensorListGetItem's gradient is: a list with only `index` set
            reserved = gen_list_ops.tensor_list_reserve(
                gen_list_ops.tensor_list_element_shape(nodes, shape_type=tf.int32),
                gen_list_ops.tensor_list_length(nodes), element_dtype=tf.float32)
            return gen_list_ops.tensor_list_set_item(reserved, index, dx), None
        return x, grad
    return read(nodes, index)


def _concat_loose(nodes, loose, element_shape):
    """ReLU of the gathered loose-end nodes laid out as their channel concat ``[N, H, W, k*F]``."""
    gathered = tf.nn.relu(list_ops.tensor_list_gather(nodes, loose, tf.float32,
                                                      element_shape=element_shape))
    shape = tf.shape(gathered)
    return tf.reshape(tf.transpose(gathered, [1, 2, 3, 0, 4]),
                      [shape[1], shape[2], shape[3], shape[0] * shape[4]])


def _output_conv_bn(concat, node_ids, banks):
    """1x1 conv of the concatenated loose ends with their own rows of the bank, then BN.

    Laying the loose ends out as a channel concat and running one 1x1 conv is several times
    faster with oneDNN than a batched per-node matmul (116 ms per step, measured), and it is what
    the static network runs. Rows are picked by a one-hot matmul rather than tf.gather, so the
    bank gets a dense gradient instead of IndexedSlices that clipping would densify anyway.
    """
    kernel = banks["out_kernel"]
    num_nodes, channels = tf.shape(kernel)[0], tf.shape(kernel)[-1]
    rows = tf.matmul(tf.one_hot(node_ids, num_nodes), tf.reshape(kernel, [num_nodes, -1]))
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
    # A node is a loose end when no node of the cell reads it (docs/enas_reference.md §1.2).
    used = tf.reduce_max(tf.one_hot(tf.stack(tokens[0::2]), num_nodes, dtype=tf.int32), axis=0)

    # One list of all nodes; in a reduction cell it mixes full-size inputs and half-size nodes,
    # so each slot reads exactly the node it uses (two typed reads would cost a zero gradient,
    # often of full size, for the one not used).
    out_shape = half_shape(h1.shape) if reduction else h1.shape
    read_shape = None if reduction else out_shape
    nodes = list_ops.empty_tensor_list(element_shape=None, element_dtype=tf.float32)
    values = [h0, h1]
    for h in values:
        nodes = list_ops.tensor_list_push_back(nodes, h)
    for node_id in range(NUM_INPUTS, num_nodes):
        value = None
        for j in range(2):
            slot = 2 * (node_id - NUM_INPUTS) + j
            index, op = tokens[2 * slot], tokens[2 * slot + 1]
            weights = [slices[name][slot] if name in slices else None for name in SLOT_WEIGHTS]
            x = _read_node(nodes, index, values, read_shape)
            if not reduction:
                out = branch_switch(op, x, weights, branch_table(1))
            elif node_id == NUM_INPUTS:      # node 2 can only read the cell inputs: stride 2
                out = branch_switch(op, x, weights, branch_table(2))
            else:                            # stride 2 on inputs 0/1, stride 1 on nodes 2..
                reads_node = tf.cast(index >= NUM_INPUTS, tf.int32)
                out = branch_switch(op + ops.NUM_OPS * reads_node, x, weights,
                                    branch_table(2) + branch_table(1))
            out.set_shape(out_shape)
            value = out if value is None else value + out
        nodes = list_ops.tensor_list_push_back(nodes, value)
        values.append(value)

    if not reduction:
        loose = tf.cast(tf.reshape(tf.where(tf.equal(used, 0)), [-1]), tf.int32)
        return _output_conv_bn(_concat_loose(nodes, loose, out_shape), loose, banks)
    # Reduction cell: loose nodes 2.. are gathered; a loose input 0/1 is factorized-reduced to
    # half size first. A non-loose input yields zeros, which add nothing through ReLU -> conv.
    loose = tf.cast(tf.reshape(tf.where(tf.equal(used[NUM_INPUTS:], 0)), [-1]),
                    tf.int32) + NUM_INPUTS
    reduced = []
    for j, h in enumerate((h0, h1)):
        r = branch_switch(tf.cast(tf.equal(used[j], 0), tf.int32), h,
                          [banks["loose_reduce_kernel"][j], banks["loose_reduce_bn"][j]],
                          LOOSE_INPUT_TABLE)
        r.set_shape(out_shape)
        reduced.append(tf.nn.relu(r))
    concat = tf.concat(reduced + [_concat_loose(nodes, loose, out_shape)], axis=-1)
    return _output_conv_bn(concat, tf.concat([[0, 1], loose], axis=0), banks)
