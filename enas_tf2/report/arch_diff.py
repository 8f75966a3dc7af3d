"""What differs between two architectures of one space, as text (`enas-arch diff`).

Space-neutral: it compares the token strings, the op histograms and the spaces' own
``describe()`` lines (one line per node or layer), so every space gets a readable diff for free.
"""

from __future__ import annotations

import difflib
from typing import Tuple

from enas_tf2.errors import EnasError


def arch_diff(a, b, name_a: str = "A", name_b: str = "B") -> Tuple[str, bool]:
    """``(text, identical)`` for two `Arch` objects of the same search space."""
    if a.search_space != b.search_space:
        raise EnasError(f"cannot diff a {a.search_space} architecture ({name_a}) with a "
                        f"{b.search_space} one ({name_b})")
    ta, tb = a.tokens().split(), b.tokens().split()
    if ta == tb:
        return f"identical {a.search_space} architectures ({len(ta)} tokens)", True
    lines = [f"--- {name_a}", f"+++ {name_b}"]
    if len(ta) == len(tb):
        changed = [i for i, (x, y) in enumerate(zip(ta, tb)) if x != y]
        lines.append(f"{len(changed)} of {len(ta)} tokens differ (positions "
                     f"{', '.join(str(i + 1) for i in changed)})")
    else:
        lines.append(f"token counts differ: {len(ta)} vs {len(tb)}")
    body = list(difflib.unified_diff(a.describe().splitlines(), b.describe().splitlines(),
                                     lineterm="", n=1))[2:]   # drop difflib's own ---/+++ lines
    lines.extend(body)
    ha, hb = a.histogram(), b.histogram()
    moved = [(k, ha.get(k, 0), hb.get(k, 0)) for k in list(ha) + [k for k in hb if k not in ha]
             if ha.get(k, 0) != hb.get(k, 0)]
    if moved:
        width = max(len(k) for k, _, _ in moved)
        lines.append("op counts (A -> B):")
        lines.extend(f"  {k.ljust(width)}  {x} -> {y} ({y - x:+d})" for k, x, y in moved)
    return "\n".join(lines), False
