"""Every preset (`enas_tf2/search_space/<space>/presets.py`) against the authors' values written in
docs/enas_reference.md: each expected value below is a literal copied from the doc, with the
section it comes from. A changed recipe value (a dropout, a clip, a controller learning rate, a
skip weight...) fails here.

Two kinds of entries per preset:
- RECIPE: the training recipe; it must also hold for the ``.smoke`` variant (smoke runs shrink
  the network, the batch and the step counts, never the recipe);
- SIZE: network/batch/step/epoch sizes, pinned for the full preset only (smoke shrinks them).
Final-training presets do not train a controller (``controller_training`` off in every final
script, §4.5 / §5.1), so their controller recipe is not used and only ``training`` is pinned.
"""

import pytest

from enas_tf2.configs.presets import SMOKE_SUFFIX, get_preset, preset_names

# ---- CIFAR-10 scripts (docs/enas_reference.md §4.5 flag table unless noted) ---------------------

CIFAR_CONTROLLER = {
    "controller.lstm_size": 64,            # §2.1 "Hidden size S: 64 for CIFAR"; §2.6 "64 / 1"
    "controller.lstm_num_layers": 1,       # §2.1 "all scripts use 1 layer"
    "controller.init_range": 0.1,          # §2.1 "uniform(−0.1, 0.1)"
    "controller.temperature": None,        # §2.6 temperature "none"; §4.5 "temperature None"
    "controller.bl_dec": 0.99,             # §2.5 "bl_dec = 0.99"; §4.5 hard-coded 0.99
    "controller.adam_beta1": 0.0,          # §2.5 "Adam, β1 = 0.0"
    "controller.adam_epsilon": 1e-3,       # §2.5 "ε = 1e-3"
    "controller.train_every": 1,           # §4.5 controller_train_every 1
    "controller.training": True,           # §4.5 controller_training on
}
CIFAR_CHILD = {
    "optim.lr_cosine": True,               # §4.5 child_lr_cosine on
    "optim.lr_T_0": 10,                    # §4.5 child_lr_T_0 / T_mul 10 / 2
    "optim.lr_T_mul": 2,
    "optim.momentum": 0.9,                 # §4.1 "SGD with momentum 0.9, Nesterov"
    "optim.nesterov": True,
    "optim.grad_clip": "none",             # §4.1 / P2: the per-tensor clip is a no-op
    "optim.aux_weight": 0.4,               # §1.2 aux head "Loss weight 0.4"; §4.4
    "run.eval_every_epochs": 1,            # §4.5 eval_every_epochs 1
}
CIFAR_SIZE = {                             # smoke runs shrink these too
    "data.eval_batch_size": 100,           # §4.5 hard-coded "eval batch 100"
    "data.valid_size": 5000,               # §6 valid = last 5 000 (final runs keep it: P9)
    "run.log_every": 50,                   # §4.5 log_every 50
}

MICRO_SEARCH_RECIPE = {
    **CIFAR_CONTROLLER, **CIFAR_CHILD,
    "controller.lr": 0.0035,               # §4.5 micro_search controller_lr; §2.6
    "controller.tanh_constant": 1.10,      # §4.5 controller_tanh_constant 1.10; §2.6 1.1
    "controller.entropy_weight": 1e-4,     # §4.5 controller_entropy_weight 1e-4
    "space_config.op_tanh_reduce": 2.5,    # §4.5 controller_op_tanh_reduce 2.5
    "space_config.keep_prob": 0.90,        # §4.5 child_keep_prob 0.90
    "space_config.drop_path_keep_prob": 0.60,   # §4.5 0.60 (unused in search)
    "space_config.use_aux_heads": True,    # §4.5 child_use_aux_heads on
    "optim.l2_reg": 1e-4,                  # §4.5 child_l2_reg 1e-4
    "optim.lr_max": 0.05,                  # §4.5 child_lr_max / min 0.05 / 5e-4
    "optim.lr_min": 5e-4,
}
MICRO_SEARCH_SIZE = {
    **CIFAR_SIZE,
    "space_config.num_layers": 6,          # §4.5 child_num_layers 6
    "space_config.num_cells": 5,           # §4.5 child_num_cells 5
    "space_config.out_filters": 20,        # §4.5 child_out_filters 20
    "data.batch_size": 160,                # §4.5 batch_size 160
    "run.num_epochs": 150,                 # §4.5 num_epochs 150
    "controller.num_aggregate": 10,        # §4.5 controller_num_aggregate 10
    "controller.train_steps": 30,          # §4.5 controller_train_steps 30
}

MICRO_FINAL_RECIPE = {
    **CIFAR_CHILD,
    "controller.training": False,          # §4.5 micro_final controller_training off
    "space_config.keep_prob": 0.80,        # §4.5 child_keep_prob 0.80
    "space_config.drop_path_keep_prob": 0.60,   # §4.5 child_drop_path_keep_prob 0.60
    "space_config.use_aux_heads": True,    # §4.5 child_use_aux_heads on
    "optim.l2_reg": 2e-4,                  # §4.5 child_l2_reg 2e-4
    "optim.lr_max": 0.05,                  # §4.5 child_lr_max / min 0.05 / 1e-4
    "optim.lr_min": 1e-4,
}
MICRO_FINAL_SIZE = {
    **CIFAR_SIZE,
    "space_config.num_layers": 15,         # §4.5 child_num_layers 15
    "space_config.num_cells": 5,           # §4.5 child_num_cells 5
    "space_config.out_filters": 36,        # §4.5 child_out_filters 36
    "data.batch_size": 144,                # §4.5 batch_size 144
    "run.num_epochs": 630,                 # §4.5 num_epochs 630
}

MACRO_SEARCH_RECIPE = {
    **CIFAR_CONTROLLER, **CIFAR_CHILD,
    "controller.lr": 0.001,                # §4.5 macro_search controller_lr 0.001; §2.6
    "controller.tanh_constant": 1.5,       # §4.5 controller_tanh_constant 1.5
    "controller.entropy_weight": 1e-4,     # §4.5 controller_entropy_weight 1e-4
    "space_config.skip_target": 0.4,       # §4.5 controller_skip_target / weight 0.4 / 0.8
    "space_config.skip_weight": 0.8,
    "space_config.whole_channels": True,   # §1.1 / §4.5 controller_search_whole_channels on
    "space_config.keep_prob": 0.90,        # §4.5 child_keep_prob 0.90
    "optim.l2_reg": 2.5e-4,                # §4.5 child_l2_reg 2.5e-4
    "optim.lr_max": 0.05,                  # §4.5 child_lr_max / min 0.05 / 5e-4
    "optim.lr_min": 5e-4,
}
MACRO_SEARCH_SIZE = {
    **CIFAR_SIZE,
    "space_config.num_layers": 12,         # §4.5 child_num_layers 12
    "space_config.out_filters": 36,        # §4.5 child_out_filters 36
    "data.batch_size": 128,                # §4.5 batch_size 128
    "run.num_epochs": 310,                 # §4.5 num_epochs 310
    "controller.num_aggregate": 20,        # §4.5 controller_num_aggregate 20
    "controller.train_steps": 50,          # §4.5 controller_train_steps 50
}

MACRO_FINAL_RECIPE = {
    **CIFAR_CHILD,
    "controller.training": False,          # §4.5 macro_final controller_training off
    "space_config.skip_target": 0.4,       # §4.5 controller_skip_target / weight 0.4 / 0.8
    "space_config.skip_weight": 0.8,
    "space_config.whole_channels": True,   # §4.5 controller_search_whole_channels on
    "space_config.keep_prob": 0.50,        # §4.5 child_keep_prob 0.50
    "optim.l2_reg": 2e-4,                  # §4.5 child_l2_reg 2e-4
    "optim.lr_max": 0.05,                  # §4.5 child_lr_max / min 0.05 / 1e-3
    "optim.lr_min": 1e-3,
}
MACRO_FINAL_SIZE = {
    **CIFAR_SIZE,
    "space_config.num_layers": 24,         # §4.5 child_num_layers 24
    "space_config.out_filters": 96,        # §4.5 child_out_filters 96
    "data.batch_size": 100,                # §4.5 batch_size 100
    "run.num_epochs": 310,                 # §4.5 num_epochs 310
}

# The photo presets run the CIFAR recipes on a converted folder at 224 px (§9: the fork's
# 224 px photos); their sizes (batch 32, epochs) are this project's, not the authors'.
PHOTOS = {"data.image_size": (224, 224)}   # §9 "Resize(shorter side 224) → CenterCrop 224"

# ---- PTB, the corrected enas_lm recipe (docs/enas_reference.md §5.2 table unless noted) ---------

PTB_CONTROLLER = {
    "controller.lstm_size": 64,            # §5.2 controller "LSTM 64"; §2.6 enas_lm 64 / 1
    "controller.lstm_num_layers": 1,
    "controller.init_range": 0.01,         # §2.1 "(enas_lm: ±0.01)"
    "controller.lr": 5e-5,                 # §5.2 "Adam 5e-5"
    "controller.tanh_constant": 2.25,      # §5.2 "tanh 2.25"
    "controller.temperature": 5.0,         # §5.2 "temp 5"
    "controller.entropy_weight": 1e-5,     # §5.2 "entropy 1e-5"
    "controller.bl_dec": 0.999,            # §5.2 "baseline 0.999"; §2.5
    "controller.adam_beta1": 0.9,          # §2.5 "enas_lm: default Adam (β1 0.9, ε 1e-8)"
    "controller.adam_epsilon": 1e-8,
    "controller.training": True,
}
PTB_DATA = {
    "data.bptt": 35,                       # §5.2 batch / bptt "128 / 35 (random length)"
    "data.variable_length": True,          # §5.2 "Variable-length BPTT during training"
    "data.test_batch_size": 1,             # §5.1 "test with batch 1" (unchanged in §5.2)
}
PTB_SGD = {
    "optim.lr": 20.0,                      # §5.2 "lr / grad clip 20 / ..."
    "optim.lr_cosine": False,              # §5.2 "Optimiser plain SGD lr 20" (no schedule)
    "optim.lr_dec_rate": 1.0,              # constant lr 20 (§5.2 names no decay)
    "optim.momentum": 0.0,                 # §5.2 "plain SGD"
    "optim.grad_clip": "global",           # §5.2 "global clip"; P2: the PTB global clip works
    # §5.2 "weight decay 8e-7" is the space's weight_decay; a child l2_reg would decay twice.
    "optim.l2_reg": 0.0,
}
PTB_SEARCH_RECIPE = {
    **PTB_CONTROLLER, **PTB_DATA, **PTB_SGD,
    "optim.grad_bound": 0.1,               # §5.2 search lr / grad clip "20 / 0.1"
    "space_config.cell_variant": "enas_lm",    # §1.3 corrected encoding; §5.2 "Use this for PTB"
    "space_config.tie_weights": True,      # §5.1 "tied input embedding and softmax weights"
    "space_config.drop_e": 0.10,           # §5.2 search drop_e / i / x / l / o / w
    "space_config.drop_i": 0.20,           #   "0.10 / 0.20 / 0.75 / 0.25 / 0.75 / 0.0"
    "space_config.drop_x": 0.75,
    "space_config.drop_l": 0.25,
    "space_config.drop_o": 0.75,
    "space_config.drop_w": 0.0,
    "space_config.init_range": 0.04,       # §5.2 search init range ±0.04
    "space_config.weight_decay": 8e-7,     # §5.2 search weight decay 8e-7
    "space_config.alpha": 0.0,             # §5.2 search alpha / beta "0.0 / 1.0"
    "space_config.beta": 1.0,
}
PTB_SEARCH_SIZE = {
    "space_config.num_nodes": 9,           # §1.3 "K=9 controller steps by default"
    "space_config.embed_size": 200,        # §5.2 search hidden = embedding size 200
    "space_config.hidden_size": 200,
    "data.batch_size": 128,                # §5.2 search batch 128
    "data.eval_batch_size": 128,           # §5.2 reward: "validation batch (batch 128)"
    "run.num_epochs": 600,                 # §5.2 search epochs 600
    "controller.num_aggregate": 10,        # §5.2 controller "A=10"
    "controller.train_steps": 25,          # §5.2 controller "25 updates/epoch"
}
PTB_FINAL_RECIPE = {
    **PTB_DATA, **PTB_SGD,
    "controller.training": False,          # §5.1 ptb_final controller_training off
    "optim.grad_bound": 0.25,              # §5.2 final lr / grad clip "20 / 0.25"
    "space_config.cell_variant": "enas_lm",
    "space_config.tie_weights": True,      # §5.1 tied embedding and softmax
    "space_config.drop_e": 0.125,          # §5.2 final drop_e / i / x / l / o / w
    "space_config.drop_i": 0.175,          #   "0.125 / 0.175 / 0.725 / 0.225 / 0.75 / 0.0"
    "space_config.drop_x": 0.725,
    "space_config.drop_l": 0.225,
    "space_config.drop_o": 0.75,
    "space_config.drop_w": 0.0,
    "space_config.init_range": 0.05,       # §5.2 final init range ±0.05
    "space_config.weight_decay": 8e-7,     # §5.2 final weight decay "8e-7 (all weights)"
    "space_config.alpha": 0.7,             # §5.2 final alpha / beta "0.7 / —"
    "space_config.beta": 0.0,
}
PTB_FINAL_SIZE = {
    "space_config.num_nodes": 8,           # §1.3 / §7 "published arc has K=8"
    "space_config.embed_size": 800,        # §5.2 final hidden = embedding size 800
    "space_config.hidden_size": 800,
    "data.batch_size": 64,                 # §5.2 final batch 64
    "run.num_epochs": 3000,                # §5.2 final epochs 3000
}

# name -> (RECIPE, SIZE)
EXPECTED = {
    "cifar10_micro_search": (MICRO_SEARCH_RECIPE, MICRO_SEARCH_SIZE),
    "cifar10_micro_final": (MICRO_FINAL_RECIPE, MICRO_FINAL_SIZE),
    "images_micro_search": ({**MICRO_SEARCH_RECIPE, **PHOTOS},
                            {k: v for k, v in MICRO_SEARCH_SIZE.items()
                             if k.startswith(("space_config.", "controller."))}),
    "images_micro_final": ({**MICRO_FINAL_RECIPE, **PHOTOS},
                           {k: v for k, v in MICRO_FINAL_SIZE.items()
                            if k.startswith("space_config.")}),
    "cifar10_macro_search": (MACRO_SEARCH_RECIPE, MACRO_SEARCH_SIZE),
    "cifar10_macro_final": (MACRO_FINAL_RECIPE, MACRO_FINAL_SIZE),
    "ptb_rnn_search": (PTB_SEARCH_RECIPE, PTB_SEARCH_SIZE),
    # The CPU-sized search keeps the enas_lm recipe; its sizes are this project's (hidden 64,
    # batch 64, 10 epochs, 10 updates of 5 samples), except the searched node count.
    "ptb_rnn_search_cpu": (PTB_SEARCH_RECIPE, {"space_config.num_nodes": 9}),   # §1.3 K=9
    "ptb_rnn_final": (PTB_FINAL_RECIPE, PTB_FINAL_SIZE),
    # The CPU-sized final keeps the enas_lm final recipe; sizes are this project's (hidden 64,
    # batch 64, 10 epochs of 200 windows).
    "ptb_rnn_final_cpu": (PTB_FINAL_RECIPE, {}),
    # NAS-Bench-201: the ENAS CIFAR search recipe (controller and child optimiser of
    # cifar10_micro_search) on the benchmark's network; its final preset is the benchmark's own
    # training recipe (docs/nb201.md), which docs/enas_reference.md does not cover.
    "cifar10_nb201_search": ({k: v for k, v in MICRO_SEARCH_RECIPE.items()
                              if not k.startswith("space_config.")}, {}),
    "cifar10_nb201_final": ({}, {}),
}


# ---- the enas_plus recipe (configs/enas_plus.py; docs/searching.md), not the paper --------
# Each `<search>_plus` preset is its faithful preset with these controller values; the rest of
# its recipe and sizes stay pinned to docs/enas_reference.md through the faithful entries.
PLUS_RECIPE = {
    "controller.adv_norm": True,           # advantage / running std, first sample = baseline
    "controller.lr": 0.01,
    "controller.bl_dec": 0.9,
    "controller.adam_beta1": 0.0,
    "controller.adam_epsilon": 1e-3,
}
PLUS_SIZE = {"controller.num_aggregate": 1, "controller.train_steps": 50}


def _plus(faithful: str, warmup_epochs: int):
    recipe, size = EXPECTED[faithful]
    recipe = {**{k: v for k, v in recipe.items() if k not in PLUS_RECIPE}, **PLUS_RECIPE}
    size = {**{k: v for k, v in size.items() if k not in PLUS_SIZE}, **PLUS_SIZE,
            "controller.warmup_epochs": warmup_epochs}   # a tenth of the epochs
    return recipe, size


EXPECTED.update({
    "cifar10_micro_search_plus": _plus("cifar10_micro_search", 15),
    "cifar10_macro_search_plus": _plus("cifar10_macro_search", 31),
    "cifar10_nb201_search_plus": _plus("cifar10_nb201_search", 15),
    "ptb_rnn_search_plus": _plus("ptb_rnn_search", 60),
})
# The faithful presets are the paper: none of the recipe's changes.
FAITHFUL_CONTROLLER = {"controller.adv_norm": False, "controller.warmup_epochs": 0}


@pytest.mark.parametrize("name", sorted(n for n in EXPECTED if not n.endswith("_plus")))
def test_faithful_presets_have_none_of_the_plus_changes(name):
    assert _mismatches(get_preset(name), FAITHFUL_CONTROLLER) == {}
    assert _mismatches(get_preset(name + SMOKE_SUFFIX), FAITHFUL_CONTROLLER) == {}


def _value(cfg, dotted: str):
    obj = cfg
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


def _mismatches(cfg, expected: dict) -> dict:
    return {key: (_value(cfg, key), want) for key, want in expected.items()
            if _value(cfg, key) != want}


def test_every_preset_is_pinned():
    bases = {n for n in preset_names() if not n.endswith(SMOKE_SUFFIX)}
    assert bases == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_preset_matches_the_authors_values(name):
    recipe, size = EXPECTED[name]
    assert _mismatches(get_preset(name), {**recipe, **size}) == {}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_smoke_variant_keeps_the_recipe(name):
    recipe, _ = EXPECTED[name]
    assert _mismatches(get_preset(name + SMOKE_SUFFIX), recipe) == {}
