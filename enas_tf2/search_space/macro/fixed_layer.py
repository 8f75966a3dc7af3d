"""One layer of the fixed (final-training) macro network (docs/enas_reference.md §1.1, fixed mode).

Pre-activation ordering, as the original's final networks: the op reads ``prev[-1]`` through
ReLU -> 1x1 conv (to F) -> BN, then

* conv kxk (ops 0, 2): ReLU -> kxk conv -> BN;
* separable kxk (ops 1, 3): ReLU -> depthwise kxk -> pointwise 1x1 -> BN (``fixed_ops=
  "as_named"``), or exactly the regular kxk conv above (``"original"``: the original built
  ops 1/3 as regular convolutions, ISSUE #56);
* pools (ops 4, 5): ReLU -> 3x3 pool, stride 1 (``"as_named"`` only: the original's code path
  for them is empty and crashes, so ``"original"`` refuses them).

For a layer with skips (``i > 0``): concat([selected prev tensors..., op output]) -> ReLU -> 1x1
conv ((#skips + 1) F -> F) -> BN. Layer 0 (and nothing else) has no such conv.
"""

from __future__ import annotations

from typing import Sequence

import keras
import tensorflow as tf

from enas_tf2.errors import EnasError
from enas_tf2.layers.conv_bn import ConvBn
from enas_tf2.layers.pool import Pool3x3
from enas_tf2.layers.sep_conv import SepConv
from enas_tf2.search_space.macro import ops
from enas_tf2.search_space.macro.config import FIXED_OPS_MODES


class MacroFixedLayer(keras.layers.Layer):
    """Layer ``index`` of one fixed macro architecture.

    Args:
      index: the layer's position i (it has i skip bits).
      op: the op id (`ops.py`).
      skips: the i skip bits; bit j selects ``prev[j]`` (``prev[0]`` is the stem's output).
      filters: F of the current stage (every tensor in ``prev`` has F channels).
      fixed_ops: ``"as_named"`` or ``"original"`` (see the module doc).

    Call: ``layer(prev, training=...)`` with ``prev = [stem, out_0, ..., out_{i-1}]`` (the op
    reads ``prev[-1]``) -> ``[B, H, W, F]``.
    """

    def __init__(self, index: int, op: int, skips: Sequence[int], filters: int,
                 fixed_ops: str = "as_named", **kwargs):
        super().__init__(**kwargs)
        if fixed_ops not in FIXED_OPS_MODES:
            raise EnasError(f"fixed_ops must be one of {', '.join(FIXED_OPS_MODES)}, got "
                            f"{fixed_ops!r}")
        if fixed_ops == "original" and op in ops.POOL_OPS:
            raise EnasError(
                f"layer {index} uses {ops.OP_NAMES[op]}, which the original's final network "
                f"cannot build; use fixed_ops='as_named' (real pools) for this architecture")
        self.index = int(index)
        self.op = int(op)
        self.skips = tuple(int(b) for b in skips)
        self.filters = int(filters)
        self.fixed_ops = fixed_ops
        f = self.filters
        self.inp_conv = ConvBn(f, 1, relu_first=True, name="inp_conv")
        if op in ops.POOL_OPS:
            self.op_layer = Pool3x3("avg" if op == ops.AVG_POOL_3X3 else "max", name="pool")
        elif op in ops.SEP_CONV_OPS and fixed_ops == "as_named":
            self.op_layer = SepConv(f, ops.KERNEL_SIZE[op], repeats=1, name="sep_conv")
        else:
            self.op_layer = ConvBn(f, ops.KERNEL_SIZE[op], relu_first=True, name="conv")
        self.skip_conv = ConvBn(f, 1, relu_first=True, name="skip_conv") if index else None

    def build(self, input_shape):
        shape = tuple(input_shape[-1])
        node_shape = shape[:-1] + (self.filters,)
        self.inp_conv.build(shape)
        if not isinstance(self.op_layer, Pool3x3):
            self.op_layer.build(node_shape)
        if self.skip_conv is not None:
            self.skip_conv.build(node_shape[:-1] + ((sum(self.skips) + 1) * self.filters,))

    def call(self, prev, training=None):
        y = self.inp_conv(prev[-1], training=training)
        if isinstance(self.op_layer, Pool3x3):
            y = self.op_layer(tf.nn.relu(y))
        else:
            y = self.op_layer(y, training=training)
        if self.skip_conv is None:
            return y
        chosen = [prev[j] for j, bit in enumerate(self.skips) if bit]
        return self.skip_conv(tf.concat(chosen + [y], axis=-1), training=training)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[-1])[:-1] + (self.filters,)

    def get_config(self):
        config = super().get_config()
        config.update(index=self.index, op=self.op, skips=list(self.skips),
                      filters=self.filters, fixed_ops=self.fixed_ops)
        return config
