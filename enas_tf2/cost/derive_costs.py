"""The cost side of a search's derive step: what ``arch.json`` and its ``derive`` block say
about the cost of the derived architecture and of every architecture scored for it."""

from __future__ import annotations

from typing import List, Optional

from enas_tf2.cost.pareto import pareto_front
from enas_tf2.errors import EnasError


def arch_cost_json(objective, arch) -> Optional[dict]:
    """``{"params", "macs", ..., "latency_ms"}`` of `arch`, or None for a space without
    hardware costs (the RNN space)."""
    try:
        return dict(objective.cost_of(arch))
    except EnasError:
        return None


def derive_cost_block(objective, rows: List[dict], random_rows: List[dict]) -> Optional[dict]:
    """The ``derive`` block's ``cost`` entry: the objective, then accuracy and cost of every
    scored architecture (controller samples and random ones) and their Pareto front (higher
    accuracy, lower cost: the objective's cost, MACs under the accuracy objective). None when
    the space has no costs."""
    kind = objective.config.kind if objective.active else "macs"
    scored = []
    for row in rows + random_rows:
        cost = arch_cost_json(objective, row["arch"])
        if cost is None:
            return None
        value = {"params": cost["params"] / 1e6, "macs": cost["macs"] / 1e6,
                 "latency": cost.get("latency_ms")}[kind]
        scored.append({"tokens": row["tokens"], "kind": row["kind"], "score": row["score"],
                       "reward": row["reward"], "cost": value})
    return {"objective": objective.describe(), "cost_kind": kind,
            "unit": {"params": "M params", "macs": "M MACs", "latency": "ms"}[kind],
            "target": objective.config.target if objective.active else None,
            "scored": scored, "pareto": pareto_front(scored)}
