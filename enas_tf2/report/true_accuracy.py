"""The true-accuracy section of a search report, when a benchmark table is given.

`truth` is a callable from an architecture to its truth block (``cifar10_test_acc``,
``percentile``, ...; `Nb201Table.truth`); the report itself knows no table. The section holds the
derived cell's block and, per epoch, the true accuracy of every cell the search sampled that
epoch (the ``archs.jsonl`` rows other than the final derive step's), so a search can be judged by
what it found rather than by its shared-weight rewards.
"""

from __future__ import annotations

import html
from typing import Any, Callable, Dict, List, Optional, Tuple

from enas_tf2.errors import EnasError
from enas_tf2.report.svg_chart import line_chart

Truth = Callable[[Any], Dict[str, Any]]


def true_accuracy_section(folder, arch, truth: Truth) -> Dict[str, Any]:
    """``{"best": truth(arch) or None, "epochs": [{"epoch", "num", "mean", "max", "accs"}]}``."""
    by_epoch: Dict[int, List[float]] = {}
    for row in folder.archs:
        if str(row.get("kind", "")).startswith("derive") or not row.get("tokens"):
            continue
        try:
            cell = folder.parse_tokens(row["tokens"])
            acc = truth(cell)["cifar10_test_acc"]
        except EnasError:
            continue
        by_epoch.setdefault(int(row.get("epoch", 0)), []).append(acc)
    epochs = [{"epoch": e, "num": len(v), "mean": sum(v) / len(v), "max": max(v), "accs": v}
              for e, v in sorted(by_epoch.items())]
    return {"best": None if arch is None else truth(arch), "epochs": epochs}


def result_rows(section: Dict[str, Any]) -> List[Tuple[str, str]]:
    """Rows for the report's result table."""
    best = section.get("best")
    if not best:
        return []
    return [("true accuracy (benchmark table)", f"{best['cifar10_test_acc']:.2f}%"),
            ("its percentile among all cells", f"{best['percentile']:.1f}"),
            ("benchmark index", html.escape(str(best.get("index"))))]


def truth_plot(section: Dict[str, Any]) -> Optional[Tuple[str, str, str]]:
    """``(id, caption, svg)``: true accuracy of each epoch's sampled cells and their mean."""
    epochs = section.get("epochs") or []
    if not epochs:
        return None
    xs = [e["epoch"] for e in epochs for _ in e["accs"]]
    ys = [a for e in epochs for a in e["accs"]]
    points = line_chart("chart-true-acc", "true accuracy of sampled cells",
                        [("sampled cell", xs, ys)], y_label="test acc %", lines=False)
    mean = line_chart("chart-true-acc-mean", "mean true accuracy per epoch",
                      [("mean", [e["epoch"] for e in epochs], [e["mean"] for e in epochs]),
                       ("best", [e["epoch"] for e in epochs], [e["max"] for e in epochs])],
                      y_label="test acc %")
    return ("plot-true-acc", "True (benchmark) accuracy of the cells the search sampled each "
            "epoch: each dot is one cell; the second chart shows their mean and best.",
            points + mean)
