"""`MacroChild`: the weight-shared macro-space network that serves every sampled architecture.

One `tf.function` trace serves any architecture: the architecture is an int32 ``[L, L]`` tensor
(`arch.py`), each layer computes ONLY its sampled op through the generic
`enas_tf2.layers.branch_switch` over the six branches of `branches.py`, and adds only its
selected skips (`skip_sum.py`). Skeleton (docs/enas_reference.md §1.1, search mode): stem (3x3
conv to F, BN) -> L layers; layer ``i`` runs its op on ``prev[-1]`` and, for ``i > 0``, outputs
``BN(op_out + sum_j bit_j prev[j])`` with ``prev = [stem, out_0, ..., out_{i-1}]``; after each
pool layer (``L//3 - 1``, ``2(L//3) - 1``) every tensor of ``prev`` is replaced by its factorized
reduction (stride 2, no ReLU); channels stay F throughout -> global average pool (no ReLU) ->
dropout -> dense without bias. With ``stem="imagenet"`` the stem is `ImageNetStem` (three
stride-2 convs to F channels) and ``prev[0]`` is its output at 1/8 of the side (`stem.py`).

Deviations from the shipped search code, deliberate:

* The sampled op is computed (pitfall P1: the original's closures made every layer run the last
  branch, a max pool).
* BN always uses batch statistics (no moving averages), as in `MicroChild`: the original's
  moving averages over many random architectures describe none of them (P6). ``training=False``
  only switches dropout off.
* Weights are He-initialised with the fan-in of one op's kernel.

Every trainable variable gets a gradient on every step, never None: untaken branches yield
zeros (dense rows of zeros in the stacked banks).

Weights (F = out_filters, L = num_layers; leading axis = layer):

=====================================  ==================================================
``inp_kernel`` [L, 6, 1, 1, F, F]      per-branch 1x1 conv (layout: `branches.py`)
``inp_bn`` [L, 6, 2, F]                per-branch BN after it (gamma, beta)
``conv_3``/``conv_5`` [L, k, k, F, F]  ops 0 and 2
``sep_k_depthwise`` [L, k, k, F, 1]    ops 1 and 3, with ``sep_k_pointwise`` [L, 1, 1, F, F]
``out_bn`` [L, 4, 2, F]                BN after the kxk op of ops 0..3
``skip_bn`` [L - 1, 2, F]              BN of layers 1.. after the skip sum
``reduce_{n}_kernel`` [P, 2, 1, 1,     factorized reductions after the n-th pool layer p
F, F/2], ``reduce_{n}_bn`` [P, 2, F]   (P = p + 2 tensors: the stem and outputs 0..p)
=====================================  ==================================================
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf
from tensorflow.python.ops import list_ops

from enas_tf2.errors import EnasError
from enas_tf2.layers.batch_norm import fused_batch_norm
from enas_tf2.layers.branch_switch import branch_switch
from enas_tf2.layers.classifier_head import ClassifierHead
from enas_tf2.layers.factorized_reduction import factorized_reduction
from enas_tf2.search_space.macro import ops
from enas_tf2.search_space.macro.arch import pool_layers
from enas_tf2.search_space.macro.branches import LAYER_WEIGHTS, MACRO_TABLE
from enas_tf2.search_space.macro.skip_sum import skip_sum
from enas_tf2.search_space.macro.stem import build_stem, stem_output

# Keras' truncated He-normal divides by this so the truncated distribution keeps variance 2/fan_in.
_TRUNCATION_CORRECTION = 0.87962566103423978


def _he_normal(fan_in: int):
    return keras.initializers.TruncatedNormal(
        stddev=math.sqrt(2.0 / fan_in) / _TRUNCATION_CORRECTION)


def _gamma_beta(shape, dtype=None):
    """Ones in the gamma rows (index 0 of the second-to-last axis), zeros in the beta rows."""
    value = np.zeros(shape, dtype="float32")
    value[..., 0, :] = 1.0
    return keras.ops.convert_to_tensor(value, dtype=dtype or "float32")


class MacroChild(keras.Model):
    """Weight-shared macro child: ``child(images, arch, training=...)`` -> logits ``[B, classes]``.

    Args:
        num_layers: L.
        out_filters: F, the channels of every layer (even: factorized reductions halve it).
        num_classes: logits.
        keep_prob: dropout keep probability before the classifier (``training=True`` only).
        stem: ``cifar`` (3x3 conv at full resolution) or ``imagenet`` (`ImageNetStem`, layers at
            1/8 of the side); the space resolves ``--child_stem=auto`` before this.

    Call ``build((None, H, W, 3))`` to create every variable before tracing.
    """

    def __init__(self, num_layers: int = 12, out_filters: int = 36, num_classes: int = 10,
                 keep_prob: float = 0.9, stem: str = "cifar", **kwargs):
        # float32 throughout, also under a global mixed-precision policy: the branch functions
        # are traced for float32 (search runs on CPU, where float16 buys nothing).
        kwargs["dtype"] = "float32"
        super().__init__(**kwargs)
        if num_layers < 1:
            raise EnasError(f"MacroChild needs num_layers >= 1, got {num_layers}")
        if out_filters < 2 or out_filters % 2:
            raise EnasError(f"out_filters must be an even number >= 2, got {out_filters}")
        self.num_layers = int(num_layers)
        self.out_filters = int(out_filters)
        self.num_classes = int(num_classes)
        self.keep_prob = float(keep_prob)
        self.pool_layers = pool_layers(self.num_layers)
        self.stem = build_stem(stem, self.out_filters, batch_stats_only=True, dtype="float32")
        self.stem_kind = stem
        self.head = ClassifierHead(self.num_classes, self.keep_prob, relu_first=False,
                                   name="head", dtype="float32")

    def build(self, input_shape):
        """Creates every variable of the network for images of ``input_shape`` (NHWC)."""
        if len(input_shape) != 4 or input_shape[-1] is None:
            raise EnasError(f"MacroChild expects NHWC images with known channels, got shape "
                            f"{tuple(input_shape)}")
        n, f = self.num_layers, self.out_filters
        self.stem.build(input_shape)
        shapes = {"inp_kernel": ((n, ops.NUM_OPS, 1, 1, f, f), _he_normal(f)),
                  "inp_bn": ((n, ops.NUM_OPS, 2, f), _gamma_beta),
                  "out_bn": ((n, len(ops.CONV_OPS), 2, f), _gamma_beta)}
        for k in (3, 5):
            shapes[f"conv_{k}"] = ((n, k, k, f, f), _he_normal(k * k * f))
            shapes[f"sep_{k}_depthwise"] = ((n, k, k, f, 1), _he_normal(k * k * f))
            shapes[f"sep_{k}_pointwise"] = ((n, 1, 1, f, f), _he_normal(f))
        for name in LAYER_WEIGHTS:
            shape, init = shapes[name]
            setattr(self, name, self.add_weight(shape=shape, initializer=init, name=name))
        self.skip_bn = (self.add_weight(shape=(n - 1, 2, f), initializer=_gamma_beta,
                                        name="skip_bn") if n > 1 else None)
        for index, layer in enumerate(self.pool_layers):
            count = layer + 2
            setattr(self, f"reduce_{index}_kernel", self.add_weight(
                shape=(count, 2, 1, 1, f, f // 2), initializer=_he_normal(f),
                name=f"reduce_{index}_kernel"))
            setattr(self, f"reduce_{index}_bn", self.add_weight(
                shape=(count, 2, f), initializer=_gamma_beta, name=f"reduce_{index}_bn"))
        spatial = list(stem_output(self.stem_kind,
                                   self.stem.compute_output_shape(input_shape))[1:3])
        for _ in self.pool_layers:
            spatial = [None if d is None else -(-d // 2) for d in spatial]
        self.head.build((input_shape[0], *spatial, f))
        self.built = True

    def call(self, images, arch, training=False):
        """Logits of ``images`` for the architecture ``arch`` (int32 ``[L, L]``)."""
        arch = tf.convert_to_tensor(arch, dtype=tf.int32)
        n = self.num_layers
        x = stem_output(self.stem_kind, self.stem(tf.cast(images, tf.float32), training=training))
        # Banks are unstacked once: each bank's gradient is then one Pack of per-layer slices.
        per_layer = [tf.unstack(getattr(self, name), num=n) for name in LAYER_WEIGHTS]
        skip_bn = [] if n == 1 else tf.unstack(self.skip_bn, num=n - 1)
        prev = [x]
        # prev[0 .. i-1] for layer i's skip bits (prev[i], the op input, is pushed after it).
        skips = list_ops.empty_tensor_list(element_shape=None, element_dtype=tf.float32)
        for i in range(n):
            inputs = prev[-1]
            y = branch_switch(arch[i, 0], inputs, [w[i] for w in per_layer], MACRO_TABLE)
            y.set_shape(inputs.shape)
            if i > 0:
                y = skip_sum(arch[i, 1:i + 1], y, skips)
                gamma, beta = tf.unstack(skip_bn[i - 1], num=2)
                y = fused_batch_norm(y, gamma, beta)
            prev.append(y)
            if i in self.pool_layers:
                prev = self._reduce_all(self.pool_layers.index(i), prev)
                skips = list_ops.empty_tensor_list(element_shape=None, element_dtype=tf.float32)
                for tensor in prev[:-1]:
                    skips = list_ops.tensor_list_push_back(skips, tensor)
            elif i < n - 1:
                skips = list_ops.tensor_list_push_back(skips, inputs)
        return self.head(prev[-1], training=training)

    def _reduce_all(self, index, prev):
        """Factorized reduction (stride 2, F channels) of every tensor in `prev`."""
        kernels = tf.unstack(getattr(self, f"reduce_{index}_kernel"), num=len(prev))
        bns = tf.unstack(getattr(self, f"reduce_{index}_bn"), num=len(prev))
        return [factorized_reduction(x, kernel[0], kernel[1], bn[0], bn[1])
                for x, kernel, bn in zip(prev, kernels, bns)]

    def l2_loss(self):
        """Sum of squares of all trainable weights (no 1/2; the loop multiplies by l2_reg)."""
        return tf.add_n([tf.reduce_sum(tf.square(v)) for v in self.trainable_variables])

    def get_config(self):
        return {"name": self.name, "num_layers": self.num_layers,
                "out_filters": self.out_filters, "num_classes": self.num_classes,
                "keep_prob": self.keep_prob, "stem": self.stem_kind}
