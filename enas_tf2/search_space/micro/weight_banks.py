"""The shared weights of one searched cell, stored as a few large "banks" sliced per slot.

Sharing granularity is one weight set per (cell, node, slot, op), as in the paper; the original
code additionally keyed sep-conv weights by the chosen input node (docs/enas_reference.md P12), which we do not
(see `MicroChild` for why). Instead of ~150 small variables per cell, every op type of a cell gets
ONE variable whose leading axis is the slot ``s = 2 * (node - 2) + j`` (``j`` = 0 for the first
input of a node, 1 for the second). The optimizer then updates ~12 variables per cell instead of
~150: with ~1,300 separate variables its per-variable ops doubled the op count of a training step
(docs/shared_child_notes.md item 6).

Bank layout (S = 2 * num_cells slots, B = num_cells + 2 nodes, F = filters of the cell):

==================  =============================  ==========================================
name                shape                          used by
==================  =============================  ==========================================
sep_3_depthwise     [S, 2, 3, 3, F, 1]             sep_conv_3x3, both repetitions
sep_3_pointwise     [S, 2, 1, 1, F, F]
sep_3_bn            [S, 2, 2, F]                   [..., 0, :] = gamma, [..., 1, :] = beta
sep_5_*             as sep_3_* with 5x5            sep_conv_5x5
identity_reduce_*   [S, 2, 1, 1, F, F/2], [S,2,F]  reduction cells only: identity at stride 2
                                                   (factorized reduction: 2 path kernels,
                                                   gamma/beta)
loose_reduce_*      [2, 2, 1, 1, F, F/2], [2,2,F]  reduction cells only: factorized reduction of
                                                   input node 0/1 when it is a loose end
out_kernel          [B, F, F]                      per-node rows of the loose-end 1x1 conv
out_bn              [2, F]                         BN after the loose-end 1x1 conv
==================  =============================  ==========================================

Initialisation: He-normal (truncated, as Keras' HeNormal) with the fan-in of ONE slice (e.g. k*k*F
for a depthwise kernel), i.e. what the fixed network's per-op kernels get. The original's 2-D banks
used fan_in = number of possible inputs (P12, sigma ~0.5-1.0); we do not mimic that.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf

from enas_tf2.errors import EnasError

# Keras' truncated He-normal divides by this so the truncated distribution keeps variance 2/fan_in.
_TRUNCATION_CORRECTION = 0.87962566103423978

# Order of the tensors the cell function receives; `SharedCellWeights.tensors()` follows it.
NORMAL_BANKS = ("sep_3_depthwise", "sep_3_pointwise", "sep_3_bn",
                "sep_5_depthwise", "sep_5_pointwise", "sep_5_bn", "out_kernel", "out_bn")
REDUCTION_BANKS = NORMAL_BANKS + ("identity_reduce_kernel", "identity_reduce_bn",
                                  "loose_reduce_kernel", "loose_reduce_bn")


def _he_normal(fan_in: int):
    return keras.initializers.TruncatedNormal(
        stddev=math.sqrt(2.0 / fan_in) / _TRUNCATION_CORRECTION)


def _gamma_beta_initializer(shape, dtype=None):
    """Ones in the gamma rows (index 0 of the second-to-last axis), zeros in the beta rows."""
    value = np.zeros(shape, dtype="float32")
    value[..., 0, :] = 1.0
    return keras.ops.convert_to_tensor(value, dtype=dtype or "float32")


class SharedCellWeights(keras.layers.Layer):
    """Creates the weight banks of one searched cell (normal or reduction); see the module table.

    Args:
        num_cells: searched nodes per cell.
        filters: channels F of every node of the cell (inputs are calibrated to F first).
        reduction: also create the stride-2 identity and loose-end reduction banks.
    """

    def __init__(self, num_cells: int, filters: int, reduction: bool, **kwargs):
        super().__init__(**kwargs)
        if reduction and filters % 2:
            raise EnasError(f"a reduction cell needs an even number of filters, got {filters}")
        self.num_cells = int(num_cells)
        self.filters = int(filters)
        self.reduction = bool(reduction)

    def build(self, input_shape=None):
        slots, nodes, f = 2 * self.num_cells, self.num_cells + 2, self.filters
        for k in (3, 5):
            setattr(self, f"sep_{k}_depthwise", self.add_weight(
                shape=(slots, 2, k, k, f, 1), initializer=_he_normal(k * k * f),
                name=f"sep_{k}_depthwise"))
            setattr(self, f"sep_{k}_pointwise", self.add_weight(
                shape=(slots, 2, 1, 1, f, f), initializer=_he_normal(f),
                name=f"sep_{k}_pointwise"))
            setattr(self, f"sep_{k}_bn", self.add_weight(
                shape=(slots, 2, 2, f), initializer=_gamma_beta_initializer,
                name=f"sep_{k}_bn"))
        self.out_kernel = self.add_weight(shape=(nodes, f, f), initializer=_he_normal(f),
                                          name="out_kernel")
        self.out_bn = self.add_weight(shape=(2, f), initializer=_gamma_beta_initializer,
                                      name="out_bn")
        if self.reduction:
            half = f // 2
            self.identity_reduce_kernel = self.add_weight(
                shape=(slots, 2, 1, 1, f, half), initializer=_he_normal(f),
                name="identity_reduce_kernel")
            self.identity_reduce_bn = self.add_weight(
                shape=(slots, 2, f), initializer=_gamma_beta_initializer,
                name="identity_reduce_bn")
            self.loose_reduce_kernel = self.add_weight(
                shape=(2, 2, 1, 1, f, half), initializer=_he_normal(f),
                name="loose_reduce_kernel")
            self.loose_reduce_bn = self.add_weight(
                shape=(2, 2, f), initializer=_gamma_beta_initializer, name="loose_reduce_bn")

    def bank_names(self):
        """Names of the banks in the order :meth:`tensors` returns them."""
        return REDUCTION_BANKS if self.reduction else NORMAL_BANKS

    def tensors(self):
        """The current values of all banks (one read each), in :meth:`bank_names` order."""
        return tuple(tf.convert_to_tensor(getattr(self, name)) for name in self.bank_names())

    def get_config(self):
        config = super().get_config()
        config.update(num_cells=self.num_cells, filters=self.filters, reduction=self.reduction)
        return config
