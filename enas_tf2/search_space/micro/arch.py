"""The typed micro architecture: a normal cell and a reduction cell (docs/enas_reference.md §1.2, §7).

Token format of the original code: for each searched node of a cell, 4 integers
``index_1 op_1 index_2 op_2``; the normal cell's ``4 * num_cells`` tokens come first, then the
reduction cell's. A node's value is ``op_1(node[index_1]) + op_2(node[index_2])``; nodes 0 and 1
are the cell inputs, so the node with id ``n`` (2 .. num_cells + 1) may read nodes ``0 .. n - 1``.

Tensor layout shared with the controller and the weight-shared child: int32 ``[2, num_cells, 4]``,
row 0 the normal cell, row 1 the reduction cell, columns ``index_1, op_1, index_2, op_2``. Its
C-order flattening is exactly the token string.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, ClassVar, Dict, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np

from enas_tf2.errors import EnasError
from enas_tf2.search_space.tokens import raw_tokens
from enas_tf2.search_space.arch_json import checked_arch_json
from enas_tf2.search_space.micro import ops

TOKENS_PER_NODE = 4
NUM_INPUT_NODES = 2          # nodes 0 and 1: the outputs of the two previous cells
CELL_NAMES = ("normal", "reduce")
_CELL_TITLES = {"normal": "normal cell", "reduce": "reduction cell"}
_FIELDS = ("index_1", "op_1", "index_2", "op_2")
_INTEGER = re.compile(r"[+-]?\d+")
_LENGTH_HINT = ("4 per searched node (index_1 op_1 index_2 op_2), the normal cell's then the "
                "reduction cell's")


class MicroNode(NamedTuple):
    """One searched node: ``op_1(node[index_1]) + op_2(node[index_2])`` (token order)."""

    index_1: int
    op_1: int
    index_2: int
    op_2: int


def _token_position(flat_index: int, num_cells: int) -> str:
    """Names a token for error messages: 1-based position, node id, cell and field."""
    per_cell = TOKENS_PER_NODE * num_cells
    cell = CELL_NAMES[flat_index // per_cell]
    node_id = (flat_index % per_cell) // TOKENS_PER_NODE + NUM_INPUT_NODES
    field = _FIELDS[flat_index % TOKENS_PER_NODE]
    return f"token {flat_index + 1} (node {node_id} of the {_CELL_TITLES[cell]}, {field})"


def _upper_bound(flat_index: int, num_cells: int) -> int:
    """Largest valid value of a token: node id - 1 for an index, the last op id for an op."""
    if flat_index % TOKENS_PER_NODE in (0, 2):
        node_id = (flat_index % (TOKENS_PER_NODE * num_cells)) // TOKENS_PER_NODE + NUM_INPUT_NODES
        return node_id - 1
    return ops.NUM_OPS - 1


def _parse_token(raw: Any, flat_index: int, num_cells: int) -> int:
    """One token as a Python int; EnasError naming the position when it is not an integer."""
    # bool is an int subclass in Python; True silently becoming 1 would hide a caller bug.
    if isinstance(raw, (int, np.integer)) and not isinstance(raw, (bool, np.bool_)):
        return int(raw)
    if isinstance(raw, str) and _INTEGER.fullmatch(raw.strip()):
        return int(raw.strip())
    raise EnasError(f"{_token_position(flat_index, num_cells)} is {raw!r} but must be an integer")


@dataclasses.dataclass(frozen=True)
class MicroArch:
    """A validated micro-space architecture (hashable, so it can key caches of built models).

    Build it from the original token string (`from_tokens`), the controller's array
    (`from_array`), an ``arch.json`` dict (`from_json`) or uniformly at random (`random`).
    Construction validates every token and raises `EnasError` naming the first bad one.
    """

    normal: Tuple[MicroNode, ...]
    reduce: Tuple[MicroNode, ...]

    search_space: ClassVar[str] = "micro"

    def __post_init__(self):
        raw_cells = []
        for name in CELL_NAMES:
            try:
                nodes = tuple(tuple(node) for node in getattr(self, name))
            except TypeError:
                nodes = None
            if nodes is None or any(len(node) != TOKENS_PER_NODE for node in nodes):
                raise EnasError(f"every node of the {_CELL_TITLES[name]} must have 4 integers "
                                f"(index_1, op_1, index_2, op_2), got {getattr(self, name)!r}")
            raw_cells.append(nodes)
        if not raw_cells[0] or len(raw_cells[0]) != len(raw_cells[1]):
            raise EnasError(
                f"the normal cell has {len(raw_cells[0])} nodes and the reduction cell "
                f"{len(raw_cells[1])}: both need the same number num_cells >= 1")
        num_cells = len(raw_cells[0])
        flat = [value for nodes in raw_cells for node in nodes for value in node]
        values = [_parse_token(value, i, num_cells) for i, value in enumerate(flat)]
        for flat_index, value in enumerate(values):
            high = _upper_bound(flat_index, num_cells)
            if not 0 <= value <= high:
                raise EnasError(f"{_token_position(flat_index, num_cells)} is {value} "
                                f"but must be in [0, {high}]")
        nodes = [MicroNode(*values[i:i + TOKENS_PER_NODE])
                 for i in range(0, len(values), TOKENS_PER_NODE)]
        # Frozen dataclass: normalising the fields here is the one sanctioned mutation.
        object.__setattr__(self, "normal", tuple(nodes[:num_cells]))
        object.__setattr__(self, "reduce", tuple(nodes[num_cells:]))

    # ---- construction ------------------------------------------------------------------------
    @staticmethod
    def num_tokens_for(num_cells: int) -> int:
        """Length of the token string for `num_cells` searched nodes per cell (8 * num_cells)."""
        return 2 * TOKENS_PER_NODE * num_cells

    @classmethod
    def from_tokens(cls, text_or_sequence: Union[str, Sequence[Any], np.ndarray],
                    num_cells: Optional[int] = None) -> "MicroArch":
        """Parses the original token string (whitespace or comma separated) or a token list.

        `num_cells` (searched nodes per cell) is inferred as ``len(tokens) / 8`` when None.
        """
        raw = raw_tokens(text_or_sequence, "a micro architecture")
        if num_cells is not None and (isinstance(num_cells, bool) or not isinstance(
                num_cells, (int, np.integer)) or num_cells < 1):
            raise EnasError(f"num_cells must be an integer >= 1, got {num_cells!r}")
        if num_cells is None:
            if not raw or len(raw) % (2 * TOKENS_PER_NODE):
                raise EnasError(
                    f"the micro architecture has {len(raw)} tokens but expected 8 * num_cells "
                    f"({_LENGTH_HINT})")
            num_cells = len(raw) // (2 * TOKENS_PER_NODE)
        elif len(raw) != cls.num_tokens_for(num_cells):
            raise EnasError(
                f"the micro architecture has {len(raw)} tokens but expected 8 * num_cells = "
                f"{cls.num_tokens_for(num_cells)} for num_cells={num_cells} "
                f"({_LENGTH_HINT})")
        # Tokens are parsed and range-checked once, in __post_init__, for every constructor.
        nodes = [tuple(raw[i:i + TOKENS_PER_NODE]) for i in range(0, len(raw), TOKENS_PER_NODE)]
        return cls(normal=tuple(nodes[:num_cells]), reduce=tuple(nodes[num_cells:]))

    @classmethod
    def from_array(cls, array) -> "MicroArch":
        """Converts the controller's ``[2, num_cells, 4]`` integer array (or tensor value)."""
        array = np.asarray(array)
        if array.ndim != 3 or array.shape[0] != 2 or array.shape[2] != TOKENS_PER_NODE:
            raise EnasError(f"a micro architecture array must have shape [2, num_cells, 4], "
                            f"got {list(array.shape)}")
        if not np.issubdtype(array.dtype, np.integer):
            raise EnasError(f"a micro architecture array must hold integers, got {array.dtype}")
        return cls.from_tokens(array.reshape(-1).tolist(), num_cells=array.shape[1])

    @classmethod
    def from_json(cls, obj: Dict[str, Any]) -> "MicroArch":
        """Parses the dict written by `to_json`; refuses other search spaces."""
        obj = checked_arch_json(obj, cls.search_space)
        if "normal" in obj or "reduce" in obj:
            cells = []
            for name in CELL_NAMES:
                nodes = obj.get(name)
                if not isinstance(nodes, list) or not all(
                        isinstance(n, list) and len(n) == TOKENS_PER_NODE for n in nodes):
                    raise EnasError(f"the architecture JSON's {name!r} must be a list of "
                                    f"[index_1, op_1, index_2, op_2] lists, got {nodes!r}")
                cells.append(nodes)
            flat = [t for nodes in cells for node in nodes for t in node]
            arch = cls.from_tokens(flat, num_cells=len(cells[0]) or None)
            if "tokens" in obj and cls.from_tokens(obj["tokens"]) != arch:
                raise EnasError(f"the architecture JSON is inconsistent: 'tokens' is "
                                f"{obj['tokens']!r} but 'normal'/'reduce' give {arch.tokens()!r}")
            return arch
        if "tokens" not in obj:
            raise EnasError("the architecture JSON has neither 'tokens' nor 'normal'/'reduce'")
        return cls.from_tokens(obj["tokens"])

    @classmethod
    def random(cls, num_cells: int, seed: Optional[int] = None) -> "MicroArch":
        """A uniformly random architecture: every token independent and uniform in its range.

        The space is a product of per-token ranges, so independent uniform tokens give the
        uniform distribution over architectures (the paper's "random micro cells" baseline).
        """
        if isinstance(num_cells, bool) or not isinstance(num_cells, (int, np.integer)) \
                or num_cells < 1:
            raise EnasError(f"num_cells must be an integer >= 1, got {num_cells!r}")
        rng = np.random.default_rng(seed)
        cells = []
        for _ in CELL_NAMES:
            cells.append(tuple(
                MicroNode(int(rng.integers(node_id)), int(rng.integers(ops.NUM_OPS)),
                          int(rng.integers(node_id)), int(rng.integers(ops.NUM_OPS)))
                for node_id in range(NUM_INPUT_NODES, num_cells + NUM_INPUT_NODES)))
        return cls(normal=cells[0], reduce=cells[1])

    # ---- views -------------------------------------------------------------------------------
    @property
    def num_cells(self) -> int:
        """Searched nodes per cell (the original flag `child_num_cells`; B - 2)."""
        return len(self.normal)

    def cell(self, name: str) -> Tuple[MicroNode, ...]:
        """The nodes of cell ``"normal"`` or ``"reduce"``."""
        if name not in CELL_NAMES:
            raise EnasError(f"unknown cell {name!r}: must be 'normal' or 'reduce'")
        return getattr(self, name)

    def _flat(self):
        return [value for name in CELL_NAMES for node in getattr(self, name) for value in node]

    def tokens(self) -> str:
        """The original space-separated token string (normal cell, then reduction cell)."""
        return " ".join(str(v) for v in self._flat())

    def __str__(self) -> str:
        return self.tokens()

    def to_array(self) -> np.ndarray:
        """int32 ``[2, num_cells, 4]``: the layout the controller emits and the child consumes."""
        return np.array([self.normal, self.reduce], dtype=np.int32)

    def to_json(self) -> Dict[str, Any]:
        """A JSON-ready dict: ``search_space``, ``tokens`` and both cells as node lists."""
        return {"search_space": self.search_space, "tokens": self.tokens(),
                "normal": [list(n) for n in self.normal],
                "reduce": [list(n) for n in self.reduce]}

    def loose_ends(self, cell: str) -> Tuple[int, ...]:
        """Ids of the nodes (inputs 0/1 included) never read by another node: the cell output."""
        used = {i for node in self.cell(cell) for i in (node.index_1, node.index_2)}
        return tuple(n for n in range(self.num_cells + NUM_INPUT_NODES) if n not in used)

    def describe(self) -> str:
        """Human-readable decode, one line per node plus the concatenated output, per cell."""
        lines = []
        for name in CELL_NAMES:
            lines.append(f"{_CELL_TITLES[name]}:")
            for node_id, node in enumerate(self.cell(name), start=NUM_INPUT_NODES):
                lines.append(f"  n{node_id} = {ops.OP_NAMES[node.op_1]}(n{node.index_1}) + "
                             f"{ops.OP_NAMES[node.op_2]}(n{node.index_2})")
            ends = ", ".join(f"n{n}" for n in self.loose_ends(name))
            lines.append(f"  output = concat({ends})")
        return "\n".join(lines)

    def op_counts(self, cell: Optional[str] = None) -> Dict[str, int]:
        """How often each op (by name, zeros included) is used in `cell`, or in both when None."""
        names = CELL_NAMES if cell is None else (cell,)
        counts = {name: 0 for name in ops.OP_NAMES}
        for name in names:
            for node in self.cell(name):
                counts[ops.OP_NAMES[node.op_1]] += 1
                counts[ops.OP_NAMES[node.op_2]] += 1
        return counts

    def histogram(self) -> Dict[str, int]:
        """Op counts over both cells (the `Arch` protocol's histogram)."""
        return self.op_counts()
