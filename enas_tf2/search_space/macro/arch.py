"""The typed macro architecture: an op and skip bits per layer (docs/enas_reference.md §1.1, §7).

Token format of the original code (``controller_search_whole_channels``): for each layer
``i = 0 .. L-1`` one op token (`ops.py`) followed by ``i`` skip bits, ``L + L(L-1)/2`` tokens in
all (12 layers: 78, 24 layers: 300). Layer ``i`` reads ``prev[-1]`` (the stem for layer 0, else
the output of layer ``i-1``); skip bit ``j`` adds ``prev[j]`` where ``prev = [stem, out_0, ...,
out_{i-1}]``, i.e. bit 0 is the stem and bit ``j`` the output of layer ``j-1``. The text may be one
line or one row per layer (the layout of `cifar10_macro_final.sh` and docs/enas_reference.md §7).

Tensor layout shared with the controller and the weight-shared child: int32 ``[L, L]``, row ``i``
= ``[op_i, bit_0 .. bit_{i-1}, 0 ...]`` (the op, the layer's skip bits, zero padding). Row ``i``
holds ``i + 1`` meaningful entries, so the last row is full.
"""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Any, ClassVar, Dict, NamedTuple, Optional, Tuple

import numpy as np

from enas_tf2.errors import EnasError
from enas_tf2.search_space.arch_json import checked_arch_json
from enas_tf2.search_space.macro import ops

_INTEGER = re.compile(r"[+-]?\d+")


def num_tokens_for(num_layers: int) -> int:
    """Length of the token string of `num_layers` layers: ``L + L(L-1)/2``."""
    return num_layers + num_layers * (num_layers - 1) // 2


def pool_layers(num_layers: int) -> Tuple[int, ...]:
    """Indices of the two pool layers, ``L//3 - 1`` and ``2*(L//3) - 1`` (§1.1 of
    docs/enas_reference.md); none when L < 3. After a pool layer every earlier output is
    factorized-reduced (stride 2)."""
    third = num_layers // 3
    return () if third == 0 else (third - 1, 2 * third - 1)


def _position(flat_index: int) -> str:
    """Names a token for error messages: 1-based position, layer and field."""
    layer = int((math.isqrt(8 * flat_index + 1) - 1) // 2)
    offset = flat_index - num_tokens_for(layer)
    field = "op" if offset == 0 else f"skip bit {offset - 1}"
    return f"token {flat_index + 1} (layer {layer}, {field})"


def _parse_token(raw: str, flat_index: int) -> int:
    if not _INTEGER.fullmatch(raw):
        raise EnasError(f"{_position(flat_index)} is {raw!r} but must be an integer")
    return int(raw)


def _as_int(value: Any, flat_index: int) -> int:
    # bool is an int subclass in Python; True silently becoming 1 would hide a caller bug.
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        return int(value)
    raise EnasError(f"{_position(flat_index)} is {value!r} but must be an integer")


class MacroLayer(NamedTuple):
    """One layer: its op id and its skip bits (bit ``j`` adds ``prev[j]``; bit 0 is the stem)."""

    op: int
    skips: Tuple[int, ...]


@dataclasses.dataclass(frozen=True)
class MacroArch:
    """A validated macro-space architecture (hashable, so it can key caches of built models).

    Build it from the original token string (`from_tokens`), the controller's array
    (`from_array`), an ``arch.json`` dict (`from_json`), uniformly at random (`random`) or from
    `MacroLayer` rows. Construction validates every token and raises `EnasError` naming the
    first bad one by position, layer and field.
    """

    layers: Tuple[MacroLayer, ...]

    search_space: ClassVar[str] = "macro"

    def __post_init__(self):
        layers = []
        for i, layer in enumerate(self.layers):
            start = num_tokens_for(i)
            try:
                op, skips = layer
                skips = tuple(skips)
            except (TypeError, ValueError):
                raise EnasError(f"layer {i} must be an (op, skip bits) pair, got "
                                f"{layer!r}") from None
            if len(skips) != i:
                raise EnasError(f"layer {i} has {len(skips)} skip bits but must have {i}")
            op = _as_int(op, start)
            skips = tuple(_as_int(bit, start + 1 + j) for j, bit in enumerate(skips))
            if not 0 <= op < ops.NUM_OPS:
                raise EnasError(f"{_position(start)} is {op} but must be an op id in "
                                f"[0, {ops.NUM_OPS - 1}]")
            for j, bit in enumerate(skips):
                if bit not in (0, 1):
                    raise EnasError(f"{_position(start + 1 + j)} is {bit} but must be 0 or 1")
            layers.append(MacroLayer(op, skips))
        if not layers:
            raise EnasError("a macro architecture needs at least one layer")
        # Frozen dataclass: normalising the field here is the one sanctioned mutation.
        object.__setattr__(self, "layers", tuple(layers))

    # ---- construction ------------------------------------------------------------------------
    @classmethod
    def from_tokens(cls, text: str) -> "MacroArch":
        """Parses the original token string: one line, or one row per layer; commas allowed."""
        if not isinstance(text, str):
            raise EnasError(f"a macro token string must be a str, got {type(text).__name__}")
        lines = [line for line in (ln.strip() for ln in text.splitlines()) if line]
        rows = [[t for t in re.split(r"[\s,]+", line) if t] for line in lines]
        raw = [t for row in rows for t in row]
        n = len(raw)
        num_layers = (math.isqrt(8 * n + 1) - 1) // 2
        if n == 0 or num_tokens_for(num_layers) != n:
            raise EnasError(
                f"the macro architecture has {n} tokens but L layers need L + L(L-1)/2 "
                f"(one op and i skip bits for layer i): {num_tokens_for(num_layers)} for "
                f"{num_layers} layers, {num_tokens_for(num_layers + 1)} for {num_layers + 1}")
        if len(rows) > 1:
            for i, row in enumerate(rows):
                if len(row) != i + 1:
                    raise EnasError(
                        f"line {i + 1} has {len(row)} tokens but layer {i} needs {i + 1} (its op "
                        f"and {i} skip bits); write one line, or one row per layer")
        values = [_parse_token(t, k) for k, t in enumerate(raw)]
        return cls(tuple(MacroLayer(values[num_tokens_for(i)],
                                    tuple(values[num_tokens_for(i) + 1:num_tokens_for(i + 1)]))
                         for i in range(num_layers)))

    @classmethod
    def from_array(cls, array: np.ndarray) -> "MacroArch":
        """Converts the controller's ``[L, L]`` integer array (see the module doc)."""
        array = np.asarray(array)
        if array.ndim != 2 or array.shape[0] != array.shape[1] or array.shape[0] < 1:
            raise EnasError(f"a macro architecture array must have shape [L, L], got "
                            f"{list(array.shape)}")
        if not np.issubdtype(array.dtype, np.integer):
            raise EnasError(f"a macro architecture array must hold integers, got {array.dtype}")
        for i, row in enumerate(array):
            if np.any(row[i + 1:] != 0):
                raise EnasError(f"row {i} of the macro architecture array has non-zero padding "
                                f"after its {i + 1} entries: {row.tolist()}")
        return cls(tuple(MacroLayer(int(row[0]), tuple(int(b) for b in row[1:i + 1]))
                         for i, row in enumerate(array)))

    @classmethod
    def from_json(cls, obj: Dict[str, Any]) -> "MacroArch":
        """Parses the dict written by `to_json`; refuses other search spaces."""
        obj = checked_arch_json(obj, cls.search_space)
        if "layers" in obj:
            rows = obj["layers"]
            if not isinstance(rows, list) or not all(
                    isinstance(r, list) and r and all(isinstance(t, int) for t in r)
                    for r in rows):
                raise EnasError("the architecture JSON's 'layers' must be a list of "
                                "[op, skip bits...] integer lists")
            arch = cls(tuple(MacroLayer(r[0], tuple(r[1:])) for r in rows))
            if "tokens" in obj and cls.from_tokens(obj["tokens"]) != arch:
                raise EnasError(f"the architecture JSON is inconsistent: 'tokens' is "
                                f"{obj['tokens']!r} but 'layers' give {arch.tokens()!r}")
            return arch
        if "tokens" not in obj:
            raise EnasError("the architecture JSON has neither 'tokens' nor 'layers'")
        return cls.from_tokens(obj["tokens"])

    @classmethod
    def random(cls, num_layers: int, seed: Optional[int] = None,
               skip_prob: float = 0.4) -> "MacroArch":
        """Ops uniform over the six ids, each skip bit on with probability `skip_prob` (the
        paper's random macro networks use 0.4)."""
        if isinstance(num_layers, bool) or not isinstance(num_layers, (int, np.integer)) \
                or num_layers < 1:
            raise EnasError(f"num_layers must be an integer >= 1, got {num_layers!r}")
        if not 0.0 <= skip_prob <= 1.0:
            raise EnasError(f"skip_prob must be in [0, 1], got {skip_prob}")
        rng = np.random.default_rng(seed)
        return cls(tuple(MacroLayer(int(rng.integers(ops.NUM_OPS)),
                                    tuple(int(b) for b in rng.random(i) < skip_prob))
                         for i in range(num_layers)))

    # ---- views -------------------------------------------------------------------------------
    @property
    def num_layers(self) -> int:
        """L, the number of searched layers."""
        return len(self.layers)

    @property
    def pool_layers(self) -> Tuple[int, ...]:
        """The layers after which every output is halved (see `pool_layers`)."""
        return pool_layers(self.num_layers)

    def skip_inputs(self, layer: int) -> Tuple[int, ...]:
        """Indices ``j`` into ``prev = [stem, out_0, ...]`` that `layer` adds (its bits on)."""
        return tuple(j for j, bit in enumerate(self.layers[layer].skips) if bit)

    def skip_count(self) -> int:
        """Number of skip bits that are on."""
        return sum(sum(layer.skips) for layer in self.layers)

    def skip_rate(self) -> float:
        """Skips on / possible skips ``L(L-1)/2`` (the original's logged skip rate); 0 for L=1."""
        possible = self.num_layers * (self.num_layers - 1) // 2
        return self.skip_count() / possible if possible else 0.0

    def tokens(self) -> str:
        """The original space-separated token string, one line."""
        return " ".join(" ".join(str(v) for v in (layer.op,) + layer.skips)
                        for layer in self.layers)

    def rows(self) -> str:
        """The token string as one row per layer (the layout of `cifar10_macro_final.sh`)."""
        return "\n".join(" ".join(str(v) for v in (layer.op,) + layer.skips)
                         for layer in self.layers)

    def __str__(self) -> str:
        return self.tokens()

    def to_array(self) -> np.ndarray:
        """int32 ``[L, L]``: row i = op, skip bits, zero padding (the module doc's layout)."""
        array = np.zeros((self.num_layers, self.num_layers), np.int32)
        for i, layer in enumerate(self.layers):
            array[i, :i + 1] = (layer.op,) + layer.skips
        return array

    def to_json(self) -> Dict[str, Any]:
        """A JSON-ready dict: ``search_space``, ``tokens`` and the layer rows."""
        return {"search_space": self.search_space, "tokens": self.tokens(),
                "layers": [[layer.op, *layer.skips] for layer in self.layers]}

    def histogram(self) -> Dict[str, int]:
        """How often each op is used (by name, zeros included) plus ``"skip"``: skips on."""
        counts = {name: 0 for name in ops.OP_NAMES}
        for layer in self.layers:
            counts[ops.OP_NAMES[layer.op]] += 1
        counts["skip"] = self.skip_count()
        return counts

    def describe(self) -> str:
        """One line per layer: op, input, skip sources; pool layers are marked."""
        def source(j):
            return "stem" if j == 0 else f"layer {j - 1}"

        width = len(str(self.num_layers - 1))
        lines = []
        for i, layer in enumerate(self.layers):
            skips = ", ".join(source(j) for j in self.skip_inputs(i)) or "none"
            line = (f"layer {i:>{width}}: {ops.OP_NAMES[layer.op]:<13} input {source(i)}"
                    + (f"; skips from {skips}" if i else ""))
            if i in self.pool_layers:
                line += "; then every output is halved (factorized reduction)"
            lines.append(line)
        lines.append(f"{self.skip_count()} skips of {self.num_layers * (self.num_layers - 1) // 2}"
                     f" possible (rate {self.skip_rate():.3f})")
        return "\n".join(lines)
