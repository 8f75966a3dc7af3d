"""Presets of the RNN cell space on Penn Treebank: the corrected enas_lm recipe
(docs/enas_reference.md §5.2) and CPU-sized variants."""

from __future__ import annotations

from enas_tf2.configs.base import (ControllerConfig, ExperimentConfig, OptimizerConfig,
                                   RunConfig)
from enas_tf2.configs.enas_plus import PLUS_SUFFIX, enas_plus, plus_smoke
from enas_tf2.configs.presets import register_preset, replace_fields
from enas_tf2.data.text.config import TextDataConfig
from enas_tf2.search_space.rnn.config import RnnConfig

# enas_lm: plain SGD at lr 20 (constant; the window-length scale comes from the task's
# gradient_scale), global-norm clip 0.1 in search and 0.25 in final training, no L2 here (the
# weight decay is RnnConfig.weight_decay).
SEARCH_OPTIMIZER = OptimizerConfig(lr_cosine=False, lr=20.0, lr_dec_every=1, lr_dec_rate=1.0,
                                   l2_reg=0.0, grad_bound=0.1, momentum=0.0, nesterov=False)
FINAL_OPTIMIZER = OptimizerConfig(lr_cosine=False, lr=20.0, lr_dec_every=1, lr_dec_rate=1.0,
                                  l2_reg=0.0, grad_bound=0.25, momentum=0.0, nesterov=False)


def smoke_ptb(cfg: ExperimentConfig) -> ExperimentConfig:
    """A PTB experiment shrunk to CPU minutes: hidden 32 (4 nodes in a search), batch 16, 2
    epochs of 20 windows, 3 controller updates of 2 samples, capped evaluation."""
    space = {"embed_size": 32, "hidden_size": 32}
    if cfg.controller.training:           # a search; final runs keep the arc's node count
        space["num_nodes"] = 4
    return replace_fields(
        cfg, space_config=space, data={"batch_size": 16, "eval_batch_size": 16},
        controller={"train_steps": 3, "num_aggregate": 2},
        run={"num_epochs": 2, "max_steps_per_epoch": 20, "max_eval_batches": 5, "log_every": 10,
             "derive_num_samples": 5, "output_dir": cfg.run.output_dir + "_smoke"})


def _ptb(search: bool) -> ExperimentConfig:
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
    return replace_fields(_ptb(search=True), space_config={"embed_size": 64, "hidden_size": 64},
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
    return replace_fields(_ptb(search=False), space_config={"embed_size": 64, "hidden_size": 64},
                    data={"batch_size": 64, "eval_batch_size": 64},
                    run={"output_dir": "runs/ptb_rnn_final_cpu", "num_epochs": 10,
                         "max_steps_per_epoch": 200, "max_eval_batches": 20, "log_every": 50})


@register_preset("ptb_rnn_search" + PLUS_SUFFIX, plus_smoke(smoke_ptb))
def ptb_rnn_search_plus() -> ExperimentConfig:
    """`ptb_rnn_search` with the ``enas_plus`` controller recipe (60 warm-up epochs;
    `configs/enas_plus.py`)."""
    return enas_plus(ptb_rnn_search())
