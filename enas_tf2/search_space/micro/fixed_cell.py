"""One cell of the fixed (final-training) micro network, wired from a `MicroArch` (docs/enas_reference.md §1.2).

Inputs are the outputs of the two previous cells ``(h0, h1)``. In order:
1. calibration: if h0 is spatially twice h1 (a reduction cell came in between), h0 ← ReLU →
   factorized reduction to F; else if h0 has ≠ F channels, h0 ← ReLU → 1x1 → BN. If h1 has ≠ F
   channels, h1 ← ReLU → 1x1 → BN.
2. "layer_base": h1 ← ReLU → 1x1 (F→F) → BN, always (fixed mode only).
3. nodes 2..B−1: ``op_1(node[index_1]) + op_2(node[index_2])``; in a reduction cell an op that
   reads node 0 or 1 runs with stride 2 (identity then becomes a factorized reduction), which is
   the paper's reduction cell, not the search code's stride-1 one (pitfall P4).
   Every op output except identity passes through drop path when training.
4. output: the loose ends (nodes nobody reads) concatenated on channels; an unused input of a
   reduction cell is first factorized-reduced to F so that all pieces have the same size.

Pooling ops would need a 1x1 conv if their input had ≠ F channels; after calibration every node has
exactly F channels, so (as in the original, where that branch never runs) none is built.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from enas_tf2.errors import EnasError
from enas_tf2.layers.factorized_reduction import FactorizedReduction
from enas_tf2.layers.pool import Pool3x3
from enas_tf2.layers.conv_bn import ConvBn
from enas_tf2.layers.sep_conv import SepConv
from enas_tf2.search_space.micro import ops
from enas_tf2.search_space.micro.arch import NUM_INPUT_NODES, MicroArch


def _reduced(size, stride):
    """Spatial size after a SAME op with `stride` (None stays unknown)."""
    return None if size is None else -(-size // stride)


class FixedCell(keras.layers.Layer):
    """A normal or reduction cell of one fixed architecture.

    Args:
      arch: the architecture (a `MicroArch` or its token string).
      cell: ``"normal"`` or ``"reduce"``; a reduction cell halves the spatial size.
      filters: F of this cell (every node has F channels).
      drop_path: the `DropPath` layer of this cell (scheduled keep probability), shared by all its
        ops; None disables drop path.

    Call: ``cell([h0, h1], training=..., step=...)`` → ``[B, H', W', len(loose_ends) · F]``.
    """

    def __init__(self, arch, cell: str, filters: int, drop_path=None, **kwargs):
        super().__init__(**kwargs)
        self.arch = arch if isinstance(arch, MicroArch) else MicroArch.from_tokens(arch)
        self.nodes = self.arch.cell(cell)
        self.cell_name = cell
        self.reduction = cell == "reduce"
        self.filters = int(filters)
        self.loose_ends = self.arch.loose_ends(cell)
        self.drop_path = drop_path
        self.calibrate_0 = None      # created in build: they depend on the input shapes
        self.calibrate_1 = None
        self.layer_base = ConvBn(self.filters, name="layer_base")
        stride_2 = 2 if self.reduction else 1
        # One layer per (node, slot), in token order; `_drops[k]` says whether slot k's output
        # passes through drop path (every op except identity). Layers are named attributes, not
        # list items, because `tf.train.Checkpoint` does not follow Keras 3's tracked lists.
        slot_attrs, drops = [], []
        for n, node in enumerate(self.nodes, start=NUM_INPUT_NODES):
            for slot, (index, op) in enumerate(((node.index_1, node.op_1),
                                                (node.index_2, node.op_2)), start=1):
                stride = stride_2 if index < NUM_INPUT_NODES else 1
                name = f"node{n}_x{slot}"
                setattr(self, name, self._make_op(op, stride, name))
                slot_attrs.append(name)
                drops.append(op != ops.IDENTITY)
        self._slot_attrs, self._drops = tuple(slot_attrs), tuple(drops)
        # Unused inputs of a reduction cell are larger than the nodes: reduce them to join the concat.
        self._reducer_attrs = tuple(f"reduce_loose_end{n}" for n in self.loose_ends
                                    if self.reduction and n < NUM_INPUT_NODES)
        for name in self._reducer_attrs:
            setattr(self, name, FactorizedReduction(self.filters, 2, name=name))

    def _make_op(self, op: int, stride: int, name: str):
        if op in ops.SEP_CONV_OPS:
            return SepConv(self.filters, ops.SEP_CONV_KERNEL_SIZE[op], stride, name=name)
        if op == ops.AVG_POOL_3X3:
            return Pool3x3("avg", stride, name=name)
        if op == ops.MAX_POOL_3X3:
            return Pool3x3("max", stride, name=name)
        if op == ops.IDENTITY:
            if stride == 2:
                return FactorizedReduction(self.filters, 2, name=name)
            return keras.layers.Identity(name=name)
        raise EnasError(f"unknown micro op id {op}")

    @property
    def slot_ops(self):
        """The op layer of every (node, slot), in token order."""
        return [getattr(self, name) for name in self._slot_attrs]

    @property
    def output_reducers(self):
        """Factorized reductions of the unused inputs of a reduction cell, in loose-end order."""
        return [getattr(self, name) for name in self._reducer_attrs]

    def build(self, input_shape):
        shape_0, shape_1 = (tuple(s) for s in input_shape)
        f = self.filters
        if shape_0[1] != shape_1[1]:
            if shape_0[1] is not None and shape_1[1] is not None and (
                    _reduced(shape_0[1], 2) != shape_1[1]):
                raise EnasError(f"cell inputs of heights {shape_0[1]} and {shape_1[1]}: the first "
                                f"may only be twice the second")
            self.calibrate_0 = FactorizedReduction(f, 2, name="calibrate_0")
        elif shape_0[-1] != f:
            self.calibrate_0 = ConvBn(f, name="calibrate_0")
        if shape_1[-1] != f:
            self.calibrate_1 = ConvBn(f, name="calibrate_1")
        node_shape = shape_1[:-1] + (f,)
        if self.calibrate_0 is not None:
            self.calibrate_0.build(shape_0)
        if self.calibrate_1 is not None:
            self.calibrate_1.build(shape_1)
        self.layer_base.build(node_shape)
        for layer, index in zip(self.slot_ops, self._slot_indices()):
            # Nodes >= 2 are at the output size; only slots reading an input see node_shape.
            layer.build(node_shape if index < NUM_INPUT_NODES else self._out_spatial(node_shape))
        for reducer in self.output_reducers:
            reducer.build(node_shape)
        if self.drop_path is not None:
            self.drop_path.build(self._out_spatial(node_shape))

    def _slot_indices(self):
        return [i for node in self.nodes for i in (node.index_1, node.index_2)]

    def _out_spatial(self, node_shape):
        s = 2 if self.reduction else 1
        return (node_shape[0], _reduced(node_shape[1], s), _reduced(node_shape[2], s),
                node_shape[3])

    def call(self, inputs, training=None, step=None):
        h0, h1 = inputs
        if self.calibrate_0 is not None:
            if isinstance(self.calibrate_0, FactorizedReduction):
                h0 = tf.nn.relu(h0)   # the calibration's factorized reduction has a ReLU in front
            h0 = self.calibrate_0(h0, training=training)
        if self.calibrate_1 is not None:
            h1 = self.calibrate_1(h1, training=training)
        nodes = [h0, self.layer_base(h1, training=training)]
        slot, slot_ops = 0, self.slot_ops
        for node in self.nodes:
            total = None
            for index in (node.index_1, node.index_2):
                # Keras passes `training` on only to layers whose call takes it (not the pools).
                y = slot_ops[slot](nodes[index], training=training)
                if self._drops[slot] and self.drop_path is not None:
                    # The slot index tells this cell's drop-path draws of one step apart.
                    y = self.drop_path(y, step=step, training=training, salt=slot)
                total = y if total is None else total + y
                slot += 1
            nodes.append(total)
        reducers = iter(self.output_reducers)
        pieces = [next(reducers)(nodes[n], training=training)
                  if self.reduction and n < NUM_INPUT_NODES else nodes[n]
                  for n in self.loose_ends]
        return tf.concat(pieces, axis=-1)

    def compute_output_shape(self, input_shape):
        _, shape_1 = (tuple(s) for s in input_shape)
        out = self._out_spatial(shape_1[:-1] + (self.filters,))
        return out[:-1] + (len(self.loose_ends) * self.filters,)

    def get_config(self):
        """Constructor arguments except `drop_path`, a layer owned and rebuilt by `MicroNet`."""
        config = super().get_config()
        config.update(arch=self.arch.tokens(), cell=self.cell_name, filters=self.filters)
        return config

