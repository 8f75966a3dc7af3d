"""`Nb201Child`: the weight-shared NAS-Bench-201 network that serves every sampled cell.

The skeleton is the benchmark's network (`net.py`: stem, 3 stages of N cells, two `ResNetBlock`
reductions, BN-ReLU head); in every cell each of the six edges computes ONLY its sampled op,
through the generic `enas_tf2.layers.branch_switch` over the five branches of `branches.py`.
The architecture is an int32 ``[6]`` tensor, so one `tf.function` trace serves all 15,625
cells, and the weights of the ops an edge did not sample get exactly zero gradients (never None).

As in the other children, BN always uses batch statistics (moving averages over many sampled
cells would describe none of them). With the same weights and ``training=True`` the child
computes exactly the fixed `Nb201Net` of the sampled cell (tests/test_nb201_child.py checks the
gradients against autodiff of that net).

Weights of cell ``k`` (edge ``e`` = row ``e``, `ops.EDGES` order; C = the cell's channels):
``cell_{k}_conv_1`` [6, 1, 1, C, C], ``cell_{k}_conv_3`` [6, 3, 3, C, C], ``cell_{k}_bn_1`` and
``cell_{k}_bn_3`` [6, 2, C] (gamma, beta). Stem, reduction blocks and head are the fixed net's
layers in batch-statistics mode.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf

from enas_tf2.errors import EnasError
from enas_tf2.layers.branch_switch import branch_switch
from enas_tf2.layers.conv_bn import ConvBn
from enas_tf2.search_space.nb201 import ops
from enas_tf2.search_space.nb201.blocks import ResNetBlock
from enas_tf2.search_space.nb201.branches import EDGE_WEIGHTS, NB201_TABLE
from enas_tf2.search_space.nb201.head import Nb201Head
from enas_tf2.search_space.nb201.net import stage_layout


def _gamma_beta(shape, dtype=None):
    """Ones in the gamma rows (index 0 of the second-to-last axis), zeros in the beta rows."""
    value = np.zeros(shape, dtype="float32")
    value[..., 0, :] = 1.0
    return keras.ops.convert_to_tensor(value, dtype=dtype or "float32")


class Nb201Child(keras.Model):
    """Weight-shared child: ``child(images, arch, training=...)`` -> logits ``[B, classes]``.

    Args:
      out_filters: C.
      num_layers: N, cells per stage.
      num_classes: logits.

    Call ``build((None, H, W, 3))`` to create every variable before tracing.
    """

    def __init__(self, out_filters: int = 16, num_layers: int = 5, num_classes: int = 10,
                 **kwargs):
        # float32 throughout: the branch functions are traced for float32.
        kwargs["dtype"] = "float32"
        super().__init__(**kwargs)
        self.out_filters = int(out_filters)
        self.num_layers = int(num_layers)
        self.num_classes = int(num_classes)
        self.layout = stage_layout(self.num_layers)
        self.stem = ConvBn(self.out_filters, kernel_size=3, relu_first=False,
                           batch_stats_only=True, name="stem", dtype="float32")
        self.num_reduce = sum(kind == "reduce" for kind, _ in self.layout)
        for r, (_, stage) in enumerate(x for x in self.layout if x[0] == "reduce"):
            setattr(self, f"reduce_{r}", ResNetBlock(self.out_filters * 2 ** stage,
                                                     batch_stats_only=True,
                                                     name=f"reduce_{r}", dtype="float32"))
        self.head = Nb201Head(self.num_classes, batch_stats_only=True, name="head",
                              dtype="float32")

    def build(self, input_shape):
        """Creates every variable of the network for images of ``input_shape`` (NHWC)."""
        if len(input_shape) != 4 or input_shape[-1] is None:
            raise EnasError(f"Nb201Child expects NHWC images with known channels, got shape "
                            f"{tuple(input_shape)}")
        self.stem.build(input_shape)
        shape = self.stem.compute_output_shape(input_shape)
        cell, reduce = 0, 0
        for kind, stage in self.layout:
            c = self.out_filters * 2 ** stage
            if kind == "reduce":
                block = getattr(self, f"reduce_{reduce}")
                block.build(shape)
                shape = block.compute_output_shape(shape)
                reduce += 1
                continue
            for k in (1, 3):
                fan_in = k * k * c
                setattr(self, f"cell_{cell}_conv_{k}", self.add_weight(
                    shape=(ops.NUM_EDGES, k, k, c, c), name=f"cell_{cell}_conv_{k}",
                    initializer=keras.initializers.RandomNormal(stddev=math.sqrt(2.0 / fan_in))))
                setattr(self, f"cell_{cell}_bn_{k}", self.add_weight(
                    shape=(ops.NUM_EDGES, 2, c), initializer=_gamma_beta,
                    name=f"cell_{cell}_bn_{k}"))
            cell += 1
        self.num_cells = cell
        self.head.build(shape)
        self.built = True

    def _cell(self, index, x, arch):
        per_edge = [tf.unstack(getattr(self, f"cell_{index}_{name}"), num=ops.NUM_EDGES)
                    for name in EDGE_WEIGHTS]
        nodes = [x]
        for j in range(1, ops.NUM_NODES):
            total = None
            for i in range(j):
                e = ops.edge_index(j, i)
                y = branch_switch(arch[e], nodes[i], [w[e] for w in per_edge], NB201_TABLE)
                y.set_shape(x.shape)
                total = y if total is None else total + y
            nodes.append(total)
        return nodes[-1]

    def call(self, images, arch, training=False):
        """Logits of ``images`` for the cell ``arch`` (int32 ``[6]``)."""
        arch = tf.convert_to_tensor(arch, dtype=tf.int32)
        x = self.stem(tf.cast(images, tf.float32), training=training)
        cell, reduce = 0, 0
        for kind, _ in self.layout:
            if kind == "reduce":
                x = getattr(self, f"reduce_{reduce}")(x, training=training)
                reduce += 1
            else:
                x = self._cell(cell, x, arch)
                cell += 1
        return self.head(x, training=training)

    def get_config(self):
        return {"name": self.name, "out_filters": self.out_filters,
                "num_layers": self.num_layers, "num_classes": self.num_classes}
