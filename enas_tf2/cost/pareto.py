"""The accuracy/cost Pareto front of scored architectures."""

from __future__ import annotations

from typing import List


def pareto_front(rows: List[dict], score: str = "score", cost: str = "cost") -> List[dict]:
    """The rows no other row beats on both counts (higher `score`, lower `cost`), by cost;
    duplicates (same tokens) count once."""
    unique = {}
    for row in rows:
        unique.setdefault(row["tokens"], row)
    front = []
    for row in sorted(unique.values(), key=lambda r: (r[cost], -r[score])):
        if not front or row[score] > front[-1][score]:
            front.append(row)
    return front
