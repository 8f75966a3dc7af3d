"""Parameters and multiply-adds of an `Nb201Net`, from the cell and the network settings.

Mirrors `net.py` layer by layer (stem, 3N cells, two `ResNetBlock`s, `Nb201Head`); checked
against the built network in tests/test_arch_cost.py.
"""

from __future__ import annotations

from enas_tf2.cost.tally import CostTally
from enas_tf2.search_space.base import ArchCost
from enas_tf2.search_space.nb201 import ops
from enas_tf2.search_space.nb201.arch import Nb201Arch
from enas_tf2.search_space.nb201.net import stage_layout
from enas_tf2.search_space.stem_choice import downsampled


def nb201_cost(arch: Nb201Arch, out_filters: int, num_layers: int, height: int, width: int,
               num_classes: int) -> ArchCost:
    """The `ArchCost` of the fixed network of `arch` (C = `out_filters`, N = `num_layers`)."""
    t = CostTally()
    t.conv_bn(3, 3, out_filters, height * width)                       # stem
    channels = out_filters
    for kind, stage in stage_layout(num_layers):
        hw = downsampled(height, stage) * downsampled(width, stage)
        filters = out_filters * 2 ** stage
        if kind == "reduce":                     # conv_a, bn_a, conv_b (ConvBn), shortcut 1x1
            t.conv(3, channels, filters, hw)
            t.bn(filters)
            t.conv_bn(3, filters, filters, hw)
            t.conv(1, channels, filters, hw)
            channels = filters
            continue
        for op in arch.ops:
            if op in ops.CONV_OPS:
                t.conv_bn(ops.KERNEL_SIZE[op], channels, channels, hw)
    t.bn(channels)                                                      # head: BN, dense + bias
    t.dense(channels, num_classes, bias=True)
    return t.result()
