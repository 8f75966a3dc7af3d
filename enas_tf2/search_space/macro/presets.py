"""Presets of the macro space: `cifar10_macro_search.sh` / `cifar10_macro_final.sh` as Python
(docs/enas_reference.md §4.5)."""

from __future__ import annotations

from enas_tf2.configs.base import (ControllerConfig, DataConfig, ExperimentConfig,
                                   OptimizerConfig, RunConfig)
from enas_tf2.configs.enas_plus import PLUS_SUFFIX, enas_plus, plus_smoke
from enas_tf2.configs.presets import register_preset, replace_fields, smoke_cnn
from enas_tf2.search_space.macro.config import MacroConfig

def _macro_config(**fields):
    return MacroConfig(**fields)


def smoke_macro(cfg: ExperimentConfig) -> ExperimentConfig:
    """A macro experiment shrunk to CPU minutes: 4 layers of 8 filters (pool layers 0 and 1),
    and the CNN smoke run settings."""
    return replace_fields(smoke_cnn(cfg), space_config={"num_layers": 4, "out_filters": 8})


@register_preset("cifar10_macro_search", smoke_macro)
def cifar10_macro_search() -> ExperimentConfig:
    """`cifar10_macro_search.sh`: 12 layers, F=36, 310 epochs, batch 128, 20 samples x 50
    controller updates per epoch, tanh 1.5, skip target 0.4 with weight 0.8."""
    return ExperimentConfig(
        space="macro", task="image_classification",
        space_config=_macro_config(num_layers=12, out_filters=36, keep_prob=0.9,
                                   skip_target=0.4, skip_weight=0.8),
        data=DataConfig(dataset="cifar10", data_path="data/cifar10", valid_size=5000,
                        batch_size=128),
        controller=ControllerConfig(tanh_constant=1.5, entropy_weight=1e-4, lr=0.001,
                                    num_aggregate=20, train_steps=50, train_every=1),
        optim=OptimizerConfig(lr_cosine=True, lr_max=0.05, lr_min=0.0005, lr_T_0=10,
                              lr_T_mul=2, l2_reg=2.5e-4, grad_clip="none"),
        run=RunConfig(output_dir="runs/cifar10_macro_search", num_epochs=310, log_every=50))


@register_preset("cifar10_macro_final", smoke_macro)
def cifar10_macro_final() -> ExperimentConfig:
    """`cifar10_macro_final.sh`: 24 layers, F=96, keep 0.5, 310 epochs, batch 100 (with a
    5,000-image validation split for model selection, pitfall P9)."""
    return ExperimentConfig(
        space="macro", task="image_classification",
        space_config=_macro_config(num_layers=24, out_filters=96, keep_prob=0.5,
                                   skip_target=0.4, skip_weight=0.8),
        data=DataConfig(dataset="cifar10", data_path="data/cifar10", valid_size=5000,
                        batch_size=100),
        controller=ControllerConfig(training=False),
        optim=OptimizerConfig(lr_cosine=True, lr_max=0.05, lr_min=0.001, lr_T_0=10,
                              lr_T_mul=2, l2_reg=2e-4, grad_clip="none"),
        run=RunConfig(output_dir="runs/cifar10_macro_final", num_epochs=310, log_every=50))


@register_preset("cifar10_macro_search" + PLUS_SUFFIX, plus_smoke(smoke_macro))
def cifar10_macro_search_plus() -> ExperimentConfig:
    """`cifar10_macro_search` with the ``enas_plus`` controller recipe (31 warm-up epochs;
    `configs/enas_plus.py`)."""
    return enas_plus(cifar10_macro_search())
