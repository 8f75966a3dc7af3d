"""`Nb201Config`: the shape of the NAS-Bench-201 network."""

from __future__ import annotations

import dataclasses

from enas_tf2.errors import EnasError


@dataclasses.dataclass(frozen=True)
class Nb201Config:
    """NAS-Bench-201 network settings (the benchmark's: C=16, N=5), for the weight-shared child
    and the fixed net alike.

    Attributes:
      num_layers: N, cells per stage (three stages, 3N cells; ``--child_num_layers``).
      out_filters: C, channels of the first stage; 2C and 4C after the two residual reduction
        blocks (``--child_out_filters``).
    """
    num_layers: int = 5
    out_filters: int = 16

    def __post_init__(self):
        for name in ("num_layers", "out_filters"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise EnasError(f"nb201 {name} must be an integer >= 1, got {value!r}")
