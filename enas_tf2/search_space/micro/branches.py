"""The micro space's branch tables for `enas_tf2.layers.branch_switch` (one slot = one switch).

A slot computes ``op(x)`` for the op id chosen at run time. Each op kind is a frozen-dataclass
`BranchSpec` whose forward/backward are the hand-written kernels of `slot_kernels.py`; a table is
the tuple of the five ops in op-id order at one stride. A network uses four tables (normal slot,
node-2 reduction slot, later reduction slot, loose-input reduction), so its 80+ slots cost four
traces of the generic switch.

Every slot receives its weight slices in `SLOT_WEIGHTS` order (None where the cell has none);
each spec reads only its own positions.
"""

from __future__ import annotations

import dataclasses

import tensorflow as tf

from enas_tf2.search_space.micro import ops
from enas_tf2.search_space.micro import slot_kernels as kernels

# Per-slot weight slices in the order a slot receives them.
SLOT_WEIGHTS = ("sep_3_depthwise", "sep_3_pointwise", "sep_3_bn",
                "sep_5_depthwise", "sep_5_pointwise", "sep_5_bn",
                "identity_reduce_kernel", "identity_reduce_bn")
_SEP_POSITIONS = {3: (0, 1, 2), 5: (3, 4, 5)}
_REDUCE_POSITIONS = (6, 7)


@dataclasses.dataclass(frozen=True)
class SepConvBranch:
    """{ReLU -> depthwise kxk -> pointwise -> BN} x 2, stride on the first repetition."""
    kernel_size: int
    stride: int
    num_residuals = kernels.SEP_CONV_RESIDUALS

    def forward(self, x, weights):
        own = [weights[i] for i in _SEP_POSITIONS[self.kernel_size]]
        return kernels.sep_conv_forward(x, *own, self.stride)

    num_saved = kernels.SEP_CONV_SAVED

    def backward(self, dy, x, residuals, weights):
        positions = _SEP_POSITIONS[self.kernel_size]
        dx, *grads = kernels.sep_conv_backward(dy, residuals, *[weights[i] for i in positions],
                                               self.stride)
        return dx, dict(zip(positions, grads))

    def backward_input(self, dy, x, residuals, weights):
        own = [weights[i] for i in _SEP_POSITIONS[self.kernel_size]]
        return kernels.sep_conv_backward_input(dy, residuals, *own, self.stride)

    def backward_weights(self, x, residuals, saved, weights):
        positions = _SEP_POSITIONS[self.kernel_size]
        grads = kernels.sep_conv_backward_weights(residuals, saved,
                                                  *[weights[i] for i in positions], self.stride)
        return dict(zip(positions, grads))


@dataclasses.dataclass(frozen=True)
class ReduceBranch:
    """Factorized reduction (stride 2): identity at stride 2, or a loose input of a reduction
    cell. ``positions``: where its kernel and BN slices sit in the weight list."""
    positions: tuple = _REDUCE_POSITIONS
    num_residuals = kernels.REDUCE_RESIDUALS

    def forward(self, x, weights):
        return kernels.reduce_forward(x, *[weights[i] for i in self.positions])

    num_saved = kernels.REDUCE_SAVED

    def backward(self, dy, x, residuals, weights):
        dx, *grads = kernels.reduce_backward(dy, x, residuals,
                                             *[weights[i] for i in self.positions])
        return dx, dict(zip(self.positions, grads))

    def backward_input(self, dy, x, residuals, weights):
        return kernels.reduce_backward_input(dy, x, residuals,
                                             *[weights[i] for i in self.positions])

    def backward_weights(self, x, residuals, saved, weights):
        return dict(zip(self.positions, kernels.reduce_backward_weights(x, residuals, saved)))


class _NoWeights:
    """The split backward of a branch without weights: all of it is the input gradient."""
    num_saved = 0

    def backward_input(self, dy, x, residuals, weights):
        return self.backward(dy, x, residuals, weights)[0], []

    def backward_weights(self, x, residuals, saved, weights):
        return {}


@dataclasses.dataclass(frozen=True)
class PoolBranch(_NoWeights):
    """3x3 SAME average or max pool (``kind`` "avg" or "max")."""
    kind: str
    stride: int
    num_residuals = 0

    def forward(self, x, weights):
        if self.kind == "avg":
            return kernels.avg_pool_forward(x, self.stride)
        return kernels.max_pool_forward(x, self.stride)

    def backward(self, dy, x, residuals, weights):
        if self.kind == "avg":
            return kernels.avg_pool_backward(dy, x, self.stride), {}
        return kernels.max_pool_backward(dy, x, self.stride), {}


@dataclasses.dataclass(frozen=True)
class IdentityBranch(_NoWeights):
    """Identity at stride 1."""
    num_residuals = 0

    def forward(self, x, weights):
        return tf.identity(x), []

    def backward(self, dy, x, residuals, weights):
        return dy, {}


@dataclasses.dataclass(frozen=True)
class ZeroBranch(_NoWeights):
    """A zero tensor of half the spatial size: a reduction cell's input that is not a loose end."""
    num_residuals = 0

    def forward(self, x, weights):
        # tf.zeros of the computed shape: slicing x first cost a 20 ms strided copy per step.
        n, h, w, c = tf.unstack(tf.shape(x), num=4)
        return tf.zeros(tf.stack([n, (h + 1) // 2, (w + 1) // 2, c])), []

    def backward(self, dy, x, residuals, weights):
        return tf.zeros_like(x), {}


def branch_table(stride: int) -> tuple:
    """The five ops in op-id order at `stride`; identity at stride 2 is a factorized reduction."""
    table = []
    for op_id in range(ops.NUM_OPS):
        if op_id in ops.SEP_CONV_OPS:
            table.append(SepConvBranch(ops.SEP_CONV_KERNEL_SIZE[op_id], stride))
        elif op_id == ops.AVG_POOL_3X3:
            table.append(PoolBranch("avg", stride))
        elif op_id == ops.MAX_POOL_3X3:
            table.append(PoolBranch("max", stride))
        else:
            table.append(ReduceBranch() if stride == 2 else IdentityBranch())
    return tuple(table)


# A reduction cell's input node 0/1: zeros when some node reads it, its factorized reduction
# (weights at positions 0, 1 of a two-weight list) when it is a loose end.
LOOSE_INPUT_TABLE = (ZeroBranch(), ReduceBranch(positions=(0, 1)))


def half_shape(shape: tf.TensorShape) -> tf.TensorShape:
    """Static NHWC shape after a stride-2 SAME op (ceil of each spatial size)."""
    return tf.TensorShape([shape[0]] + [None if d is None else -(-d // 2) for d in shape[1:3]]
                          + [shape[3]])
