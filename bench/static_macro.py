"""The static comparator for `bench/macro_child_step.py`: a plain Keras model of ONE macro arch.

Same skeleton, ops, weight shapes and BN/dropout semantics as `MacroChild` for that architecture
(search mode: per layer 1x1 conv -> BN -> ReLU -> op [-> BN -> ReLU], skip sum -> BN, factorized
reductions of every earlier output at the pool layers, batch-statistics BN everywhere, dropout
only with ``training=True``), but wired with Python integers: no switch_case, no TensorList,
only the chosen ops' variables. Built from `enas_tf2.layers`, so both models run the same kernels.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from enas_tf2.layers import BatchNorm, ClassifierHead, ConvBn, FactorizedReduction, Pool3x3, SepConv
from enas_tf2.search_space.macro import ops
from enas_tf2.search_space.macro.arch import MacroArch


class _Branch(keras.layers.Layer):
    """1x1 conv -> BN -> ReLU, then the op (conv/sep: -> BN -> ReLU inside, pools: pool)."""

    def __init__(self, op: int, filters: int, **kwargs):
        super().__init__(**kwargs)
        self.inp = ConvBn(filters, 1, relu_first=False, batch_stats_only=True)
        if op in ops.POOL_OPS:
            self.op_layer = Pool3x3("avg" if op == ops.AVG_POOL_3X3 else "max")
        elif op in ops.SEP_CONV_OPS:   # SepConv's leading ReLU is the branch's ReLU
            self.op_layer = SepConv(filters, ops.KERNEL_SIZE[op], repeats=1,
                                    batch_stats_only=True)
        else:
            self.op_layer = ConvBn(filters, ops.KERNEL_SIZE[op], relu_first=True,
                                   batch_stats_only=True)
        self.pool = op in ops.POOL_OPS

    def call(self, x, training=None):
        x = self.inp(x, training=training)
        if self.pool:
            return self.op_layer(tf.nn.relu(x))
        return tf.nn.relu(self.op_layer(x, training=training))


class StaticMacroModel(keras.Model):
    """One macro architecture as an ordinary Keras model (benchmark comparator only).

    Args:
        arch: the architecture.
        out_filters, num_classes, keep_prob: as `MacroChild`.
    """

    def __init__(self, arch: MacroArch, out_filters: int = 36, num_classes: int = 10,
                 keep_prob: float = 0.9, **kwargs):
        super().__init__(**kwargs)
        self.arch = arch
        f = out_filters
        self.stem = ConvBn(f, 3, relu_first=False, batch_stats_only=True)
        for i, layer in enumerate(arch.layers):
            setattr(self, f"branch_{i}", _Branch(layer.op, f))
            if i > 0:
                setattr(self, f"skip_bn_{i}", BatchNorm(batch_stats_only=True))
            if i in arch.pool_layers:
                for j in range(i + 2):
                    setattr(self, f"reduce_{i}_{j}",
                            FactorizedReduction(f, 2, batch_stats_only=True))
        self.head = ClassifierHead(num_classes, keep_prob, relu_first=False)

    def build(self, input_shape):
        """Creates all variables by running the model once eagerly on a zero image batch."""
        self.built = True   # set first: calling the model would otherwise build again
        self.call(tf.zeros([2] + [int(d) for d in input_shape[1:]]), training=False)

    def call(self, images, training=False):
        """Logits for ``images`` (NHWC)."""
        prev = [self.stem(images, training=training)]
        for i, layer in enumerate(self.arch.layers):
            y = getattr(self, f"branch_{i}")(prev[-1], training=training)
            if i > 0:
                chosen = [prev[j] for j in self.arch.skip_inputs(i)]
                y = getattr(self, f"skip_bn_{i}")(tf.add_n([y] + chosen), training=training)
            prev.append(y)
            if i in self.arch.pool_layers:
                prev = [getattr(self, f"reduce_{i}_{j}")(p, training=training)
                        for j, p in enumerate(prev)]
        return self.head(prev[-1], training=training)
