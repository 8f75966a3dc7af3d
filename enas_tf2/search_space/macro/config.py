"""`MacroConfig`: the shape of a macro-space network and the macro-only controller knobs."""

from __future__ import annotations

import dataclasses

from enas_tf2.errors import EnasError

FIXED_OPS_MODES = ("as_named", "original")


@dataclasses.dataclass(frozen=True)
class MacroConfig:
    """Macro (whole network) space settings; defaults from `cifar10_macro_search.sh` (§4.5 of
    docs/enas_reference.md).

    Attributes:
      num_layers: L searched layers (search script 12, final script 24).
      out_filters: F, the channels of every searched layer (search 36, final 96); the fixed
        network doubles it at each of the two pool layers.
      keep_prob: dropout keep probability before the classifier (search 0.9, final 0.5).
      whole_channels: the original's ``controller_search_whole_channels``: one op token per
        layer. Every script sets it; the per-channel-block encoding is not implemented.
      skip_target: rho, the skip probability the controller's skip penalty pulls towards.
      skip_weight: weight of the skip penalty in the controller loss (0 disables it).
      fixed_ops: how the FIXED network builds ops 1, 3 (separable) and 4, 5 (pools):
        ``"as_named"`` builds real separable convolutions and both pools; ``"original"``
        reproduces the original's final networks: separable ops are regular convolutions
        (ISSUE #56) and pool ops are refused, as the original cannot build them
        (docs/enas_reference.md §1.1).
        The weight-shared search child always builds every op as named.
      stem: ``cifar`` (3x3 conv at full resolution, the original), ``imagenet`` (stride-2
        convolutions down to 1/8 of the side before the first layer, as NASNet/DARTS on
        ImageNet) or ``auto`` (cifar up to 64 px, imagenet above); see `stem.py`.
    """
    num_layers: int = 12
    out_filters: int = 36
    keep_prob: float = 0.9
    whole_channels: bool = True
    skip_target: float = 0.4
    skip_weight: float = 0.8
    fixed_ops: str = "as_named"
    stem: str = "auto"    # cifar up to 64 px (the original), the downsampling stem above

    def __post_init__(self):
        if isinstance(self.num_layers, bool) or not isinstance(self.num_layers, int) \
                or self.num_layers < 1:
            raise EnasError(f"macro num_layers must be an integer >= 1, got {self.num_layers!r}")
        if isinstance(self.out_filters, bool) or not isinstance(self.out_filters, int) \
                or self.out_filters < 2 or self.out_filters % 2:
            raise EnasError(f"macro out_filters must be an even integer >= 2 (factorized "
                            f"reductions split it in halves), got {self.out_filters!r}")
        if not 0.0 < self.keep_prob <= 1.0:
            raise EnasError(f"macro keep_prob must be in (0, 1], got {self.keep_prob}")
        if not self.whole_channels:
            raise EnasError("macro whole_channels=False (the per-channel-block encoding) is not "
                            "implemented; every original script uses whole channels")
        if not 0.0 < self.skip_target < 1.0:
            raise EnasError(f"macro skip_target must be in (0, 1), got {self.skip_target}")
        if self.skip_weight < 0.0:
            raise EnasError(f"macro skip_weight must be >= 0, got {self.skip_weight}")
        if self.fixed_ops not in FIXED_OPS_MODES:
            raise EnasError(f"macro fixed_ops must be one of {', '.join(FIXED_OPS_MODES)}, got "
                            f"{self.fixed_ops!r}")

