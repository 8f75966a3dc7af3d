"""Preset + command-line overrides: the one rule every training CLI uses to build its config.

A run starts from a preset (`search_space/<space>/presets.py`); every flag the user GAVE replaces
one field of the `ExperimentConfig` and flags not given keep the preset's value. A CLI describes
its flags with a field map ``{flag name: (config section, field, converter or None)}`` (built
with `section`); the sections are the `ExperimentConfig` attributes (``data``, ``space_config``, ``optim``, ``controller``, ``run``).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Iterable, Mapping, Optional, Tuple

from enas_tf2.configs.base import ExperimentConfig
from enas_tf2.errors import EnasError

FieldMap = Mapping[str, Tuple[str, str, Optional[Callable[[Any], Any]]]]


def section(name: str, fields: Mapping[str, str], convert: Optional[Mapping[str, Callable]] = None
            ) -> FieldMap:
    """Field-map rows of one config section: ``{flag: field}`` -> ``{flag: (name, field,
    converter or None)}``; `convert` gives the converters of the flags that need one."""
    convert = convert or {}
    return {flag: (name, field, convert.get(flag)) for flag, field in fields.items()}


def present_flags(fl, fields: FieldMap) -> set:
    """Names of the flags of `fields` given on the command line (``seed`` included if given)."""
    names = {name for name in fields if fl[name].present}
    if "seed" in fl and fl["seed"].present:
        names.add("seed")
    return names


def apply_overrides(cfg: ExperimentConfig, fl, names: Iterable[str],
                    fields: FieldMap) -> ExperimentConfig:
    """`cfg` with the fields of the flags `names` replaced by their values in `fl`.

    A flag whose field the section's config does not have (e.g. a macro-only flag on a micro
    preset) is refused with one line naming the flag and the space. ``seed`` seeds every random
    stream: it sets ``run.seed`` and, when the data config has one, ``data.seed``.
    """
    names = set(names)
    sections = {}
    for name in sorted(names - {"seed"}):
        section, field, convert = fields[name]
        target = getattr(cfg, section)
        if not any(f.name == field for f in dataclasses.fields(target)):
            raise EnasError(f"--{name} does not apply to the {cfg.space} search space")
        value = getattr(fl, name)
        sections.setdefault(section, {})[field] = convert(value) if convert else value
    if "seed" in names:
        sections.setdefault("run", {})["seed"] = fl.seed
        if any(f.name == "seed" for f in dataclasses.fields(cfg.data)):
            sections.setdefault("data", {})["seed"] = fl.seed
    changes = {s: dataclasses.replace(getattr(cfg, s), **f) for s, f in sections.items()}
    return cfg.replace(**changes)


def check_positive(fl, names: Iterable[str], present: Iterable[str]) -> None:
    """EnasError naming the first flag of `names` that was given with a value <= 0."""
    present = set(present)
    for name in names:
        if name in present and getattr(fl, name) <= 0:
            raise EnasError(f"--{name}={getattr(fl, name)} must be positive")
