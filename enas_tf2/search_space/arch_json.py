"""The checks every space's ``Arch.from_json`` starts with (one place, one wording)."""

from __future__ import annotations

from typing import Any, Dict

from enas_tf2.errors import EnasError


def checked_arch_json(obj: Dict[str, Any], space: str) -> Dict[str, Any]:
    """`obj` if it is an `arch.json` object of `space`; EnasError naming what is wrong."""
    if not isinstance(obj, dict):
        raise EnasError(f"an architecture JSON must be an object, got {type(obj).__name__}")
    if obj.get("search_space") != space:
        raise EnasError(f"the architecture JSON is for search space "
                        f"{obj.get('search_space')!r}, not {space!r}")
    return obj
