"""Parameters and multiply-adds of the CNN spaces' stems (`stem_choice.build_stem_layer`)."""

from __future__ import annotations

from enas_tf2.cost.tally import CostTally
from enas_tf2.search_space.stem_choice import downsampled


def add_stem_cost(t: CostTally, stem: str, channels: int, height: int, width: int) -> None:
    """Adds the ``cifar`` stem (3x3 conv to `channels` at full size, BN) or the ``imagenet``
    stem (stride-2 3x3 convs to C/2, C, C at 1/2, 1/4, 1/8 of the side, each with BN)."""
    if stem == "cifar":
        t.conv_bn(3, 3, channels, height * width)
        return
    c_in = 3
    for level, c_out in enumerate((channels // 2, channels, channels), start=1):
        t.conv_bn(3, c_in, c_out, downsampled(height, level) * downsampled(width, level))
        c_in = c_out
