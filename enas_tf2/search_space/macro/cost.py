"""Parameters and multiply-adds of a `MacroNet`, from the architecture and the network settings.

Mirrors `net.py` and `fixed_layer.py` layer by layer (stem, L pre-activation layers with their
skip concatenations, the factorized reductions after each pool layer, the classifier); checked
against the built network in tests/test_arch_cost.py.
"""

from __future__ import annotations

from enas_tf2.cost.tally import CostTally
from enas_tf2.search_space.base import ArchCost
from enas_tf2.search_space.macro import ops
from enas_tf2.search_space.macro.arch import MacroArch
from enas_tf2.search_space.stem_cost import add_stem_cost
from enas_tf2.search_space.stem_choice import STEM_STRIDES, downsampled


def macro_cost(arch: MacroArch, out_filters: int, fixed_ops: str, stem: str, height: int,
               width: int, num_classes: int) -> ArchCost:
    """The `ArchCost` of the fixed macro network of `arch` (`stem` already resolved)."""
    t = CostTally()
    add_stem_cost(t, stem, out_filters, height, width)
    level = STEM_STRIDES[stem]
    hw = downsampled(height, level) * downsampled(width, level)
    f, num_prev = out_filters, 1                   # prev = [stem output, layer outputs...]
    for i, layer in enumerate(arch.layers):
        t.conv_bn(1, f, f, hw)                                          # inp_conv
        if layer.op in ops.SEP_CONV_OPS and fixed_ops == "as_named":    # ReLU-dw-pw-BN, once
            t.depthwise(ops.KERNEL_SIZE[layer.op], f, hw)
            t.conv_bn(1, f, f, hw)
        elif layer.op not in ops.POOL_OPS:                              # regular conv
            t.conv_bn(ops.KERNEL_SIZE[layer.op], f, f, hw)
        if i:                                                           # concat -> 1x1 -> BN
            t.conv_bn(1, (sum(layer.skips) + 1) * f, f, hw)
        num_prev += 1
        if i in arch.pool_layers:                  # every kept tensor reduced to 2F
            level += 1
            hw = downsampled(height, level) * downsampled(width, level)
            for _ in range(num_prev):
                t.factorized_reduction(f, 2 * f, hw)
            f *= 2
    t.dense(f, num_classes)                                             # head, no bias
    t.scalar()                                                          # head's dropout_step
    return t.result()
