"""`Nb201Cell`: one fixed cell of a NAS-Bench-201 architecture (the benchmark's ``InferCell``).

Node 0 is the cell input; node ``j`` = sum over ``i < j`` of ``op_ij(node i)``; the output is
node 3. Ops (channels unchanged, stride 1): ``none`` -> zeros, ``skip_connect`` -> identity,
``nor_conv_kxk`` -> ReLU -> kxk conv (no bias) -> BN, ``avg_pool_3x3`` -> 3x3 average pool
(stride 1, SAME; TF's average pool does not count the padding, as the benchmark's
``count_include_pad=False``).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from enas_tf2.layers.conv_bn import ConvBn
from enas_tf2.search_space.nb201 import ops


def edge_layer_name(edge: int) -> str:
    """Attribute name of edge `edge`'s conv layer (only conv edges have one)."""
    target, source = ops.EDGES[edge]
    return f"edge_{source}_{target}"


class Nb201Cell(keras.layers.Layer):
    """The fixed cell of op ids `cell_ops` (six, `ops.EDGES` order) with `filters` channels.

    Args:
      cell_ops: the architecture's op ids.
      filters: channels in and out.
      batch_stats_only: BN mode of the conv edges (see `BatchNorm`).
    """

    def __init__(self, cell_ops, filters: int, batch_stats_only: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.cell_ops = tuple(int(o) for o in cell_ops)
        self.filters = int(filters)
        self.batch_stats_only = bool(batch_stats_only)
        # Named attributes, not a list: `tf.train.Checkpoint` does not follow Keras 3's lists.
        for edge, op in enumerate(self.cell_ops):
            if op in ops.CONV_OPS:
                setattr(self, edge_layer_name(edge),
                        ConvBn(self.filters, kernel_size=ops.KERNEL_SIZE[op], relu_first=True,
                               batch_stats_only=batch_stats_only, name=edge_layer_name(edge)))

    def build(self, input_shape):
        for edge, op in enumerate(self.cell_ops):
            if op in ops.CONV_OPS:
                getattr(self, edge_layer_name(edge)).build(input_shape)
        self.built = True

    def forward(self, x, training=None, taps=None):
        """The cell output; `taps` as in `ResNetBlock.forward` (one entry per conv edge: each
        has its own ReLU, as in the benchmark's modules)."""
        nodes = [x]
        for j in range(1, ops.NUM_NODES):
            total = None
            for i in range(j):
                edge = ops.edge_index(j, i)
                op = self.cell_ops[edge]
                if op == ops.NONE:
                    continue     # adds zeros
                if op == ops.SKIP_CONNECT:
                    y = nodes[i]
                elif op == ops.AVG_POOL_3X3:
                    y = tf.nn.avg_pool2d(nodes[i], 3, 1, "SAME")
                else:
                    if taps is not None:
                        taps.append(nodes[i])
                    y = getattr(self, edge_layer_name(edge))(nodes[i], training=training)
                total = y if total is None else total + y
            nodes.append(tf.zeros_like(x) if total is None else total)
        return nodes[-1]

    def call(self, x, training=None):
        return self.forward(x, training)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(cell_ops=list(self.cell_ops), filters=self.filters,
                      batch_stats_only=self.batch_stats_only)
        return config
