"""The preset registry: named experiments, each with a CPU-sized smoke variant (big_vision / flax
style: configs are code, the CLI overrides their fields).

The presets themselves live with their spaces (`search_space/<space>/presets.py`, the authors'
script values as Python) and register here with `@register_preset`; this floor imports none of
them: `_PRESET_MODULES` names the modules to import on first lookup, as the space registry does.

``get_preset("cifar10_micro_search")`` returns the `ExperimentConfig` of the original
`cifar10_micro_search.sh`; ``get_preset("cifar10_micro_search.smoke")`` the same experiment sized to
finish in a minute or two on a 2-core CPU (tiny child, capped steps). The `scripts/*.sh` files only
pick a preset and pass the data path.
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Callable, Dict

from enas_tf2.configs.base import ExperimentConfig
from enas_tf2.errors import EnasError

# Modules whose import registers the built-in presets (imported on first lookup).
_PRESET_MODULES = ("enas_tf2.search_space.micro.presets", "enas_tf2.search_space.macro.presets",
                   "enas_tf2.search_space.nb201.presets", "enas_tf2.search_space.rnn.presets")
_PRESETS: Dict[str, Callable[[], ExperimentConfig]] = {}
_SMOKE: Dict[str, Callable[[ExperimentConfig], ExperimentConfig]] = {}

SMOKE_SUFFIX = ".smoke"


def register_preset(name: str, smoke: Callable[[ExperimentConfig], ExperimentConfig]):
    """Decorator: registers a zero-argument preset function and its smoke transformation."""

    def decorate(fn: Callable[[], ExperimentConfig]):
        _PRESETS[name] = fn
        _SMOKE[name] = smoke
        return fn
    return decorate


def _load_builtin() -> None:
    for module in _PRESET_MODULES:
        importlib.import_module(module)


def preset_names() -> list:
    """Every preset name, smoke variants included."""
    _load_builtin()
    return sorted(list(_PRESETS) + [n + SMOKE_SUFFIX for n in _PRESETS])


def get_preset(name: str) -> ExperimentConfig:
    """The `ExperimentConfig` of preset `name` (``NAME`` or ``NAME.smoke``)."""
    _load_builtin()
    smoke = name.endswith(SMOKE_SUFFIX)
    base = name[:-len(SMOKE_SUFFIX)] if smoke else name
    if base not in _PRESETS:
        raise EnasError(f"unknown --config={name!r}; choose one of {', '.join(preset_names())}")
    cfg = _PRESETS[base]()
    return _SMOKE[base](cfg) if smoke else cfg


def replace_fields(cfg: ExperimentConfig, **sections) -> ExperimentConfig:
    """Replaces fields inside nested sections: ``replace_fields(cfg, run={"num_epochs": 2})``."""
    changes = {name: dataclasses.replace(getattr(cfg, name), **fields)
               for name, fields in sections.items()}
    return cfg.replace(**changes)


def smoke_cnn(cfg: ExperimentConfig) -> ExperimentConfig:
    """A CNN experiment shrunk to a couple of CPU minutes: two layers of 8 filters, batch 32,
    2 epochs of 20 steps, 5 controller updates of 2 samples, capped evaluation."""
    return replace_fields(
        cfg, space_config={"num_layers": 2, "out_filters": 8},
        data={"batch_size": 32, "eval_batch_size": 100, "valid_size": min(cfg.data.valid_size,
                                                                           1000)},
        controller={"train_steps": 5, "num_aggregate": 2},
        run={"num_epochs": 2, "max_steps_per_epoch": 20, "max_eval_batches": 2,
             "log_every": 10, "derive_num_samples": 10, "output_dir": cfg.run.output_dir +
             "_smoke"})
