"""`Nb201Table`: the NAS-Bench-201 truth table, an EVALUATOR of derived cells.

The table is a CSV with the header ``index,arch,cifar10_test_acc`` and one row per cell of the
space (15,625): the benchmark's own architecture index, its string and the mean CIFAR-10 test
accuracy (percent) of that cell's network trained with the benchmark's recipe. It is never
bundled: the user passes its path (``--nb201_table``).

Searches never read it (the search must behave identically with or without it); only the
reports (`enas-arch show/report`, the ``true_accuracy`` block of ``arch.json``), the oracle
strategy (`enas_tf2.ranking.oracle`) and the benchmarks use it. The index is the table's own
column, not a formula of the string.
"""

from __future__ import annotations

import bisect
import csv
import math
import os
from typing import Dict, List, Optional

from enas_tf2.errors import EnasError
from enas_tf2.search_space.nb201 import ops
from enas_tf2.search_space.nb201.arch import Nb201Arch

HEADER = ["index", "arch", "cifar10_test_acc"]


class Nb201Table:
    """The truth table read from `path`; EnasError (one line, naming the file and the row) when
    it is missing or malformed.

    Attributes:
      path: the file read.
      num_archs: rows (15,625).
    """

    def __init__(self, path: str):
        self.path = str(path)
        if not os.path.isfile(self.path):
            raise EnasError(f"--nb201_table {self.path} does not exist; pass the NAS-Bench-201 "
                            f"CSV (columns index,arch,cifar10_test_acc; see docs/nb201.md)")
        self._acc: Dict[Nb201Arch, float] = {}
        self._index: Dict[Nb201Arch, int] = {}
        self._by_index: Dict[int, Nb201Arch] = {}
        try:
            with open(self.path, newline="", encoding="utf-8") as f:
                self._read(csv.reader(f))
        except (OSError, UnicodeDecodeError, csv.Error) as err:
            raise EnasError(f"cannot read --nb201_table {self.path}: {err}") from None
        self.num_archs = len(self._acc)
        if self.num_archs != ops.NUM_ARCHS:
            raise EnasError(f"--nb201_table {self.path} has {self.num_archs} cells but the "
                            f"NAS-Bench-201 space has {ops.NUM_ARCHS}; is the file complete?")
        self._sorted: List[float] = sorted(self._acc.values())

    def _bad(self, line: int, what: str) -> EnasError:
        return EnasError(f"--nb201_table {self.path} line {line}: {what}")

    def _read(self, rows) -> None:
        header = next(rows, None)
        if header is None or [h.strip() for h in header] != HEADER:
            raise EnasError(f"--nb201_table {self.path} must start with the header "
                            f"{','.join(HEADER)}, got {','.join(header or []) or 'an empty file'}")
        for line, row in enumerate(rows, start=2):
            if not row:
                continue
            if len(row) != 3:
                raise self._bad(line, f"expected 3 columns, got {len(row)}")
            try:
                index = int(row[0])
                acc = float(row[2])
            except ValueError:
                raise self._bad(line, f"index {row[0]!r} must be an integer and accuracy "
                                      f"{row[2]!r} a number") from None
            if not (math.isfinite(acc) and 0.0 <= acc <= 100.0):
                raise self._bad(line, f"accuracy {acc} must be a percentage in [0, 100]")
            try:
                arch = Nb201Arch.from_tokens(row[1])
            except EnasError as err:
                raise self._bad(line, f"bad architecture string: {err}") from None
            if arch in self._acc:
                raise self._bad(line, f"architecture {row[1]} appears twice")
            if index in self._by_index:
                raise self._bad(line, f"index {index} appears twice")
            self._acc[arch], self._index[arch], self._by_index[index] = acc, index, arch

    # ---- look-ups ----------------------------------------------------------------------------
    def _checked(self, arch) -> Nb201Arch:
        space = getattr(arch, "search_space", None)
        if space != Nb201Arch.search_space:
            raise EnasError(f"the NAS-Bench-201 table holds nb201 cells only; this architecture "
                            f"is of the {space!r} search space")
        return arch

    def accuracy(self, arch) -> float:
        """The cell's true CIFAR-10 test accuracy, percent."""
        return self._acc[self._checked(arch)]

    def index(self, arch) -> int:
        """The benchmark's index of the cell (the table's own column)."""
        return self._index[self._checked(arch)]

    def arch_at(self, index: int) -> Nb201Arch:
        """The cell of benchmark index `index`; EnasError when the table has no such index."""
        try:
            return self._by_index[int(index)]
        except (KeyError, ValueError, TypeError):
            raise EnasError(f"the NAS-Bench-201 table has no index {index!r} (it has "
                            f"{min(self._by_index)}..{max(self._by_index)})") from None

    def percentile(self, accuracy: float) -> float:
        """Share of all cells (percent) whose true accuracy is at most `accuracy`."""
        return 100.0 * bisect.bisect_right(self._sorted, float(accuracy)) / self.num_archs

    @property
    def best(self) -> float:
        """The best true accuracy in the space."""
        return self._sorted[-1]

    def truth(self, arch) -> Dict[str, float]:
        """The ``true_accuracy`` block of ``arch.json``/reports: accuracy, percentile, index,
        the space's best and the table's path."""
        acc = self.accuracy(arch)
        return {"cifar10_test_acc": acc, "percentile": round(self.percentile(acc), 3),
                "index": self.index(arch), "best_in_space": self.best,
                "rank": self.num_archs - bisect.bisect_right(self._sorted, acc) + 1,
                "table": os.path.abspath(self.path)}


_CACHE: Dict[str, Nb201Table] = {}


def load_table(path: Optional[str]) -> Optional[Nb201Table]:
    """The table at `path` (read once per process), or None when `path` is empty."""
    if not path:
        return None
    key = os.path.abspath(str(path))
    if key not in _CACHE:
        _CACHE[key] = Nb201Table(key)
    return _CACHE[key]
