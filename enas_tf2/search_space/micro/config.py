"""`MicroConfig`: the shape of a micro-space network and the micro-only controller knob."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class MicroConfig:
    """Micro (cell) space settings, for the weight-shared child and the fixed final net alike.

    Attributes:
      num_layers: N; the network has N + 2 cells, two of them reduction cells.
      num_cells: searched nodes per cell (B - 2).
      out_filters: F of the first stage; doubles at each reduction cell.
      keep_prob: dropout keep probability before the classifier.
      drop_path_keep_prob: fixed net only: keep probability reached at the last cell and step
        (docs/enas_reference.md §4.4); 1.0 switches drop path off.
      use_aux_heads: auxiliary head on the cell after the second reduction (its loss weight is
        `OptimizerConfig.aux_weight`).
      op_tanh_reduce: the controller's op logits use ``tanh_constant / op_tanh_reduce``
        (micro only, docs/enas_reference.md §2.3).
      stem: ``cifar`` (3x3 conv at full resolution, the original), ``imagenet`` (stride-2
        convolutions down to about 1/8 of the input before the first cell, as NASNet/DARTS on
        ImageNet) or ``auto`` (cifar up to 64 px, imagenet above).
    """
    num_layers: int = 6
    num_cells: int = 5
    out_filters: int = 20
    keep_prob: float = 0.9
    drop_path_keep_prob: float = 1.0
    use_aux_heads: bool = False
    op_tanh_reduce: float = 1.0
    stem: str = "auto"    # cifar up to 64 px (the original), the downsampling stem above
