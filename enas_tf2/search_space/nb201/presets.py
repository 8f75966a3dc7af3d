"""Presets of the NAS-Bench-201 cell space (docs/nb201.md): the ENAS CIFAR search recipe on its
cell, and the benchmark's own final-training recipe."""

from __future__ import annotations

import dataclasses

from enas_tf2.configs.base import (ControllerConfig, DataConfig, ExperimentConfig,
                                   OptimizerConfig, RunConfig)
from enas_tf2.configs.enas_plus import PLUS_SUFFIX, enas_plus, plus_smoke
from enas_tf2.configs.presets import register_preset, replace_fields, smoke_cnn
from enas_tf2.search_space.micro.presets import cifar10_micro_search
from enas_tf2.search_space.nb201.config import Nb201Config


def _nb201_config(**fields):
    return Nb201Config(**fields)


def smoke_nb201(cfg: ExperimentConfig) -> ExperimentConfig:
    """An nb201 experiment shrunk to CPU minutes: one cell per stage of 8 channels, and the CNN
    smoke run settings."""
    return replace_fields(smoke_cnn(cfg), space_config={"num_layers": 1, "out_filters": 8})


@register_preset("cifar10_nb201_search", smoke_nb201)
def cifar10_nb201_search() -> ExperimentConfig:
    """ENAS on the NAS-Bench-201 cell (the benchmark's network, C=16, N=5) with the faithful
    ENAS CIFAR recipe of `cifar10_micro_search` (batch 160, cosine LR 0.05 -> 0.0005, l2 1e-4,
    controller lr 0.0035, tanh 1.10, entropy 1e-4, 10 samples x 30 updates per epoch). A small
    CPU default: 6 decisions and every derived cell has a true accuracy in the benchmark."""
    base = cifar10_micro_search()   # the same recipe, so the two cannot drift apart
    return base.replace(space="nb201", space_config=_nb201_config(num_layers=5, out_filters=16),
                        run=dataclasses.replace(base.run,
                                                output_dir="runs/cifar10_nb201_search"))


@register_preset("cifar10_nb201_final", smoke_nb201)
def cifar10_nb201_final() -> ExperimentConfig:
    """Final training of a found nb201 cell in the benchmark's network (C=16, N=5) with the
    benchmark's recipe where this package has it: 200 epochs, batch 256, cosine LR 0.1 ->
    0, Nesterov momentum 0.9, weight decay 5e-4 (here an L2 term of 2.5e-4 on the sum of
    squares, the same gradient)."""
    return ExperimentConfig(
        space="nb201", task="image_classification",
        space_config=_nb201_config(num_layers=5, out_filters=16),
        data=DataConfig(dataset="cifar10", data_path="data/cifar10", valid_size=5000,
                        batch_size=256),
        controller=ControllerConfig(training=False),
        optim=OptimizerConfig(lr_cosine=True, lr_max=0.1, lr_min=0.0, lr_T_0=200, lr_T_mul=1,
                              l2_reg=2.5e-4, grad_clip="none"),
        run=RunConfig(output_dir="runs/cifar10_nb201_final", num_epochs=200, log_every=50))


@register_preset("cifar10_nb201_search" + PLUS_SUFFIX, plus_smoke(smoke_nb201))
def cifar10_nb201_search_plus() -> ExperimentConfig:
    """`cifar10_nb201_search` with the ``enas_plus`` controller recipe (15 warm-up epochs;
    `configs/enas_plus.py`)."""
    return enas_plus(cifar10_nb201_search())
