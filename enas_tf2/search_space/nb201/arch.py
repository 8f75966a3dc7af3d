"""The typed NAS-Bench-201 architecture: one op per edge of the 4-node cell.

Token format = the benchmark's own string, node by node, each node's incoming edges as
``op~source``::

    |nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|

i.e. node 1 <- node 0; node 2 <- nodes 0, 1; node 3 <- nodes 0, 1, 2. Node ``j`` is the sum over
``i < j`` of ``op_ij(node i)``; node 3 is the cell's output.

Tensor layout shared with the controller and the weight-shared child: int32 ``[6]``, the op id
(`ops.py`) of each edge in `ops.EDGES` order (the string's order).

The benchmark's architecture INDEX is not a function of the string: it is the row of the
benchmark's own table (`enas_tf2.ranking.nb201_table`), so this class does not compute it.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any, ClassVar, Dict, Iterator, Optional, Tuple

import numpy as np

from enas_tf2.errors import EnasError
from enas_tf2.search_space.arch_json import checked_arch_json
from enas_tf2.search_space.nb201 import ops

_EXAMPLE = ("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|"
            "nor_conv_3x3~1|skip_connect~2|")


def _as_op(value: Any, edge: int) -> int:
    # bool is an int subclass in Python; True silently becoming 1 would hide a caller bug.
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        value = int(value)
        if 0 <= value < ops.NUM_OPS:
            return value
    target, source = ops.EDGES[edge]
    raise EnasError(f"edge {edge} ({source} -> {target}) has op {value!r} but must be an op id "
                    f"in [0, {ops.NUM_OPS - 1}] ({', '.join(ops.OP_NAMES)})")


@dataclasses.dataclass(frozen=True)
class Nb201Arch:
    """A validated NAS-Bench-201 cell (hashable: it keys table look-ups and model caches).

    Build it from the benchmark string (`from_tokens`), the controller's array (`from_array`),
    an ``arch.json`` dict (`from_json`), uniformly at random (`random`), or from six op ids in
    `ops.EDGES` order. `all_archs` enumerates the 15,625 cells.
    """

    ops: Tuple[int, ...]

    search_space: ClassVar[str] = "nb201"

    def __post_init__(self):
        try:
            values = tuple(self.ops)
        except TypeError:
            raise EnasError(f"an nb201 architecture needs {ops.NUM_EDGES} op ids, got "
                            f"{self.ops!r}") from None
        if len(values) != ops.NUM_EDGES:
            raise EnasError(f"an nb201 architecture has {ops.NUM_EDGES} edges, got "
                            f"{len(values)} op ids")
        # Frozen dataclass: normalising the field here is the one sanctioned mutation.
        object.__setattr__(self, "ops", tuple(_as_op(v, e) for e, v in enumerate(values)))

    # ---- construction ------------------------------------------------------------------------
    @classmethod
    def from_tokens(cls, text: str) -> "Nb201Arch":
        """Parses the benchmark string (surrounding whitespace allowed); EnasError naming the
        first problem."""
        if not isinstance(text, str):
            raise EnasError(f"an nb201 architecture string must be a str, got "
                            f"{type(text).__name__}")
        raw = text.strip()
        nodes = raw.split("+")
        if len(nodes) != ops.NUM_NODES - 1:
            raise EnasError(f"an nb201 architecture string has {ops.NUM_NODES - 1} node groups "
                            f"joined by '+', got {len(nodes)} in {raw!r}; e.g. {_EXAMPLE}")
        found = {}
        for j, group in enumerate(nodes, start=1):
            if len(group) < 2 or not (group.startswith("|") and group.endswith("|")):
                raise EnasError(f"node {j} group {group!r} must look like |op~source|...|")
            entries = group[1:-1].split("|")
            if len(entries) != j:
                raise EnasError(f"node {j} must have {j} incoming edges (op~source), got "
                                f"{len(entries)} in {group!r}")
            for entry in entries:
                name, tilde, source = entry.partition("~")
                if not tilde or not source.isdigit():
                    raise EnasError(f"edge {entry!r} of node {j} must be op~source, e.g. "
                                    f"nor_conv_3x3~0")
                source = int(source)
                if source >= j:
                    raise EnasError(f"edge {entry!r}: node {j} can only read nodes 0..{j - 1}")
                if (j, source) in found:
                    raise EnasError(f"node {j} reads node {source} twice in {group!r}")
                found[(j, source)] = ops.op_id(name)
        return cls(tuple(found[edge] for edge in ops.EDGES))

    @classmethod
    def from_array(cls, array: np.ndarray) -> "Nb201Arch":
        """Converts the controller's int32 ``[6]`` array."""
        array = np.asarray(array)
        if array.shape != (ops.NUM_EDGES,):
            raise EnasError(f"an nb201 architecture array must have shape [{ops.NUM_EDGES}], "
                            f"got {list(array.shape)}")
        if not np.issubdtype(array.dtype, np.integer):
            raise EnasError(f"an nb201 architecture array must hold integers, got {array.dtype}")
        return cls(tuple(int(v) for v in array))

    @classmethod
    def from_json(cls, obj: Dict[str, Any]) -> "Nb201Arch":
        """Parses the dict written by `to_json` (its ``tokens``); refuses other spaces."""
        obj = checked_arch_json(obj, cls.search_space)
        if not isinstance(obj.get("tokens"), str):
            raise EnasError("the nb201 architecture JSON needs a 'tokens' string (the "
                            "benchmark's architecture string)")
        return cls.from_tokens(obj["tokens"])

    @classmethod
    def random(cls, seed: Optional[int] = None) -> "Nb201Arch":
        """Each edge's op uniform over the five: every one of the 15,625 cells equally likely."""
        rng = np.random.default_rng(seed)
        return cls(tuple(int(v) for v in rng.integers(ops.NUM_OPS, size=ops.NUM_EDGES)))

    @classmethod
    def all_archs(cls) -> Iterator["Nb201Arch"]:
        """All 15,625 cells (edge 0's op varying slowest)."""
        for values in itertools.product(range(ops.NUM_OPS), repeat=ops.NUM_EDGES):
            yield cls(values)

    # ---- views -------------------------------------------------------------------------------
    def op_of(self, target: int, source: int) -> int:
        """The op id on edge ``source -> target``."""
        return self.ops[ops.edge_index(target, source)]

    def tokens(self) -> str:
        """The benchmark's string form."""
        groups = ["|" + "|".join(f"{ops.OP_NAMES[self.op_of(j, i)]}~{i}" for i in range(j)) + "|"
                  for j in range(1, ops.NUM_NODES)]
        return "+".join(groups)

    def __str__(self) -> str:
        return self.tokens()

    def to_array(self) -> np.ndarray:
        """int32 ``[6]``: the op id of each edge in `ops.EDGES` order."""
        return np.asarray(self.ops, dtype=np.int32)

    def to_json(self) -> Dict[str, Any]:
        """A JSON-ready dict: ``search_space``, ``tokens`` (the benchmark string, what
        `from_json` reads) and, for people, ``edges``: ``"source->target": op name``."""
        return {"search_space": self.search_space, "tokens": self.tokens(),
                "edges": {f"{s}->{t}": ops.OP_NAMES[o] for (t, s), o in zip(ops.EDGES, self.ops)}}

    def histogram(self) -> Dict[str, int]:
        """How often each op is used (by name, zeros included)."""
        counts = {name: 0 for name in ops.OP_NAMES}
        for op in self.ops:
            counts[ops.OP_NAMES[op]] += 1
        return counts

    def describe(self) -> str:
        """One line per node: the sum of its incoming edges."""
        lines = ["node 0: cell input"]
        for j in range(1, ops.NUM_NODES):
            terms = " + ".join(f"{ops.OP_NAMES[self.op_of(j, i)]}(node {i})" for i in range(j))
            lines.append(f"node {j}: {terms}" + ("   <- cell output" if j == 3 else ""))
        return "\n".join(lines)
