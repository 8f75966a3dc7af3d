"""Presets of the micro space: `cifar10_micro_search.sh` / `cifar10_micro_final.sh` as Python
(docs/enas_reference.md §4.5) and their use on a user's own photos."""

from __future__ import annotations

from enas_tf2.configs.base import (ControllerConfig, DataConfig, ExperimentConfig,
                                   OptimizerConfig, RunConfig)
from enas_tf2.configs.enas_plus import PLUS_SUFFIX, enas_plus, plus_smoke
from enas_tf2.configs.presets import register_preset, replace_fields, smoke_cnn
from enas_tf2.search_space.micro.config import MicroConfig

def _micro_config(**fields):
    return MicroConfig(**fields)


@register_preset("cifar10_micro_search", smoke_cnn)
def cifar10_micro_search() -> ExperimentConfig:
    """`cifar10_micro_search.sh`: 6 layers x 5 nodes, F=20, aux head, 150 epochs, batch 160, no
    gradient clipping (the script's clip was a no-op, P2)."""
    return ExperimentConfig(
        space="micro", task="image_classification",
        space_config=_micro_config(num_layers=6, num_cells=5, out_filters=20, keep_prob=0.9,
                                   drop_path_keep_prob=0.6, op_tanh_reduce=2.5,
                                   use_aux_heads=True),
        data=DataConfig(dataset="cifar10", data_path="data/cifar10", valid_size=5000,
                        batch_size=160),
        controller=ControllerConfig(tanh_constant=1.10, entropy_weight=1e-4, lr=0.0035,
                                    num_aggregate=10, train_steps=30, train_every=1),
        optim=OptimizerConfig(lr_cosine=True, lr_max=0.05, lr_min=0.0005, lr_T_0=10,
                              lr_T_mul=2, l2_reg=1e-4, grad_clip="none"),
        run=RunConfig(output_dir="runs/cifar10_micro_search", num_epochs=150, log_every=50))


@register_preset("cifar10_micro_final", smoke_cnn)
def cifar10_micro_final() -> ExperimentConfig:
    """`cifar10_micro_final.sh`: 15 layers, F=36, aux head, 630 epochs, batch 144 (we keep a
    5,000-image validation split for model selection, pitfall P9; ``--valid_size=0`` as the
    original)."""
    return ExperimentConfig(
        space="micro", task="image_classification",
        space_config=_micro_config(num_layers=15, num_cells=5, out_filters=36, keep_prob=0.8,
                                   drop_path_keep_prob=0.6, use_aux_heads=True),
        data=DataConfig(dataset="cifar10", data_path="data/cifar10", valid_size=5000,
                        batch_size=144),
        controller=ControllerConfig(training=False),
        optim=OptimizerConfig(lr_cosine=True, lr_max=0.05, lr_min=0.0001, lr_T_0=10,
                              lr_T_mul=2, l2_reg=2e-4, grad_clip="none"),
        run=RunConfig(output_dir="runs/cifar10_micro_final", num_epochs=630, log_every=50))


@register_preset("images_micro_search", smoke_cnn)
def images_micro_search() -> ExperimentConfig:
    """Micro search on YOUR converted photos (the fork's scenario): the CIFAR search recipe on a
    `enas-convert` folder at 224 px, batch 32, 100 epochs, ``stem="auto"`` (the downsampling
    stem above 64 px: at 224 px the CIFAR stem's first cells would not fit in memory)."""
    cfg = cifar10_micro_search()
    return replace_fields(cfg, space_config={"stem": "auto"},
                    data={"dataset": "tfrecord", "data_path": "data/my_tfr",
                          "image_size": (224, 224), "batch_size": 32, "eval_batch_size": 32},
                    run={"output_dir": "runs/images_micro_search", "num_epochs": 100})


@register_preset("images_micro_final", smoke_cnn)
def images_micro_final() -> ExperimentConfig:
    """Final training of a found micro architecture on YOUR converted photos at 224 px,
    ``stem="auto"`` like `images_micro_search`."""
    cfg = cifar10_micro_final()
    return replace_fields(cfg, space_config={"stem": "auto"},
                    data={"dataset": "tfrecord", "data_path": "data/my_tfr",
                          "image_size": (224, 224), "batch_size": 32, "eval_batch_size": 32},
                    run={"output_dir": "runs/images_micro_final", "num_epochs": 310})


@register_preset("cifar10_micro_search" + PLUS_SUFFIX, plus_smoke(smoke_cnn))
def cifar10_micro_search_plus() -> ExperimentConfig:
    """`cifar10_micro_search` with the ``enas_plus`` controller recipe (15 warm-up epochs;
    `configs/enas_plus.py`)."""
    return enas_plus(cifar10_micro_search())
