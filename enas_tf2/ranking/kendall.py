"""Kendall's rank correlation (tau-b, with ties) and its normal-approximation p-value."""

from __future__ import annotations

import math
from typing import Dict, Sequence

from enas_tf2.errors import EnasError


def kendall_tau(x: Sequence[float], y: Sequence[float]) -> Dict[str, float]:
    """``{"tau", "p_value", "n"}``: Kendall's tau-b of two equally long sequences.

    tau-b = (concordant - discordant) / sqrt((n0 - ties_x)(n0 - ties_y)) over the n0 = n(n-1)/2
    pairs; pairs tied in x (or y) count in ties_x (ties_y). The two-sided p-value uses the normal
    approximation of tau without ties, z = 3 tau sqrt(n(n-1)) / sqrt(2(2n+5)): rough for the
    handful of architectures `enas-arch rank` trains, but it says how little such a tau means.
    tau is NaN when either sequence is constant (no order to compare).
    """
    if len(x) != len(y):
        raise EnasError(f"kendall_tau needs sequences of equal length, got {len(x)} and {len(y)}")
    n = len(x)
    if n < 2:
        raise EnasError(f"kendall_tau needs at least 2 pairs, got {n}")
    concordant = discordant = ties_x = ties_y = 0
    for i in range(n):
        for j in range(i + 1, n):
            dx, dy = x[i] - x[j], y[i] - y[j]
            if dx == 0:
                ties_x += 1
            if dy == 0:
                ties_y += 1
            if dx * dy > 0:
                concordant += 1
            elif dx * dy < 0:
                discordant += 1
    pairs = n * (n - 1) // 2
    denominator = math.sqrt((pairs - ties_x) * (pairs - ties_y))
    if denominator == 0:
        return {"tau": float("nan"), "p_value": float("nan"), "n": n}
    tau = (concordant - discordant) / denominator
    z = 3 * tau * math.sqrt(n * (n - 1)) / math.sqrt(2 * (2 * n + 5))
    return {"tau": tau, "p_value": math.erfc(abs(z) / math.sqrt(2)), "n": n}
