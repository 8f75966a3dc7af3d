"""The typed RNN-cell architecture, in both token encodings (docs/enas_reference.md §1.3, §7).

A cell has node 0 (reads x_t and the previous state s_{t-1}) and K searched nodes 1..K; node k
reads one earlier node ``prev in [0, k-1]`` through a highway step with activation ``func``.

* ``enas_lm`` (corrected, the default): node 0 is always tanh; tokens ``p_1 f_1 ... p_K f_K``
  (2K); function ids 0 tanh, 1 ReLU, 2 sigmoid, 3 identity; output = mean of nodes 1..K.
  Published: ``0 2 1 0 2 1 2 2 4 0 5 0 3 2 6 2``.
* ``original`` (melodyguan/enas): node 0's activation is searched; tokens
  ``f_0 p_1 f_1 ... p_K f_K`` (2K + 1, the "2D - 1" string with depth D = K + 1); function ids
  0 tanh, 1 ReLU, 2 identity, 3 sigmoid; output = mean of the loose ends (nodes, node 0
  included, that no node reads). Published: ``0 0 0 1 1 2 1 2 0 2 0 5 1 1 0 6 1 8 1 8 1 8 1``.

The token count's parity tells the encodings apart (even: enas_lm, odd: original). The array the
controller emits and the weight-shared child consumes is the int32 vector of the tokens.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, ClassVar, Dict, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np

from enas_tf2.errors import EnasError
from enas_tf2.search_space.tokens import raw_tokens
from enas_tf2.search_space.arch_json import checked_arch_json
from enas_tf2.search_space.rnn import functions

_INTEGER = re.compile(r"[+-]?\d+")


class RnnNode(NamedTuple):
    """One searched node: ``highway(func, node[prev])`` (token values of the arch's variant)."""

    prev: int
    func: int


def _position(index: int, variant: str) -> str:
    """Names token `index` (0-based) for error messages: 1-based position, node and field."""
    offset = 1 if variant == functions.ORIGINAL else 0
    if index < offset:
        return "token 1 (node 0, func)"
    node, field = divmod(index - offset, 2)
    return f"token {index + 1} (node {node + 1}, {('prev', 'func')[field]})"


def _parse_token(raw: Any, index: int, variant: str) -> int:
    """One token as a Python int; EnasError naming its position when it is not an integer."""
    # bool is an int subclass; True silently becoming 1 would hide a caller bug.
    if isinstance(raw, (int, np.integer)) and not isinstance(raw, (bool, np.bool_)):
        return int(raw)
    if isinstance(raw, str) and _INTEGER.fullmatch(raw.strip()):
        return int(raw.strip())
    raise EnasError(f"RNN architecture {_position(index, variant)} is {raw!r} but must be an "
                    "integer")


def _check_variant(variant: Any) -> str:
    if variant not in functions.VARIANTS:
        raise EnasError(f"unknown RNN cell variant {variant!r}; choose one of "
                        f"{', '.join(functions.VARIANTS)}")
    return variant


@dataclasses.dataclass(frozen=True)
class RnnArch:
    """A validated RNN cell (hashable, immutable).

    Build it from a token string (`from_tokens`, the encoding inferred from the token count),
    the controller's array (`from_array`), an ``arch.json`` dict (`from_json`) or at random
    (`random`). Construction validates every token and raises `EnasError` naming the node and
    token position of the first bad one.

    Attributes:
      nodes: the K searched nodes 1..K as ``(prev, func)`` in the variant's token ids.
      cell_variant: ``"enas_lm"`` or ``"original"``.
      node0_func: node 0's activation in the variant's ids; always 0 (tanh) for enas_lm.
    """

    nodes: Tuple[RnnNode, ...]
    cell_variant: str = functions.ENAS_LM
    node0_func: int = 0

    search_space: ClassVar[str] = "rnn"

    def __post_init__(self):
        variant = _check_variant(self.cell_variant)
        try:
            pairs = [tuple(node) for node in self.nodes]
        except TypeError:
            pairs = None
        if not pairs or any(len(pair) != 2 for pair in pairs):
            raise EnasError(f"an RNN cell needs at least one (prev, func) node, got "
                            f"{self.nodes!r}")
        offset = 1 if variant == functions.ORIGINAL else 0
        node0 = _parse_token(self.node0_func, 0, variant)
        if variant == functions.ENAS_LM and node0 != functions.TANH:
            raise EnasError(f"node 0 of an enas_lm cell is always tanh (0), got {node0}")
        if not 0 <= node0 < functions.NUM_FUNCS:
            raise EnasError(f"RNN architecture {_position(0, variant)} is {node0} but must be "
                            f"in [0, {functions.NUM_FUNCS - 1}]")
        nodes = []
        for k, (raw_prev, raw_func) in enumerate(pairs, start=1):
            at = offset + 2 * (k - 1)
            prev = _parse_token(raw_prev, at, variant)
            func = _parse_token(raw_func, at + 1, variant)
            if not 0 <= prev <= k - 1:
                raise EnasError(f"RNN architecture {_position(at, variant)} is {prev} but must "
                                f"be in [0, {k - 1}]")
            if not 0 <= func < functions.NUM_FUNCS:
                raise EnasError(f"RNN architecture {_position(at + 1, variant)} is {func} but "
                                f"must be in [0, {functions.NUM_FUNCS - 1}]")
            nodes.append(RnnNode(prev, func))
        # Frozen dataclass: normalising the fields here is the one sanctioned mutation.
        object.__setattr__(self, "nodes", tuple(nodes))
        object.__setattr__(self, "node0_func", node0)

    # ---- construction ------------------------------------------------------------------------
    @staticmethod
    def num_tokens_for(num_nodes: int, cell_variant: str = functions.ENAS_LM) -> int:
        """Token count of a cell with `num_nodes` searched nodes: 2K, or 2K + 1 (original)."""
        return 2 * num_nodes + (1 if _check_variant(cell_variant) == functions.ORIGINAL else 0)

    @classmethod
    def from_tokens(cls, text_or_sequence: Union[str, Sequence[Any], np.ndarray],
                    cell_variant: Optional[str] = None) -> "RnnArch":
        """Parses a token string (whitespace or comma separated) or a token list.

        `cell_variant` None infers the encoding from the count: even = enas_lm, odd = original.
        """
        raw = raw_tokens(text_or_sequence, "an RNN architecture")
        if cell_variant is None:
            cell_variant = functions.ORIGINAL if len(raw) % 2 else functions.ENAS_LM
        variant = _check_variant(cell_variant)
        offset = 1 if variant == functions.ORIGINAL else 0
        if len(raw) - offset < 2 or (len(raw) - offset) % 2:
            layout = ("f_0 then (prev, func) per node: 2K + 1" if offset
                      else "(prev, func) per node: 2K")
            raise EnasError(f"the {variant} RNN architecture has {len(raw)} tokens but expected "
                            f"{layout} tokens with K >= 1")
        pairs = [tuple(raw[i:i + 2]) for i in range(offset, len(raw), 2)]
        return cls(nodes=tuple(pairs), cell_variant=variant,
                   node0_func=raw[0] if offset else functions.TANH)

    @classmethod
    def from_array(cls, array, cell_variant: str = functions.ENAS_LM) -> "RnnArch":
        """Converts the controller's 1-D integer token vector (2K or 2K + 1 long)."""
        array = np.asarray(array)
        if array.ndim != 1:
            raise EnasError(f"an RNN architecture array must be 1-D, got shape {list(array.shape)}")
        if not np.issubdtype(array.dtype, np.integer):
            raise EnasError(f"an RNN architecture array must hold integers, got {array.dtype}")
        return cls.from_tokens(array.tolist(), cell_variant=cell_variant)

    @classmethod
    def from_json(cls, obj: Dict[str, Any]) -> "RnnArch":
        """Parses the dict written by `to_json`; refuses other search spaces."""
        obj = checked_arch_json(obj, cls.search_space)
        if "tokens" not in obj:
            raise EnasError("the RNN architecture JSON has no 'tokens'")
        arch = cls.from_tokens(obj["tokens"], cell_variant=obj.get("cell_variant"))
        if "nodes" in obj and [list(n) for n in arch.nodes] != obj["nodes"]:
            raise EnasError(f"the architecture JSON is inconsistent: 'tokens' is "
                            f"{obj['tokens']!r} but 'nodes' is {obj['nodes']!r}")
        return arch

    @classmethod
    def random(cls, num_nodes: int, seed: Optional[int] = None,
               cell_variant: str = functions.ENAS_LM) -> "RnnArch":
        """A uniformly random cell: every token independent and uniform in its range (the space
        is a product of per-token ranges, so this is uniform over cells)."""
        if isinstance(num_nodes, bool) or not isinstance(num_nodes, (int, np.integer)) \
                or num_nodes < 1:
            raise EnasError(f"num_nodes must be an integer >= 1, got {num_nodes!r}")
        variant = _check_variant(cell_variant)
        rng = np.random.default_rng(seed)
        node0 = int(rng.integers(functions.NUM_FUNCS)) if variant == functions.ORIGINAL \
            else functions.TANH
        nodes = tuple(RnnNode(int(rng.integers(k)), int(rng.integers(functions.NUM_FUNCS)))
                      for k in range(1, num_nodes + 1))
        return cls(nodes=nodes, cell_variant=variant, node0_func=node0)

    # ---- views -------------------------------------------------------------------------------
    @property
    def num_nodes(self) -> int:
        """K, the searched nodes after node 0."""
        return len(self.nodes)

    def _flat(self):
        head = [self.node0_func] if self.cell_variant == functions.ORIGINAL else []
        return head + [value for node in self.nodes for value in node]

    def tokens(self) -> str:
        """The token string of the arch's own encoding (one line)."""
        return " ".join(str(v) for v in self._flat())

    def __str__(self) -> str:
        return self.tokens()

    def to_array(self) -> np.ndarray:
        """int32 token vector (2K or 2K + 1): what the controller emits and the child consumes."""
        return np.array(self._flat(), dtype=np.int32)

    def to_json(self) -> Dict[str, Any]:
        """A JSON-ready dict: ``search_space``, ``cell_variant``, ``tokens`` and the node pairs."""
        return {"search_space": self.search_space, "cell_variant": self.cell_variant,
                "tokens": self.tokens(), "nodes": [list(n) for n in self.nodes]}

    def node0_activation(self) -> int:
        """Node 0's canonical activation id (`functions.TANH` ... `functions.IDENTITY`)."""
        return functions.CANONICAL_FROM[self.cell_variant][self.node0_func]

    def activations(self) -> Tuple[int, ...]:
        """Canonical activation ids of nodes 1..K."""
        table = functions.CANONICAL_FROM[self.cell_variant]
        return tuple(table[node.func] for node in self.nodes)

    def output_nodes(self) -> Tuple[int, ...]:
        """Ids of the nodes averaged into the cell output: 1..K (enas_lm) or the loose ends."""
        if self.cell_variant == functions.ENAS_LM:
            return tuple(range(1, self.num_nodes + 1))
        used = {node.prev for node in self.nodes}
        return tuple(n for n in range(self.num_nodes + 1) if n not in used)

    def histogram(self) -> Dict[str, int]:
        """How often each activation is chosen (node 0 counted only where it is searched)."""
        counts = {name: 0 for name in functions.NAMES}
        chosen = list(self.activations())
        if self.cell_variant == functions.ORIGINAL:
            chosen.append(self.node0_activation())
        for canonical in chosen:
            counts[functions.NAMES[canonical]] += 1
        return counts

    def describe(self) -> str:
        """Human-readable decode: one line per node plus the averaged output."""
        names = functions.NAMES
        lines = [f"{self.cell_variant} cell:",
                 f"  n0 = {names[self.node0_activation()]} highway(x_t, s_t-1)"]
        for k, (node, act) in enumerate(zip(self.nodes, self.activations()), start=1):
            lines.append(f"  n{k} = {names[act]} highway(n{node.prev})")
        lines.append("  output = mean(" + ", ".join(f"n{n}" for n in self.output_nodes()) + ")")
        return "\n".join(lines)
