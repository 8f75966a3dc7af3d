"""`ArchCost`: what an architecture's fixed network costs, as the spaces compute it."""

from __future__ import annotations

import dataclasses
from typing import Any, Dict


@dataclasses.dataclass(frozen=True)
class ArchCost:
    """What a fixed network of an architecture costs, from its shape alone (no training, no
    model built): the hardware-aware objectives (`enas_tf2.cost`) and ``arch.json`` read it.

    Attributes:
      params: every weight of the inference network as `enas-export` builds it (no auxiliary
        head), BN moving statistics included: ``model.count_params()`` of that network.
      macs: multiply-adds of its convolutions and dense layers for one image
        (`enas_tf2.cost.tally` states the conventions).
    """
    params: int
    macs: int

    def to_json(self) -> Dict[str, Any]:
        """``{"params", "macs"}`` plus the same in millions, for people reading ``arch.json``."""
        return {"params": self.params, "macs": self.macs,
                "params_m": round(self.params / 1e6, 4), "macs_m": round(self.macs / 1e6, 3)}
