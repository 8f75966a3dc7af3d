"""The blocks (`enas_tf2.cost.blocks.Block`) of an `Nb201Net`, for its latency table.

Stem (with the input standardisation the export puts in front), per stage every conv or pool
edge and one addition per extra input of a node, the two `ResNetBlock`s, and the head (BN,
ReLU, pooling, dense, softmax). Skip edges and ``none`` edges run nothing.
"""

from __future__ import annotations

from typing import List

import tensorflow as tf

from enas_tf2.cost.blocks import Block
from enas_tf2.search_space.nb201 import ops
from enas_tf2.search_space.nb201.net import stage_layout
from enas_tf2.search_space.stem_choice import downsampled

_MEAN, _STD = (0.49, 0.48, 0.45), (0.25, 0.24, 0.26)   # any values: they only set constants


def _stem(height, width, filters):
    def make():
        from enas_tf2.data.images.augment import standardize
        from enas_tf2.layers.conv_bn import ConvBn
        layer = ConvBn(filters, kernel_size=3, relu_first=False)
        layer.build((1, height, width, 3))
        return (lambda x: layer(standardize(x, _MEAN, _STD), training=False),
                [(1, height, width, 3)])
    return Block(f"stem@{height}x{width}x{filters}", make, first=True)


def _edge(op, h, w, c):
    name = ops.OP_NAMES[op]

    def make():
        if op == ops.AVG_POOL_3X3:
            return (lambda x: tf.nn.avg_pool2d(x, 3, 1, "SAME")), [(1, h, w, c)]
        from enas_tf2.layers.conv_bn import ConvBn
        layer = ConvBn(c, kernel_size=ops.KERNEL_SIZE[op], relu_first=True)
        layer.build((1, h, w, c))
        return (lambda x: layer(x, training=False)), [(1, h, w, c)]
    return Block(f"{name}@{h}x{w}x{c}", make, chain=True)


def _add(h, w, c):
    return Block(f"add@{h}x{w}x{c}", lambda: ((lambda a, b: a + b), [(1, h, w, c)] * 2),
                 chain=True)


def _reduce(h, w, c_in, c_out):
    def make():
        from enas_tf2.search_space.nb201.blocks import ResNetBlock
        layer = ResNetBlock(c_out)
        layer.build((1, h, w, c_in))
        return (lambda x: layer(x, training=False)), [(1, h, w, c_in)]
    return Block(f"resnet_block@{h}x{w}x{c_in}->{c_out}", make)


def _head(h, w, c, num_classes):
    def make():
        from enas_tf2.search_space.nb201.head import Nb201Head
        layer = Nb201Head(num_classes)
        layer.build((1, h, w, c))
        return (lambda x: tf.nn.softmax(layer(x, training=False))), [(1, h, w, c)]
    return Block(f"head@{h}x{w}x{c}->{num_classes}", make, last=True)


def _used_nodes(arch):
    """Nodes whose value reaches the cell output (node 3); the others are dead code, which the
    converter removes."""
    used = {ops.NUM_NODES - 1}
    for source in range(ops.NUM_NODES - 2, -1, -1):
        if any(arch.ops[ops.edge_index(target, source)] != ops.NONE
               for target in used if target > source):
            used.add(source)
    return used


def _cell_blocks(arch, h, w, c):
    """``(blocks, output is constant)`` of one cell."""
    # A node without inputs is zeros, and whatever reads only such nodes is a constant: the
    # converter folds those ops away, so they cost nothing; so is what no path to the output
    # reads. Two 3x3 average pools of the same node are one op after conversion.
    blocks, constant, pooled, used = [], [False], set(), _used_nodes(arch)
    for target in range(1, ops.NUM_NODES):
        live = 0
        for source in range(target):
            op = arch.ops[ops.edge_index(target, source)]
            if op == ops.NONE or constant[source]:
                continue
            live += 1
            if target not in used or (op == ops.AVG_POOL_3X3 and source in pooled):
                continue
            pooled.update([source] if op == ops.AVG_POOL_3X3 else [])
            if op != ops.SKIP_CONNECT:
                blocks.append(_edge(op, h, w, c))
        if target in used:
            blocks.extend(_add(h, w, c) for _ in range(live - 1))
        constant.append(live == 0)
    return blocks, constant[-1]


def nb201_blocks(arch, out_filters: int, num_layers: int, input_spec) -> List[Block]:
    """The blocks of `arch`'s network, in order (a block appears once per use)."""
    height, width = input_spec.height, input_spec.width
    blocks = [_stem(height, width, out_filters)]
    channels = out_filters
    for kind, stage in stage_layout(num_layers):
        h, w = downsampled(height, stage - 1 if kind == "reduce" else stage), \
            downsampled(width, stage - 1 if kind == "reduce" else stage)
        filters = out_filters * 2 ** stage
        if kind == "reduce":
            blocks.append(_reduce(h, w, channels, filters))
            channels = filters
            continue
        cell, constant = _cell_blocks(arch, h, w, channels)
        if constant:      # the network's output is a constant: the converter folds it all
            return []
        blocks.extend(cell)
    h, w = downsampled(height, 2), downsampled(width, 2)
    blocks.append(_head(h, w, channels, input_spec.num_classes))
    return blocks

