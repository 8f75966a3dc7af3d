"""Architectures from what a person hands the tools: a token string, an ``arch.json`` object, plus
the space config that fits them.

Everything goes through the registry (`get_space(name, config)` and the space's own
`arch_from_tokens` / `arch_from_json`), so the space validates as it always does. A space's config
may carry a size that the architecture itself fixes (micro's ``num_cells``); when the caller did not
set it, such integer fields are taken from the architecture so that an ``arch.json`` of a small
search reads without extra flags.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

from enas_tf2.errors import EnasError
from enas_tf2.search_space.registry import config_class, get_space

_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _convert(name: str, field: str, default: Any, raw: Any) -> Any:
    """`raw` as the type of the field's default (strings from the command line are parsed)."""
    if not isinstance(raw, str) or isinstance(default, str):
        return raw
    text = raw.strip()
    try:
        if isinstance(default, bool):
            if text.lower() not in _TRUE + _FALSE:
                raise ValueError
            return text.lower() in _TRUE
        if isinstance(default, int):
            return int(text)
        if isinstance(default, float):
            return float(text)
    except ValueError:
        raise EnasError(f"{name} config field {field}={raw!r} must be a "
                        f"{type(default).__name__}") from None
    return raw


def parse_settings(items: Sequence[str]) -> Dict[str, str]:
    """``["num_layers=15", ...]`` → ``{"num_layers": "15"}``; a ``child_`` prefix is dropped so
    the search flags' names (``child_num_layers=15``) work too."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise EnasError(f"--set {item!r} must look like FIELD=VALUE, e.g. num_layers=15")
        out[key[len("child_"):] if key.startswith("child_") else key] = value
    return out


def make_config(space_name: str, values: Mapping[str, Any], strict: bool = True):
    """The space's config dataclass: defaults updated with `values` (typed or strings).

    Unknown fields raise EnasError when `strict` (user input), and are ignored otherwise (a run
    folder's saved config may hold fields of other parts of the run).
    """
    cls = config_class(space_name)
    defaults = {f.name: f.default for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(defaults))
    if unknown and strict:
        raise EnasError(f"unknown {space_name} config field(s) {', '.join(unknown)}; known: "
                        f"{', '.join(sorted(defaults))}")
    kept = {k: _convert(space_name, k, defaults[k], v) for k, v in values.items() if k in defaults}
    return dataclasses.replace(cls(), **kept)


def _arch_sized(space_name: str, config, fixed: Sequence[str], parse_loose) -> Any:
    """`config` with the integer fields that the architecture fixes taken from it (unless the
    caller set them); `parse_loose(arch_cls)` parses without the space's size check."""
    space = get_space(space_name, config)
    arch_cls = type(space.random_arch(0))
    try:
        loose = parse_loose(arch_cls)
    except (AttributeError, TypeError):
        return config  # this space's Arch class has no standalone parser: nothing to infer
    sizes = {}
    for f in dataclasses.fields(config):
        value = getattr(loose, f.name, None)
        if f.name not in fixed and isinstance(value, int) and not isinstance(value, bool):
            sizes[f.name] = value
    return dataclasses.replace(config, **sizes)


def arch_from_tokens(space_name: str, text: str, settings: Optional[Mapping[str, Any]] = None,
                     strict: bool = True) -> Tuple[Any, Any]:
    """``(space, arch)`` for a token string of space `space_name` (config from `settings`;
    unknown settings are an error when `strict`, else ignored)."""
    settings = dict(settings or {})
    config = make_config(space_name, settings, strict)
    config = _arch_sized(space_name, config, list(settings),
                         lambda cls: cls.from_tokens(text))
    space = get_space(space_name, config)
    return space, space.arch_from_tokens(text)


def arch_from_json(obj: Mapping[str, Any], settings: Optional[Mapping[str, Any]] = None,
                   source: str = "the architecture JSON", strict: bool = True) -> Tuple[Any, Any]:
    """``(space, arch)`` for an ``arch.json`` object (its ``search_space`` names the space)."""
    if not isinstance(obj, Mapping):
        raise EnasError(f"{source} must hold a JSON object, got {type(obj).__name__}")
    name = obj.get("search_space")
    if not isinstance(name, str):
        raise EnasError(f"{source} has no \"search_space\" field (micro, macro or rnn)")
    settings = dict(settings or {})
    config = make_config(name, settings, strict)
    config = _arch_sized(name, config, list(settings), lambda cls: cls.from_json(dict(obj)))
    space = get_space(name, config)
    return space, space.arch_from_json(dict(obj))
