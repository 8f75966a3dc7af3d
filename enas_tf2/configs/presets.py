"""Named experiment presets: the authors' script values as Python, each with a CPU-sized smoke
variant (big_vision / flax style: configs are code, the CLI overrides their fields).

``get_preset("cifar10_micro_search")`` returns the `ExperimentConfig` of the original
`cifar10_micro_search.sh`; ``get_preset("cifar10_micro_search.smoke")`` the same experiment sized to
finish in a minute or two on a 2-core CPU (tiny child, capped steps). The `scripts/*.sh` files only
pick a preset and pass the data path.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Dict

from enas_tf2.configs.base import (ControllerConfig, DataConfig, ExperimentConfig,
                                   OptimizerConfig, RunConfig)
from enas_tf2.errors import EnasError

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


def preset_names() -> list:
    """Every preset name, smoke variants included."""
    return sorted(list(_PRESETS) + [n + SMOKE_SUFFIX for n in _PRESETS])


def get_preset(name: str) -> ExperimentConfig:
    """The `ExperimentConfig` of preset `name` (``NAME`` or ``NAME.smoke``)."""
    smoke = name.endswith(SMOKE_SUFFIX)
    base = name[:-len(SMOKE_SUFFIX)] if smoke else name
    if base not in _PRESETS:
        raise EnasError(f"unknown --config={name!r}; choose one of {', '.join(preset_names())}")
    cfg = _PRESETS[base]()
    return _SMOKE[base](cfg) if smoke else cfg


def _replace(cfg: ExperimentConfig, **sections) -> ExperimentConfig:
    """Replaces fields inside nested sections: ``_replace(cfg, run={"num_epochs": 2})``."""
    changes = {name: dataclasses.replace(getattr(cfg, name), **fields)
               for name, fields in sections.items()}
    return cfg.replace(**changes)


def smoke_cnn(cfg: ExperimentConfig) -> ExperimentConfig:
    """A CNN experiment shrunk to a couple of CPU minutes: two layers of 8 filters, batch 32,
    2 epochs of 20 steps, 5 controller updates of 2 samples, capped evaluation."""
    return _replace(
        cfg, space_config={"num_layers": 2, "out_filters": 8},
        data={"batch_size": 32, "eval_batch_size": 100, "valid_size": min(cfg.data.valid_size,
                                                                           1000)},
        controller={"train_steps": 5, "num_aggregate": 2},
        run={"num_epochs": 2, "max_steps_per_epoch": 20, "max_eval_batches": 2,
             "log_every": 10, "derive_num_samples": 10, "output_dir": cfg.run.output_dir +
             "_smoke"})


# ---- micro (cifar10_micro_search.sh / cifar10_micro_final.sh, docs/enas_reference.md §4.5) -----------------

def _micro_config(**fields):
    from enas_tf2.search_space.micro.config import MicroConfig
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
    return _replace(cfg, space_config={"stem": "auto"},
                    data={"dataset": "tfrecord", "data_path": "data/my_tfr",
                          "image_size": (224, 224), "batch_size": 32, "eval_batch_size": 32},
                    run={"output_dir": "runs/images_micro_search", "num_epochs": 100})


@register_preset("images_micro_final", smoke_cnn)
def images_micro_final() -> ExperimentConfig:
    """Final training of a found micro architecture on YOUR converted photos at 224 px,
    ``stem="auto"`` like `images_micro_search`."""
    cfg = cifar10_micro_final()
    return _replace(cfg, space_config={"stem": "auto"},
                    data={"dataset": "tfrecord", "data_path": "data/my_tfr",
                          "image_size": (224, 224), "batch_size": 32, "eval_batch_size": 32},
                    run={"output_dir": "runs/images_micro_final", "num_epochs": 310})


# ---- macro (cifar10_macro_search.sh / cifar10_macro_final.sh, docs/enas_reference.md §4.5) ----

def _macro_config(**fields):
    from enas_tf2.search_space.macro.config import MacroConfig
    return MacroConfig(**fields)


def smoke_macro(cfg: ExperimentConfig) -> ExperimentConfig:
    """A macro experiment shrunk to CPU minutes: 4 layers of 8 filters (pool layers 0 and 1),
    and the CNN smoke run settings."""
    return _replace(smoke_cnn(cfg), space_config={"num_layers": 4, "out_filters": 8})


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


# ---- NAS-Bench-201 cell space (docs/nb201.md): the ENAS CIFAR search recipe on its cell --------

def _nb201_config(**fields):
    from enas_tf2.search_space.nb201.config import Nb201Config
    return Nb201Config(**fields)


def smoke_nb201(cfg: ExperimentConfig) -> ExperimentConfig:
    """An nb201 experiment shrunk to CPU minutes: one cell per stage of 8 channels, and the CNN
    smoke run settings."""
    return _replace(smoke_cnn(cfg), space_config={"num_layers": 1, "out_filters": 8})


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


# ---- PTB RNN cell (the corrected enas_lm recipe, docs/enas_reference.md §5.2) ------------------

def smoke_ptb(cfg: ExperimentConfig) -> ExperimentConfig:
    """A PTB experiment shrunk to CPU minutes: hidden 32 (4 nodes in a search), batch 16, 2
    epochs of 20 windows, 3 controller updates of 2 samples, capped evaluation."""
    space = {"embed_size": 32, "hidden_size": 32}
    if cfg.controller.training:           # a search; final runs keep the arc's node count
        space["num_nodes"] = 4
    return _replace(
        cfg, space_config=space, data={"batch_size": 16, "eval_batch_size": 16},
        controller={"train_steps": 3, "num_aggregate": 2},
        run={"num_epochs": 2, "max_steps_per_epoch": 20, "max_eval_batches": 5, "log_every": 10,
             "derive_num_samples": 5, "output_dir": cfg.run.output_dir + "_smoke"})


def _ptb(search: bool) -> ExperimentConfig:
    from enas_tf2.data.text.config import TextDataConfig
    from enas_tf2.search_space.rnn.config import RnnConfig
    from enas_tf2.tasks.language_model import FINAL_OPTIMIZER, SEARCH_OPTIMIZER
    name = "ptb_rnn_search" if search else "ptb_rnn_final"
    return ExperimentConfig(
        space="rnn", task="language_model",
        space_config=RnnConfig() if search else RnnConfig.enas_lm_final(),
        data=TextDataConfig(data_path="data/ptb", batch_size=128 if search else 64,
                            eval_batch_size=128 if search else 64, test_batch_size=1),
        controller=ControllerConfig(lstm_size=64, init_range=0.01, temperature=5.0,
                                    tanh_constant=2.25, entropy_weight=1e-5, bl_dec=0.999,
                                    lr=5e-5, adam_beta1=0.9, adam_epsilon=1e-8, num_aggregate=10,
                                    train_steps=25, training=search),
        optim=SEARCH_OPTIMIZER if search else FINAL_OPTIMIZER,
        run=RunConfig(output_dir=f"runs/{name}", num_epochs=600 if search else 3000,
                      log_every=100, derive_num_samples=100))


@register_preset("ptb_rnn_search", smoke_ptb)
def ptb_rnn_search() -> ExperimentConfig:
    """enas_lm search: 9 nodes, hidden 200, batch 128, bptt 35 (variable windows), 600 epochs,
    SGD lr 20 with clip 0.1, controller Adam 5e-5 (10 samples x 25 updates per epoch)."""
    return _ptb(search=True)


@register_preset("ptb_rnn_search_cpu", smoke_ptb)
def ptb_rnn_search_cpu() -> ExperimentConfig:
    """The enas_lm search recipe sized for a 2-core CPU (about 25 minutes on a shared machine):
    hidden 64, batch 64, 10 epochs of 200 windows, 10 controller updates of 5 samples, 20 derive
    samples."""
    return _replace(_ptb(search=True), space_config={"embed_size": 64, "hidden_size": 64},
                    data={"batch_size": 64, "eval_batch_size": 64},
                    controller={"train_steps": 10, "num_aggregate": 5},
                    run={"output_dir": "runs/ptb_rnn_search_cpu", "num_epochs": 10,
                         "max_steps_per_epoch": 200, "max_eval_batches": 20,
                         "derive_num_samples": 20, "log_every": 50})


@register_preset("ptb_rnn_final", smoke_ptb)
def ptb_rnn_final() -> ExperimentConfig:
    """enas_lm final training: the published 8-node cell at hidden 800, batch 64, SGD lr 20 with
    clip 0.25 and NT-ASGD-style averaging, 3000 epochs (enas_lm's value)."""
    return _ptb(search=False)


@register_preset("ptb_rnn_final_cpu", smoke_ptb)
def ptb_rnn_final_cpu() -> ExperimentConfig:
    """The enas_lm final-training recipe sized for a 2-core CPU, next to `ptb_rnn_search_cpu`:
    hidden 64, batch 64, 10 epochs of 200 windows, capped evaluation (the cell comes from
    ``--arch_json``/``--child_fixed_arc``, default the published one)."""
    return _replace(_ptb(search=False), space_config={"embed_size": 64, "hidden_size": 64},
                    data={"batch_size": 64, "eval_batch_size": 64},
                    run={"output_dir": "runs/ptb_rnn_final_cpu", "num_epochs": 10,
                         "max_steps_per_epoch": 200, "max_eval_batches": 20, "log_every": 50})


# The `enas_plus` recipe's presets (`<search preset>_plus`) register themselves on import.
# pylint: disable-next=wrong-import-position,unused-import
from enas_tf2.configs import plus_presets  # noqa: E402,F401
