"""The static comparator for `bench/child_step.py`: a plain Keras model of ONE micro architecture.

Same skeleton, ops, weight shapes and BN/dropout semantics as `MicroChild` for that architecture
(batch-statistics BN everywhere, dropout only with ``training=True``, paper reduction cells), but
wired with Python integers: no switch_case, no TensorList, only the chosen ops' variables. It is
built from the shared layers in `enas_tf2.layers`, so both models run the same kernels.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from enas_tf2.layers import (BatchNorm, ClassifierHead, ConvBn, FactorizedReduction, Pool3x3,
                             SepConv)
from enas_tf2.search_space.micro import ops
from enas_tf2.search_space.micro.arch import MicroArch
from enas_tf2.search_space.micro.child import calibrate_inputs, reduction_cell_ids


class _Identity(keras.layers.Layer):
    """Identity at stride 1 (a layer only so the op table below is uniform)."""

    def call(self, x):
        return x


class StaticMicroModel(keras.Model):
    """One micro architecture as an ordinary Keras model (benchmark comparator only).

    Args:
        arch: the architecture (normal and reduction cell).
        num_layers, out_filters, num_classes, keep_prob: as `MicroChild`.
    """

    def __init__(self, arch: MicroArch, num_layers: int = 6, out_filters: int = 20,
                 num_classes: int = 10, keep_prob: float = 0.9, **kwargs):
        super().__init__(**kwargs)
        self.arch = arch
        self.num_layers = num_layers
        self.out_filters = out_filters
        self.num_classes = num_classes
        self.keep_prob = keep_prob
        self.stem = ConvBn(3 * out_filters, kernel_size=3, relu_first=False, batch_stats_only=True)
        self.cells = []
        filters, channels, level = out_filters, (3 * out_filters,) * 2, (0, 0)
        for cell_id in range(num_layers + 2):
            reduction = cell_id in reduction_cell_ids(num_layers)
            filters *= 2 if reduction else 1
            calib_0 = (FactorizedReduction(filters, 2, batch_stats_only=True)
                       if level[0] < level[1] else
                       ConvBn(filters, batch_stats_only=True) if channels[0] != filters
                       else None)
            calib_1 = (ConvBn(filters, batch_stats_only=True) if channels[1] != filters
                       else None)
            nodes = arch.cell("reduce" if reduction else "normal")
            slot_layers = []
            for node_id, node in enumerate(nodes, start=2):
                for index, op in ((node.index_1, node.op_1), (node.index_2, node.op_2)):
                    stride = 2 if reduction and index < 2 else 1
                    slot_layers.append(self._op_layer(op, filters, stride))
            loose = arch.loose_ends("reduce" if reduction else "normal")
            loose_reduce = {j: FactorizedReduction(filters, 2, batch_stats_only=True)
                            for j in loose if reduction and j < 2}
            out_conv = keras.layers.Conv2D(filters, 1, use_bias=False,
                                           kernel_initializer="he_normal")
            self.cells.append(dict(reduction=reduction, calib=(calib_0, calib_1), nodes=nodes,
                                   slots=slot_layers, loose=loose, loose_reduce=loose_reduce,
                                   out_conv=out_conv,
                                   out_bn=BatchNorm(batch_stats_only=True)))
            # Track layers so Keras sees their variables.
            for i, layer in enumerate(slot_layers):
                setattr(self, f"cell{cell_id}_slot{i}", layer)
            for j, layer in loose_reduce.items():
                setattr(self, f"cell{cell_id}_loose{j}", layer)
            for i, layer in enumerate((calib_0, calib_1)):
                if layer is not None:
                    setattr(self, f"cell{cell_id}_calib{i}", layer)
            setattr(self, f"cell{cell_id}_out_conv", out_conv)
            setattr(self, f"cell{cell_id}_out_bn", self.cells[-1]["out_bn"])
            channels = (channels[1], filters)
            level = (level[1], level[1] + int(reduction))
        self.head = ClassifierHead(num_classes, keep_prob)

    @staticmethod
    def _op_layer(op: int, filters: int, stride: int):
        if op in ops.SEP_CONV_OPS:
            return SepConv(filters, ops.SEP_CONV_KERNEL_SIZE[op], stride, batch_stats_only=True)
        if op == ops.AVG_POOL_3X3:
            return Pool3x3("avg", stride)
        if op == ops.MAX_POOL_3X3:
            return Pool3x3("max", stride)
        if stride == 2:
            return FactorizedReduction(filters, 2, batch_stats_only=True)
        return _Identity()

    def build(self, input_shape):
        """Creates all variables by running the model once eagerly on a zero image batch."""
        self.built = True   # set first: calling the model would otherwise build again
        self.call(tf.zeros([2] + [int(d) for d in input_shape[1:]]), training=False)

    def call(self, images, training=False):
        """Logits for ``images`` (NHWC)."""
        x = self.stem(images, training=training)
        prev, cur = x, x
        for cell in self.cells:
            h0, h1 = calibrate_inputs(cell["calib"], prev, cur, training)
            values = [h0, h1]
            slots = iter(cell["slots"])
            for node in cell["nodes"]:
                total = None
                for index in (node.index_1, node.index_2):
                    layer = next(slots)
                    if isinstance(layer, (SepConv, FactorizedReduction)):
                        out = layer(values[index], training=training)
                    else:
                        out = layer(values[index])
                    total = out if total is None else total + out
                values.append(total)
            loose = []
            for j in cell["loose"]:
                value = values[j]
                if j in cell["loose_reduce"]:
                    value = cell["loose_reduce"][j](value, training=training)
                loose.append(value)
            y = tf.concat(loose, axis=-1) if len(loose) > 1 else loose[0]
            y = cell["out_conv"](tf.nn.relu(y))
            prev, cur = cur, cell["out_bn"](y, training=training)
        return self.head(cur, training=training)
