"""`CostTally`: parameters and multiply-adds (MACs) added up layer by layer.

Conventions (the ones MnasNet, FBNet and ``thop`` use): a MAC is one multiply-add of a
convolution, a depthwise convolution or a dense layer, counted on the output positions the layer
computes (SAME padding counts the padded taps); batch norm, ReLU, pooling, additions and
concatenations cost no MACs (BN folds into the convolution before it at inference). Parameters
are every weight of the built Keras network, BN's moving statistics included, so the sum equals
``model.count_params()``.
"""

from __future__ import annotations

import dataclasses

from enas_tf2.cost.arch_cost import ArchCost


@dataclasses.dataclass
class CostTally:
    """A running count; spaces call one method per layer of the fixed network, then `result`."""

    params: int = 0
    macs: int = 0

    def conv(self, k: int, c_in: int, c_out: int, out_hw: int, kh: int = 0) -> None:
        """A ``k x k`` (or ``kh x k``) convolution without bias on `out_hw` output positions."""
        taps = (kh or k) * k
        self.params += taps * c_in * c_out
        self.macs += out_hw * taps * c_in * c_out

    def depthwise(self, k: int, channels: int, out_hw: int) -> None:
        """A ``k x k`` depthwise convolution (multiplier 1) on `out_hw` output positions."""
        self.params += k * k * channels
        self.macs += out_hw * k * k * channels

    def dense(self, c_in: int, c_out: int, bias: bool = False) -> None:
        """A dense layer on one pooled vector per example."""
        self.params += c_in * c_out + (c_out if bias else 0)
        self.macs += c_in * c_out

    def bn(self, channels: int) -> None:
        """A batch norm: gamma, beta and the two moving statistics (no MACs: folded)."""
        self.params += 4 * channels

    def conv_bn(self, k: int, c_in: int, c_out: int, out_hw: int) -> None:
        """`ConvBn`: a convolution then a batch norm."""
        self.conv(k, c_in, c_out, out_hw)
        self.bn(c_out)

    def factorized_reduction(self, c_in: int, c_out: int, out_hw: int) -> None:
        """`FactorizedReduction` (stride 2): two 1x1 kernels to ``c_out / 2`` each, run as ONE
        block-sparse 2x2 convolution (`factorized_paths`), so it executes ``4 * c_in * c_out``
        multiply-adds per output position (half of them on zero taps); then a batch norm."""
        self.params += c_in * c_out
        self.macs += out_hw * 4 * c_in * c_out
        self.bn(c_out)

    def scalar(self, count: int = 1) -> None:
        """Scalar bookkeeping weights (step counters) that ``count_params`` also counts."""
        self.params += count

    def result(self) -> ArchCost:
        """The total as an `ArchCost`."""
        return ArchCost(params=int(self.params), macs=int(self.macs))
