"""The search-space registry: ``@register_space(name, config_cls)`` on each space class.

Spaces are imported lazily (their modules pull in TensorFlow), so `--help` and flag errors stay
fast: `_KNOWN` maps each built-in name to the module that registers it.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable, Dict, Tuple

from enas_tf2.errors import EnasError

# Built-in spaces and the module whose import registers them.
_KNOWN = {
    "micro": "enas_tf2.search_space.micro.space",
    "macro": "enas_tf2.search_space.macro.space",
    "rnn": "enas_tf2.search_space.rnn.space",
    "nb201": "enas_tf2.search_space.nb201.space",
}
_REGISTRY: Dict[str, Tuple[type, type]] = {}


def register_space(name: str, config_cls: type) -> Callable[[type], type]:
    """Class decorator: registers a `SearchSpace` implementation under `name`, built from
    instances of `config_cls` (a frozen dataclass)."""

    def decorate(space_cls: type) -> type:
        space_cls.name = name
        _REGISTRY[name] = (space_cls, config_cls)
        return space_cls
    return decorate


def _lookup(name: str) -> Tuple[type, type]:
    if name not in _REGISTRY and name in _KNOWN:
        try:
            importlib.import_module(_KNOWN[name])
        except ModuleNotFoundError as err:
            if not err.name or not err.name.startswith(_KNOWN[name].rsplit(".", 1)[0]):
                raise
    if name not in _REGISTRY:
        raise EnasError(f"unknown search space {name!r}; choose one of "
                        f"{', '.join(available_spaces())}")
    return _REGISTRY[name]


def available_spaces() -> list:
    """Names of the spaces that can be built here."""
    names = set(_REGISTRY)
    for name, module in _KNOWN.items():
        if importlib.util.find_spec(module.rsplit(".", 1)[0]) is not None:
            names.add(name)
    return sorted(names)


def config_class(name: str) -> type:
    """The config dataclass of space `name`."""
    return _lookup(name)[1]


def get_space(name: str, config: Any = None):
    """Builds space `name` from its config (default config when None)."""
    space_cls, config_cls = _lookup(name)
    if config is None:
        config = config_cls()
    if not isinstance(config, config_cls):
        raise EnasError(f"space {name!r} takes a {config_cls.__name__}, got "
                        f"{type(config).__name__}")
    return space_cls(config)
