"""Reading an architecture's tokens the way every space accepts them: the original whitespace- or
comma-separated string, a list of integers or a NumPy array."""

from __future__ import annotations

import re
from typing import Any, List, Sequence, Union

import numpy as np

from enas_tf2.errors import EnasError


def raw_tokens(text_or_sequence: Union[str, Sequence[Any], np.ndarray], what: str) -> List[Any]:
    """The tokens of `text_or_sequence`, not yet checked to be integers; `what` names the
    architecture in the error (``"a micro architecture"``) when the value is neither."""
    if isinstance(text_or_sequence, str):
        return [t for t in re.split(r"[\s,]+", text_or_sequence.strip()) if t]
    if isinstance(text_or_sequence, np.ndarray):
        return text_or_sequence.reshape(-1).tolist()
    try:
        return list(text_or_sequence)
    except TypeError:
        raise EnasError(f"{what} must be a token string or a list of integers, got "
                        f"{type(text_or_sequence).__name__}") from None


class OpNames:
    """Op ids <-> names of one space's candidate operations, with the errors users see.

    Args:
      space: the space's name, for the errors (``"macro"``).
      names: the op names in id order.
    """

    def __init__(self, space: str, names: Sequence[str]):
        self.space, self.names = space, tuple(names)

    def name(self, op_id: int) -> str:
        """The name of op `op_id`; EnasError for an unknown id."""
        count = len(self.names)
        if isinstance(op_id, bool) or not isinstance(op_id, int) or not 0 <= op_id < count:
            raise EnasError(f"unknown {self.space} op id {op_id!r}: must be an integer in "
                            f"[0, {count - 1}]")
        return self.names[op_id]

    def id(self, name: str) -> int:
        """The id of the op called `name`; EnasError naming the valid names."""
        try:
            return self.names.index(name)
        except ValueError:
            raise EnasError(f"unknown {self.space} op {name!r}: must be one of "
                            f"{', '.join(self.names)}") from None
